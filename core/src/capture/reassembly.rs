//! One direction of a TCP connection put back in order: segments by sequence
//! number, retransmitted bytes dropped, early segments held (up to a limit) until
//! the gap before them fills.

use std::collections::BTreeMap;

/// What became of a segment.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Accepted {
    /// These bytes are next in the stream (possibly joined with held segments).
    Data(Vec<u8>),
    /// Nothing new: a retransmission, or an early segment now held.
    Nothing,
    /// Holding the early segment would pass the limit.
    Overflow,
}

/// One direction's reassembly state.
#[derive(Debug, Default)]
pub(super) struct Stream {
    /// Absolute stream offset of the next expected byte and its sequence number.
    next: Option<(u64, u32)>,
    /// Early segments by absolute offset.
    held: BTreeMap<u64, Vec<u8>>,
    held_bytes: usize,
    /// FIN or RST seen.
    pub(super) ended: bool,
}

impl Stream {
    /// A SYN with sequence number `seq`: data starts at `seq + 1`.
    pub(super) fn syn(&mut self, seq: u32) {
        if self.next.is_none() {
            self.next = Some((0, seq.wrapping_add(1)));
        }
    }

    /// Takes a segment's payload at sequence number `seq`.
    pub(super) fn segment(&mut self, seq: u32, payload: &[u8], max_held: usize) -> Accepted {
        if payload.is_empty() {
            return Accepted::Nothing;
        }
        // No SYN seen: the stream starts with the first segment.
        let (at, next_seq) = *self.next.get_or_insert((0, seq));
        let delta = seq.wrapping_sub(next_seq) as i32;
        let start = at as i64 + i64::from(delta);
        let end = start + payload.len() as i64;
        if end <= at as i64 {
            return Accepted::Nothing;
        }
        if start > at as i64 {
            let start = start as u64;
            let longer = self
                .held
                .get(&start)
                .is_none_or(|h| h.len() < payload.len());
            if longer {
                let old = self.held.get(&start).map_or(0, Vec::len);
                if self.held_bytes - old + payload.len() > max_held {
                    return Accepted::Overflow;
                }
                self.held_bytes = self.held_bytes - old + payload.len();
                self.held.insert(start, payload.to_vec());
            }
            return Accepted::Nothing;
        }
        let skip = (at as i64 - start) as usize;
        let mut out = payload[skip..].to_vec();
        let mut pos = at + out.len() as u64;
        // Joins the held segments the new bytes reach.
        while let Some((&s, _)) = self.held.first_key_value() {
            if s > pos {
                break;
            }
            let Some((_, seg)) = self.held.pop_first() else {
                break;
            };
            self.held_bytes -= seg.len();
            let seg_end = s + seg.len() as u64;
            if seg_end > pos {
                out.extend_from_slice(&seg[(pos - s) as usize..]);
                pos = seg_end;
            }
        }
        let advanced = pos - at;
        self.next = Some((pos, next_seq.wrapping_add(advanced as u32)));
        Accepted::Data(out)
    }

    /// Bytes held waiting for a gap to fill.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.held_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(a: Accepted) -> Vec<u8> {
        match a {
            Accepted::Data(d) => d,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn out_of_order_segments_are_held_until_the_gap_fills() {
        let mut s = Stream::default();
        s.syn(u32::MAX - 2); // sequence numbers wrap during the stream
        assert_eq!(
            s.segment(u32::MAX.wrapping_add(4), b"world", 100),
            Accepted::Nothing
        );
        assert_eq!(s.held(), 5);
        assert_eq!(data(s.segment(u32::MAX - 1, b"hello", 100)), b"helloworld");
        assert_eq!(s.held(), 0);
    }

    #[test]
    fn retransmits_and_overlaps_are_dropped() {
        let mut s = Stream::default();
        s.syn(100);
        assert_eq!(data(s.segment(101, b"abcd", 100)), b"abcd");
        assert_eq!(s.segment(101, b"abcd", 100), Accepted::Nothing);
        assert_eq!(data(s.segment(103, b"cdef", 100)), b"ef");
    }

    #[test]
    fn holding_past_the_limit_overflows() {
        let mut s = Stream::default();
        s.syn(0);
        assert_eq!(s.segment(10, &[0; 8], 10), Accepted::Nothing);
        assert_eq!(s.segment(30, &[0; 8], 10), Accepted::Overflow);
    }
}
