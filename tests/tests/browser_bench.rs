//! Decoding in the browser against decoding natively (issue 14: "within 3x"). The inspector
//! page, served by `framewire serve`, decodes in headless Firefox and Chromium through its own
//! wasm module as the live table does (`new StreamDecoder(role).push(chunk)` over 64 KiB
//! chunks, every frame becoming a JavaScript frame object whose fields are read from the
//! packed batch when asked for, a frame of 64 KiB or more kept in wasm memory until its
//! payload is first read): one masked binary frame of 16 MiB, and a stream of 100,000
//! small text frames. The same bytes in the same chunks go through the same decoder natively
//! (`framewire_wasm::decoder::Decoder::push_records`: the core's inspector, frames unmasked
//! into its records, each text frame's UTF-8 checked), the same work the wasm does before it
//! packs the records for JavaScript. Both sides check every frame (outside the timing: the
//! page's first read of the big frame's payload, which takes it out of wasm memory, is timed
//! apart); a wrong result fails, a slow one does not.
//!
//! The page also times the phases of its decode: the wasm's share (`pushPacked` alone: the
//! core's decode, the packing, the copy out of wasm), the JavaScript frame objects (the rest
//! of `push`), and reading every small frame's `text` afterwards (what drawing every row
//! would cost; the table draws only the rows in view).
//!
//! `cargo test` runs the smoke (a 1 MiB frame, 2,000 small frames, one run each);
//! `scripts/bench-browser.sh` runs the full bench (the ignored test, in release) and writes
//! `target/bench/browser.md`.

use std::time::{Duration, Instant};

use fantoccini::Client;
use framewire_core::inspect::{FrameRecord, Start};
use framewire_core::Role;
use framewire_wasm::decoder::{Decoder, DEFAULT_BUFFER_LIMIT};
use serde_json::{json, Value};

#[path = "browser_util/mod.rs"]
mod browser_util;
use browser_util::*;

/// Bytes per push, as wire-view chunks arrive.
const CHUNK: usize = 64 * 1024;
/// The big frame's masking key.
const KEY: [u8; 4] = [1, 2, 3, 4];

/// What one bench run decodes.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    /// Payload bytes of the one big frame.
    big: usize,
    /// Number of small frames.
    frames: usize,
    /// Timed runs of each (the best counts).
    runs: usize,
}

/// Byte `i` of the big frame's payload (unmasked).
fn big_byte(i: usize) -> u8 {
    (i.wrapping_mul(31).wrapping_add(7)) as u8
}

/// A client's masked binary frame of `n` bytes (64-bit length).
fn big_frame(n: usize) -> Vec<u8> {
    let mut v = vec![0x82, 0xff];
    v.extend_from_slice(&(n as u64).to_be_bytes());
    v.extend_from_slice(&KEY);
    v.extend((0..n).map(|i| big_byte(i) ^ KEY[i % 4]));
    v
}

/// The text of small frame `i`.
fn small_text(i: usize) -> String {
    format!("{{\"n\":{i}}}")
}

/// `n` unmasked server text frames, one after another.
fn small_frames(n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..n {
        let t = small_text(i);
        v.extend_from_slice(&[0x81, t.len() as u8]);
        v.extend_from_slice(t.as_bytes());
    }
    v
}

/// Decodes `wire` natively in CHUNK pieces, checking each frame's text as the wasm does
/// before packing, keeping each push's records as the page keeps each push's frames;
/// returns the milliseconds taken, the records and the text frames seen.
fn native_decode(wire: &[u8], role: Role) -> (f64, Vec<FrameRecord>, usize) {
    let mut d =
        Decoder::new(Some(role), Start::Connection, DEFAULT_BUFFER_LIMIT).expect("a decoder");
    let start = Instant::now();
    let mut pushes = Vec::new();
    let mut texts = 0;
    for chunk in wire.chunks(CHUNK) {
        let frames: Vec<FrameRecord> = d.push_records(chunk).collect();
        texts += frames.iter().filter(|f| f.text_len().is_some()).count();
        pushes.push(frames);
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    (ms, pushes.into_iter().flatten().collect(), texts)
}

/// The native figures: best milliseconds for the big frame and for the small frames.
fn native(sizes: Sizes) -> (f64, f64) {
    let big = big_frame(sizes.big);
    let small = small_frames(sizes.frames);
    let mut best = (f64::MAX, f64::MAX);
    for _ in 0..sizes.runs {
        let (ms, frames, _) = native_decode(&big, Role::Client);
        assert_eq!(frames.len(), 1, "one big frame");
        let f = &frames[0];
        assert!(
            !f.truncated && f.violations.is_empty(),
            "big frame: {:?}",
            f.violations
        );
        assert_eq!(f.payload().len(), sizes.big);
        assert!(f
            .payload()
            .iter()
            .enumerate()
            .all(|(i, b)| *b == big_byte(i)));
        best.0 = best.0.min(ms);

        let (ms, frames, texts) = native_decode(&small, Role::Server);
        assert_eq!((frames.len(), texts), (sizes.frames, sizes.frames));
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(
                f.text().as_deref(),
                Some(small_text(i).as_str()),
                "frame {i}"
            );
            assert!(f.violations.is_empty(), "frame {i}: {:?}", f.violations);
        }
        best.1 = best.1.min(ms);
    }
    best
}

