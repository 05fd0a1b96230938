//! Inflate on miniz_oxide's core, for builds where size matters more than speed (feature
//! `small-inflate`: the browser's decoder module). It stands in for flate2's `Decompress`
//! with the calls [`super::codec`] makes, so the codec's logic is the same on every build.
//!
//! The window is kept here as plain bytes: the preset dictionary (the history) followed by
//! what was inflated since, moved back to its last [`WINDOW`] bytes once it passes twice
//! that. miniz_oxide decodes into it in its non-wrapping mode, which refuses a distance
//! reaching before the window's start as zlib does ("too far back"), rather than reading
//! zeros. The buffer is kept across messages (a thread's spare state), so it is zeroed once.

use miniz_oxide::inflate::core::inflate_flags::{
    TINFL_FLAG_HAS_MORE_INPUT, TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
};
use miniz_oxide::inflate::core::{decompress, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

/// Farthest a deflate back-reference reaches: 32 KiB (a 15-bit window).
pub const WINDOW: usize = 32 * 1024;

/// How a call to [`Decompress::decompress`] ended (the variants the codec reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// More input or more output room is needed.
    Ok,
    /// The final block ended.
    StreamEnd,
}

/// The flush mode the codec passes: a sync flush ends every message, so more input may
/// always follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushDecompress {
    /// Inflate what is there and wait for more.
    Sync,
}

/// Why the bytes could not be inflated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecompressError(&'static str);

/// A raw-deflate inflate state with its own window.
pub struct Decompress {
    state: Box<DecompressorOxide>,
    /// The history, then the bytes inflated since, in `window[..end]`; the rest is room.
    window: Vec<u8>,
    end: usize,
    total_in: u64,
    total_out: u64,
    ended: bool,
}

impl std::fmt::Debug for Decompress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Decompress")
    }
}

impl Decompress {
    /// A fresh state for raw deflate (`zlib_header` must be false: permessage-deflate has none).
    pub fn new(zlib_header: bool) -> Self {
        debug_assert!(!zlib_header, "permessage-deflate carries raw deflate");
        Self {
            state: Box::default(),
            window: Vec::new(),
            end: 0,
            total_in: 0,
            total_out: 0,
            ended: false,
        }
    }

    /// Starts a new stream, keeping the allocations.
    pub fn reset(&mut self, zlib_header: bool) {
        debug_assert!(!zlib_header, "permessage-deflate carries raw deflate");
        self.state.init();
        self.end = 0;
        self.total_in = 0;
        self.total_out = 0;
        self.ended = false;
    }

    /// Presets the window with `dict` (its last [`WINDOW`] bytes), before any input.
    pub fn set_dictionary(&mut self, dict: &[u8]) -> Result<u32, DecompressError> {
        if self.total_in > 0 {
            return Err(DecompressError("a dictionary comes before the stream"));
        }
        let dict = &dict[dict.len().saturating_sub(WINDOW)..];
        if self.window.len() < dict.len() {
            self.window.resize(dict.len(), 0);
        }
        self.window[..dict.len()].copy_from_slice(dict);
        self.end = dict.len();
        Ok(0)
    }

    /// Bytes of input taken since the last reset.
    pub fn total_in(&self) -> u64 {
        self.total_in
    }

    /// Bytes written since the last reset.
    pub fn total_out(&self) -> u64 {
        self.total_out
    }

    /// Inflates from `input` into `output` until one is used up or the stream ends.
    pub fn decompress(
        &mut self,
        input: &[u8],
        output: &mut [u8],
        _flush: FlushDecompress,
    ) -> Result<Status, DecompressError> {
        if self.ended {
            return Ok(Status::StreamEnd);
        }
        let at = self.end;
        let room = at + output.len();
        if self.window.len() < room {
            self.window.resize(room, 0);
        }
        let flags = TINFL_FLAG_HAS_MORE_INPUT | TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
        let (status, took, wrote) =
            decompress(&mut self.state, input, &mut self.window[..room], at, flags);
        output[..wrote].copy_from_slice(&self.window[at..at + wrote]);
        self.end = at + wrote;
        if self.end > 2 * WINDOW {
            self.window.copy_within(self.end - WINDOW..self.end, 0);
            self.end = WINDOW;
        }
        self.total_in += took as u64;
        self.total_out += wrote as u64;
        match status {
            TINFLStatus::Done => {
                self.ended = true;
                Ok(Status::StreamEnd)
            }
            TINFLStatus::NeedsMoreInput | TINFLStatus::HasMoreOutput => Ok(Status::Ok),
            TINFLStatus::Adler32Mismatch => Err(DecompressError("adler32 mismatch")),
            TINFLStatus::BadParam => Err(DecompressError("bad inflate parameter")),
            _ => Err(DecompressError("invalid deflate data")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "Hello" as RFC 7692 section 7.2.3.1 compresses it, then again referring back to it.
    #[test]
    fn a_back_reference_into_the_dictionary_is_read_and_one_before_it_refused() {
        let mut d = Decompress::new(false);
        let mut out = [0u8; 16];
        let wire = [
            0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff,
        ];
        assert_eq!(
            d.decompress(&wire, &mut out, FlushDecompress::Sync),
            Ok(Status::Ok)
        );
        assert_eq!(&out[..d.total_out() as usize], b"Hello");
        // RFC 7692 section 7.2.3.2: the second "Hello" is one back-reference of 5 at distance 5.
        let again = [0xf2, 0x00, 0x11, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff];
        d.reset(false);
        d.set_dictionary(b"Hello").unwrap();
        let mut out = [0u8; 16];
        assert_eq!(
            d.decompress(&again, &mut out, FlushDecompress::Sync),
            Ok(Status::Ok)
        );
        assert_eq!(&out[..d.total_out() as usize], b"Hello");
        d.reset(false);
        assert!(d
            .decompress(&again, &mut out, FlushDecompress::Sync)
            .is_err());
    }
}
