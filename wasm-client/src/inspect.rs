//! Turns decoded frames into [`FrameReport`]s: header rules from the core, payload
//! checks (UTF-8 of text, the close payload) and message state across frames.

use std::borrow::Cow;

use framewire_core::close::{parse_close_payload, ClosePayloadError};
use framewire_core::deflate::Decompressor;
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

/// Default most bytes one compressed message may inflate to: 16 MiB.
pub const DEFAULT_INFLATE_LIMIT: u64 = 16 << 20;

/// permessage-deflate state of one direction.
#[derive(Debug)]
struct Inflation {
    decompressor: Decompressor,
    /// The open message is compressed (its first frame had RSV1).
    active: bool,
    /// Bytes the open message inflated to so far.
    inflated: u64,
    limit: u64,
}

/// Decodes a sequence of frames from one sender, remembering message state.
#[derive(Debug)]
pub struct Inspector {
    sender: Option<Role>,
    message: MessageState,
    utf8: Option<Utf8Validator>,
    message_bytes: u64,
    frames: u64,
    deflate: Option<Inflation>,
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
            deflate: None,
        }
    }

    /// Treats RSV1 on a message's first frame as permessage-deflate (RFC 7692) and
    /// inflates such messages, each to at most `limit` bytes. The decompressor keeps
    /// its window across messages, which decodes both context-takeover modes.
    pub fn enable_deflate(&mut self, limit: u64) {
        self.deflate = Some(Inflation {
            decompressor: Decompressor::new(false),
            active: false,
            inflated: 0,
            limit,
        });
    }

    /// True once [`Inspector::enable_deflate`] was called.
    pub fn deflate_enabled(&self) -> bool {
        self.deflate.is_some()
    }

    /// Inflates a compressed frame's payload (and the message trailer after its last frame).
    fn inflate(&mut self, payload: &[u8], fin: bool) -> Result<Vec<u8>, ProtocolError> {
        let Some(d) = self.deflate.as_mut() else {
            return Ok(Vec::new());
        };
        let room = d.limit.saturating_sub(d.inflated);
        let mut out = Vec::new();
        let mut result = d.decompressor.inflate(payload, &mut out, room);
        if result.is_ok() && fin {
            result = d.decompressor.finish(&mut out, room);
        }
        d.inflated += out.len() as u64;
        if fin || result.is_err() {
            d.inflated = 0;
        }
        result.map(|()| out).map_err(|e| match e {
            framewire_core::deflate::InflateError::TooBig { .. } => {
                ProtocolError::Inflate(framewire_core::deflate::InflateError::TooBig {
                    limit: d.limit,
                })
            }
            other => ProtocolError::Inflate(other),
        })
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
            rsv_on_message_start: if self.deflate.is_some() { 0b100 } else { 0 },
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
        let mut compressed = false;
        let mut inflated: Option<Vec<u8>> = None;
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
                    if let Some(d) = self.deflate.as_mut() {
                        d.active = header.rsv1;
                        d.inflated = 0;
                    }
                } else if kind != Some(DataKind::Text) {
                    self.utf8 = None;
                }
                compressed = self.deflate.as_ref().is_some_and(|d| d.active);
                if truncated {
                    self.utf8 = None;
                }
                if compressed && !truncated {
                    match self.inflate(&payload, header.fin) {
                        Ok(out) => inflated = Some(out),
                        Err(e) => {
                            violations.push(violation(e, payload_at));
                            self.utf8 = None;
                        }
                    }
                } else if compressed {
                    self.utf8 = None;
                }
                let content: &[u8] = inflated.as_deref().unwrap_or(&payload);
                if let Some(v) = self.utf8.as_mut() {
                    let before = self.message_bytes;
                    let mut result = v.feed(content);
                    if result.is_ok() && header.fin {
                        result = v.finish();
                    }
                    if let Err(e) = result {
                        // In inflated text the offset is into the inflated bytes: point at the payload.
                        let within = if inflated.is_some() {
                            0
                        } else {
                            e.offset.saturating_sub(before)
                        };
                        let at = payload_at + within;
                        violations.push(violation(
                            ProtocolError::InvalidUtf8 { offset: e.offset },
                            at,
                        ));
                        self.utf8 = None;
                    }
                }
                self.message_bytes += content.len() as u64;
                if header.fin {
                    if let Some(d) = self.deflate.as_mut() {
                        d.active = false;
                    }
                }
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
        let content: &[u8] = inflated.as_deref().unwrap_or(&payload);
        let text = (kind == Some(DataKind::Text) && (!compressed || inflated.is_some()))
            .then(|| match std::str::from_utf8(content) {
                Ok(s) => Some(s.to_owned()),
                Err(e) if truncated => {
                    Some(String::from_utf8_lossy(&content[..e.valid_up_to()]).into_owned())
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
            compressed,
            inflated: inflated.map(Cow::Owned),
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
    fn deflate_context_carries_across_messages() {
        use framewire_core::deflate::Compressor;
        let mut c = Compressor::new(6, 15, false);
        let mut wire = Vec::new();
        for msg in ["hello hello hello", "hello hello hello"] {
            let mut payload = Vec::new();
            c.compress(msg.as_bytes(), true, &mut payload);
            let mut header = framewire_core::frame::FrameHeader::new(
                true,
                OpCode::Text,
                None,
                payload.len() as u64,
            );
            header.rsv1 = true;
            framewire_core::frame::encode_frame(&header, &payload, &mut wire);
        }
        let mut insp = Inspector::new(Some(Role::Server), Start::Connection);
        insp.enable_deflate(DEFAULT_INFLATE_LIMIT);
        let r = decode_buffer(&mut insp, &wire, 0);
        assert_eq!(r.frames.len(), 2);
        for f in &r.frames {
            assert!(f.compressed && f.violations.is_empty(), "{f:?}");
            assert_eq!(f.text.as_deref(), Some("hello hello hello"));
        }
        // The second message refers back to the first: shorter on the wire.
        assert!(r.frames[1].payload.len() < r.frames[0].payload.len());
    }

    #[test]
    fn inflate_limit_is_enforced() {
        let one = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let mut insp = Inspector::new(None, Start::Connection);
        insp.enable_deflate(3);
        let r = decode_buffer(&mut insp, &one, 0);
        assert_eq!(r.frames[0].violations[0].close_code, 1009);
        assert!(r.frames[0].inflated.is_none());
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
