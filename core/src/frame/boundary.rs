//! Where frames begin and end in one direction's bytes, without holding them.

use super::header::{FrameHeader, MAX_HEADER_LEN};

/// Follows the frame boundaries of a byte stream (one direction of a
/// connection, after the handshake) by reading only each header's length
/// fields: any bit pattern counts, so it keeps step with malformed frames too.
/// A relay uses it to insert a frame between two frames, never inside one,
/// and to learn which side sent a close frame first ([`Self::first_close`]).
///
/// ```
/// use framewire_core::frame::FrameBoundaries;
///
/// let mut b = FrameBoundaries::new();
/// // A whole ping, then the first byte of a 5-byte text frame.
/// b.feed(&[0x89, 0x00, 0x81]);
/// assert_eq!(b.frames(), 1);
/// assert!(!b.at_boundary());
/// // The rest of the text frame and the start of the next: the boundary is 6 bytes in.
/// assert_eq!(b.advance_to_boundary(&[0x05, b'H', b'e', b'l', b'l', b'o', 0x88]), 6);
/// assert!(b.at_boundary());
/// ```
#[derive(Debug, Clone, Default)]
pub struct FrameBoundaries {
    /// The header bytes of the current frame seen so far.
    head: [u8; MAX_HEADER_LEN],
    head_len: usize,
    /// Payload bytes still to come, once the header is complete.
    remaining: Option<u64>,
    frames: u64,
    bytes: u64,
    /// The close frame being read, while it is the stream's first.
    closing: Option<CloseCapture>,
    first_close: Option<CloseSeen>,
}

/// The first close frame of a stream, as [`FrameBoundaries`] saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseSeen {
    /// The status code of its payload (unmasked); `None` when the payload is
    /// shorter than two bytes.
    pub code: Option<u16>,
    /// Its index among the stream's frames (0 for the first frame).
    pub frame: u64,
}

/// The start of a close frame's payload, while it arrives.
#[derive(Debug, Clone, Copy)]
struct CloseCapture {
    mask: Option<[u8; 4]>,
    code: [u8; 2],
    got: usize,
}

impl FrameBoundaries {
    /// At the start of a stream (a boundary).
    pub fn new() -> Self {
        Self::default()
    }

    /// True between two frames (or before the first).
    pub fn at_boundary(&self) -> bool {
        self.head_len == 0 && self.remaining.is_none()
    }

    /// Frames completed so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Bytes taken so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The first close frame (opcode 0x8) completed so far, with its code.
    pub fn first_close(&self) -> Option<CloseSeen> {
        self.first_close
    }

