//! The inspector fed both directions in arbitrary chunks, under any setup
//! (small limits, a small buffer, mid-stream start, masking unchecked, deflate).
//!
//! Checked: what it reports does not depend on how the bytes were chunked (the
//! same frames, messages, violations and ending as feeding each direction at
//! once) nor on whether they were fed owned (`feed_owned`, with `reserve_declared`
//! after each chunk, reports what `feed` does); records are consistent (offsets increase and follow each other,
//! layouts match headers, kept bytes within the buffer limit); positions count
//! every byte; the ending agrees with `first_violation`.
//!
//! Input: flags (bit 0: small limits; 1: mid-stream start; 2: masking not
//! checked; 3: a buffer of 14 + n bytes; 4: deflate, with 5/6 the client's and
//! the server's no context takeover), the frame limit, the message limit (2
//! bytes, big-endian), the fragment limit, n; then chunks until the input ends:
//! a direction byte (odd: client to server) and the bytes (length byte).

#![no_main]

use framewire_core::deflate::DeflateParams;
use framewire_core::inspect::{Direction, Inspector, InspectorConfig, Observation, Start};
use framewire_core::Limits;
use framewire_fuzz::{byte, chunk, Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;

#[derive(Debug)]
struct Input {
    small_limits: Option<(u8, u16, u8)>,
    mid_stream: bool,
    check_masking: bool,
    /// A buffer of 14 + this many bytes.
    small_buffer: Option<u8>,
    /// Context takeover of each direction, when deflate is on.
    deflate: Option<(bool, bool)>,
    /// Each chunk: its direction (true: client to server) and bytes.
    chunks: Vec<(bool, Vec<u8>)>,
}

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let flags = byte(u);
        let [frame, message_hi, message_lo, fragments, buffer] = [(); 5].map(|()| byte(u));
        let on = |bit: u8| flags & (1 << bit) != 0;
        let message = u16::from_be_bytes([message_hi, message_lo]);
        let mut chunks = Vec::new();
        while !u.is_empty() {
            let c2s = byte(u) & 1 != 0;
            chunks.push((c2s, chunk(u).to_vec()));
        }
        Ok(Self {
            small_limits: on(0).then_some((frame, message, fragments)),
            mid_stream: on(1),
            check_masking: !on(2),
            small_buffer: on(3).then_some(buffer),
            deflate: on(4).then_some((on(5), on(6))),
            chunks,
        })
    }
}

fn inspector(input: &Input) -> Inspector {
    let limits = match input.small_limits {
        Some((frame, message, fragments)) => Limits {
            max_frame_payload: u64::from(frame),
            max_message: u64::from(message),
            max_fragments: u32::from(fragments).max(1),
            ..Limits::default()
        },
        None => Limits::default(),
    };
    let mut config = InspectorConfig::with_limits(limits);
    if input.mid_stream {
        config.start = Start::MidStream;
    }
    config.check_masking = input.check_masking;
    if let Some(extra) = input.small_buffer {
        config.max_buffer = 14 + usize::from(extra);
    }
    let mut insp = Inspector::new(config).expect("a buffer that holds a header");
    if let Some((client_nct, server_nct)) = input.deflate {
        insp.enable_deflate(&DeflateParams {
            client_no_context_takeover: client_nct,
            server_no_context_takeover: server_nct,
            ..DeflateParams::default()
        });
    }
    insp
}

fn ix(d: Direction) -> usize {
    match d {
        Direction::ClientToServer => 0,
        Direction::ServerToClient => 1,
    }
}

fn dir(c2s: bool) -> Direction {
    if c2s {
        Direction::ClientToServer
    } else {
        Direction::ServerToClient
    }
}

fuzz_target!(|data: &[u8]| {
    let input = Input::arbitrary(&mut Unstructured::new(data)).expect("any bytes read");
    let max_buffer = inspector(&input).config().max_buffer;
    let mut chunked = inspector(&input);
    let mut owned = inspector(&input);
    let mut seen: [Vec<Observation>; 2] = [Vec::new(), Vec::new()];
    let mut fed: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    for (c2s, bytes) in &input.chunks {
        let d = dir(*c2s);
        let obs = chunked.feed(d, bytes, None);
        let owned_obs = owned.feed_owned(d, bytes.clone(), None);
        owned.reserve_declared(d);
        assert_eq!(owned_obs, obs, "feed_owned reported differently from feed");
        assert_eq!(owned.buffered(d), chunked.buffered(d));
        fed[ix(d)].extend_from_slice(bytes);
        assert_eq!(chunked.position(d), fed[ix(d)].len() as u64);
        assert!(chunked.buffered(d) <= max_buffer);
        seen[ix(d)].extend(obs);
    }

    let mut whole = inspector(&input);
    for d in Direction::BOTH {
        let obs = whole.feed(d, &fed[ix(d)], None);
        assert_eq!(
            obs,
            seen[ix(d)],
            "{} reported differently when chunked",
            d.name()
        );
        assert_eq!(whole.first_violation(d), chunked.first_violation(d));
        assert_eq!(whole.unfinished(d), chunked.unfinished(d));
        check_records(&seen[ix(d)], d, max_buffer, &fed[ix(d)]);
    }

    let ending = chunked.ending();
    for d in Direction::BOTH {
        let end = ending.direction(d);
        assert_eq!(end.first_violation, chunked.first_violation(d));
        assert_eq!(end.bytes, fed[ix(d)].len() as u64);
        if let Some(v) = &end.first_violation {
            assert!(
                v.offset < end.bytes,
                "a violation at {} of {} bytes",
                v.offset,
                end.bytes
            );
        }
    }
});

fn check_records(obs: &[Observation], d: Direction, max_buffer: usize, bytes: &[u8]) {
    let mut next_offset = 0u64;
    let mut next_index = 0u64;
    for o in obs {
        let Observation::Frame(f) = o else { continue };
        assert_eq!(f.direction, d);
        assert_eq!(f.index, next_index);
        assert_eq!(f.offset, next_offset, "frames follow each other");
        assert_eq!(f.layout, f.header.layout());
        assert!(f.kept_len() <= max_buffer.max(f.header.header_len()));
        let start = f.offset as usize;
        assert_eq!(&bytes[start..start + f.kept_len()], &f.bytes()[..]);
        if !f.truncated {
            assert_eq!(f.kept_len() as u64, f.declared_len());
            assert_eq!(f.payload().len() as u64, f.header.payload_len);
        }
        let end = f.offset.saturating_add(f.declared_len());
        for v in &f.violations {
            match v.error.header_offset() {
                // A header rule points at its field.
                Some(at) if at < f.header.header_len() => {
                    assert_eq!(v.offset, f.offset + at as u64, "{}", v.rule())
                }
                // Payload rules point into the payload, or where it ends when
                // the message ends mid-character or the payload is empty.
                _ => assert!(
                    (f.offset..=end).contains(&v.offset),
                    "{} at {} outside the frame at {}..{end}",
                    v.rule(),
                    v.offset,
                    f.offset
                ),
            }
        }
        next_offset = end;
        next_index += 1;
    }
}
