//! `framewire decode`: frame bytes in, each frame's fields out, as the inspector shows them.

use std::fmt::Write as _;

use framewire_core::close::parse_close_payload;
use framewire_core::frame::{decode_frame, Decoded, FrameHeader};
use framewire_core::mask::apply_mask;
use framewire_core::rules::{header_violations, RuleContext};
use framewire_core::utf8::Utf8Validator;
use framewire_core::{OpCode, Role};

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

/// The result of decoding: the report and whether any rule was broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoding {
    /// Human-readable report, one block per frame.
    pub report: String,
    /// Frames found (complete or not).
    pub frames: usize,
    /// Rule violations and truncations found.
    pub problems: usize,
}

/// Describes every frame in `bytes`. Payloads longer than `show` bytes are cut in the report.
pub fn describe(bytes: &[u8], role: SenderRole, show: usize) -> Decoding {
    let mut out = String::new();
    let mut frames = 0;
    let mut problems = 0;
    let mut at = 0;
    let mut in_message = false;
    let mut text_message: Option<Utf8Validator> = None;
    while at < bytes.len() {
        frames += 1;
        let rest = &bytes[at..];
        let _ = write!(out, "frame {frames} at byte {at}");
        let (header, payload) = match decode_frame(rest) {
            Decoded::Incomplete { needed } => {
                problems += 1;
                let _ = writeln!(
                    out,
                    ": incomplete header: {} bytes present, at least {needed} more needed",
                    rest.len()
                );
                break;
            }
            Decoded::HeaderOnly { header, needed } => {
                let _ = writeln!(out, " (truncated)");
                (header, Err(needed))
            }
            Decoded::Frame(f) => {
                let _ = writeln!(out, " ({} bytes)", f.len);
                (f.header, Ok(f.payload))
            }
        };
        let ctx = RuleContext {
            sender: role.role(),
            in_message: Some(in_message),
            ..RuleContext::default()
        };
        header_fields(&mut out, &header);
        for v in header_violations(&header, &ctx) {
            problems += 1;
            let at_byte = v
                .header_offset()
                .map_or(String::new(), |o| format!(" at byte {}", at + o));
            let _ = writeln!(
                out,
                "  ! violation{at_byte}: {v} (close {})",
                v.close_code()
            );
        }
        let layout = header.layout();
        let payload = match payload {
            Ok(p) => p,
            Err(needed) => {
                problems += 1;
                let _ = writeln!(
                    out,
                    "  ! truncated: the payload declares {} bytes, {} present, {needed} missing",
                    header.payload_len,
                    rest.len() - header.header_len()
                );
                break;
            }
        };
        let mut data = payload.to_vec();
        if let Some(key) = header.mask {
            apply_mask(&mut data, key, 0);
        }
        let op = header.opcode();
        problems += payload_fields(&mut out, op, &header, &data, &mut text_message, show);
        if matches!(
            op,
            Some(OpCode::Text | OpCode::Binary | OpCode::Continuation)
        ) {
            in_message = !header.fin;
        }
        at += layout.payload.end;
    }
    if bytes.is_empty() {
        out.push_str("no bytes to decode\n");
    }
    Decoding {
        report: out,
        frames,
        problems,
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

/// Prints the payload and returns the problems it has.
fn payload_fields(
    out: &mut String,
    op: Option<OpCode>,
    h: &FrameHeader,
    data: &[u8],
    text_message: &mut Option<Utf8Validator>,
    show: usize,
) -> usize {
    let unmasked = if h.mask.is_some() { " (unmasked)" } else { "" };
    let mut problems = 0;
    match op {
        Some(OpCode::Close) => match parse_close_payload(data) {
            Ok((None, _)) => {
                let _ = writeln!(out, "  close    no status code");
            }
            Ok((Some(code), reason)) => {
                let _ = writeln!(out, "  close    code {code}, reason {reason:?}");
            }
            Err(e) => {
                problems += 1;
                let _ = writeln!(out, "  ! violation: {e} (close 1002)");
                let _ = writeln!(out, "  data{unmasked}     {}", show_bytes(data, show));
            }
        },
        Some(OpCode::Text) | Some(OpCode::Continuation)
            if op == Some(OpCode::Text) || text_message.is_some() =>
        {
            let v = text_message.get_or_insert_with(Utf8Validator::new);
            let mut ok = v.feed(data).is_ok();
            if ok && h.fin {
                ok = v.finish().is_ok();
            }
            if h.fin || !ok {
                *text_message = None;
            }
            match std::str::from_utf8(data) {
                Ok(t) => {
                    let _ = writeln!(out, "  text{unmasked}     {}", show_text(t, show));
                }
                Err(_) => {
                    let _ = writeln!(out, "  data{unmasked}     {}", show_bytes(data, show));
                }
            }
            if !ok {
                problems += 1;
                let _ = writeln!(
                    out,
                    "  ! violation: text message is not valid UTF-8 (close 1007)"
                );
            }
        }
        _ => {
            if !data.is_empty() {
                let _ = writeln!(out, "  data{unmasked}     {}", show_bytes(data, show));
            }
        }
    }
    problems
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
    }

    #[test]
    fn close_and_violations() {
        let bytes = [0x88, 0x02, 0x03, 0xe8, 0x0a, 0x00, 0x83, 0x00];
        let d = describe(&bytes, SenderRole::Server, 100);
        assert_eq!((d.frames, d.problems), (3, 2), "{}", d.report);
        assert!(
            d.report.contains("code 1000 (normal closure)"),
            "{}",
            d.report
        );
        assert!(
            d.report
                .contains("at byte 4: control frames must not be fragmented"),
            "{}",
            d.report
        );
        assert!(
            d.report.contains("at byte 6: opcode 0x3 is reserved"),
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
    }
}
