//! Turns decoded frames into [`FrameReport`]s: header rules from the core, payload
//! checks (UTF-8 of text, the close payload) and message state across frames.

use std::borrow::Cow;

use framewire_core::close::{parse_close_payload, ClosePayloadError};
use framewire_core::frame::{decode_frame, Decoded, FrameHeader};
use framewire_core::mask::apply_mask;
use framewire_core::rules::{header_violations, RuleContext};
use framewire_core::utf8::Utf8Validator;
use framewire_core::{DataKind, OpCode, ProtocolError, Role};

use crate::report::{BufferReport, CloseInfo, FieldRanges, FrameReport, Incomplete, Violation};

/// What is known about fragmentation before the first frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The bytes may begin mid-message (pasted bytes): no continuation rule is applied
    /// until a frame shows where messages start.
    Unknown,
    /// The bytes begin at the start of a connection: no message is open.
    Connection,
}

/// Where a message stands between frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MessageState {
    Unknown,
    Idle,
    Open(Option<DataKind>),
}

/// Decodes a sequence of frames from one sender, remembering message state.
#[derive(Debug, Clone)]
pub struct Inspector {
    sender: Option<Role>,
    message: MessageState,
    utf8: Option<Utf8Validator>,
    message_bytes: u64,
    frames: u64,
}

fn abs(x: u64) -> f64 {
    x as f64
}

fn range(base: u64, r: std::ops::Range<usize>) -> [f64; 2] {
    [abs(base + r.start as u64), abs(base + r.end as u64)]
}

/// The core's name of a violation: the enum variant, such as `ReservedBits`.
fn rule_name(e: &ProtocolError) -> String {
    format!("{e:?}")
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect()
}

fn violation(e: ProtocolError, offset: u64) -> Violation {
    Violation {
        rule: rule_name(&e),
        message: e.to_string(),
        offset: abs(offset),
        close_code: e.close_code().0,
    }
}

impl Inspector {
    /// An inspector for frames sent by `sender` (`None`: either side).
    pub fn new(sender: Option<Role>, start: Start) -> Self {
        Self {
            sender,
            message: match start {
                Start::Unknown => MessageState::Unknown,
                Start::Connection => MessageState::Idle,
            },
            utf8: None,
            message_bytes: 0,
            frames: 0,
        }
    }

    /// Reports on one frame whose header is `header` and whose bytes start `bytes`
    /// (the whole frame, or only its start when `truncated`), found at absolute `offset`.
    pub fn inspect<'a>(
        &mut self,
        header: FrameHeader,
        bytes: &'a [u8],
        offset: u64,
        truncated: bool,
    ) -> FrameReport<'a> {
        let layout = header.layout();
        let header_len = header.header_len();
        let wire_payload = &bytes[header_len.min(bytes.len())..];
        let payload: Cow<'a, [u8]> = match header.mask {
            Some(key) => {
                let mut owned = wire_payload.to_vec();
                apply_mask(&mut owned, key, 0);
                Cow::Owned(owned)
            }
            None => Cow::Borrowed(wire_payload),
        };
        let ctx = RuleContext {
            sender: self.sender,
            in_message: match self.message {
                MessageState::Unknown => None,
                MessageState::Idle => Some(false),
                MessageState::Open(_) => Some(true),
            },
            ..RuleContext::default()
        };
        let mut violations: Vec<Violation> = header_violations(&header, &ctx)
            .into_iter()
            .map(|e| {
                let at = offset + e.header_offset().unwrap_or(0) as u64;
                violation(e, at)
            })
            .collect();
        let payload_at = offset + header_len as u64;
        let mut kind = None;
        let mut close = None;
        match header.opcode() {
            Some(op @ (OpCode::Text | OpCode::Binary | OpCode::Continuation)) => {
                kind = match op {
                    OpCode::Text => Some(DataKind::Text),
                    OpCode::Binary => Some(DataKind::Binary),
                    _ => match self.message {
                        MessageState::Open(k) => k,
                        _ => None,
                    },
                };
                if op != OpCode::Continuation {
                    self.utf8 = (op == OpCode::Text).then(Utf8Validator::new);
                    self.message_bytes = 0;
                } else if kind != Some(DataKind::Text) {
                    self.utf8 = None;
                }
                if truncated {
                    self.utf8 = None;
                }
                if let Some(v) = self.utf8.as_mut() {
                    let before = self.message_bytes;
                    let mut result = v.feed(&payload);
                    if result.is_ok() && header.fin {
                        result = v.finish();
                    }
                    if let Err(e) = result {
                        let at = payload_at + e.offset.saturating_sub(before);
                        violations.push(violation(
                            ProtocolError::InvalidUtf8 { offset: e.offset },
                            at,
                        ));
                        self.utf8 = None;
                    }
                }
                self.message_bytes += payload.len() as u64;
                self.message = if header.fin {
                    MessageState::Idle
                } else {
                    MessageState::Open(kind)
                };
            }
            Some(OpCode::Close) if !truncated => match parse_close_payload(&payload) {
                Ok((code, reason)) => {
                    close = Some(CloseInfo {
                        code: code.map(|c| c.0),
                        meaning: code.map_or("no status code", |c| c.meaning()).to_owned(),
                        reason: reason.to_owned(),
                    });
                }
                Err(e) => {
                    let within = match e {
                        ClosePayloadError::InvalidReason(n) => 2 + n as u64,
                        _ => 0,
                    };
                    violations.push(violation(
                        ProtocolError::InvalidClose(e),
                        payload_at + within,
                    ));
                }
            },
            _ => {}
        }
        let text = (kind == Some(DataKind::Text))
            .then(|| match std::str::from_utf8(&payload) {
                Ok(s) => Some(s.to_owned()),
                Err(e) if truncated => {
                    Some(String::from_utf8_lossy(&payload[..e.valid_up_to()]).into_owned())
                }
                Err(_) => None,
            })
            .flatten();
        let index = self.frames;
        self.frames += 1;
        FrameReport {
            index: abs(index),
            offset: abs(offset),
            length: abs((header_len as u64).saturating_add(header.payload_len)),
            header_length: header_len as u8,
            fin: header.fin,
            rsv1: header.rsv1,
            rsv2: header.rsv2,
            rsv3: header.rsv3,
            opcode: header.opcode,
            opcode_name: header.opcode_name(),
            control: header.is_control(),
            masked: header.mask.is_some(),
            mask_key: header.mask,
            payload_length: abs(header.payload_len),
            length_encoding: header.length_encoding.bits(),
            ranges: FieldRanges {
                flags_and_opcode: range(offset, layout.flags_and_opcode),
                mask_bit_and_length: range(offset, layout.mask_bit_and_length),
                extended_length: layout.extended_length.map(|r| range(offset, r)),
                mask_key: layout.mask_key.map(|r| range(offset, r)),
                payload: [
                    abs(payload_at),
                    abs(payload_at.saturating_add(header.payload_len)),
                ],
            },
            bytes: Cow::Borrowed(bytes),
            masked_payload: Cow::Borrowed(wire_payload),
            payload,
            truncated,
            text,
            close,
            violations,
        }
    }
}

