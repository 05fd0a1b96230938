//! Frames packed for JavaScript in bulk, straight from the core's records: one
//! `Float64Array` of fields, one `Uint8Array` of bytes, and the rare parts (close
//! payloads, broken rules) as objects. Building a JavaScript object field by field
//! from wasm costs a call per field, and a string per text frame costs a copy the
//! page rarely needs; `www/loader.js` makes frame objects over these arrays whose
//! fields (text included) are read from them when asked for. Nothing here decides
//! anything about a frame: every value comes from a [`FrameRecord`], as in
//! [`crate::report::FrameReport`].

use serde::Serialize;

use framewire_core::inspect::FrameRecord;

use crate::report::{CloseInfo, FieldRanges, Violation};

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
    /// The unmasked payload is packed apart (the frame is masked, so it differs from the
    /// bytes after the header).
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

/// Buffer capacity kept between batches; a batch that needed more frees it after.
const KEEP_CAPACITY: usize = 1 << 20;

/// A batch of frames, packed; reused from batch to batch.
///
/// Per frame, `nums` holds, in order: index, offset, length, headerLength, flags (see
/// [`flag`]), opcode, the mask key as a big-endian u32 (0 when unmasked), payloadLength,
/// lengthEncoding, the ranges (flagsAndOpcode, maskBitAndLength, extendedLength, maskKey,
/// payload: two numbers each, NaN for an absent range), then the lengths in `bytes` of the
/// frame's bytes, of its unmasked payload (packed only with [`flag::PAYLOAD`]; otherwise it
/// is the bytes after the header) and of its inflated payload, and last the UTF-8 length of
/// the text (checked here; the page decodes it when shown), the start of the content
/// (inflated, else the payload). `bytes` holds those, frame after frame.
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
    /// Empties the batch for the next one, freeing buffers a large batch grew.
    pub fn clear(&mut self) {
        if self.bytes.capacity() > KEEP_CAPACITY {
            self.bytes = Vec::new();
        }
        if self.nums.capacity() * 8 > KEEP_CAPACITY {
            self.nums = Vec::new();
        }
        self.nums.clear();
        self.bytes.clear();
        self.extras.clear();
    }

    /// Frames in the batch.
    pub fn len(&self) -> usize {
        self.nums.len() / FIELDS
    }

    /// True when the batch holds no frame.
    pub fn is_empty(&self) -> bool {
        self.nums.is_empty()
    }

    /// Appends `frames` to the batch.
    pub fn extend(&mut self, frames: impl IntoIterator<Item = FrameRecord>) {
        for f in frames {
            self.push(&f);
        }
    }

    fn push(&mut self, f: &FrameRecord) {
        let h = &f.header;
        let apart = h.mask.is_some();
        let text = f.text_len();
        let flags = [
            (h.fin, flag::FIN),
            (h.rsv1, flag::RSV1),
            (h.rsv2, flag::RSV2),
            (h.rsv3, flag::RSV3),
            (h.is_control(), flag::CONTROL),
            (apart, flag::MASKED),
            (f.truncated, flag::TRUNCATED),
            (f.message.is_some_and(|m| m.compressed), flag::COMPRESSED),
            (f.inflated.is_some(), flag::INFLATED),
            (text.is_some(), flag::TEXT),
            (apart, flag::PAYLOAD),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .fold(0, |acc, (_, bit)| acc | bit);
        let key = h.mask.map_or(0, u32::from_be_bytes);
        let r = FieldRanges::from(f);
        let at = self.len();
        self.nums.extend_from_slice(&[
            f.index as f64,
            f.offset as f64,
            f.declared_len() as f64,
            h.header_len() as f64,
            f64::from(flags),
            f64::from(h.opcode),
            f64::from(key),
            h.payload_len as f64,
            f64::from(h.length_encoding.bits()),
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
        let unmasked = if apart { f.payload.len() } else { 0 };
        let inflated = f.inflated.as_ref().map_or(0, Vec::len);
        self.nums.extend_from_slice(&[
            f.bytes.len() as f64,
            unmasked as f64,
            inflated as f64,
            text.unwrap_or(0) as f64,
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
                close: f.close.as_ref().map(CloseInfo::from),
                violations: f.violations.iter().map(Violation::from).collect(),
            });
        }
    }
}
