//! The incremental frame decoder.

use super::header::{FrameHeader, LengthEncoding};

/// A complete frame borrowed from the input buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The decoded header.
    pub header: FrameHeader,
    /// The payload as on the wire (still masked if the header has a key).
    pub payload: &'a [u8],
    /// Total bytes of the frame: header plus payload.
    pub len: usize,
}

/// What [`decode_frame`] found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A whole frame.
    Frame(Frame<'a>),
    /// Only the header is complete; `needed` more bytes complete the frame.
    HeaderOnly {
        /// The header.
        header: FrameHeader,
        /// Bytes still missing.
        needed: u64,
    },
    /// The header itself is incomplete; at least `needed` more bytes are required.
    Incomplete {
        /// Bytes still missing to finish the header (a lower bound on the frame).
        needed: usize,
    },
}

impl FrameHeader {
    /// Parses a header at the start of `buf`, or says how many bytes are missing.
    ///
    /// Any bit pattern parses; rule checks are in [`crate::rules`].
    pub fn parse(buf: &[u8]) -> Result<FrameHeader, usize> {
        if buf.len() < 2 {
            return Err(2 - buf.len());
        }
        let b0 = buf[0];
        let b1 = buf[1];
        let len7 = b1 & 0x7F;
        let masked = b1 & 0x80 != 0;
        let length_encoding = match len7 {
            126 => LengthEncoding::Bits16,
            127 => LengthEncoding::Bits64,
            _ => LengthEncoding::Bits7,
        };
        let ext = length_encoding.extra_bytes();
        let header_len = 2 + ext + if masked { 4 } else { 0 };
        if buf.len() < header_len {
            return Err(header_len - buf.len());
        }
        let payload_len = match length_encoding {
            LengthEncoding::Bits7 => u64::from(len7),
            LengthEncoding::Bits16 => u64::from(u16::from_be_bytes([buf[2], buf[3]])),
            LengthEncoding::Bits64 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&buf[2..10]);
                u64::from_be_bytes(b)
            }
        };
        let mask = masked.then(|| {
            let at = 2 + ext;
            [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]
        });
        Ok(FrameHeader {
            fin: b0 & 0x80 != 0,
            rsv1: b0 & 0x40 != 0,
            rsv2: b0 & 0x20 != 0,
            rsv3: b0 & 0x10 != 0,
            opcode: b0 & 0x0F,
            mask,
            payload_len,
            length_encoding,
        })
    }
}

/// Decodes the frame at the start of `buf`, borrowing its payload.
///
/// Feed it whatever has arrived: one byte or megabytes. It never copies.
pub fn decode_frame(buf: &[u8]) -> Decoded<'_> {
    let header = match FrameHeader::parse(buf) {
        Ok(h) => h,
        Err(needed) => return Decoded::Incomplete { needed },
    };
    let header_len = header.header_len();
    let available = (buf.len() - header_len) as u64;
    if available < header.payload_len {
        return Decoded::HeaderOnly {
            header,
            needed: header.payload_len - available,
        };
    }
    // payload_len <= available <= usize::MAX here.
    let len = header_len + header.payload_len as usize;
    Decoded::Frame(Frame {
        header,
        payload: &buf[header_len..len],
        len,
    })
}