/// The unfinished frame at the start of `buf` (found at absolute `offset`), if any.
pub fn incomplete_at(buf: &[u8], offset: u64) -> Option<Incomplete> {
    if buf.is_empty() {
        return None;
    }
    let (needed, header_complete) = match decode_frame(buf) {
        Decoded::Frame(_) => return None,
        Decoded::HeaderOnly { needed, .. } => (needed, true),
        Decoded::Incomplete { needed } => (needed as u64, false),
    };
    Some(Incomplete {
        offset: abs(offset),
        available: abs(buf.len() as u64),
        needed: abs(needed),
        header_complete,
    })
}

/// Decodes every complete frame in `buf`, which starts at absolute `offset`.
pub fn decode_buffer<'a>(
    inspector: &mut Inspector,
    buf: &'a [u8],
    offset: u64,
) -> BufferReport<'a> {
    let mut frames = Vec::new();
    let mut at = 0;
    while let Decoded::Frame(f) = decode_frame(&buf[at..]) {
        frames.push(inspector.inspect(f.header, &buf[at..at + f.len], offset + at as u64, false));
        at += f.len;
    }
    BufferReport {
        frames,
        consumed: abs(at as u64),
        incomplete: incomplete_at(&buf[at..], offset + at as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], sender: Option<Role>) -> BufferReport<'_> {
        decode_buffer(&mut Inspector::new(sender, Start::Unknown), bytes, 0)
    }

    #[test]
    fn rfc_masked_hello() {
        let bytes = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let r = decode(&bytes, Some(Role::Client));
        assert_eq!(r.frames.len(), 1);
        let f = &r.frames[0];
        assert_eq!(f.text.as_deref(), Some("Hello"));
        assert_eq!(f.mask_key, Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(f.ranges.mask_key, Some([2.0, 6.0]));
        assert_eq!(f.ranges.payload, [6.0, 11.0]);
        assert_eq!(&*f.masked_payload, &bytes[6..]);
        assert!(f.violations.is_empty());
        assert!(r.incomplete.is_none());
    }

    #[test]
    fn fragmented_text_with_split_character() {
        // "€" split over two frames: valid as a message, each fragment alone is not.
        let bytes = [0x01, 0x02, 0xE2, 0x82, 0x80, 0x01, 0xAC];
        let r = decode(&bytes, Some(Role::Server));
        assert_eq!(r.frames.len(), 2);
        assert!(r.frames.iter().all(|f| f.violations.is_empty()));
        assert_eq!(r.frames[1].text, None);
    }

    #[test]
    fn invalid_utf8_offset_is_absolute() {
        let bytes = [0x82, 0x00, 0x81, 0x03, b'a', b'b', 0xFF];
        let r = decode(&bytes, None);
        let v = &r.frames[1].violations[0];
        assert_eq!(v.rule, "InvalidUtf8");
        assert_eq!(v.offset, 6.0);
        assert_eq!(v.close_code, 1007);
    }

    #[test]
    fn close_reason_and_bad_close() {
        let good = [0x88, 0x04, 0x03, 0xE8, b'o', b'k'];
        let c = decode(&good, None).frames[0].close.clone().unwrap();
        assert_eq!((c.code, c.reason.as_str()), (Some(1000), "ok"));
        let bad = [0x88, 0x02, 0x03, 0xED];
        let v = decode(&bad, None).frames[0].violations.clone();
        assert_eq!(v[0].rule, "InvalidClose");
        assert_eq!(v[0].offset, 2.0);
    }

    #[test]
    fn trailing_incomplete_frame() {
        let bytes = [0x82, 0x7E, 0x01, 0x00, 1, 2, 3];
        let r = decode(&bytes, None);
        assert!(r.frames.is_empty());
        let i = r.incomplete.unwrap();
        assert_eq!(
            (i.available, i.needed, i.header_complete),
            (7.0, 253.0, true)
        );
    }

    #[test]
    fn continuation_rules_follow_message_state() {
        let mut insp = Inspector::new(None, Start::Connection);
        let cont = [0x80, 0x00];
        let r = decode_buffer(&mut insp, &cont, 0);
        assert_eq!(r.frames[0].violations[0].rule, "ContinuationWithoutStart");
        let r = decode(&cont, None);
        assert!(r.frames[0].violations.is_empty());
    }
}