/// The page's decoding of the same bytes: builds them, times the pushes, checks every frame.
/// It runs as a script of the page (see [`PAGE_RUN`]), `bigLen` ... `key` given, and hands
/// its result as JSON to `report`.
const PAGE_BENCH: &str = r#"
function bench(fw) {
const bigByte = (i) => (i * 31 + 7) & 255;
const big = new Uint8Array(14 + bigLen);
big.set([0x82, 0xff, 0, 0, 0, 0, (bigLen >>> 24) & 255, (bigLen >>> 16) & 255, (bigLen >>> 8) & 255, bigLen & 255, ...key]);
for (let i = 0; i < bigLen; i++) big[14 + i] = bigByte(i) ^ key[i % 4];
const texts = Array.from({ length: count }, (_, i) => `{"n":${i}}`);
const enc = new TextEncoder();
const parts = texts.map((t) => { const b = enc.encode(t); return [0x81, b.length, ...b]; });
const small = new Uint8Array(parts.flat());
function run(wire, role) {
  const d = new fw.StreamDecoder(role);
  const frames = [];
  const t0 = performance.now();
  for (let at = 0; at < wire.length; at += chunk) {
    for (const f of d.push(wire.subarray(at, at + chunk))) frames.push(f);
  }
  const ms = performance.now() - t0;
  d.free();
  return { ms, frames };
}
// The wasm's share of a run: pushPacked alone (decode, packing, the copy out of wasm).
function wasmOnly(wire, role) {
  const d = new fw.StreamDecoder(role);
  const t0 = performance.now();
  const batches = [];
  for (let at = 0; at < wire.length; at += chunk) batches.push(d.pushPacked(wire.subarray(at, at + chunk)));
  const ms = performance.now() - t0;
  d.free();
  // Frames kept in wasm memory (their id in the last field) are let go.
  for (const [n] of batches) for (let i = 22; i < n.length; i += 23) if (n[i] >= 0) fw.releaseStored(n[i]);
  return ms;
}
const out = { big: [], small: [], bigWasm: [], smallWasm: [], smallText: [], bigRead: [], errors: [] };
// The page's push (frame objects over pushPacked's arrays) against the wasm's own objects
// (pushObjects), field by field (the wasm object's fields), over frames of every kind.
const norm = (v, keys) => v instanceof Uint8Array ? [...v] : Array.isArray(v) ? v.map((x) => norm(x))
  : v && typeof v === "object" ? Object.fromEntries((keys ?? Object.keys(v)).sort().map((k) => [k, norm(v[k])])) : v;
// What the analysis module's deflateAnswer reads from a 101 agreeing to plain permessage-deflate.
const DEFLATE = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: null, clientMaxWindowBits: null };
const binary = [0x82, 0xfe, 0x01, 0x2c, 9, 8, 7, 6, ...Array.from({ length: 300 }, (_, i) => i & 255)];
const samples = [
  ["client", null, [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58, 0x81, 0x02, 0x68, 0x69, ...binary,
    0x01, 0x81, 0, 0, 0, 0, 0x68, 0x80, 0x81, 1, 2, 3, 4, 0x68, 0x88, 0x85, 0, 0, 0, 0, 0x03, 0xe8, 0x62, 0x79, 0x65]],
  ["server", DEFLATE, [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x89, 0x02, 0x61, 0x62, 0x81, 0x02, 0xc3, 0x28,
    0x88, 0x02, 0x03, 0xed, 0x82, 0x7e]],
];
for (const [role, head, wire] of samples) {
  const [a, b] = [new fw.StreamDecoder(role, 64), new fw.StreamDecoder(role, 64)];
  if (!a.pushObjects) out.errors.push("the page's StreamDecoder.push is not the packed one");
  else {
    if (head) { a.enableDeflateAgreed(head); b.enableDeflateAgreed(head); }
    const bytes = Uint8Array.from(wire);
    for (const part of [bytes.subarray(0, 13), bytes.subarray(13)]) {
      const ys = b.pushObjects(part);
      const x = JSON.stringify(a.push(part).map((f, i) => norm(f, ys[i] && Object.keys(ys[i]))));
      const y = JSON.stringify(norm(ys));
      if (x !== y) out.errors.push(`${role}: push gave ${x}, the wasm's objects ${y}`);
    }
  }
  a.free(); b.free();
}
for (let r = 0; r < runs; r++) {
  const b = run(big, "client");
  out.big.push(b.ms);
  const f = b.frames[0];
  if (b.frames.length !== 1) out.errors.push(`big: ${b.frames.length} frames`);
  else {
    // Held in wasm memory until read: the first read takes it out (timed apart).
    const held = fw.storedBytes();
    const t0 = performance.now();
    const p = f.payload;
    out.bigRead.push(performance.now() - t0);
    if (held < bigLen || fw.storedBytes() !== 0) out.errors.push(`big: ${held} bytes held before the read, ${fw.storedBytes()} after`);
    if (f.truncated || f.violations.length || p.length !== bigLen) out.errors.push(`big: ${JSON.stringify({ truncated: f.truncated, violations: f.violations, length: p.length })}`);
    let bad = 0;
    for (let i = 0; i < bigLen; i++) if (p[i] !== bigByte(i)) bad++;
    if (bad) out.errors.push(`big: ${bad} payload bytes wrong`);
  }
  for (const x of b.frames) x.release();
  const s = run(small, "server");
  out.small.push(s.ms);
  if (s.frames.length !== count) out.errors.push(`small: ${s.frames.length} frames of ${count}`);
  const t0 = performance.now();
  const wrong = s.frames.filter((f, i) => f.text !== texts[i] || f.violations.length).length;
  out.smallText.push(performance.now() - t0);
  if (wrong) out.errors.push(`small: ${wrong} frames wrong`);
  out.bigWasm.push(wasmOnly(big, "client"));
  out.smallWasm.push(wasmOnly(small, "server"));
}
return out;
}
// The page loads its decoder on first use: this is the first.
framewirePage.loader.loadDecoder().then(
  (fw) => { try { report(bench(fw)); } catch (e) { report({ errors: [String(e)] }); } },
  (e) => report({ errors: [`the decoder did not load: ${e}`] }),
);
"#;

