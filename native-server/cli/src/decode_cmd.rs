//! `framewire decode`: frame bytes in, each frame's fields out. The core's
//! inspector decides everything (rules, offsets, close codes, messages); this
//! only formats what it returns.

use std::fmt::Write as _;

use framewire_core::frame::FrameHeader;
use framewire_core::inspect::{
    Direction, FrameRecord, Inspector, InspectorConfig, Observation, Outcome, Unfinished, Violation,
};
use framewire_core::{DataKind, Role};

/// Whose frames the bytes are: decides the masking rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SenderRole {
    /// Sent by a client: frames must be masked.
    Client,
    /// Sent by a server: frames must not be masked.
    Server,
    /// Unknown: the masking rule is not checked.
    Any,
}

impl SenderRole {
    fn role(self) -> Option<Role> {
        match self {
            Self::Client => Some(Role::Client),
            Self::Server => Some(Role::Server),
            Self::Any => None,
        }
    }
}

/// One broken rule, as the inspector found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Index of the frame that breaks it, from 0 (the unfinished frame counts last).
    pub frame: u64,
    /// Absolute offset of the offending byte.
    pub offset: u64,
    /// The rule's name, such as `UnmaskedClientFrame`.
    pub rule: &'static str,
    /// The close code a receiver fails the connection with.
    pub close_code: u16,
    /// What is wrong, in a sentence.
    pub message: String,
}

impl Verdict {
    fn new(frame: u64, v: &Violation) -> Self {
        Self {
            frame,
            offset: v.offset,
            rule: v.rule(),
            close_code: v.close_code().0,
            message: v.error.to_string(),
        }
    }
}

/// The result of decoding: the report and whether any rule was broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoding {
    /// Human-readable report, one block per frame.
    pub report: String,
    /// Frames found (complete or not).
    pub frames: usize,
    /// Rule violations and truncations found.
    pub problems: usize,
    /// Every broken rule, in wire order.
    pub verdicts: Vec<Verdict>,
}

/// Describes every frame in `bytes`. Payloads longer than `show` bytes are cut in the report.
pub fn describe(bytes: &[u8], role: SenderRole, show: usize) -> Decoding {
    let config = InspectorConfig {
        check_masking: role.role().is_some(),
        ..InspectorConfig::default()
    };
    let mut d = Decoding {
        report: String::new(),
        frames: 0,
        problems: 0,
        verdicts: Vec::new(),
    };
    let mut inspector = match Inspector::new(config) {
        Ok(i) => i,
        Err(e) => {
            d.problems += 1;
            let _ = writeln!(d.report, "cannot inspect: {e}");
            return d;
        }
    };
    let dir = Direction::sent_by(role.role().unwrap_or(Role::Client));
    // Fed in pieces so the records held at once stay few, whatever the input's size.
    for chunk in bytes.chunks(64 * 1024) {
        for seen in inspector.feed(dir, chunk, None) {
            observe(&mut d, seen, show);
        }
    }
    if let Some(u) = inspector.unfinished(dir) {
        d.frames += 1;
        unfinished(&mut d, &u);
    }
    let ending = inspector.ending();
    let after = ending.direction(dir).bytes_after_close;
    if after > 0 {
        let _ = writeln!(
            d.report,
            "{after} byte{} after the close frame not decoded (a receiver ignores them)",
            if after == 1 { "" } else { "s" }
        );
    }
    if let Outcome::Failed { violation, .. } = &ending.outcome {
        let _ = writeln!(
            d.report,
            "a receiver fails the connection at byte {} with close {}",
            violation.offset,
            violation.close_code()
        );
    }
    if bytes.is_empty() {
        d.report.push_str("no bytes to decode\n");
    }
    d
}

