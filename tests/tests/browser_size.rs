//! The inspector page's base load (issue 14: at most 60 KiB of wasm and JavaScript,
//! gzipped). Headless Firefox opens the page from `framewire serve`; once it says the decoder
//! has loaded (at start), the page's own resource timing lists every file it fetched, and each
//! JavaScript and wasm file among them is gzipped (`gzip -9`) from `www/` and summed: the
//! decoder's wasm must be among them, the analysis module, analysis.js, analysis_view.js,
//! builder.js, table.js, connection.js, chart.js, decoders.js and proxy.js must not (they load
//! when first needed). Then the RFC 6455 example is decoded, which must fetch nothing more. Prints every
//! figure, and the lazily loaded files' sizes. Last, the proxy section and the frame builder,
//! whose scripts load on first use, are used once.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use fantoccini::Client;

#[path = "browser_util/mod.rs"]
mod browser_util;
use browser_util::*;

/// Issue 14's budget for the base load: wasm and JavaScript, gzipped.
const BUDGET: u64 = 60 * 1024;
/// Longest the flow may take.
const FLOW_LIMIT: Duration = Duration::from_secs(60);
/// Files that must load only when first needed.
const LAZY: [&str; 11] = [
    "pkg/framewire_wasm_bytes.js",
    "pkg/framewire_analysis.js",
    "pkg/framewire_analysis_bg.wasm",
    "analysis.js",
    "analysis_view.js",
    "builder.js",
    "table.js",
    "connection.js",
    "chart.js",
    "decoders.js",
    "proxy.js",
];

/// Bytes of `path` compressed by `gzip -9`.
fn gzipped(path: &Path) -> u64 {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut gzip = Command::new("gzip")
        .args(["-9", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip runs (apt-get install gzip)");
    let mut stdin = gzip.stdin.take().expect("gzip's stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&bytes));
    let out = gzip.wait_with_output().expect("gzip finishes");
    writer.join().expect("the writer").expect("gzip reads");
    assert!(out.status.success(), "gzip failed on {}", path.display());
    out.stdout.len() as u64
}

/// The page's paths (relative to `www/`) of every resource it fetched so far.
async fn fetched(c: &Client, port: u16) -> Vec<String> {
    let names = js(
        c,
        "return performance.getEntriesByType('resource').map(e => e.name)",
    )
    .await;
    let origin = format!("http://127.0.0.1:{port}/");
    names
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|n| n.as_str()?.strip_prefix(&origin))
        .map(|p| p.split(['?', '#']).next().unwrap_or(p).to_owned())
        .collect()
}

async fn base_load_is_within_budget(c: Client, port: u16) {
    open_inspector(&c, port).await;
    // Whatever the start would still fetch has had time to.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut paths = fetched(&c, port).await;
    paths.sort();
    paths.dedup();
    let www = workspace().join("www");
    let mut total = 0;
    let mut other = 0;
    println!(
        "the inspector's base load (http, what it fetched by the time the decoder was ready):"
    );
    for p in &paths {
        let file = www.join(p);
        if !file.is_file() {
            println!("  {p:<34} (asked for, not in www/: answered 404)");
            continue;
        }
        let gz = gzipped(&file);
        let raw = file.metadata().expect("the file").len();
        if p.ends_with(".js") || p.ends_with(".wasm") {
            total += gz;
            println!("  {p:<34} {raw:>9} bytes {gz:>8} gzipped");
        } else {
            other += gz;
            println!(
                "  {p:<34} {raw:>9} bytes {gz:>8} gzipped (not counted: not wasm or JavaScript)"
            );
        }
    }
    let html = gzipped(&www.join("index.html"));
    println!(
        "  total wasm + JavaScript: {total} bytes gzipped ({:.1} KiB) of a {} KiB budget; \
         with index.html ({html}) and the rest ({other}): {}",
        total as f64 / 1024.0,
        BUDGET / 1024,
        total + html + other
    );
    println!("loaded when first needed:");
    for p in LAZY {
        let file = www.join(p);
        println!(
            "  {p:<34} {:>9} bytes {:>8} gzipped",
            file.metadata().expect("the file").len(),
            gzipped(&file)
        );
    }

    for decoder in ["pkg/framewire_wasm.js", "pkg/framewire_wasm_bg.wasm"] {
        assert!(
            paths.iter().any(|p| p == decoder),
            "the page's start did not fetch the decoder's {decoder}; it fetched {paths:?}"
        );
    }
    for lazy in LAZY {
        assert!(
            !paths.iter().any(|p| p == lazy),
            "{lazy} must load when first needed, not at the start: the page fetched {paths:?}"
        );
    }
    assert!(
        total <= BUDGET,
        "the base load is {total} bytes gzipped, over the {BUDGET}-byte budget (see the figures above)"
    );

    // The first decode finds the decoder there: it fetches nothing.
    click(&c, "#decode-example").await;
    wait_js(
        &c,
        "const o = document.getElementById('decode-output'); return o.querySelector('article') ? true : null",
        "the RFC example decoded",
    )
    .await;
    let more: Vec<String> = fetched(&c, port)
        .await
        .into_iter()
        .filter(|p| !paths.contains(p) && www.join(p).is_file())
        .collect();
    assert!(
        more.is_empty(),
        "the first decode fetched {more:?}: the decoder should have loaded at start"
    );

    // The proxy section works though proxy.js was not loaded at start: a connect with a
    // wrong key loads it and tries (no proxy listens on port 9 of loopback).
    set_value(&c, "#proxy-url", "ws://127.0.0.1:9").await;
    set_value(&c, "#proxy-key", "wrong").await;
    click(&c, "#proxy-connect").await;
    wait_js(
        &c,
        "const s = document.getElementById('proxy-status'); \
         return self.framewirePage.proxy && /127\\.0\\.0\\.1:9/.test(s.textContent) ? s.textContent : null",
        "the proxy section loaded on its first use and tried ws://127.0.0.1:9",
    )
    .await;
    assert!(fetched(&c, port).await.iter().any(|p| p == "proxy.js"));

    // The frame builder works though builder.js was not loaded at start: the first build
    // loads it and builds.
    set_value(&c, "#b-payload", "Hello").await;
    click(&c, "#build").await;
    wait_js(
        &c,
        "const b = document.querySelector('#builder-output pre'); return b ? b.textContent : null",
        "the builder loaded on its first use and built a frame",
    )
    .await;
    assert!(fetched(&c, port).await.iter().any(|p| p == "builder.js"));
}

#[test]
fn base_load_is_at_most_60_kib_gzipped() {
    let (_server, port) = start_server(&[]);
    in_browser(Browser::Firefox, FLOW_LIMIT, |c| async move {
        base_load_is_within_budget(c, port).await
    });
}
