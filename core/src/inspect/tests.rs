use std::time::Duration;

use super::*;
use crate::close::CloseCode;
use crate::deflate::Compressor;
use crate::error::ProtocolError;
use crate::frame::{encode_frame, FrameHeader};
use crate::opcode::{DataKind, OpCode};
use crate::Limits;

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;
const MASKED_HELLO: [u8; 11] = [
    0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
];

fn inspector() -> Inspector {
    Inspector::new(InspectorConfig::default()).unwrap()
}

fn frames(obs: &[Observation]) -> Vec<&FrameRecord> {
    obs.iter()
        .filter_map(|o| match o {
            Observation::Frame(f) => Some(&**f),
            _ => None,
        })
        .collect()
}

fn messages(obs: &[Observation]) -> Vec<&MessageRecord> {
    obs.iter()
        .filter_map(|o| match o {
            Observation::Message(m) => Some(m),
            _ => None,
        })
        .collect()
}

/// (rule, absolute offset, close code) of every violation in `obs`.
fn verdicts(obs: &[Observation]) -> Vec<(&'static str, u64, u16)> {
    frames(obs)
        .iter()
        .flat_map(|f| f.violations.iter())
        .map(|v| (v.rule(), v.offset, v.close_code().0))
        .collect()
}

#[test]
fn rfc_5_7_single_frames() {
    let mut i = inspector();
    let unmasked = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let obs = i.feed(S2C, &unmasked, Some(Duration::from_millis(5)));
    let f = frames(&obs)[0];
    assert_eq!(
        (f.payload(), f.text().as_deref()),
        (&b"Hello"[..], Some("Hello"))
    );
    assert_eq!(f.time, Some(Duration::from_millis(5)));
    assert_eq!(f.layout.payload, 2..7);
    let m = messages(&obs)[0];
    assert_eq!(
        (m.kind, m.frames, m.size, m.valid),
        (Some(DataKind::Text), 1, Some(5), true)
    );

    let obs = i.feed(C2S, &MASKED_HELLO, None);
    let f = frames(&obs)[0];
    assert_eq!(f.payload(), b"Hello");
    assert_eq!(*f.bytes(), MASKED_HELLO);
    assert_eq!(f.layout.mask_key, Some(2..6));
    assert_eq!(f.payload_offset(), 6);
    assert!(f.violations.is_empty());
}

