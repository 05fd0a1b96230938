//! Per-message compression and decompression with the RFC 7692 framing rules.
//!
//! Both halves create their zlib state lazily, so idle connections carry none.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The empty stored block a sync flush ends with; removed from, and restored to, every message.
const TRAILER: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// Why a compressed message could not be inflated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InflateError {
    /// Inflating went over the message limit (a decompression bomb, or just too big).
    #[error("message inflates to more than the limit of {limit} bytes")]
    TooBig {
        /// The limit.
        limit: u64,
    },
    /// The bytes are not a valid deflate stream.
    #[error("compressed data is corrupt: {0}")]
    Corrupt(String),
}

/// Compresses outgoing messages.
#[derive(Debug)]
pub struct Compressor {
    inner: Option<Compress>,
    level: u32,
    window_bits: u8,
    no_context_takeover: bool,
}

impl Compressor {
    /// A compressor with `level` (0-9) and a window of `window_bits` (8-15).
    pub fn new(level: u32, window_bits: u8, no_context_takeover: bool) -> Self {
        Self {
            inner: None,
            level: level.min(9),
            // zlib cannot write raw deflate with an 8-bit window; with 9 it never
            // reaches further back than 250 bytes, which an 8-bit window decodes.
            window_bits: window_bits.clamp(9, 15),
            no_context_takeover,
        }
    }

    /// Appends the compressed form of `data` to `out`. `last` ends the message:
    /// the trailer is removed (at least one byte is left: an empty message is
    /// `0x00`), and the context reset if so negotiated.
    pub fn compress(&mut self, data: &[u8], last: bool, out: &mut Vec<u8>) {
        let (level, bits) = (self.level, self.window_bits);
        let c = self.inner.get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::new(level), false, bits)
        });
        let start = out.len();
        let mut consumed = 0;
        loop {
            out.reserve((data.len() - consumed) / 2 + 64);
            let before = c.total_in();
            // Errors only come from misuse of the stream; with Sync they do not occur.
            if c.compress_vec(&data[consumed..], out, FlushCompress::Sync)
                .is_err()
            {
                break;
            }
            consumed += (c.total_in() - before) as usize;
            if consumed == data.len() && out.len() < out.capacity() {
                break;
            }
        }
        if last {
            if out.len() >= start + 4 && out.ends_with(&TRAILER) {
                out.truncate(out.len() - 4);
            }
            if out.len() == start {
                // After a sync flush zlib writes nothing for an empty message, and an
                // empty payload plus the receiver's trailer opens a stored block that
                // swallows what follows: send RFC 7692 section 7.2.3.6's empty block.
                out.push(0);
            }
            if self.no_context_takeover {
                self.inner = None;
            }
        }
    }
}

/// Inflates incoming messages.
#[derive(Debug)]
pub struct Decompressor {
    inner: Option<Decompress>,
    no_context_takeover: bool,
}

impl Decompressor {
    /// A decompressor; it always uses a 15-bit window, which decodes any smaller one.
    pub fn new(no_context_takeover: bool) -> Self {
        Self {
            inner: None,
            no_context_takeover,
        }
    }

    /// Inflates one frame's payload, appending to `out`, which must stay within `limit` bytes.
    pub fn inflate(
        &mut self,
        data: &[u8],
        out: &mut Vec<u8>,
        limit: u64,
    ) -> Result<(), InflateError> {
        let d = self.inner.get_or_insert_with(|| Decompress::new(false));
        let mut consumed = 0;
        loop {
            let room = limit.saturating_sub(out.len() as u64) as usize;
            let want = (data.len() - consumed)
                .saturating_mul(4)
                .clamp(256, 1 << 16);
            out.reserve(want.min(room.saturating_add(1)));
            if out.len() == out.capacity() {
                out.reserve(1);
            }
            let (before_in, before_out) = (d.total_in(), d.total_out());
            let status = d
                .decompress_vec(&data[consumed..], out, FlushDecompress::Sync)
                .map_err(|e| InflateError::Corrupt(e.to_string()))?;
            consumed += (d.total_in() - before_in) as usize;
            let produced = d.total_out() - before_out;
            if out.len() as u64 > limit {
                return Err(InflateError::TooBig { limit });
            }
            let full = out.len() == out.capacity();
            if status == Status::StreamEnd
                || (consumed == data.len() && !full)
                || (produced == 0 && !full && d.total_in() == before_in)
            {
                return Ok(());
            }
        }
    }

