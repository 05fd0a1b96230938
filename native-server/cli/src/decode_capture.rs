//! `framewire decode --pcap/--capture/--har`: recorded connections in, the core's
//! analysis out (messages, compression, heartbeats, close, traffic), and
//! conversions between the formats. Everything is computed by
//! `framewire_core::capture` and `framewire_core::inspect::analysis`; this only
//! reads files and formats what they return.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use framewire_core::capture::{self, Capture, CaptureLimits, Connection, Format};
use framewire_core::inspect::analysis::{
    Filter, FrameSummary, KindFilter, Session, SessionConfig, ViewEntry,
};
use framewire_core::inspect::Direction;

use crate::cli::DecodeArgs;

/// `--kind`: data or control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KindArg {
    /// Data messages (text, binary).
    Data,
    /// Control frames (close, ping, pong).
    Control,
}

/// Largest capture file read.
const MAX_FILE: u64 = 1 << 30;

fn dir_name(d: Direction) -> &'static str {
    match d {
        Direction::ClientToServer => "c2s",
        Direction::ServerToClient => "s2c",
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut buf = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if buf.len() as u64 > MAX_FILE {
        return Err(format!("{} is over {MAX_FILE} bytes", path.display()));
    }
    Ok(buf)
}

/// Reads the file given by `--pcap`, `--capture` or `--har`, checking it is what the flag says.
fn load(args: &DecodeArgs) -> Result<Capture, String> {
    let (path, wanted): (&Path, &[Format]) = if let Some(p) = &args.pcap {
        (p, &[Format::Pcap, Format::PcapNg])
    } else if let Some(p) = &args.capture {
        (p, &[Format::Capture])
    } else if let Some(p) = &args.har {
        (p, &[Format::Har])
    } else {
        return Err("no capture file given".to_owned());
    };
    let bytes = read_file(path)?;
    let limits = CaptureLimits::default();
    let what = |f: &[Format]| match f.first() {
        Some(Format::Pcap | Format::PcapNg) => "a pcap or pcapng file",
        Some(Format::Capture) => "a framewire capture",
        _ => "a HAR",
    };
    let format = Format::sniff(&bytes);
    let capture = match format {
        Some(f) if wanted.contains(&f) => capture::import(&bytes, &limits).map(|(_, c)| c),
        Some(f) => {
            return Err(format!(
                "{} is {}, not {}: use the matching flag",
                path.display(),
                what(&[f]),
                what(wanted)
            ))
        }
        None => match wanted[0] {
            // Let the reader name what is wrong (the line, the JSON error).
            Format::Capture => capture::jsonl::read(&bytes, &limits),
            Format::Har => capture::har::read(&bytes, &limits),
            _ => Err(capture::CaptureError::UnknownFormat),
        },
    };
    capture.map_err(|e| format!("{}: {e}", path.display()))
}