#[test]
fn rfc_5_7_fragments_ping_pong_and_lengths() {
    let mut i = inspector();
    // "Hel" + "lo" with an unmasked ping between the fragments, then its pong.
    let mut s2c = vec![0x01, 0x03, 0x48, 0x65, 0x6c, 0x89, 0x05];
    s2c.extend(b"Hello");
    s2c.extend([0x80, 0x02, 0x6c, 0x6f]);
    let obs = i.feed(S2C, &s2c, None);
    let fs = frames(&obs);
    assert_eq!(fs.len(), 3);
    assert_eq!(fs[0].message.unwrap().fragment, 1);
    assert!(
        fs[1].message.is_none(),
        "the ping is not part of the message"
    );
    assert_eq!(fs[2].message.unwrap().fragment, 2);
    let m = messages(&obs)[0];
    assert_eq!(
        (m.frames, m.size, m.first_frame, m.offset),
        (2, Some(5), 0, 0)
    );
    assert!(verdicts(&obs).is_empty());
    let pong = [
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let obs = i.feed(C2S, &pong, None);
    assert_eq!(frames(&obs)[0].payload(), b"Hello");
    // 256 bytes in a 16-bit length, 64 KiB in a 64-bit length.
    for (len, head) in [
        (256usize, vec![0x82, 0x7E, 0x01, 0x00]),
        (65536, vec![0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]),
    ] {
        let mut wire = head.clone();
        wire.resize(head.len() + len, 7);
        let obs = i.feed(S2C, &wire, None);
        let f = frames(&obs)[0];
        assert_eq!(f.header.payload_len, len as u64);
        assert_eq!(f.layout.extended_length, Some(2..head.len()));
        assert!(f.violations.is_empty());
    }
}

#[test]
fn compressed_messages_are_inflated_per_direction() {
    let mut i = inspector();
    // RFC 7692 section 7.2.3.1 and 7.2.3.2.
    assert!(i
        .enable_deflate_from_response(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n\r\n"
        )
        .unwrap());
    let one = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let obs = i.feed(S2C, &one, None);
    let f = frames(&obs)[0];
    assert_eq!(f.inflated.as_deref(), Some(&b"Hello"[..]));
    assert_eq!(f.text().as_deref(), Some("Hello"));
    let m = messages(&obs)[0];
    assert_eq!((m.compressed, m.size, m.wire_size), (true, Some(5), 7));
    let two = [
        0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00,
    ];
    let obs = i.feed(S2C, &two, None);
    let all: Vec<u8> = frames(&obs)
        .iter()
        .flat_map(|f| f.content().to_vec())
        .collect();
    assert_eq!(all, b"Hello");
    assert_eq!(messages(&obs)[0].size, Some(5));
    // Context takeover: the second message refers back to the first. The server
    // may do that; the client agreed not to, so its second message does not inflate.
    for (dir, mask) in [(S2C, None), (C2S, Some([1, 2, 3, 4]))] {
        let mut c = Compressor::new(6, 15, false);
        let mut wire = Vec::new();
        for _ in 0..2 {
            let mut p = Vec::new();
            c.compress(b"hello hello hello", true, &mut p);
            let mut h = FrameHeader::new(true, OpCode::Text, mask, p.len() as u64);
            h.rsv1 = true;
            encode_frame(&h, &p, &mut wire);
        }
        let obs = i.feed(dir, &wire, None);
        let fs = frames(&obs);
        assert!(fs[1].payload().len() < fs[0].payload().len());
        assert_eq!(fs[0].text().as_deref(), Some("hello hello hello"));
        if dir == S2C {
            assert_eq!(fs[1].text().as_deref(), Some("hello hello hello"));
            assert!(verdicts(&obs).is_empty());
        } else {
            let v = &fs[1].violations[0];
            assert_eq!(
                (v.rule(), v.offset, v.close_code().0),
                ("Inflate", fs[1].payload_offset(), 1007)
            );
        }
    }
}

#[test]
fn inflation_errors_carry_the_core_close_codes() {
    let limits = Limits {
        max_message: 3,
        ..Limits::default()
    };
    let mut i = Inspector::new(InspectorConfig::with_limits(limits)).unwrap();
    i.enable_deflate(&crate::deflate::DeflateParams::default());
    let one = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let obs = i.feed(S2C, &one, None);
    assert_eq!(verdicts(&obs), [("Inflate", 2, 1009)]);
    assert!(frames(&obs)[0].inflated.is_none());
    assert_eq!(messages(&obs)[0].size, None);
    let obs = i.feed(C2S, &[0xc1, 0x82, 0, 0, 0, 0, 0xff, 0xff], None);
    assert_eq!(verdicts(&obs), [("Inflate", 6, 1007)]);
}

#[test]
fn every_header_rule_with_offset_and_code() {
    let cases: &[(&[u8], Direction, &str, u64)] = &[
        (&[0xC2, 0x80, 0, 0, 0, 0], C2S, "ReservedBits", 0),
        (&[0x83, 0x80, 0, 0, 0, 0], C2S, "ReservedOpcode", 0),
        (&[0x09, 0x80, 0, 0, 0, 0], C2S, "FragmentedControlFrame", 0),
        (
            &[0x80, 0x80, 0, 0, 0, 0],
            C2S,
            "ContinuationWithoutStart",
            0,
        ),
        (&[0x82, 0x00], C2S, "UnmaskedClientFrame", 1),
        (&[0x82, 0x80, 0, 0, 0, 0], S2C, "MaskedServerFrame", 1),
        (&[0x89, 0x7E, 0x00, 0x7E], S2C, "ControlFrameTooLong", 1),
        (&[0x82, 0x7E, 0x00, 0x05], S2C, "NonMinimalLength", 1),
        (
            &[0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0],
            S2C,
            "LengthHighBit",
            2,
        ),
        (
            &[0x82, 0x7F, 0, 0, 0, 0, 0x01, 0, 0, 1],
            S2C,
            "FrameTooBig",
            1,
        ),
    ];
    for (head, dir, rule, offset) in cases {
        let mut i = inspector();
        // Something before, so offsets are absolute.
        let lead = if *dir == C2S {
            vec![0x8A, 0x80, 0, 0, 0, 0]
        } else {
            vec![0x8A, 0x00]
        };
        i.feed(*dir, &lead, None);
        i.feed(*dir, head, None);
        let v = i
            .first_violation(*dir)
            .unwrap_or_else(|| panic!("{rule}: none"));
        assert_eq!(v.rule(), *rule);
        assert_eq!(v.offset, lead.len() as u64 + offset, "{rule}");
        assert_eq!(v.close_code(), v.error.close_code());
        assert_eq!(
            v.close_code(),
            if *rule == "FrameTooBig" {
                CloseCode::TOO_BIG
            } else {
                CloseCode::PROTOCOL_ERROR
            }
        );
        assert!(
            matches!(i.ending().outcome, Outcome::Failed { direction, .. } if direction == *dir)
        );
    }
    // A text message interleaved in an open one.
    let mut i = inspector();
    let obs = i.feed(S2C, &[0x01, 0x01, b'a', 0x81, 0x00], None);
    assert_eq!(verdicts(&obs), [("MessageInterleaved", 3, 1002)]);
}

#[test]
fn payload_rules_with_offset_and_code() {
    let mut i = inspector();
    // Invalid UTF-8 in the second fragment, at absolute byte 6.
    let obs = i.feed(S2C, &[0x01, 0x01, b'a', 0x80, 0x02, b'b', 0xFF], None);
    assert_eq!(verdicts(&obs), [("InvalidUtf8", 6, 1007)]);
    assert_eq!(
        frames(&obs)[1].violations[0].error,
        ProtocolError::InvalidUtf8 { offset: 2 }
    );
    assert!(!messages(&obs)[0].valid);
    // A character cut by the end of the message.
    let mut i = inspector();
    let obs = i.feed(S2C, &[0x81, 0x02, b'a', 0xE2], None);
    assert_eq!(verdicts(&obs), [("InvalidUtf8", 3, 1007)]);
    // "€" split across two fragments is fine.
    let obs = inspector().feed(S2C, &[0x01, 0x02, 0xE2, 0x82, 0x80, 0x01, 0xAC], None);
    assert!(verdicts(&obs).is_empty());
    // Close payloads.
    for (wire, rule, offset, code) in [
        (&[0x88, 0x01, 0x03][..], "InvalidClose", 2, 1002),
        (&[0x88, 0x02, 0x03, 0xED][..], "InvalidClose", 2, 1002),
        (&[0x88, 0x03, 0x03, 0xE8, 0xFF][..], "InvalidClose", 4, 1007),
    ] {
        let obs = inspector().feed(S2C, wire, None);
        assert_eq!(verdicts(&obs), [(rule, offset, code)], "{wire:02x?}");
    }
    // Message limits.
    let limits = Limits {
        max_message: 4,
        max_fragments: 2,
        ..Limits::default()
    };
    let mut i = Inspector::new(InspectorConfig::with_limits(limits)).unwrap();
    let obs = i.feed(S2C, &[0x82, 0x05, 1, 2, 3, 4, 5], None);
    assert_eq!(verdicts(&obs), [("MessageTooBig", 1, 1009)]);
    let obs = i.feed(S2C, &[0x02, 0x03, 1, 2, 3, 0x00, 0x02, 4, 5], None);
    assert_eq!(verdicts(&obs), [("MessageTooBig", 13, 1009)]);
    let mut i = Inspector::new(InspectorConfig::with_limits(limits)).unwrap();
    let obs = i.feed(S2C, &[0x02, 0x00, 0x00, 0x00, 0x80, 0x00], None);
    assert_eq!(verdicts(&obs), [("TooManyFragments", 4, 1009)]);
}

#[test]
fn truncated_input_is_reported_with_what_it_already_breaks() {
    let mut i = inspector();
    i.feed(C2S, &MASKED_HELLO[..4], None);
    let u = i.unfinished(C2S).unwrap();
    assert_eq!((u.offset, u.available, u.needed, u.header), (0, 4, 2, None));
    i.feed(C2S, &MASKED_HELLO[4..8], None);
    let u = i.unfinished(C2S).unwrap();
    assert_eq!((u.available, u.needed, u.header.is_some()), (8, 3, true));
    assert!(matches!(
        i.ending().outcome,
        Outcome::MidFrame { direction: C2S }
    ));
    let obs = i.feed(C2S, &MASKED_HELLO[8..], None);
    assert_eq!(frames(&obs)[0].payload(), b"Hello");
    assert!(i.unfinished(C2S).is_none());
    // Invalid UTF-8 in the arrived part of an unfinished text frame (as Connection finds it).
    let mut i = inspector();
    i.feed(S2C, &[0x81, 0x10, b'o', b'k', 0xFF], None);
    let v = i.first_violation(S2C).unwrap();
    assert_eq!(
        (v.rule(), v.offset, v.close_code().0),
        ("InvalidUtf8", 4, 1007)
    );
    // A declared length of 2^62 allocates nothing and is one violation.
    let mut i = inspector();
    i.feed(S2C, &[0x82, 0x7F, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3], None);
    assert_eq!(i.first_violation(S2C).unwrap().rule(), "FrameTooBig");
    assert_eq!(i.buffered(S2C), 13);
}

#[test]
fn frames_longer_than_the_buffer_are_truncated_and_skipped() {
    let config = InspectorConfig {
        max_buffer: 64,
        ..InspectorConfig::default()
    };
    let mut i = Inspector::new(config).unwrap();
    let mut wire = Vec::new();
    encode_frame(
        &FrameHeader::new(true, OpCode::Binary, None, 1000),
        &[9; 1000],
        &mut wire,
    );
    encode_frame(
        &FrameHeader::new(true, OpCode::Pong, None, 1),
        b"p",
        &mut wire,
    );
    let mut seen = Vec::new();
    for chunk in wire.chunks(10) {
        seen.extend(i.feed(S2C, chunk, None));
        assert!(i.buffered(S2C) <= 64);
    }
    let fs = frames(&seen);
    assert_eq!(fs.len(), 2);
    assert!(fs[0].truncated && fs[0].kept_len() == 64);
    assert_eq!(messages(&seen)[0].size, None);
    assert_eq!((fs[1].offset, fs[1].payload()), (1004, &b"p"[..]));
    assert_eq!(
        Inspector::new(InspectorConfig {
            max_buffer: 5,
            ..config
        })
        .unwrap_err(),
        InspectError::BufferTooSmall(5)
    );
}

#[test]
fn ending_tells_who_closed_first() {
    let mut i = inspector();
    assert_eq!(i.ending().outcome, Outcome::NoClose);
    i.feed(
        S2C,
        &[0x88, 0x04, 0x03, 0xE8, b'o', b'k'],
        Some(Duration::from_secs(1)),
    );
    assert_eq!(i.ending().outcome, Outcome::CloseUnanswered { by: S2C });
    i.feed(C2S, &[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8], None);
    // Bytes after a close are ignored, as Connection ignores them.
    i.feed(C2S, &[0x83, 0x00], None);
    let e = i.ending();
    assert_eq!(e.outcome, Outcome::Closed { first: S2C });
    assert_eq!(e.first_closer, Some(S2C));
    let close = e.server_to_client.close.as_ref().unwrap();
    assert_eq!(
        (close.code, close.reason.as_str()),
        (Some(CloseCode::NORMAL), "ok")
    );
    assert_eq!(close.time, Some(Duration::from_secs(1)));
    assert_eq!(e.client_to_server.bytes_after_close, 2);
    assert!(e.client_to_server.first_violation.is_none());
}

#[test]
fn mid_stream_start_skips_continuation_rules() {
    let config = InspectorConfig {
        start: Start::MidStream,
        check_masking: false,
        ..InspectorConfig::default()
    };
    let mut i = Inspector::new(config).unwrap();
    // A message that began before the bytes: its fragments are not rule breaks.
    let obs = i.feed(C2S, &[0x00, 0x02, 0xFF, 0xFE, 0x80, 0x00], None);
    assert!(verdicts(&obs).is_empty(), "{obs:?}");
    assert_eq!(frames(&obs)[0].message.unwrap().kind, None);
    assert_eq!(messages(&obs)[0].frames, 2);
    // Its last frame showed where messages start: now a continuation is one.
    let obs = i.feed(C2S, &[0x80, 0x00], None);
    assert_eq!(verdicts(&obs), [("ContinuationWithoutStart", 6, 1002)]);
}

#[test]
fn response_heads_configure_deflate_or_say_what_is_wrong() {
    let mut i = inspector();
    let plain = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
    assert_eq!(i.enable_deflate_from_response(plain), Ok(false));
    assert!(!i.deflate_enabled());
    assert_eq!(
        i.enable_deflate_from_response(b"HTTP/1.1 101 OK\r\n"),
        Err(InspectError::IncompleteHead)
    );
    assert_eq!(
        i.enable_deflate_from_response(b"HTTP/1.1 404 Not Found\r\n\r\n"),
        Err(InspectError::NotSwitching(404))
    );
    let bad = b"HTTP/1.1 101 S\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=99\r\n\r\n";
    assert!(matches!(
        i.enable_deflate_from_response(bad),
        Err(InspectError::Deflate(_))
    ));
    assert!(matches!(
        i.enable_deflate_from_response(b"\x00\x01garbage\r\n\r\n"),
        Err(InspectError::Handshake(_))
    ));
}

#[test]
fn arbitrary_bytes_never_panic_and_memory_stays_bounded() {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let config = InspectorConfig {
        max_buffer: 200,
        ..InspectorConfig::default()
    };
    for _ in 0..200 {
        let mut i = Inspector::new(config).unwrap();
        i.enable_deflate(&crate::deflate::DeflateParams::default());
        for _ in 0..50 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let bytes = seed.to_le_bytes();
            let dir = if seed & 1 == 0 { C2S } else { S2C };
            i.feed(dir, &bytes[..(seed >> 60) as usize % 9], None);
            assert!(i.buffered(dir) <= 200);
        }
        let _ = i.ending();
    }
}