/// Runs [`PAGE_BENCH`] as a script element of the page, not in the WebDriver script: Firefox
/// runs WebDriver scripts apart from the page's objects, and every page object they keep
/// (each frame the bench collects) gets a cross-compartment wrapper, which cost the page's
/// decode of 100,000 frames over 100 ms that the page itself never pays.
const PAGE_RUN: &str = r#"
const [bigLen, count, runs, chunk, key, code, done] = arguments;
window.__framewireBenchDone = (json) => done(JSON.parse(json));
const s = document.createElement("script");
s.textContent = `((bigLen, count, runs, chunk, key, report) => {${code}})(${JSON.stringify([bigLen, count, runs, chunk, key]).slice(1, -1)}, (r) => window.__framewireBenchDone(JSON.stringify(r)));`;
document.body.append(s);
"#;

/// Best milliseconds in the page: the whole decode, and its phases.
#[derive(Clone, Copy, Debug)]
struct PageFigures {
    /// The big frame through `push`.
    big: f64,
    /// The small frames through `push`.
    small: f64,
    /// The big frame through `pushPacked` alone (the wasm's share).
    big_wasm: f64,
    /// The small frames through `pushPacked` alone.
    small_wasm: f64,
    /// Reading every small frame's `text` after `push`.
    small_text: f64,
    /// The first read of the big frame's `payload` (taking it out of wasm memory).
    big_read: f64,
}

