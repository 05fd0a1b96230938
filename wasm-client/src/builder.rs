//! The frame builder: fields in, wire bytes out, through the core's encoder.

use framewire_core::frame::{encode_header, FrameHeader, LengthEncoding, MAX_HEADER_LEN};
use framewire_core::mask::apply_mask;

/// Why a frame cannot be built as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The opcode does not fit in 4 bits.
    #[error("opcode {0} does not fit in 4 bits (0-15)")]
    Opcode(u32),
    /// The requested length encoding is not 7, 16 or 64.
    #[error("length encoding {0} is not 7, 16 or 64 bits")]
    LengthBits(u32),
    /// The payload does not fit the requested length encoding.
    #[error("a payload of {len} bytes does not fit a {bits}-bit length")]
    TooLongFor {
        /// Payload length.
        len: usize,
        /// Requested encoding.
        bits: u8,
    },
    /// The OS random source failed while making a mask key.
    #[error("no random mask key: {0}")]
    Random(String),
}

/// The fields of a frame to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameSpec {
    /// FIN bit.
    pub fin: bool,
    /// RSV1.
    pub rsv1: bool,
    /// RSV2.
    pub rsv2: bool,
    /// RSV3.
    pub rsv3: bool,
    /// The 4-bit opcode.
    pub opcode: u32,
    /// The masking key; `None` sends the payload unmasked.
    pub mask: Option<[u8; 4]>,
    /// Length encoding to use (7, 16 or 64 bits); `None` picks the minimal one.
    pub length_bits: Option<u32>,
    /// The unmasked payload.
    pub payload: Vec<u8>,
}

/// A fresh random masking key.
pub fn random_mask_key() -> Result<[u8; 4], BuildError> {
    let mut key = [0u8; 4];
    fill_random(&mut key)?;
    Ok(key)
}

// In the browser the key comes straight from `crypto.getRandomValues` (getrandom's "js"
// support added its probing of Node's crypto module to the decoder's bindings).
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues, catch)]
    fn get_random_values(buf: &mut [u8]) -> Result<(), wasm_bindgen::JsValue>;
}

#[cfg(target_arch = "wasm32")]
fn fill_random(buf: &mut [u8]) -> Result<(), BuildError> {
    get_random_values(buf)
        .map_err(|_| BuildError::Random("crypto.getRandomValues failed".to_owned()))
}

#[cfg(not(target_arch = "wasm32"))]
fn fill_random(buf: &mut [u8]) -> Result<(), BuildError> {
    getrandom::getrandom(buf).map_err(|e| BuildError::Random(e.to_string()))
}

/// Encodes `spec` into wire bytes. A non-minimal `length_bits` is honoured, so
/// frames that break the minimal-length rule can be built on purpose.
pub fn build_frame(spec: &FrameSpec) -> Result<Vec<u8>, BuildError> {
    let opcode = u8::try_from(spec.opcode)
        .ok()
        .filter(|o| *o < 16)
        .ok_or(BuildError::Opcode(spec.opcode))?;
    let len = spec.payload.len() as u64;
    let length_encoding = match spec.length_bits {
        None => LengthEncoding::minimal(len),
        Some(7) => LengthEncoding::Bits7,
        Some(16) => LengthEncoding::Bits16,
        Some(64) => LengthEncoding::Bits64,
        Some(other) => return Err(BuildError::LengthBits(other)),
    };
    let fits = match length_encoding {
        LengthEncoding::Bits7 => len <= 125,
        LengthEncoding::Bits16 => len <= 0xFFFF,
        LengthEncoding::Bits64 => true,
    };
    if !fits {
        return Err(BuildError::TooLongFor {
            len: spec.payload.len(),
            bits: length_encoding.bits(),
        });
    }
    let header = FrameHeader {
        fin: spec.fin,
        rsv1: spec.rsv1,
        rsv2: spec.rsv2,
        rsv3: spec.rsv3,
        opcode,
        mask: spec.mask,
        payload_len: len,
        length_encoding,
    };
    let mut head = [0u8; MAX_HEADER_LEN];
    let n = encode_header(&header, &mut head);
    let mut out = Vec::with_capacity(n + spec.payload.len());
    out.extend_from_slice(&head[..n]);
    out.extend_from_slice(&spec.payload);
    if let Some(key) = spec.mask {
        apply_mask(&mut out[n..], key, 0);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(payload: &[u8]) -> FrameSpec {
        FrameSpec {
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode: 1,
            mask: None,
            length_bits: None,
            payload: payload.to_vec(),
        }
    }

    #[test]
    fn rfc_examples() {
        assert_eq!(
            build_frame(&spec(b"Hello")).unwrap(),
            [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
        );
        let masked = FrameSpec {
            mask: Some([0x37, 0xfa, 0x21, 0x3d]),
            ..spec(b"Hello")
        };
        assert_eq!(
            build_frame(&masked).unwrap(),
            [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        );
    }

    #[test]
    fn non_minimal_length_on_request() {
        let s = FrameSpec {
            length_bits: Some(16),
            ..spec(b"hi")
        };
        assert_eq!(build_frame(&s).unwrap()[..4], [0x81, 126, 0, 2]);
    }

    #[test]
    fn bad_fields_are_errors() {
        let s = FrameSpec {
            opcode: 16,
            ..spec(b"")
        };
        assert_eq!(build_frame(&s), Err(BuildError::Opcode(16)));
        let s = FrameSpec {
            length_bits: Some(7),
            ..spec(&[0; 200])
        };
        assert!(matches!(
            build_frame(&s),
            Err(BuildError::TooLongFor { .. })
        ));
        let s = FrameSpec {
            length_bits: Some(9),
            ..spec(b"")
        };
        assert_eq!(build_frame(&s), Err(BuildError::LengthBits(9)));
    }
}