/// Found by the inspector fuzz target: a compressed message whose stream turns out
/// corrupt only at its empty final frame was reported at the frame's end, one byte
/// past everything received.
#[test]
fn an_inflate_error_found_at_an_empty_final_frame_points_into_the_frame() {
    let mut i = inspector();
    i.enable_deflate(&crate::deflate::DeflateParams::default());
    // A compressed text start (RSV1) holding a stored-block header with bad
    // lengths, then four empty continuations, the last with FIN.
    let bytes = [
        0x41, 0x03, 0x29, 0x48, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00,
    ];
    i.feed(S2C, &bytes, None);
    let v = i
        .first_violation(S2C)
        .expect("the corrupt stream is a violation");
    assert!(matches!(v.error, ProtocolError::Inflate(_)), "{v:?}");
    assert_eq!(v.offset, 11, "the final frame's first byte: {v:?}");
    let end = i.ending();
    assert!(end.direction(S2C).first_violation.as_ref().unwrap().offset < 13);
}

#[test]
fn text_len_is_the_length_of_text_without_building_it() {
    // A text frame cut by the buffer inside a two-byte character keeps its valid start;
    // invalid UTF-8 in a whole frame has no text; binary has none.
    let config = InspectorConfig {
        max_buffer: 16,
        ..InspectorConfig::default()
    };
    let mut i = Inspector::new(config).unwrap();
    let mut wire = Vec::new();
    let cut = "abcdefghijklm\u{e9}xyz";
    encode_frame(
        &FrameHeader::new(true, OpCode::Text, None, cut.len() as u64),
        cut.as_bytes(),
        &mut wire,
    );
    encode_frame(
        &FrameHeader::new(true, OpCode::Text, None, 2),
        b"\xff!",
        &mut wire,
    );
    encode_frame(
        &FrameHeader::new(true, OpCode::Binary, None, 2),
        b"hi",
        &mut wire,
    );
    encode_frame(
        &FrameHeader::new(true, OpCode::Text, None, 3),
        b"h\xc3\xa9",
        &mut wire,
    );
    let seen = i.feed(S2C, &wire, None);
    let got: Vec<_> = frames(&seen)
        .iter()
        .map(|f| (f.text_len(), f.text()))
        .collect();
    assert_eq!(
        got,
        [
            (Some(13), Some("abcdefghijklm".to_owned())),
            (None, None),
            (None, None),
            (Some(3), Some("h\u{e9}".to_owned())),
        ]
    );
}

