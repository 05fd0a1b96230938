//! Frames packed for JavaScript in bulk, straight from the core's records: one
//! `Float64Array` of fields, one `Uint8Array` of bytes, and the rare parts (close
//! payloads, broken rules) as objects. Building a JavaScript object field by field
//! from wasm costs a call per field, and a string per text frame costs a copy the
//! page rarely needs; `www/loader.js` makes frame objects over these arrays whose
//! fields (text included) are read from them when asked for. A frame of [`LARGE`] bytes or
//! more is not copied out at all: it stays in the [`Store`] (wasm memory) and the batch
//! carries its id, until the page reads its bytes or lets it go. Nothing here decides
//! anything about a frame: every value comes from a [`FrameRecord`], as in
//! [`crate::report::FrameReport`].

use framewire_core::inspect::FrameRecord;

use crate::store::Store;

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
}

/// The rare parts of frame `at` (its position in the batch).
#[derive(Debug)]
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

/// Parts at least this long are not copied into the batch's buffer: they are kept as the
/// core made them and copied once, straight out to JavaScript; a frame this long (as kept)
/// is not copied out at all but kept in the [`Store`].
pub const LARGE: usize = 64 * 1024;

/// A part of a batch's bytes.
#[derive(Debug)]
enum Part {
    /// `small[start..end]`.
    Small(usize, usize),
    /// A large part, moved from its record.
    Large(Vec<u8>),
}

/// A batch of frames, packed; reused from batch to batch.
///
/// Per frame, `nums` holds, in order: index, offset, length, headerLength, flags (see
/// [`flag`]), opcode, the mask key as a big-endian u32 (0 when unmasked), payloadLength,
/// lengthEncoding, the ranges (flagsAndOpcode, maskBitAndLength, extendedLength, maskKey,
/// payload: two numbers each, NaN for an absent range), then the lengths in `bytes` of the
/// frame as kept (its header's bytes, then its payload unmasked: the record's
/// [`FrameRecord::unmasked_frame`]; the page masks the payload again only when the wire form
/// of a masked frame is asked for) and of its inflated payload, and last the UTF-8 length of
/// the text (checked here; the page decodes it when shown), the start of the content
/// (inflated, else the payload), and last the frame's id in the [`Store`] (-1 when its
/// bytes are in the batch: a frame of [`LARGE`] bytes or more as kept is held there, and
/// its bytes are not in the batch). The bytes ([`Packed::parts`]) hold those, frame after
/// frame.
#[derive(Debug, Default)]
pub struct Packed {
    /// [`FIELDS`] numbers per frame.
    pub nums: Vec<f64>,
    /// The small parts (frames as kept, inflated payloads), packed.
    small: Vec<u8>,
    /// The batch's bytes in order, up to the last large part: runs of `small`, large parts.
    parts: Vec<Part>,
    /// Where the run of `small` after the last large part starts.
    run: usize,
    /// Close payloads and broken rules, for the frames that have them.
    pub extras: Vec<Extra>,
}

fn range(r: Option<[f64; 2]>) -> [f64; 2] {
    r.unwrap_or([f64::NAN, f64::NAN])
}

impl Packed {
    /// Empties the batch for the next one, freeing buffers a large batch grew.
    pub fn clear(&mut self) {
        if self.small.capacity() > KEEP_CAPACITY {
            self.small = Vec::new();
        }
        if self.nums.capacity() * 8 > KEEP_CAPACITY {
            self.nums = Vec::new();
        }
        self.nums.clear();
        self.small.clear();
        self.parts.clear();
        self.run = 0;
        self.extras.clear();
    }

