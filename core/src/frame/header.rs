//! The frame header and the byte layout of its fields.

use std::ops::Range;

use crate::opcode::{opcode_name, OpCode};

/// The longest possible header: 2 + 8 (64-bit length) + 4 (mask key).
pub const MAX_HEADER_LEN: usize = 14;

/// How the payload length was written on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LengthEncoding {
    /// In the 7 bits of the second byte (0-125).
    Bits7,
    /// 126 then a 16-bit big-endian length.
    Bits16,
    /// 127 then a 64-bit big-endian length.
    Bits64,
}

impl LengthEncoding {
    /// The smallest encoding that holds `len`.
    pub fn minimal(len: u64) -> Self {
        match len {
            0..=125 => Self::Bits7,
            126..=0xFFFF => Self::Bits16,
            _ => Self::Bits64,
        }
    }

    /// 7, 16 or 64.
    pub fn bits(self) -> u8 {
        match self {
            Self::Bits7 => 7,
            Self::Bits16 => 16,
            Self::Bits64 => 64,
        }
    }

    /// Bytes that follow the second header byte for the length.
    pub fn extra_bytes(self) -> usize {
        match self {
            Self::Bits7 => 0,
            Self::Bits16 => 2,
            Self::Bits64 => 8,
        }
    }
}

/// A decoded or to-be-encoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Final fragment of a message.
    pub fin: bool,
    /// Reserved bit 1 (used by permessage-deflate).
    pub rsv1: bool,
    /// Reserved bit 2.
    pub rsv2: bool,
    /// Reserved bit 3.
    pub rsv3: bool,
    /// The raw 4-bit opcode, reserved values included.
    pub opcode: u8,
    /// The masking key, when the mask bit is set.
    pub mask: Option<[u8; 4]>,
    /// Payload length in bytes.
    pub payload_len: u64,
    /// How the length was (or will be) written.
    pub length_encoding: LengthEncoding,
}

/// Byte ranges of each header field, relative to the frame's first byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderLayout {
    /// Byte 0: FIN, RSV1-3 and the opcode.
    pub flags_and_opcode: Range<usize>,
    /// Byte 1: the mask bit and the 7-bit length.
    pub mask_bit_and_length: Range<usize>,
    /// The 16- or 64-bit extended length, if any.
    pub extended_length: Option<Range<usize>>,
    /// The 4-byte masking key, if any.
    pub mask_key: Option<Range<usize>>,
    /// The payload.
    pub payload: Range<usize>,
}

impl FrameHeader {
    /// A header with the minimal length encoding and no reserved bits.
    pub fn new(fin: bool, opcode: OpCode, mask: Option<[u8; 4]>, payload_len: u64) -> Self {
        Self {
            fin,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode: opcode.as_u8(),
            mask,
            payload_len,
            length_encoding: LengthEncoding::minimal(payload_len),
        }
    }

    /// The opcode, or `None` when it is reserved.
    pub fn opcode(&self) -> Option<OpCode> {
        OpCode::from_u8(self.opcode)
    }

    /// The opcode's name, reserved ones included.
    pub fn opcode_name(&self) -> &'static str {
        opcode_name(self.opcode)
    }

    /// True when the opcode has its high bit set (close, ping, pong, reserved control).
    pub fn is_control(&self) -> bool {
        self.opcode & 0x8 != 0
    }

    /// Length of the encoded header in bytes (2 to 14).
    pub fn header_len(&self) -> usize {
        2 + self.length_encoding.extra_bytes() + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Where each field lies in the encoded frame.
    pub fn layout(&self) -> HeaderLayout {
        let ext = self.length_encoding.extra_bytes();
        let after_len = 2 + ext;
        let header_len = self.header_len();
        let payload_end = (header_len as u64).saturating_add(self.payload_len);
        HeaderLayout {
            flags_and_opcode: 0..1,
            mask_bit_and_length: 1..2,
            extended_length: (ext > 0).then_some(2..after_len),
            mask_key: self.mask.map(|_| after_len..after_len + 4),
            payload: header_len..usize::try_from(payload_end).unwrap_or(usize::MAX),
        }
    }

    /// The RSV bits as a 3-bit value (RSV1 is 0b100).
    pub fn rsv_bits(&self) -> u8 {
        (u8::from(self.rsv1) << 2) | (u8::from(self.rsv2) << 1) | u8::from(self.rsv3)
    }
}