#[test]
fn a_large_frame_taken_from_the_buffer_leaves_the_frames_after_it_in_place() {
    // A masked 100,000-byte frame, then "Hello" and a ping, the ping's last bytes in a
    // later feed: the big frame's record is the buffer itself (payload unmasked in
    // place), and what followed it in the buffer keeps its offsets.
    let key = [9, 8, 7, 6];
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let mut wire = Vec::new();
    let header = FrameHeader::new(true, OpCode::Binary, Some(key), big.len() as u64);
    encode_frame(&header, &big, &mut wire);
    let big_len = wire.len();
    wire.extend_from_slice(&MASKED_HELLO);
    encode_frame(
        &FrameHeader::new(true, OpCode::Ping, Some(key), 3),
        b"abc",
        &mut wire,
    );
    let mut i = inspector();
    let cut = wire.len() - 4;
    let mut seen = Vec::new();
    for chunk in wire[..cut].chunks(30_000) {
        seen.extend(i.feed(C2S, chunk, None));
    }
    assert_eq!(i.buffered(C2S), cut - big_len - MASKED_HELLO.len());
    seen.extend(i.feed(C2S, &wire[cut..], None));
    let fs = frames(&seen);
    assert_eq!(fs.len(), 3);
    assert_eq!(fs[0].payload(), &big[..]);
    assert_eq!(&*fs[0].bytes(), &wire[..big_len]);
    assert_eq!(fs[0].unmasked_frame()[..14], wire[..14]);
    assert_eq!(
        (fs[1].offset, fs[1].payload()),
        (big_len as u64, &b"Hello"[..])
    );
    assert_eq!(&*fs[1].bytes(), &MASKED_HELLO[..]);
    let ping_at = big_len + MASKED_HELLO.len();
    assert_eq!(
        (fs[2].offset, fs[2].payload()),
        (ping_at as u64, &b"abc"[..])
    );
    assert_eq!(&*fs[2].bytes(), &wire[ping_at..]);
    assert!(fs.iter().all(|f| f.violations.is_empty()));
    assert_eq!(i.buffered(C2S), 0);
}

