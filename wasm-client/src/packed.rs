//! Frame reports packed for JavaScript in bulk: one `Float64Array` of fields, one
//! `Uint8Array` of bytes, and the rare parts (close payloads, broken rules) as objects.
//! Building a JavaScript object field by field from wasm costs a call per field;
//! `www/loader.js` rebuilds the same `FrameReport` objects from these arrays in
//! JavaScript instead, many times faster for streams of small frames. Nothing here
//! decides anything about a frame: every value comes from a [`FrameReport`].

use serde::Serialize;

use crate::report::{CloseInfo, FrameReport, Violation};

/// Numbers per frame in [`Packed::nums`].
pub const FIELDS: usize = 23;

/// Bits of the `flags` field.
pub mod flag {
    /// FIN.
    pub const FIN: u32 = 1;
    /// RSV1.
    pub const RSV1: u32 = 2;
    /// RSV2.
    pub const RSV2: u32 = 4;
    /// RSV3.
    pub const RSV3: u32 = 8;
    /// A control opcode.
    pub const CONTROL: u32 = 16;
    /// The mask bit.
    pub const MASKED: u32 = 32;
    /// Only the start of the payload was kept.
    pub const TRUNCATED: u32 = 64;
    /// Part of a compressed message.
    pub const COMPRESSED: u32 = 128;
    /// `inflated` is present.
    pub const INFLATED: u32 = 256;
    /// `text` is present.
    pub const TEXT: u32 = 512;
    /// The unmasked payload is packed apart (it differs from the bytes after the header).
    pub const PAYLOAD: u32 = 1024;
}

/// The rare parts of frame `at` (its position in the batch).
#[derive(Debug, Serialize)]
pub struct Extra {
    /// Position of the frame in the batch.
    pub at: usize,
    /// The parsed close payload.
    pub close: Option<CloseInfo>,
    /// The rules it breaks.
    pub violations: Vec<Violation>,
}

/// A batch of frame reports, packed.
///
/// Per frame, `nums` holds, in order: index, offset, length, headerLength, flags (see
/// [`flag`]), opcode, the mask key as a big-endian u32 (0 when unmasked), payloadLength,
/// lengthEncoding, the ranges (flagsAndOpcode, maskBitAndLength, extendedLength, maskKey,
/// payload: two numbers each, NaN for an absent range), then the lengths in `bytes` of the
/// frame's bytes, of its unmasked payload (packed only with [`flag::PAYLOAD`]; otherwise it
/// is the bytes after the header) and of its inflated payload, and last the UTF-8 length of
/// `text`, the start of the content (inflated, else the payload). `bytes` holds those,
/// frame after frame.
#[derive(Debug, Default)]
pub struct Packed {
    /// [`FIELDS`] numbers per frame.
    pub nums: Vec<f64>,
    /// Each frame's bytes, unmasked payload (when masked) and inflated payload.
    pub bytes: Vec<u8>,
    /// Close payloads and broken rules, for the frames that have them.
    pub extras: Vec<Extra>,
}

fn range(r: Option<[f64; 2]>) -> [f64; 2] {
    r.unwrap_or([f64::NAN, f64::NAN])
}

impl Packed {
    /// Packs `frames`.
    pub fn new(frames: Vec<FrameReport>) -> Self {
        let mut p = Self {
            nums: Vec::with_capacity(frames.len() * FIELDS),
            bytes: Vec::with_capacity(frames.iter().map(|f| f.bytes.len()).sum()),
            extras: Vec::new(),
        };
        for (at, f) in frames.into_iter().enumerate() {
            p.push(at, f);
        }
        p
    }

    fn push(&mut self, at: usize, f: FrameReport) {
        let after_header = &f.bytes[usize::from(f.header_length).min(f.bytes.len())..];
        let apart = f.payload != after_header;
        let flags = [
            (f.fin, flag::FIN),
            (f.rsv1, flag::RSV1),
            (f.rsv2, flag::RSV2),
            (f.rsv3, flag::RSV3),
            (f.control, flag::CONTROL),
            (f.masked, flag::MASKED),
            (f.truncated, flag::TRUNCATED),
            (f.compressed, flag::COMPRESSED),
            (f.inflated.is_some(), flag::INFLATED),
            (f.text.is_some(), flag::TEXT),
            (apart, flag::PAYLOAD),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .fold(0, |acc, (_, bit)| acc | bit);
        let key = f.mask_key.map_or(0, u32::from_be_bytes);
        let r = &f.ranges;
        let unmasked = if apart { f.payload.len() } else { 0 };
        let inflated = f.inflated.as_ref().map_or(0, Vec::len);
        self.nums.extend_from_slice(&[
            f.index,
            f.offset,
            f.length,
            f64::from(f.header_length),
            f64::from(flags),
            f64::from(f.opcode),
            f64::from(key),
            f.payload_length,
            f64::from(f.length_encoding),
        ]);
        for pair in [
            r.flags_and_opcode,
            r.mask_bit_and_length,
            range(r.extended_length),
            range(r.mask_key),
            r.payload,
        ] {
            self.nums.extend_from_slice(&pair);
        }
        self.nums.extend_from_slice(&[
            f.bytes.len() as f64,
            unmasked as f64,
            inflated as f64,
            f.text.as_ref().map_or(0, String::len) as f64,
        ]);
        self.bytes.extend_from_slice(&f.bytes);
        if apart {
            self.bytes.extend_from_slice(&f.payload);
        }
        if let Some(i) = &f.inflated {
            self.bytes.extend_from_slice(i);
        }
        if f.close.is_some() || !f.violations.is_empty() {
            self.extras.push(Extra {
                at,
                close: f.close,
                violations: f.violations,
            });
        }
    }
}
