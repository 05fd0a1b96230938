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

/// The bytes of a frame (any bytes: malformed frames too) masked with `key`
/// as a client must send them: when the first frame's header parses and has
/// no mask, the mask bit is set, `key` inserted after the length (its
/// encoding kept as it was) and the payload bytes that follow masked; bytes
/// past that frame's payload are kept as they are. Bytes already masked, or
/// too short for a header, are returned unchanged.
///
/// ```
/// use framewire_core::frame::mask_frame;
///
/// let masked = mask_frame(b"\x81\x05Hello", [0x37, 0xfa, 0x21, 0x3d]);
/// // RFC 6455 section 5.7's masked "Hello".
/// assert_eq!(masked, b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
/// ```
pub fn mask_frame(bytes: &[u8], key: [u8; 4]) -> Vec<u8> {
    let header = match FrameHeader::parse(bytes) {
        Ok(h) if h.mask.is_none() => h,
        _ => return bytes.to_vec(),
    };
    let rest = &bytes[header.header_len()..];
    let payload = usize::try_from(header.payload_len)
        .unwrap_or(usize::MAX)
        .min(rest.len());
    let masked = FrameHeader {
        mask: Some(key),
        ..header
    };
    let mut head = [0u8; MAX_HEADER_LEN];
    let n = encode_header(&masked, &mut head);
    let mut out = Vec::with_capacity(n + rest.len());
    out.extend_from_slice(&head[..n]);
    let start = out.len();
    out.extend_from_slice(rest);
    apply_mask(&mut out[start..start + payload], key, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_a_non_minimal_length_and_trailing_bytes() {
        // 16-bit length 2 (non-minimal), payload "ab", then a stray byte.
        let bytes = [0x82, 126, 0, 2, b'a', b'b', 0xEE];
        let out = mask_frame(&bytes, [1, 2, 3, 4]);
        assert_eq!(
            out,
            [0x82, 0x80 | 126, 0, 2, 1, 2, 3, 4, b'a' ^ 1, b'b' ^ 2, 0xEE]
        );
    }

    #[test]
    fn masked_or_short_bytes_are_kept() {
        assert_eq!(mask_frame(&[0x81], [1, 2, 3, 4]), [0x81]);
        let masked = [0x81, 0x81, 9, 9, 9, 9, 0];
        assert_eq!(mask_frame(&masked, [1, 2, 3, 4]), masked);
    }

    #[test]
    fn a_truncated_payload_is_masked_as_far_as_it_goes() {
        let out = mask_frame(&[0x81, 0x05, b'H'], [1, 0, 0, 0]);
        assert_eq!(out, [0x81, 0x85, 1, 0, 0, 0, b'H' ^ 1]);
    }
}