#[test]
fn owned_chunks_are_read_as_fed_ones_with_the_declared_frame_reserved() {
    // A masked 3,000-byte frame (longer than a 1,000-byte buffer: truncated, then
    // skipped), "Hello", a 500-byte frame, a close and bytes after it, in chunks of 700:
    // feed_owned (and reserve_declared after each chunk) reports what feed does, holding
    // as much as feed and never more than the limit.
    let key = [1, 2, 3, 4];
    let mut wire = Vec::new();
    for n in [3000, 500] {
        let payload: Vec<u8> = (0..n).map(|i| i as u8).collect();
        encode_frame(
            &FrameHeader::new(true, OpCode::Binary, Some(key), n as u64),
            &payload,
            &mut wire,
        );
        wire.extend_from_slice(&MASKED_HELLO);
    }
    encode_frame(
        &FrameHeader::new(true, OpCode::Close, Some(key), 2),
        &[3, 232],
        &mut wire,
    );
    wire.extend_from_slice(b"after");
    let config = InspectorConfig {
        max_buffer: 1000,
        ..InspectorConfig::default()
    };
    let [mut fed, mut owned] = [(); 2].map(|()| Inspector::new(config).unwrap());
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for chunk in wire.chunks(700) {
        a.extend(fed.feed(C2S, chunk, None));
        b.extend(owned.feed_owned(C2S, chunk.to_vec(), None));
        owned.reserve_declared(C2S);
        assert_eq!(owned.buffered(C2S), fed.buffered(C2S));
        assert!(owned.buffered(C2S) <= 1000);
    }
    assert_eq!(frames(&a).len(), 5);
    assert!(frames(&a)[0].truncated);
    assert_eq!(a, b);
    assert_eq!(owned.ending(), fed.ending());
}

