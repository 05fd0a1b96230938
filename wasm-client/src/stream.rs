//! A streaming decoder: chunks in, complete frames out, with a bounded buffer.

use framewire_core::frame::{decode_frame, Decoded, MAX_HEADER_LEN};
use framewire_core::Role;

use crate::inspect::{incomplete_at, Inspector, Start};
use crate::report::{FrameReport, Incomplete};

/// Default buffer limit: 16 MiB plus the longest header.
pub const DEFAULT_BUFFER_LIMIT: usize = 16 * 1024 * 1024 + MAX_HEADER_LEN;

/// A limit too small to hold a frame header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("buffer limit of {0} bytes is too small: a frame header needs up to {MAX_HEADER_LEN}")]
pub struct LimitTooSmall(pub usize);

/// Decodes frames from a byte stream that arrives in arbitrary chunks.
///
/// It keeps at most `limit` bytes: a frame longer than that is reported once its
/// first `limit` bytes are in, marked `truncated`, and the rest of it is skipped.
#[derive(Debug)]
pub struct FrameStream {
    inspector: Inspector,
    buf: Vec<u8>,
    limit: usize,
    /// Absolute stream offset of `buf[0]`.
    offset: u64,
    /// Bytes at the front of `buf` already reported, dropped on the next push.
    done: usize,
    /// Bytes of a truncated frame still to skip.
    skip: u64,
}

impl FrameStream {
    /// A decoder for frames sent by `sender` (`None`: either side) from the start of a connection.
    pub fn new(sender: Option<Role>, limit: usize) -> Result<Self, LimitTooSmall> {
        if limit < MAX_HEADER_LEN {
            return Err(LimitTooSmall(limit));
        }
        Ok(Self {
            inspector: Inspector::new(sender, Start::Connection),
            buf: Vec::new(),
            limit,
            offset: 0,
            done: 0,
            skip: 0,
        })
    }

    /// Inflates permessage-deflate messages from now on (see [`Inspector::enable_deflate`]).
    pub fn enable_deflate(&mut self, limit: u64) {
        self.inspector.enable_deflate(limit);
    }

    /// The buffer limit in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes held for an unfinished frame.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.done
    }

    /// Total bytes pushed so far.
    pub fn position(&self) -> u64 {
        self.offset + self.buf.len() as u64
    }

    /// The unfinished frame at the end of what was pushed, if any.
    pub fn incomplete(&self) -> Option<Incomplete> {
        incomplete_at(&self.buf[self.done..], self.offset + self.done as u64)
    }

    /// Takes the next chunk and returns the frames it completes.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<FrameReport<'_>> {
        self.buf.drain(..self.done);
        self.offset += self.done as u64;
        self.done = 0;
        let mut chunk = chunk;
        if self.skip > 0 {
            let n = usize::try_from(self.skip)
                .unwrap_or(usize::MAX)
                .min(chunk.len());
            self.skip -= n as u64;
            self.offset += n as u64;
            chunk = &chunk[n..];
        }
        self.buf.extend_from_slice(chunk);
        let mut frames = Vec::new();
        let mut at = 0;
        loop {
            let rest = &self.buf[at..];
            match decode_frame(rest) {
                Decoded::Frame(f) => {
                    let bytes = &self.buf[at..at + f.len];
                    let abs = self.offset + at as u64;
                    frames.push(self.inspector.inspect(f.header, bytes, abs, false));
                    at += f.len;
                }
                Decoded::HeaderOnly { header, needed } if rest.len() >= self.limit => {
                    let bytes = &self.buf[at..at + self.limit];
                    let abs = self.offset + at as u64;
                    frames.push(self.inspector.inspect(header, bytes, abs, true));
                    self.skip = needed;
                    at = self.buf.len();
                    break;
                }
                _ => break,
            }
        }
        self.done = at;
        frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let header = framewire_core::frame::FrameHeader::new(
            true,
            framewire_core::OpCode::Binary,
            Some([1, 2, 3, 4]),
            len as u64,
        );
        let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
        framewire_core::frame::encode_frame(&header, &payload, &mut out);
        out
    }

    #[test]
    fn byte_at_a_time_matches_whole() {
        let mut wire = frame(3);
        wire.extend(frame(300));
        wire.extend(frame(0));
        let mut s = FrameStream::new(Some(Role::Client), DEFAULT_BUFFER_LIMIT).unwrap();
        let mut seen = Vec::new();
        for b in &wire {
            for f in s.push(std::slice::from_ref(b)) {
                seen.push((f.offset, f.payload.to_vec()));
            }
        }
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[1].0, 9.0);
        assert_eq!(seen[1].1, (0..300).map(|i| i as u8).collect::<Vec<_>>());
        assert_eq!(s.buffered(), 0);
    }

    #[test]
    fn long_frame_is_truncated_and_skipped() {
        let mut wire = frame(1000);
        wire.extend(frame(5));
        let mut s = FrameStream::new(None, 64).unwrap();
        let mut seen = Vec::new();
        for chunk in wire.chunks(10) {
            for f in s.push(chunk) {
                seen.push((
                    f.truncated,
                    f.bytes.len(),
                    f.offset,
                    f.payload[..2].to_vec(),
                ));
            }
            assert!(s.buffered() <= 64);
        }
        assert_eq!(seen.len(), 2);
        assert!(seen[0].0);
        assert_eq!(seen[0].1, 64);
        assert_eq!(seen[0].3, vec![0, 1]);
        assert_eq!(seen[1], (false, 11, 1008.0, vec![0, 1]));
    }

    #[test]
    fn tiny_limit_is_refused() {
        assert_eq!(FrameStream::new(None, 5).unwrap_err(), LimitTooSmall(5));
    }
}