    /// The batch's bytes, in pieces, in order.
    pub fn parts(&self) -> impl Iterator<Item = &[u8]> {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Small(start, end) => &self.small[*start..*end],
                Part::Large(v) => v.as_slice(),
            })
            .chain(std::iter::once(&self.small[self.run..]))
            .filter(|p| !p.is_empty())
    }

    /// Total length of the batch's bytes.
    pub fn byte_len(&self) -> usize {
        self.parts().map(<[u8]>::len).sum()
    }

    /// Appends one part of a frame's bytes.
    fn part(&mut self, bytes: Vec<u8>) {
        if bytes.len() < LARGE {
            self.small.extend_from_slice(&bytes);
            return;
        }
        self.parts.push(Part::Small(self.run, self.small.len()));
        self.run = self.small.len();
        self.parts.push(Part::Large(bytes));
    }

    /// Frames in the batch.
    pub fn len(&self) -> usize {
        self.nums.len() / FIELDS
    }

    /// True when the batch holds no frame.
    pub fn is_empty(&self) -> bool {
        self.nums.is_empty()
    }

    /// Appends `frames` to the batch, keeping those of [`LARGE`] bytes or more in `store`.
    pub fn extend(&mut self, frames: impl IntoIterator<Item = FrameRecord>, store: &mut Store) {
        for f in frames {
            self.push(f, store);
        }
    }

    fn push(&mut self, mut f: FrameRecord, store: &mut Store) {
        let h = &f.header;
        let text = f.text_len();
        let flags = [
            (h.fin, flag::FIN),
            (h.rsv1, flag::RSV1),
            (h.rsv2, flag::RSV2),
            (h.rsv3, flag::RSV3),
            (h.is_control(), flag::CONTROL),
            (h.mask.is_some(), flag::MASKED),
            (f.truncated, flag::TRUNCATED),
            (f.message.is_some_and(|m| m.compressed), flag::COMPRESSED),
            (f.inflated.is_some(), flag::INFLATED),
            (text.is_some(), flag::TEXT),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .fold(0, |acc, (_, bit)| acc | bit);
        let key = h.mask.map_or(0, u32::from_be_bytes);
        let r = FieldRanges::from(&f);
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
        let inflated = f.inflated.take();
        self.nums.extend_from_slice(&[
            f.kept_len() as f64,
            inflated.as_ref().map_or(0, Vec::len) as f64,
            text.unwrap_or(0) as f64,
        ]);
        if f.close.is_some() || !f.violations.is_empty() {
            self.extras.push(Extra {
                at,
                close: f.close.as_ref().map(CloseInfo::from),
                violations: f.violations.iter().map(Violation::from).collect(),
            });
        }
        let kept = f.into_unmasked_frame();
        let kept = if kept.len() >= LARGE {
            store.keep(kept)
        } else {
            Err(kept)
        };
        match kept {
            Ok(id) => self.nums.push(id as f64),
            Err(bytes) => {
                self.nums.push(-1.0);
                self.part(bytes);
            }
        }
        if let Some(i) = inflated {
            self.part(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decoder::{Decoder, DEFAULT_BUFFER_LIMIT};
    use framewire_core::inspect::Start;
    use framewire_core::Role;

    #[test]
    fn a_large_frame_is_stored_unmasked_and_the_small_ones_packed_in_order() {
        // A small text frame, a masked 100,000-byte binary frame (kept as its header and
        // its payload unmasked: stored, its id in its last field, its bytes not in the
        // batch), a small one: the batch's bytes are the two small frames in order.
        let key = [1, 2, 3, 4];
        let big: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        let mut wire = vec![0x81, 0x02, b'h', b'i', 0x82, 0xff];
        wire.extend_from_slice(&(big.len() as u64).to_be_bytes());
        wire.extend_from_slice(&key);
        wire.extend(big.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        wire.extend_from_slice(&[0x81, 0x01, b'!']);
        let mut d = Decoder::new(Some(Role::Client), Start::Connection, DEFAULT_BUFFER_LIMIT)
            .expect("a decoder");
        let mut p = Packed::default();
        let mut store = Store::default();
        p.extend(d.push_records(&wire), &mut store);
        assert_eq!(p.len(), 3);
        assert_eq!(
            store.bytes(),
            100_014,
            "the large frame is stored, not packed"
        );
        let big_frame = store.take(p.nums[FIELDS + FIELDS - 1] as u64).unwrap();
        assert_eq!(&big_frame[14..], &big[..], "stored as kept: unmasked");
        assert_eq!((p.nums[FIELDS - 1], p.nums[3 * FIELDS - 1]), (-1.0, -1.0));
        let mut expect = wire.clone();
        expect.drain(4..4 + 14 + big.len());
        let got: Vec<u8> = p.parts().flatten().copied().collect();
        assert_eq!((got.len(), p.byte_len()), (expect.len(), expect.len()));
        assert!(got == expect, "the parts are out of order");
        assert_eq!(p.parts().count(), 1, "the small frames' run");
        p.clear();
        assert_eq!((p.len(), p.byte_len()), (0, 0));
    }

    #[test]
    fn a_large_inflated_payload_keeps_its_place_among_the_packed_parts() {
        // A compressed binary message of 100,000 zeros (its frame small, packed; its inflated
        // payload a large part, copied out apart), then "hi": the batch's bytes are the
        // frame, the inflated payload, "hi", in that order.
        let zeros = vec![0u8; 100_000];
        let mut deflated = Vec::new();
        framewire_core::deflate::Compressor::new(6, 15, false).compress(
            &zeros,
            true,
            &mut deflated,
        );
        assert!(deflated.len() < 126, "a 7-bit length: {}", deflated.len());
        let mut wire = vec![0xc2, deflated.len() as u8];
        wire.extend_from_slice(&deflated);
        wire.extend_from_slice(&[0x81, 0x02, b'h', b'i']);
        let mut d = Decoder::new(Some(Role::Server), Start::Connection, DEFAULT_BUFFER_LIMIT)
            .expect("a decoder");
        d.enable_deflate();
        let (mut p, mut store) = (Packed::default(), Store::default());
        p.extend(d.push_records(&wire), &mut store);
        assert_eq!((p.len(), store.bytes()), (2, 0));
        let mut expect = wire[..2 + deflated.len()].to_vec();
        expect.extend_from_slice(&zeros);
        expect.extend_from_slice(&wire[2 + deflated.len()..]);
        let got: Vec<u8> = p.parts().flatten().copied().collect();
        assert!(got == expect, "the parts are out of order");
        assert_eq!(p.parts().count(), 3, "a run, the inflated payload, a run");
    }
}