fn export(args: &DecodeArgs, capture: &Capture) -> Result<Vec<String>, String> {
    let mut done = Vec::new();
    let mut write = |path: &Path, bytes: Vec<u8>, what: &str| -> Result<(), String> {
        std::fs::write(path, &bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        done.push(format!(
            "wrote {what} to {} ({} bytes)",
            path.display(),
            bytes.len()
        ));
        Ok(())
    };
    if let Some(p) = &args.export_pcapng {
        let bytes = capture::pcapng_export::write(capture).map_err(|e| e.to_string())?;
        write(p, bytes, "pcapng")?;
    }
    if let Some(p) = &args.export_har {
        write(p, capture::har::write(capture), "HAR")?;
    }
    if let Some(p) = &args.export_capture {
        write(p, capture::jsonl::write(capture), "framewire capture")?;
    }
    Ok(done)
}

fn filter_of(args: &DecodeArgs) -> Filter {
    Filter {
        direction: args.direction,
        kind: args.kind.map(|k| match k {
            KindArg::Data => KindFilter::Data,
            KindArg::Control => KindFilter::Control,
        }),
        opcodes: Vec::new(),
        text: args.grep.clone(),
        regex: args.regex.clone(),
        min_size: args.min_size,
        max_size: args.max_size,
    }
}

/// Runs the capture modes of `framewire decode`: exit 0 when read (and every
/// connection kept the rules), 1 when a connection broke a rule, 2 when a file
/// cannot be read or written or the filter is invalid.
pub fn run(args: &DecodeArgs) -> ExitCode {
    let capture = match load(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("framewire decode: {e}");
            return ExitCode::from(2);
        }
    };
    let filter = filter_of(args);
    let mut failed = false;
    if capture.connections.is_empty() {
        println!("no WebSocket connection found (none upgraded with HTTP 101)");
    }
    for conn in &capture.connections {
        match describe_connection(conn, args, &filter) {
            Ok((text, broke)) => {
                print!("{text}");
                failed |= broke;
            }
            Err(e) => {
                eprintln!("framewire decode: {e}");
                return ExitCode::from(2);
            }
        }
    }
    match export(args, &capture) {
        Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
        Err(e) => {
            eprintln!("framewire decode: {e}");
            return ExitCode::from(2);
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn kib(b: u64) -> String {
    if b < 1024 {
        format!("{b} B")
    } else {
        format!("{:.1} KiB", b as f64 / 1024.0)
    }
}

fn preview(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{:?}…", &text[..i]),
        None => format!("{text:?}"),
    }
}

fn at(t: Option<f64>, origin: f64) -> String {
    t.map_or("-".to_owned(), |t| format!("{:.1}", t - origin))
}

fn control_line(f: &FrameSummary, origin: f64) -> String {
    let name = match f.opcode {
        0x8 => "close",
        0x9 => "ping",
        0xA => "pong",
        _ => "control",
    };
    let detail = match (&f.close, f.opcode) {
        (Some(c), _) => format!(
            "{} {:?}",
            c.code.map_or("no code".to_owned(), |c| c.to_string()),
            c.reason
        ),
        (None, 0x9 | 0xA) => preview(&String::from_utf8_lossy(&f.control_payload), 40),
        _ => String::new(),
    };
    format!(
        "  {:>10}  {}  {name:<6}  frame {}  {} B  {detail}\n",
        at(f.time_ms, origin),
        dir_name(f.direction),
        f.index,
        f.payload_len
    )
}

/// The report of one connection, and whether it broke a rule.
pub fn describe_connection(
    conn: &Connection,
    args: &DecodeArgs,
    filter: &Filter,
) -> Result<(String, bool), String> {
    let s = capture::analyze(conn, SessionConfig::default()).map_err(|e| e.to_string())?;
    let shown = s.filter(filter).map_err(|e| e.to_string())?;
    let mut out = String::new();
    let origin = conn.chunks.first().map_or(0.0, |c| c.t);
    let first_line = String::from_utf8_lossy(&conn.request);
    let target = first_line.lines().next().unwrap_or("(no request head)");
    let _ = writeln!(
        out,
        "connection {}: {} -> {}, {target}{}",
        conn.id,
        conn.client.as_deref().unwrap_or("client"),
        conn.server.as_deref().unwrap_or("server"),
        if conn.ended { ", TCP ended" } else { "" }
    );
    let _ = writeln!(
        out,
        "  {} frames, {} messages; c2s {} on the wire, s2c {}; times in ms from the first frame",
        s.frames().len(),
        s.message_summaries().len(),
        kib(conn.bytes(Direction::ClientToServer)),
        kib(conn.bytes(Direction::ServerToClient)),
    );
    messages(&mut out, &s, &shown, args.messages, origin);
    compression(&mut out, &s);
    heartbeats(&mut out, &s, origin);
    let close = s.close_diagnosis(conn.ended);
    let _ = writeln!(out, "close: {}", close.outcome);
    for line in &close.summary {
        let _ = writeln!(out, "  {line}");
    }
    if let Some(ev) = &close.close_event {
        let _ = writeln!(
            out,
            "  the browser's CloseEvent: code {}, reason {:?}, wasClean {}: {}",
            ev.code, ev.reason, ev.was_clean, ev.why
        );
    }
    traffic(&mut out, &s, args.bucket_ms);
    out.push('\n');
    Ok((out, close.outcome == "failed"))
}

fn messages(
    out: &mut String,
    s: &Session,
    shown: &framewire_core::inspect::analysis::FilterResult,
    max: usize,
    origin: f64,
) {
    let frames: std::collections::HashSet<u64> = shown.frames.iter().copied().collect();
    let msgs: std::collections::HashSet<(Direction, u64)> =
        shown.messages.iter().copied().collect();
    let view: Vec<ViewEntry> = s
        .message_view()
        .into_iter()
        .filter(|e| match e {
            ViewEntry::Message(m) => msgs.contains(&(m.message.direction, m.message.index)),
            ViewEntry::Control(f) => frames.contains(&f.seq),
        })
        .collect();
    let _ = writeln!(
        out,
        "messages ({} shown; the filter hides {} messages and {} frames):",
        view.len(),
        shown.hidden_messages,
        shown.hidden_frames
    );
    let _ = writeln!(
        out,
        "  {:>10}  dir  kind    frames  wire / payload / content  text",
        "time"
    );
    for e in view.iter().take(max) {
        match e {
            ViewEntry::Message(m) => {
                let msg = &m.message;
                let size = msg.size.map_or("?".to_owned(), |s| s.to_string());
                let text = msg
                    .text
                    .as_deref()
                    .map(|t| preview(t, 60))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {:>10}  {}  {:<6}  {:>6}  {} / {} / {}{}{}  {text}",
                    at(msg.first_ms, origin),
                    dir_name(msg.direction),
                    msg.kind.unwrap_or("data"),
                    msg.frames.len(),
                    msg.wire_size,
                    msg.payload_size,
                    size,
                    if msg.compressed { " (deflate)" } else { "" },
                    if msg.complete { "" } else { " (incomplete)" },
                );
                if msg.frames.len() > 1 {
                    let _ = writeln!(
                        out,
                        "  {:>10}  last frame at {}, {} control frame(s) in between",
                        "",
                        at(msg.last_ms, origin),
                        m.interleaved.len()
                    );
                }
            }
            ViewEntry::Control(f) => out.push_str(&control_line(f, origin)),
        }
    }
    if view.len() > max {
        let _ = writeln!(
            out,
            "  … {} more (--messages N lists more)",
            view.len() - max
        );
    }
}

fn compression(out: &mut String, s: &Session) {
    let c = s.compression();
    let _ = writeln!(out, "compression:");
    match &c.deflate {
        Some(d) => {
            let _ = writeln!(out, "  {}", d.answer);
            for m in &d.sides {
                let _ = writeln!(
                    out,
                    "  the {} holds {} to compress ({} bits) and {} to inflate ({} bits)",
                    m.side,
                    kib(m.deflate_bytes),
                    m.deflate_window_bits,
                    kib(m.inflate_bytes),
                    m.inflate_window_bits
                );
            }
            for w in &d.words {
                let _ = writeln!(out, "  - {w}");
            }
        }
        None => {
            let _ = writeln!(out, "  permessage-deflate was not negotiated");
        }
    }
    for (d, t) in Direction::BOTH.iter().zip(c.totals.iter()) {
        let _ = writeln!(
            out,
            "  {}: {} messages ({} compressed), {} on the wire, {} inflated{}",
            dir_name(*d),
            t.messages,
            t.compressed,
            kib(t.wire),
            kib(t.inflated),
            t.ratio.map_or(String::new(), |r| format!(", ratio {r:.2}"))
        );
    }
}

fn heartbeats(out: &mut String, s: &Session, origin: f64) {
    let h = s.heartbeats();
    let _ = writeln!(
        out,
        "heartbeats: {} pings, {} unanswered, {} unsolicited pongs{}",
        h.pings.len(),
        h.unanswered,
        h.unsolicited_pongs,
        h.rtt_ms.map_or(String::new(), |[lo, mean, hi]| format!(
            "; round trip min {lo:.1} / mean {mean:.1} / max {hi:.1} ms"
        ))
    );
    for p in h.pings.iter().take(20) {
        let _ = writeln!(
            out,
            "  {:>10}  {} ping {}  {}",
            at(p.ping_ms, origin),
            dir_name(p.direction),
            preview(&String::from_utf8_lossy(&p.payload), 20),
            match (p.pong_frame, p.rtt_ms) {
                (Some(_), Some(rtt)) => format!("pong after {rtt:.1} ms"),
                (Some(_), None) => "answered".to_owned(),
                (None, _) => "UNANSWERED".to_owned(),
            }
        );
    }
    for g in &h.silences {
        let _ = writeln!(
            out,
            "  silence: {} sent nothing for {:.1} ms (from {} to {})",
            dir_name(g.direction),
            g.duration_ms,
            at(Some(g.from_ms), origin),
            at(Some(g.to_ms), origin)
        );
    }
}

fn traffic(out: &mut String, s: &Session, bucket_ms: f64) {
    let t = s.traffic(bucket_ms);
    let _ = writeln!(
        out,
        "traffic (buckets of {:.0} ms): peak c2s {:.1} msg/s {}/s, s2c {:.1} msg/s {}/s",
        t.bucket_ms,
        t.peak_messages_per_sec[0],
        kib(t.peak_bytes_per_sec[0] as u64),
        t.peak_messages_per_sec[1],
        kib(t.peak_bytes_per_sec[1] as u64),
    );
    let busy: Vec<_> = t
        .buckets
        .iter()
        .filter(|b| b.c2s_bytes + b.s2c_bytes > 0)
        .collect();
    for b in busy.iter().take(20) {
        let _ = writeln!(
            out,
            "  {:>10}  c2s {} msg {:>10}   s2c {} msg {:>10}",
            format!("+{:.0}", b.start_ms),
            b.c2s_messages,
            kib(b.c2s_bytes),
            b.s2c_messages,
            kib(b.s2c_bytes)
        );
    }
    if busy.len() > 20 {
        let _ = writeln!(out, "  … {} more busy buckets", busy.len() - 20);
    }
}