/// The browser's figures after checking every run's results.
async fn in_page(c: &Client, port: u16, sizes: Sizes) -> PageFigures {
    open_inspector(c, port).await;
    let mut timeouts = fantoccini::wd::TimeoutConfiguration::default();
    timeouts.set_script(Some(Duration::from_secs(600)));
    c.update_timeouts(timeouts)
        .await
        .expect("the script timeout");
    let out = c
        .execute_async(
            PAGE_RUN,
            vec![
                json!(sizes.big),
                json!(sizes.frames),
                json!(sizes.runs),
                json!(CHUNK),
                json!(KEY),
                json!(PAGE_BENCH),
            ],
        )
        .await
        .expect("the bench script runs");
    assert_eq!(out["errors"], json!([]), "the page decoded wrongly: {out}");
    let best = |v: &Value| {
        v.as_array()
            .expect("timings")
            .iter()
            .filter_map(Value::as_f64)
            .fold(f64::MAX, f64::min)
    };
    PageFigures {
        big: best(&out["big"]),
        small: best(&out["small"]),
        big_wasm: best(&out["bigWasm"]),
        small_wasm: best(&out["smallWasm"]),
        small_text: best(&out["smallText"]),
        big_read: best(&out["bigRead"]),
    }
}

/// Runs the bench in both browsers; returns the report's lines.
fn bench(sizes: Sizes, limit: Duration) -> Vec<String> {
    let (native_big, native_small) = native(sizes);
    let (_server, port) = start_server(&[]);
    let mut lines = vec![
        format!(
            "| decoder | {} MiB frame (ms) | ratio | {} small frames (ms) | ratio |",
            sizes.big as f64 / (1 << 20) as f64,
            sizes.frames
        ),
        "|---|---:|---:|---:|---:|".to_owned(),
        format!("| native (the core, this build) | {native_big:.1} | 1 | {native_small:.1} | 1 |"),
    ];
    let mut phases = vec![
        String::new(),
        "Phases in the page (best ms): wasm = `pushPacked` alone (decode, packing, copy out \
         of the small frames; the big one stays in wasm memory); JS = the rest of `push` \
         (frame objects); big: read = the first read of the big frame's `payload` afterwards \
         (taking it out of wasm memory: not in the decode's time); text = reading every small \
         frame's `text` afterwards (the table reads only the rows in view)."
            .to_owned(),
        String::new(),
        "| browser | big: wasm | big: JS | big: read | small: wasm | small: JS | small: text |"
            .to_owned(),
        "|---|---:|---:|---:|---:|---:|---:|".to_owned(),
    ];
    for (name, browser) in [
        ("Firefox", Browser::Firefox),
        ("Chromium", Browser::Chromium),
    ] {
        let figures = std::sync::Mutex::new(None);
        let slot = &figures;
        in_browser(browser, limit, |c| async move {
            *slot.lock().unwrap() = Some(in_page(&c, port, sizes).await);
        });
        let p = figures.into_inner().unwrap().expect("the figures");
        lines.push(format!(
            "| {name} (wasm, page's StreamDecoder) | {:.1} | {:.2} | {:.1} | {:.2} |",
            p.big,
            p.big / native_big,
            p.small,
            p.small / native_small
        ));
        phases.push(format!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            p.big_wasm,
            (p.big - p.big_wasm).max(0.0),
            p.big_read,
            p.small_wasm,
            (p.small - p.small_wasm).max(0.0),
            p.small_text
        ));
    }
    lines.extend(phases);
    lines
}

/// A size from the environment, or `default`.
fn env_size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
        })
        .unwrap_or(default)
}

#[test]
fn page_decodes_a_big_frame_and_many_small_ones_as_natively() {
    let lines = bench(
        Sizes {
            big: 1 << 20,
            frames: 2_000,
            runs: 1,
        },
        Duration::from_secs(90),
    );
    println!("browser decode smoke (timings of a run this short mean little):");
    for l in lines {
        println!("{l}");
    }
}

/// The full bench: `scripts/bench-browser.sh` (release build) runs it and keeps the table.
#[test]
#[ignore = "the full browser decode bench: run by scripts/bench-browser.sh"]
fn browser_decode_bench() {
    let sizes = Sizes {
        big: env_size("BENCH_BIG_BYTES", 16 << 20),
        frames: env_size("BENCH_FRAMES", 100_000),
        runs: env_size("BENCH_RUNS", 5),
    };
    let lines = bench(sizes, Duration::from_secs(600));
    let table = lines.join("\n") + "\n";
    print!("{table}");
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).expect("target/bench");
    std::fs::write(dir.join("browser.md"), table).expect("target/bench/browser.md");
}