/// Formats one observation of the inspector.
fn observe(d: &mut Decoding, seen: Observation, show: usize) {
    match seen {
        Observation::Frame(f) => {
            d.frames += 1;
            frame(d, &f, show);
        }
        Observation::Message(m) => {
            let kind = match m.kind {
                Some(DataKind::Text) => "text",
                Some(DataKind::Binary) => "binary",
                _ => "data",
            };
            if m.frames > 1 || m.compressed {
                let size = m.size.map_or("unknown".to_owned(), |s| s.to_string());
                let _ = writeln!(
                    d.report,
                    "  = {kind} message of {} frames, {size} bytes{}",
                    m.frames,
                    if m.compressed { " inflated" } else { "" }
                );
            }
        }
        _ => {}
    }
}

fn violations(d: &mut Decoding, frame: u64, list: &[Violation]) {
    for v in list {
        d.problems += 1;
        let _ = writeln!(
            d.report,
            "  ! violation at byte {}: {} (close {})",
            v.offset,
            v.error,
            v.close_code()
        );
        d.verdicts.push(Verdict::new(frame, v));
    }
}

fn frame(d: &mut Decoding, f: &FrameRecord, show: usize) {
    let _ = write!(d.report, "frame {} at byte {}", f.index + 1, f.offset);
    if f.truncated {
        let _ = writeln!(d.report, " (first {} bytes kept)", f.kept_len());
    } else {
        let _ = writeln!(d.report, " ({} bytes)", f.kept_len());
    }
    header_fields(&mut d.report, &f.header);
    violations(d, f.index, &f.violations);
    let out = &mut d.report;
    let unmasked = if f.header.mask.is_some() {
        " (unmasked)"
    } else {
        ""
    };
    if f.header.opcode == 0x8 {
        match &f.close {
            Some(c) => match c.code {
                None => {
                    let _ = writeln!(out, "  close    no status code");
                }
                Some(code) => {
                    let _ = writeln!(out, "  close    code {code}, reason {:?}", c.reason);
                }
            },
            None => {
                let _ = writeln!(
                    out,
                    "  data{unmasked}     {}",
                    show_bytes(f.payload(), show)
                );
            }
        }
        return;
    }
    if let Some(inflated) = &f.inflated {
        let _ = writeln!(
            out,
            "  data (compressed){unmasked} {}",
            show_bytes(f.payload(), show)
        );
        match std::str::from_utf8(inflated) {
            Ok(t) if f.message.and_then(|m| m.kind) == Some(DataKind::Text) => {
                let _ = writeln!(out, "  text (inflated)   {}", show_text(t, show));
            }
            _ => {
                let _ = writeln!(out, "  data (inflated)   {}", show_bytes(inflated, show));
            }
        }
        return;
    }
    match f.text() {
        Some(t) => {
            let _ = writeln!(out, "  text{unmasked}     {}", show_text(&t, show));
        }
        None if !f.payload().is_empty() => {
            let _ = writeln!(
                out,
                "  data{unmasked}     {}",
                show_bytes(f.payload(), show)
            );
        }
        None => {}
    }
}

fn unfinished(d: &mut Decoding, u: &Unfinished) {
    let index = d.frames as u64;
    let _ = write!(d.report, "frame {index} at byte {}", u.offset);
    d.problems += 1;
    match &u.header {
        None => {
            let _ = writeln!(
                d.report,
                ": incomplete header: {} bytes present, at least {} more needed",
                u.available, u.needed
            );
        }
        Some(h) => {
            let _ = writeln!(d.report, " (truncated)");
            header_fields(&mut d.report, h);
            violations(d, index - 1, &u.violations);
            let present = u.available.saturating_sub(h.header_len() as u64);
            let _ = writeln!(
                d.report,
                "  ! truncated: the payload declares {} bytes, {present} present, {} missing",
                h.payload_len, u.needed
            );
        }
    }
}

