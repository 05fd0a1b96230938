//! The plain data handed to JavaScript: the core inspector's records in the
//! shapes `www/` reads (one [`FrameReport`] per frame). Nothing here checks rules.
//!
//! Lengths and offsets are `f64` because JavaScript numbers are; they are exact
//! up to 2^53 bytes, far beyond any buffer a browser holds.

use framewire_core::inspect::{
    CloseInfo as CoreCloseInfo, FrameRecord, Unfinished, Violation as CoreViolation,
};

/// A byte range `[start, end)`, absolute in the decoded buffer or stream.
pub type ByteRange = [f64; 2];

/// Where each field of a frame lies, absolute in the buffer or stream.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRanges {
    /// Byte 0: FIN, RSV1-3 and the opcode.
    pub flags_and_opcode: ByteRange,
    /// Byte 1: the mask bit and the 7-bit length.
    pub mask_bit_and_length: ByteRange,
    /// The 16- or 64-bit extended length, when present.
    pub extended_length: Option<ByteRange>,
    /// The 4-byte masking key, when present.
    pub mask_key: Option<ByteRange>,
    /// The payload as declared by the header (it may extend past a truncated frame).
    pub payload: ByteRange,
}

/// A rule of RFC 6455 that a frame breaks.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// The core's name for the rule, such as `UnmaskedClientFrame`.
    pub rule: String,
    /// What is wrong, in a sentence.
    pub message: String,
    /// Absolute offset of the offending byte.
    pub offset: f64,
    /// The close code a receiver answers with.
    pub close_code: u16,
}

/// A close frame's payload, when it parses.
#[derive(Debug, Clone, PartialEq)]
pub struct CloseInfo {
    /// The status code, absent for an empty payload.
    pub code: Option<u16>,
    /// The code's registered meaning (`no status code` when absent).
    pub meaning: String,
    /// The UTF-8 reason, possibly empty.
    pub reason: String,
}

/// Everything known about one frame.
///
/// New fields may be added; consumers ignore fields they do not know.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameReport {
    /// Position of the frame among those decoded by the same decoder, from 0.
    pub index: f64,
    /// Absolute offset of the frame's first byte.
    pub offset: f64,
    /// Total length on the wire: header plus payload.
    pub length: f64,
    /// Header length in bytes (2 to 14).
    pub header_length: u8,
    /// Final fragment of its message.
    pub fin: bool,
    /// Reserved bit 1.
    pub rsv1: bool,
    /// Reserved bit 2.
    pub rsv2: bool,
    /// Reserved bit 3.
    pub rsv3: bool,
    /// The 4-bit opcode.
    pub opcode: u8,
    /// The opcode's name (`text`, `close`, `reserved data`, ...).
    pub opcode_name: &'static str,
    /// Close, ping, pong or a reserved control opcode.
    pub control: bool,
    /// The mask bit.
    pub masked: bool,
    /// The masking key, when the mask bit is set.
    pub mask_key: Option<[u8; 4]>,
    /// The declared payload length.
    pub payload_length: f64,
    /// How the length was written: 7, 16 or 64 bits.
    pub length_encoding: u8,
    /// Byte ranges of the fields.
    pub ranges: FieldRanges,
    /// The frame's bytes as on the wire (cut short when `truncated`).
    pub bytes: Vec<u8>,
    /// The payload as on the wire, still masked when `masked`.
    pub masked_payload: Vec<u8>,
    /// The payload unmasked.
    pub payload: Vec<u8>,
    /// True when only the start of the payload was kept (stream buffer limit).
    pub truncated: bool,
    /// The frame belongs to a permessage-deflate compressed message.
    pub compressed: bool,
    /// What this frame's payload inflated to (for the last frame of a message,
    /// including the flush of the implied trailer); `None` when not compressed or
    /// when inflating failed.
    pub inflated: Option<Vec<u8>>,
    /// The payload (inflated, when compressed) as text, for text data that is valid
    /// UTF-8 by itself.
    pub text: Option<String>,
    /// The parsed close payload, for a close frame whose payload is valid.
    pub close: Option<CloseInfo>,
    /// Every rule this frame breaks, in wire order.
    pub violations: Vec<Violation>,
}

/// A frame whose bytes have not all arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct Incomplete {
    /// Absolute offset of its first byte.
    pub offset: f64,
    /// Bytes of it present.
    pub available: f64,
    /// Bytes still missing (a lower bound while the header is incomplete).
    pub needed: f64,
    /// True when the whole header is present.
    pub header_complete: bool,
}

/// The result of decoding a whole buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct BufferReport {
    /// The complete frames, in order.
    pub frames: Vec<FrameReport>,
    /// Bytes taken by the complete frames.
    pub consumed: f64,
    /// The unfinished frame at the end, if any.
    pub incomplete: Option<Incomplete>,
}

fn num(x: u64) -> f64 {
    x as f64
}

fn range(base: u64, r: std::ops::Range<usize>) -> ByteRange {
    [num(base + r.start as u64), num(base + r.end as u64)]
}

impl From<&CoreViolation> for Violation {
    fn from(v: &CoreViolation) -> Self {
        Self {
            rule: v.rule().to_owned(),
            message: v.error.to_string(),
            offset: num(v.offset),
            close_code: v.close_code().0,
        }
    }
}

impl From<&FrameRecord> for FieldRanges {
    fn from(f: &FrameRecord) -> Self {
        let payload_at = f.payload_offset();
        Self {
            flags_and_opcode: range(f.offset, f.layout.flags_and_opcode.clone()),
            mask_bit_and_length: range(f.offset, f.layout.mask_bit_and_length.clone()),
            extended_length: f.layout.extended_length.clone().map(|r| range(f.offset, r)),
            mask_key: f.layout.mask_key.clone().map(|r| range(f.offset, r)),
            payload: [
                num(payload_at),
                num(payload_at.saturating_add(f.header.payload_len)),
            ],
        }
    }
}

impl From<&CoreCloseInfo> for CloseInfo {
    fn from(c: &CoreCloseInfo) -> Self {
        Self {
            code: c.code.map(|c| c.0),
            meaning: c.code.map_or("no status code", |c| c.meaning()).to_owned(),
            reason: c.reason.clone(),
        }
    }
}

impl From<FrameRecord> for FrameReport {
    fn from(f: FrameRecord) -> Self {
        let h = f.header;
        let bytes = f.bytes().into_owned();
        let header_len = h.header_len().min(bytes.len());
        Self {
            index: num(f.index),
            offset: num(f.offset),
            length: num(f.declared_len()),
            header_length: h.header_len() as u8,
            fin: h.fin,
            rsv1: h.rsv1,
            rsv2: h.rsv2,
            rsv3: h.rsv3,
            opcode: h.opcode,
            opcode_name: h.opcode_name(),
            control: h.is_control(),
            masked: h.mask.is_some(),
            mask_key: h.mask,
            payload_length: num(h.payload_len),
            length_encoding: h.length_encoding.bits(),
            ranges: FieldRanges::from(&f),
            text: f.text(),
            compressed: f.message.is_some_and(|m| m.compressed),
            close: f.close.as_ref().map(CloseInfo::from),
            violations: f.violations.iter().map(Violation::from).collect(),
            masked_payload: bytes[header_len..].to_vec(),
            truncated: f.truncated,
            payload: f.payload().to_vec(),
            inflated: f.inflated,
            bytes,
        }
    }
}

impl From<Unfinished> for Incomplete {
    fn from(u: Unfinished) -> Self {
        Self {
            offset: num(u.offset),
            available: num(u.available),
            needed: num(u.needed),
            header_complete: u.header.is_some(),
        }
    }
}
