//! The frame encoder: always the minimal length encoding.

use super::header::{FrameHeader, LengthEncoding, MAX_HEADER_LEN};
use crate::mask::apply_mask;

/// Writes `header` into `out` (at least [`MAX_HEADER_LEN`] bytes) and returns its length.
///
/// The length is written as `header.length_encoding` says; headers made with
/// [`FrameHeader::new`] use the minimal one.
pub fn encode_header(header: &FrameHeader, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
    out[0] = (u8::from(header.fin) << 7) | (header.rsv_bits() << 4) | (header.opcode & 0x0F);
    let mask_bit = if header.mask.is_some() { 0x80 } else { 0 };
    let mut at = 2;
    match header.length_encoding {
        LengthEncoding::Bits7 => out[1] = mask_bit | (header.payload_len as u8 & 0x7F),
        LengthEncoding::Bits16 => {
            out[1] = mask_bit | 126;
            out[2..4].copy_from_slice(&(header.payload_len as u16).to_be_bytes());
            at = 4;
        }
        LengthEncoding::Bits64 => {
            out[1] = mask_bit | 127;
            out[2..10].copy_from_slice(&header.payload_len.to_be_bytes());
            at = 10;
        }
    }
    if let Some(key) = header.mask {
        out[at..at + 4].copy_from_slice(&key);
        at += 4;
    }
    at
}

/// Appends a whole frame to `out`, masking the payload copy when the header has a key.
///
/// `header.payload_len` is taken from `payload`.
pub fn encode_frame(header: &FrameHeader, payload: &[u8], out: &mut Vec<u8>) {
    let mut header = *header;
    header.payload_len = payload.len() as u64;
    header.length_encoding = LengthEncoding::minimal(header.payload_len);
    let mut head = [0u8; MAX_HEADER_LEN];
    let n = encode_header(&header, &mut head);
    out.reserve(n + payload.len());
    out.extend_from_slice(&head[..n]);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = header.mask {
        apply_mask(&mut out[start..], key, 0);
    }
}