fn header_fields(out: &mut String, h: &FrameHeader) {
    let layout = h.layout();
    let _ = writeln!(
        out,
        "  FIN      {}  ({})                  byte 0, bit 7",
        u8::from(h.fin),
        if h.fin {
            "final frame of the message"
        } else {
            "more fragments follow"
        }
    );
    let _ = writeln!(
        out,
        "  RSV1-3   {} {} {}                                byte 0, bits 6-4",
        u8::from(h.rsv1),
        u8::from(h.rsv2),
        u8::from(h.rsv3)
    );
    let _ = writeln!(
        out,
        "  opcode   {:#x} {}                             byte 0, bits 3-0",
        h.opcode,
        h.opcode_name()
    );
    match h.mask {
        Some(k) => {
            let r = layout.mask_key.clone().unwrap_or_default();
            let _ = writeln!(
                out,
                "  MASK     1, key {:02x} {:02x} {:02x} {:02x}                  byte 1, bit 7; key bytes {}..{}",
                k[0], k[1], k[2], k[3], r.start, r.end
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  MASK     0 (not masked)                       byte 1, bit 7"
            );
        }
    }
    let where_len = match &layout.extended_length {
        Some(r) => format!(
            "byte 1 = {}, then bytes {}..{}",
            if h.length_encoding.bits() == 16 {
                126
            } else {
                127
            },
            r.start,
            r.end
        ),
        None => "byte 1, bits 6-0".to_owned(),
    };
    let _ = writeln!(
        out,
        "  length   {} ({}-bit encoding)                    {where_len}",
        h.payload_len,
        h.length_encoding.bits()
    );
    let _ = writeln!(
        out,
        "  payload  bytes {}..{}",
        layout.payload.start, layout.payload.end
    );
}

fn show_text(t: &str, show: usize) -> String {
    match t.char_indices().nth(show) {
        Some((i, _)) => format!("{:?}… ({} more bytes)", &t[..i], t.len() - i),
        None => format!("{t:?}"),
    }
}

fn show_bytes(b: &[u8], show: usize) -> String {
    let mut s = String::new();
    for (i, byte) in b.iter().take(show).enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{byte:02x}");
    }
    if b.len() > show {
        let _ = write!(s, " … ({} more bytes)", b.len() - show);
    }
    if b.is_empty() {
        s.push_str("(empty)");
    }
    s
}

/// Runs `framewire decode`: exit code 0 when every frame is valid and complete,
/// 1 when a frame breaks a rule or is cut short, 2 when the input cannot be read.
pub fn run(args: &crate::cli::DecodeArgs) -> std::process::ExitCode {
    use std::io::Read;
    use std::process::ExitCode;
    if args.pcap.is_some() || args.capture.is_some() || args.har.is_some() {
        return crate::decode_capture::run(args);
    }
    if args.export_pcapng.is_some() || args.export_har.is_some() || args.export_capture.is_some() {
        eprintln!("framewire decode: --export-* converts a --pcap, --capture or --har file");
        return ExitCode::from(2);
    }
    let input: Result<Vec<u8>, String> = if !args.hex.is_empty() {
        if args.raw {
            Err("--raw reads a file or stdin, not arguments".to_owned())
        } else {
            Ok(args.hex.join(" ").into_bytes())
        }
    } else if let Some(path) = &args.file {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    } else {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(MAX_INPUT + 1)
            .read_to_end(&mut buf)
            .map(|_| buf)
            .map_err(|e| format!("cannot read stdin: {e}"))
    };
    let input = match input {
        Ok(i) if i.len() as u64 > MAX_INPUT => Err(format!("the input is over {MAX_INPUT} bytes")),
        other => other,
    };
    let bytes = input.and_then(|input| {
        if args.raw {
            return Ok(input);
        }
        let text = String::from_utf8(input)
            .map_err(|_| "the input is not text: use --raw for raw bytes".to_owned())?;
        framewire_core::hex::parse_hex(&text).map_err(|e| format!("cannot read the hex: {e}"))
    });
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => {
            eprintln!("framewire decode: {e}");
            return ExitCode::from(2);
        }
    };
    let d = describe(&bytes, args.role, args.show);
    print!("{}", d.report);
    println!(
        "{} bytes, {} frame{}, {} problem{}",
        bytes.len(),
        d.frames,
        if d.frames == 1 { "" } else { "s" },
        d.problems,
        if d.problems == 1 { "" } else { "s" }
    );
    if d.problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Largest input read (hex text or raw bytes).