    /// Ends a message: inflates the implied trailer and resets the context if so negotiated.
    pub fn finish(&mut self, out: &mut Vec<u8>, limit: u64) -> Result<(), InflateError> {
        let r = self.inflate(&TRAILER, out, limit);
        if self.no_context_takeover || r.is_err() {
            self.inner = None;
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(c: &mut Compressor, d: &mut Decompressor, msg: &[u8]) -> Vec<u8> {
        let mut wire = Vec::new();
        c.compress(msg, true, &mut wire);
        let mut out = Vec::new();
        d.inflate(&wire, &mut out, 1 << 30).unwrap();
        d.finish(&mut out, 1 << 30).unwrap();
        out
    }

    #[test]
    fn rfc7692_hello_example() {
        // Section 7.2.3.1: "Hello" compressed in one frame.
        let wire = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let mut d = Decompressor::new(false);
        let mut out = Vec::new();
        d.inflate(&wire, &mut out, 100).unwrap();
        d.finish(&mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
        let mut c = Compressor::new(6, 15, false);
        let mut mine = Vec::new();
        c.compress(b"Hello", true, &mut mine);
        assert_eq!(mine, wire);
    }

    #[test]
    fn context_takeover_shrinks_repeats() {
        let msg = br#"{"user":"alice","action":"update","value":[1,2,3,4,5,6,7,8]}"#;
        let mut c = Compressor::new(6, 15, false);
        let mut d = Decompressor::new(false);
        let mut first = Vec::new();
        c.compress(msg, true, &mut first);
        let mut second = Vec::new();
        c.compress(msg, true, &mut second);
        assert!(
            second.len() < first.len() / 2,
            "{} vs {}",
            second.len(),
            first.len()
        );
        for wire in [first, second] {
            let mut out = Vec::new();
            d.inflate(&wire, &mut out, 1000).unwrap();
            d.finish(&mut out, 1000).unwrap();
            assert_eq!(out, msg);
        }
        let mut c = Compressor::new(6, 15, true);
        let mut d = Decompressor::new(true);
        for _ in 0..3 {
            assert_eq!(roundtrip(&mut c, &mut d, msg), msg);
        }
    }

    #[test]
    fn window_bits_8_to_15_round_trip() {
        let text: Vec<u8> = (0..20_000u32)
            .map(|i| b"abcdefghij"[(i * 7 % 10) as usize] ^ (i / 300) as u8)
            .collect();
        for bits in 8..=15 {
            let mut c = Compressor::new(9, bits, false);
            let mut d = Decompressor::new(false);
            assert_eq!(roundtrip(&mut c, &mut d, &text), text, "window {bits}");
        }
    }

    #[test]
    fn bomb_is_stopped_at_the_limit() {
        let zeros = vec![0u8; 10 << 20];
        let mut c = Compressor::new(9, 15, false);
        let mut wire = Vec::new();
        c.compress(&zeros, true, &mut wire);
        assert!(wire.len() < 20_000);
        let mut d = Decompressor::new(false);
        let mut out = Vec::new();
        assert_eq!(
            d.inflate(&wire, &mut out, 1 << 20),
            Err(InflateError::TooBig { limit: 1 << 20 })
        );
        assert!(
            out.capacity() < 2 << 20,
            "memory stays near the limit: {}",
            out.capacity()
        );
    }

    #[test]
    fn corrupt_stream_is_an_error() {
        let mut d = Decompressor::new(false);
        let mut out = Vec::new();
        assert!(matches!(
            d.inflate(&[0xff, 0xff, 0xff], &mut out, 100),
            Err(InflateError::Corrupt(_))
        ));
    }
}