    /// Takes all of `bytes`.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let n = self.step(bytes);
            bytes = &bytes[n..];
        }
    }

    /// Takes `bytes` up to the end of the current frame and returns how many
    /// it took: 0 at a boundary; `bytes.len()` when the frame goes on past
    /// them (then [`Self::at_boundary`] is false unless it ended exactly there).
    pub fn advance_to_boundary(&mut self, bytes: &[u8]) -> usize {
        if self.at_boundary() {
            return 0;
        }
        self.step(bytes)
    }

    /// Takes bytes of one frame (the current or a new one) until it ends or
    /// the input does; returns how many.
    fn step(&mut self, bytes: &[u8]) -> usize {
        let mut at = 0;
        while self.remaining.is_none() && at < bytes.len() {
            self.head[self.head_len] = bytes[at];
            self.head_len += 1;
            at += 1;
            if let Ok(header) = FrameHeader::parse(&self.head[..self.head_len]) {
                self.remaining = Some(header.payload_len);
                if header.opcode == 0x8 && self.first_close.is_none() {
                    self.closing = Some(CloseCapture {
                        mask: header.mask,
                        code: [0; 2],
                        got: 0,
                    });
                }
            }
        }
        if let Some(remaining) = self.remaining.as_mut() {
            let left = (bytes.len() - at) as u64;
            let take = (*remaining).min(left);
            if let Some(c) = self.closing.as_mut() {
                for &b in bytes[at..at + take as usize].iter().take(2 - c.got) {
                    let key = c.mask.map_or(0, |m| m[c.got]);
                    c.code[c.got] = b ^ key;
                    c.got += 1;
                }
            }
            *remaining -= take;
            at += take as usize;
            if *remaining == 0 {
                self.remaining = None;
                self.head_len = 0;
                if let Some(c) = self.closing.take() {
                    self.first_close = Some(CloseSeen {
                        code: (c.got == 2).then(|| u16::from_be_bytes(c.code)),
                        frame: self.frames,
                    });
                }
                self.frames += 1;
            }
        }
        self.bytes += at as u64;
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{encode_frame, FrameHeader};
    use crate::OpCode;

    fn frame(len: usize, mask: Option<[u8; 4]>) -> Vec<u8> {
        let mut out = Vec::new();
        let header = FrameHeader::new(true, OpCode::Binary, mask, len as u64);
        encode_frame(&header, &vec![7u8; len], &mut out);
        out
    }

    #[test]
    fn every_split_of_a_stream_finds_the_same_boundaries() {
        let frames = [
            frame(0, None),
            frame(5, Some([1, 2, 3, 4])),
            frame(300, None),
            frame(70_000, Some([9, 9, 9, 9])),
            frame(125, None),
        ];
        let stream: Vec<u8> = frames.concat();
        let mut ends = Vec::new();
        let mut at = 0;
        for f in &frames {
            at += f.len();
            ends.push(at);
        }
        for chunk in [1, 2, 3, 7, 13, 1000, stream.len()] {
            let mut b = FrameBoundaries::new();
            let mut seen = Vec::new();
            let mut pos = 0;
            for piece in stream.chunks(chunk) {
                let mut rest = piece;
                while !rest.is_empty() {
                    if b.at_boundary() {
                        b.feed(&rest[..1]);
                        pos += 1;
                        rest = &rest[1..];
                    }
                    let n = b.advance_to_boundary(rest);
                    pos += n;
                    rest = &rest[n..];
                    if b.at_boundary() {
                        seen.push(pos);
                    }
                }
            }
            assert_eq!(seen, ends, "chunks of {chunk}");
            assert_eq!(b.frames(), 5);
            assert_eq!(b.bytes(), stream.len() as u64);
        }
    }

    #[test]
    fn a_malformed_header_still_counts_by_its_length_fields() {
        // Reserved opcode 0x3, RSV2 set, 64-bit length 2 (not minimal), masked.
        let mut bytes = vec![0xA3, 0xFF, 0, 0, 0, 0, 0, 0, 0, 2, 1, 2, 3, 4, 0xAA, 0xBB];
        bytes.push(0x8A);
        let mut b = FrameBoundaries::new();
        b.feed(&bytes[..1]);
        assert_eq!(b.advance_to_boundary(&bytes[1..]), 15);
        assert!(b.at_boundary());
        assert_eq!(b.frames(), 1);
    }

    fn close(code: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
        let mut out = Vec::new();
        let header = FrameHeader::new(true, OpCode::Close, mask, code.len() as u64);
        encode_frame(&header, code, &mut out);
        out
    }

    #[test]
    fn the_first_close_and_its_unmasked_code_are_seen_byte_by_byte() {
        let stream = [
            frame(3, Some([1, 2, 3, 4])),
            close(&[0x0f, 0xa0, b'b', b'y', b'e'], Some([0x55, 0xaa, 1, 2])),
            close(&[0x03, 0xe8], None),
        ]
        .concat();
        let first_end = frame(3, None).len() + 4 + close(&[0; 5], None).len() + 4;
        let mut b = FrameBoundaries::new();
        for (i, byte) in stream.iter().enumerate() {
            assert_eq!(b.first_close().is_some(), i >= first_end, "byte {i}");
            b.feed(std::slice::from_ref(byte));
        }
        assert_eq!(
            b.first_close(),
            Some(CloseSeen {
                code: Some(4000),
                frame: 1
            }),
            "the first close (4000, masked), not the second (1000)"
        );
    }

    #[test]
    fn a_close_without_a_code_is_seen_without_one() {
        let mut b = FrameBoundaries::new();
        b.feed(&close(&[], Some([9, 9, 9, 9])));
        assert_eq!(
            b.first_close(),
            Some(CloseSeen {
                code: None,
                frame: 0
            })
        );
        let mut b = FrameBoundaries::new();
        b.feed(&frame(0, None));
        assert_eq!(b.first_close(), None, "a binary frame is no close");
    }

    /// The first close frame of `stream` and the count of whole frames, as
    /// `decode_frame` reads them.
    fn decoded_first_close(mut stream: &[u8]) -> (Option<CloseSeen>, u64) {
        use crate::frame::{decode_frame, Decoded};
        let mut first = None;
        let mut n = 0;
        while let Decoded::Frame(f) = decode_frame(stream) {
            if f.header.opcode == 0x8 && first.is_none() {
                let mut p = f.payload[..f.payload.len().min(2)].to_vec();
                if let Some(key) = f.header.mask {
                    crate::mask::apply_mask(&mut p, key, 0);
                }
                first = Some(CloseSeen {
                    code: (p.len() == 2).then(|| u16::from_be_bytes([p[0], p[1]])),
                    frame: n,
                });
            }
            n += 1;
            stream = &stream[f.len..];
        }
        (first, n)
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_in_any_chunks_give_what_the_decoder_reads(
            frames in proptest::collection::vec(
                (0u8..16, proptest::option::of(proptest::array::uniform4(proptest::prelude::any::<u8>())),
                 proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)),
                0..8,
            ),
            noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            cuts in proptest::collection::vec(1usize..64, 1..20),
        ) {
            let mut stream = Vec::new();
            for (opcode, mask, payload) in &frames {
                let op = crate::OpCode::from_u8(*opcode).unwrap_or(crate::OpCode::Binary);
                let header = FrameHeader::new(true, op, *mask, payload.len() as u64);
                encode_frame(&header, payload, &mut stream);
            }
            let framed = stream.len();
            stream.extend_from_slice(&noise);
            let mut whole = FrameBoundaries::new();
            whole.feed(&stream);
            let mut pieces = FrameBoundaries::new();
            let mut rest = stream.as_slice();
            for &cut in cuts.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (piece, after) = rest.split_at(cut.min(rest.len()));
                pieces.feed(piece);
                rest = after;
            }
            proptest::prop_assert_eq!(pieces.first_close(), whole.first_close());
            proptest::prop_assert_eq!(pieces.frames(), whole.frames());
            proptest::prop_assert_eq!(whole.bytes(), stream.len() as u64);
            let mut framed_only = FrameBoundaries::new();
            framed_only.feed(&stream[..framed]);
            proptest::prop_assert_eq!(
                (framed_only.first_close(), framed_only.frames()),
                decoded_first_close(&stream[..framed])
            );
        }
    }

    #[test]
    fn a_frame_ending_with_the_input_is_a_boundary() {
        let f = frame(3, None);
        let mut b = FrameBoundaries::new();
        b.feed(&f[..1]);
        assert_eq!(b.advance_to_boundary(&f[1..]), f.len() - 1);
        assert!(b.at_boundary());
        assert_eq!(
            b.advance_to_boundary(&f),
            0,
            "nothing is taken at a boundary"
        );
    }
}