const MAX_INPUT: u64 = 64 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_hello() {
        let bytes = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let d = describe(&bytes, SenderRole::Client, 100);
        assert_eq!((d.frames, d.problems), (1, 0), "{}", d.report);
        assert!(d.report.contains("opcode   0x1 text"), "{}", d.report);
        assert!(d.report.contains("key 37 fa 21 3d"), "{}", d.report);
        assert!(d.report.contains("\"Hello\""), "{}", d.report);
        let d = describe(&bytes, SenderRole::Server, 100);
        assert_eq!(d.problems, 1);
        assert!(
            d.report
                .contains("violation at byte 1: server frames must not be masked"),
            "{}",
            d.report
        );
        assert_eq!(d.verdicts[0].rule, "MaskedServerFrame");
        assert_eq!(d.verdicts[0].close_code, 1002);
    }

    #[test]
    fn close_and_violations() {
        let bytes = [0x0a, 0x00, 0x83, 0x00, 0x88, 0x02, 0x03, 0xe8, 0x81, 0x00];
        let d = describe(&bytes, SenderRole::Server, 100);
        assert_eq!((d.frames, d.problems), (3, 2), "{}", d.report);
        assert!(
            d.report.contains("code 1000 (normal closure)"),
            "{}",
            d.report
        );
        assert!(
            d.report
                .contains("at byte 0: control frames must not be fragmented"),
            "{}",
            d.report
        );
        assert!(
            d.report.contains("at byte 2: opcode 0x3 is reserved"),
            "{}",
            d.report
        );
        assert!(
            d.report.contains("2 bytes after the close frame"),
            "{}",
            d.report
        );
        assert!(
            d.report
                .contains("fails the connection at byte 0 with close 1002"),
            "{}",
            d.report
        );
    }

    #[test]
    fn truncation_and_bad_utf8() {
        let d = describe(&[0x82, 0x7e, 0x01], SenderRole::Any, 100);
        assert!(d.report.contains("incomplete header"), "{}", d.report);
        let d = describe(&[0x82, 0x05, 1, 2], SenderRole::Any, 100);
        assert!(
            d.report.contains("5 bytes, 2 present, 3 missing"),
            "{}",
            d.report
        );
        let d = describe(&[0x81, 0x02, 0xc3, 0x28], SenderRole::Any, 100);
        assert_eq!(d.problems, 1, "{}", d.report);
        assert!(d.report.contains("not valid UTF-8"), "{}", d.report);
        assert_eq!((d.verdicts[0].offset, d.verdicts[0].close_code), (2, 1007));
        // Invalid UTF-8 already in the arrived part of a truncated text frame.
        let d = describe(&[0x81, 0x10, 0xff], SenderRole::Any, 100);
        assert_eq!(d.verdicts[0].rule, "InvalidUtf8", "{}", d.report);
        assert_eq!(d.problems, 2, "{}", d.report);
    }

    #[test]
    fn fragments_are_tracked() {
        // A text in two fragments ("é" split across them), then a stray continuation.
        let bytes = [0x01, 0x01, 0xc3, 0x80, 0x01, 0xa9, 0x80, 0x00];
        let d = describe(&bytes, SenderRole::Server, 100);
        assert_eq!(d.frames, 3, "{}", d.report);
        assert_eq!(d.problems, 1, "{}", d.report);
        assert!(
            d.report.contains("continuation frame without a message"),
            "{}",
            d.report
        );
        assert!(
            d.report.contains("text message of 2 frames, 2 bytes"),
            "{}",
            d.report
        );
    }
}