#[test]
fn an_owned_chunk_becomes_the_empty_buffer_and_is_appended_to_a_held_one() {
    // A masked 100,000-byte frame then "Hello": the first chunk (the frame's start) is
    // taken as the buffer, the rest appended; the chunk holding the frame's end and
    // "Hello" whole reports both, as feed does.
    let key = [9, 8, 7, 6];
    let payload: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
    let mut wire = Vec::new();
    encode_frame(
        &FrameHeader::new(true, OpCode::Binary, Some(key), payload.len() as u64),
        &payload,
        &mut wire,
    );
    wire.extend_from_slice(&MASKED_HELLO);
    let (mut fed, mut owned) = (inspector(), inspector());
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for chunk in wire.chunks(40_000) {
        a.extend(fed.feed(C2S, chunk, None));
        b.extend(owned.feed_owned(C2S, chunk.to_vec(), None));
        assert_eq!(owned.buffered(C2S), fed.buffered(C2S));
        assert_eq!(owned.position(C2S), fed.position(C2S));
    }
    let fs = frames(&b);
    assert_eq!(fs.len(), 2);
    assert_eq!(fs[0].payload(), &payload[..]);
    assert_eq!(fs[1].payload(), b"Hello");
    assert_eq!(a, b);
    assert_eq!(owned.buffered(C2S), 0);
}
