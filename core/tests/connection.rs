//! The connection state machine: every MUST of RFC 6455 sections 5 to 7, limits, timers.

mod common;
// Not every test file uses every helper of the shared harness.
#[allow(dead_code)]
mod pair;

use common::drain;
use std::time::Duration;

use framewire_core::frame::{encode_frame, FrameHeader, LengthEncoding};
use framewire_core::{
    CloseCode, CloseState, Config, Connection, DataKind, Event, Limits, Message, OpCode,
    ProtocolError,
};
use pair::{Pair, PairConfig};
use proptest::prelude::*;

const KEY: [u8; 4] = [0x11, 0x22, 0x33, 0x44];

/// A client frame (masked) with raw fields.
fn raw(first: u8, masked: bool, payload: &[u8]) -> Vec<u8> {
    let mut h = FrameHeader::new(first & 0x80 != 0, OpCode::Binary, masked.then_some(KEY), 0);
    h.opcode = first & 0x0F;
    h.rsv1 = first & 0x40 != 0;
    h.rsv2 = first & 0x20 != 0;
    h.rsv3 = first & 0x10 != 0;
    let mut out = Vec::new();
    encode_frame(&h, payload, &mut out);
    out
}

fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    raw(first, true, payload)
}

/// Feeds `bytes` to a server and collects events until it needs input or fails.
fn run_server(bytes: &[u8]) -> (Vec<Message>, Option<ProtocolError>, Connection) {
    let mut conn = Connection::server(Config::default());
    conn.feed(bytes);
    let (events, err) = drain(&mut conn);
    (events, err, conn)
}

/// The close frame a server queued: its code.
fn sent_close_code(conn: &Connection) -> Option<u16> {
    let out = conn.pending_output();
    let at = out
        .windows(2)
        .rposition(|w| w[0] == 0x88 && w[1] >= 2 && w[1] <= 125)?;
    Some(u16::from_be_bytes([out[at + 2], out[at + 3]]))
}

fn assert_fails(bytes: &[u8], code: u16, what: &str) {
    let (_, err, conn) = run_server(bytes);
    let err = err.unwrap_or_else(|| panic!("{what}: no error"));
    assert_eq!(err.close_code().0, code, "{what}: {err}");
    assert_eq!(sent_close_code(&conn), Some(code), "{what}");
    assert!(conn.is_closed(), "{what}");
}

#[test]
fn violations_get_the_right_close_code() {
    let long = [b'x'; 126];
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (
            client_frame(0x81 | 0x40, b"hi"),
            1002,
            "rsv1 without extension",
        ),
        (client_frame(0x81 | 0x20, b"hi"), 1002, "rsv2"),
        (client_frame(0x81 | 0x10, b"hi"), 1002, "rsv3"),
        (client_frame(0x83, b""), 1002, "reserved data opcode"),
        (client_frame(0x8B, b""), 1002, "reserved control opcode"),
        (raw(0x81, false, b"hi"), 1002, "unmasked client frame"),
        (client_frame(0x89, &long), 1002, "ping of 126 bytes"),
        (client_frame(0x09, b"x"), 1002, "fragmented ping"),
        (client_frame(0x80, b"x"), 1002, "continuation without start"),
        (
            [client_frame(0x01, b"a"), client_frame(0x81, b"b")].concat(),
            1002,
            "new message inside fragmented",
        ),
        (
            client_frame(0x81, &[0xce, 0xba, 0xff]),
            1007,
            "invalid utf-8 text",
        ),
        (client_frame(0x88, &[0x03]), 1002, "close with 1 byte"),
        (client_frame(0x88, &[0x03, 0xED]), 1002, "close code 1005"),
        (client_frame(0x88, &[0x03, 0xEE]), 1002, "close code 1006"),
        (client_frame(0x88, &[0x03, 0xF7]), 1002, "close code 1015"),
        (client_frame(0x88, &[0x03, 0xE7]), 1002, "close code 999"),
        (client_frame(0x88, &[0x13, 0x88]), 1002, "close code 5000"),
        (
            client_frame(0x88, &[0x03, 0xE8, 0xff]),
            1007,
            "close reason not utf-8",
        ),
    ];
    for (bytes, code, what) in cases {
        assert_fails(&bytes, code, what);
    }
}

#[test]
fn server_frames_must_not_be_masked() {
    let mut client = Connection::client_with_seed(Config::default(), [1; 32]);
    client.feed(&raw(0x81, true, b"hi"));
    assert_eq!(client.poll_event(), Err(ProtocolError::MaskedServerFrame));
}

#[test]
fn non_minimal_length_is_refused() {
    let mut h = FrameHeader::new(true, OpCode::Text, Some(KEY), 2);
    h.length_encoding = LengthEncoding::Bits16;
    let mut head = [0u8; 14];
    let n = framewire_core::frame::encode_header(&h, &mut head);
    let mut bytes = head[..n].to_vec();
    bytes.extend_from_slice(b"hi");
    assert_fails(&bytes, 1002, "16-bit length for 2 bytes");
}

#[test]
fn text_fails_on_the_fragment_that_proves_it_invalid() {
    let mut conn = Connection::server(Config::default());
    conn.feed(&client_frame(0x01, "κόσμε".as_bytes()));
    assert_eq!(conn.poll_event(), Ok(None));
    // The second fragment holds 0xF4 0x90: no valid character starts so.
    conn.feed(&client_frame(0x00, &[0xF4, 0x90, 0x80]));
    let err = conn.poll_event().unwrap_err();
    assert_eq!(err, ProtocolError::InvalidUtf8 { offset: 10 });
    assert_eq!(sent_close_code(&conn), Some(1007));
}

#[test]
fn events_before_a_violation_are_delivered() {
    let bytes = [
        client_frame(0x81, b"first"),
        client_frame(0x89, b"p"),
        client_frame(0x8F, b""),
        client_frame(0x81, b"never"),
    ]
    .concat();
    let (events, err, _) = run_server(&bytes);
    assert_eq!(
        events,
        vec![
            Message::Text("first".into()),
            Message::Ping(b"p".to_vec().into())
        ]
    );
    assert_eq!(err, Some(ProtocolError::ReservedOpcode { opcode: 0xF }));
}

#[test]
fn control_frames_between_fragments() {
    let bytes = [
        client_frame(0x02, b"ab"),
        client_frame(0x89, b"ping"),
        client_frame(0x00, b"cd"),
        client_frame(0x8A, b"pong"),
        client_frame(0x80, b"ef"),
    ]
    .concat();
    let (events, err, conn) = run_server(&bytes);
    assert_eq!(err, None);
    assert_eq!(
        events,
        vec![
            Message::Ping(b"ping".to_vec().into()),
            Message::Pong(b"pong".to_vec().into()),
            Message::Binary(b"abcdef".to_vec().into()),
        ]
    );
    assert_eq!(conn.pending_output(), [0x8A, 0x04, b'p', b'i', b'n', b'g']);
}

#[test]
fn close_handshake_peer_first() {
    let (events, err, mut conn) = run_server(&client_frame(0x88, &[0x03, 0xE8, b'b', b'y', b'e']));
    assert_eq!(err, None);
    assert_eq!(
        events,
        vec![Message::Close(Some(CloseCode::NORMAL), "bye".into())]
    );
    assert_eq!(conn.pending_output(), [0x88, 0x02, 0x03, 0xE8]);
    assert!(conn.is_closed());
    assert_eq!(
        conn.send_text("late"),
        Err(framewire_core::SendError::Closed)
    );
    // Bytes after the close are ignored.
    conn.feed(&client_frame(0x81, b"after"));
    assert_eq!(conn.poll_event(), Ok(None));
}

#[test]
fn close_handshake_we_first() {
    let mut conn = Connection::server(Config::default());
    conn.close(CloseCode(4000), "done").unwrap();
    assert_eq!(conn.close_state(), CloseState::CloseSent);
    assert_eq!(
        conn.pending_output(),
        [0x88, 0x06, 0x0F, 0xA0, b'd', b'o', b'n', b'e']
    );
    conn.consume_output(8);
    assert!(conn.send_binary(b"x").is_err());
    // Data still arriving before the peer's close is delivered.
    conn.feed(&client_frame(0x82, b"late data"));
    assert_eq!(conn.poll_event(), Ok(Some(Event::Binary(b"late data"))));
    conn.feed(&client_frame(0x88, &[0x0F, 0xA0]));
    assert_eq!(
        conn.poll_event(),
        Ok(Some(Event::Close {
            code: Some(CloseCode(4000)),
            reason: ""
        }))
    );
    assert!(conn.is_closed());
    assert!(conn.pending_output().is_empty(), "no second close is sent");
}

#[test]
fn empty_close_is_echoed_empty() {
    let (events, _, conn) = run_server(&client_frame(0x88, b""));
    assert_eq!(events, vec![Message::Close(None, String::new())]);
    assert_eq!(conn.pending_output(), [0x88, 0x00]);
}

#[test]
fn invalid_close_codes_refused_when_sending() {
    let mut conn = Connection::server(Config::default());
    assert!(conn.close(CloseCode::NO_STATUS, "").is_err());
    assert!(conn.close(CloseCode::NORMAL, &"x".repeat(124)).is_err());
    assert!(conn.send_ping(&[0; 126]).is_err());
}

#[test]
fn limits() {
    let limits = Limits {
        max_frame_payload: 100,
        max_message: 150,
        max_fragments: 3,
        ..Limits::default()
    };
    let config = Config {
        limits,
        ..Config::default()
    };
    let run = |bytes: &[u8]| {
        let mut conn = Connection::server(config.clone());
        conn.feed(bytes);
        let (_, err) = drain(&mut conn);
        (err, sent_close_code(&conn))
    };
    // Over the frame limit fails as soon as the header arrives.
    let big = client_frame(0x82, &[0; 101]);
    let (err, code) = run(&big[..8]);
    assert_eq!(
        err,
        Some(ProtocolError::FrameTooBig {
            len: 101,
            limit: 100
        })
    );
    assert_eq!(code, Some(1009));
    // A declared 2^62-byte frame never makes us wait for it.
    let mut huge = vec![0x82, 0xFF];
    huge.extend_from_slice(&(1u64 << 62).to_be_bytes());
    huge.extend_from_slice(&KEY);
    assert!(matches!(
        run(&huge).0,
        Some(ProtocolError::FrameTooBig { .. })
    ));
    let msg = [client_frame(0x02, &[0; 100]), client_frame(0x80, &[0; 51])].concat();
    assert_eq!(
        run(&msg).0,
        Some(ProtocolError::MessageTooBig {
            len: 151,
            limit: 150
        })
    );
    let frags = [
        client_frame(0x02, b"a"),
        client_frame(0x00, b"b"),
        client_frame(0x00, b"c"),
        client_frame(0x80, b"d"),
    ]
    .concat();
    assert_eq!(
        run(&frags),
        (
            Some(ProtocolError::TooManyFragments { limit: 3 }),
            Some(1009)
        )
    );
}

#[test]
fn sixteen_mib_message_in_64_kib_reads() {
    let payload: Vec<u8> = (0..16u32 << 20).map(|i| (i % 251) as u8).collect();
    let mut pair = Pair::connect(PairConfig {
        chunk: Some(1 << 16),
        ..PairConfig::default()
    });
    pair.client.conn.send_binary(&payload).unwrap();
    pair.drive();
    assert_eq!(pair.server.error, None);
    assert!(
        pair.server.take_events() == [Message::Binary(payload.into())],
        "the 16 MiB message arrives whole"
    );
}

#[test]
fn fragmented_sending() {
    let mut pair = Pair::connect(PairConfig::default());
    let client = &mut pair.client.conn;
    client
        .send_fragment(DataKind::Text, "ab".as_bytes(), false)
        .unwrap();
    assert_eq!(
        client.send_text("x"),
        Err(framewire_core::SendError::MessageInProgress)
    );
    client.send_ping(b"mid").unwrap();
    client
        .send_fragment(DataKind::Text, "€".as_bytes(), true)
        .unwrap();
    pair.drive();
    assert_eq!(pair.server.error, None);
    assert_eq!(
        pair.server.take_events(),
        vec![
            Message::Ping(b"mid".to_vec().into()),
            Message::Text("ab€".into())
        ]
    );
    assert_eq!(
        pair.client.take_events(),
        [Message::Pong(b"mid".to_vec().into())]
    );
    let mut client = Connection::client_with_seed(Config::default(), [5; 32]);
    assert_eq!(
        client.send_fragment(DataKind::Text, &[0xff], true),
        Err(framewire_core::SendError::InvalidUtf8)
    );
}

/// Found by the `connection` fuzz target: a text fragment refused for invalid UTF-8
/// dropped the message in progress, so the next whole message went out in the middle of
/// it (the peer fails with 1002, MessageInterleaved). A refused fragment changes nothing.
#[test]
fn a_refused_text_fragment_keeps_the_message_in_progress() {
    for deflate in [false, true] {
        let mut pair = if deflate {
            Pair::connect(PairConfig::deflate(
                framewire_core::deflate::DeflateConfig::default(),
            ))
        } else {
            Pair::connect(PairConfig::default())
        };
        let client = &mut pair.client.conn;
        // "κ" cut in two: the refused fragment must not disturb the half character either.
        client
            .send_fragment(DataKind::Text, b"ab\xce", false)
            .unwrap();
        assert_eq!(
            client.send_fragment(DataKind::Text, b"\xff", true),
            Err(framewire_core::SendError::InvalidUtf8)
        );
        assert_eq!(
            client.send_binary(b""),
            Err(framewire_core::SendError::MessageInProgress)
        );
        assert_eq!(
            client.send_fragment(DataKind::Binary, b"", true),
            Err(framewire_core::SendError::KindMismatch {
                open: DataKind::Text,
                got: DataKind::Binary
            })
        );
        client.send_fragment(DataKind::Text, b"\xba", true).unwrap();
        client.send_binary(b"next").unwrap();
        pair.drive();
        assert_eq!(pair.server.error, None, "deflate {deflate}");
        assert_eq!(
            pair.server.take_events(),
            vec![
                Message::Text("abκ".into()),
                Message::Binary(b"next".to_vec().into())
            ]
        );
    }
}

#[test]
fn close_handshake_started_by_either_end_closes_both() {
    for client_first in [true, false] {
        let mut pair = Pair::connect(PairConfig::default());
        let (first, second) = if client_first {
            (&mut pair.client, &mut pair.server)
        } else {
            (&mut pair.server, &mut pair.client)
        };
        first.conn.close(CloseCode::NORMAL, "bye").unwrap();
        assert_eq!(first.conn.close_state(), CloseState::CloseSent);
        second.conn.send_text("crossing").unwrap();
        pair.drive();
        let (first, second) = if client_first {
            (&mut pair.client, &mut pair.server)
        } else {
            (&mut pair.server, &mut pair.client)
        };
        // Data sent before the close arrived is still delivered; the echo carries the code.
        assert_eq!(
            first.take_events(),
            [
                Message::Text("crossing".into()),
                Message::Close(Some(CloseCode::NORMAL), String::new())
            ],
            "client first: {client_first}"
        );
        assert_eq!(
            second.take_events(),
            [Message::Close(Some(CloseCode::NORMAL), "bye".into())]
        );
        for end in [first, second] {
            assert_eq!(end.conn.close_state(), CloseState::Closed);
            assert_eq!(end.error, None);
            assert_eq!(
                end.conn.send_text("late"),
                Err(framewire_core::SendError::Closed)
            );
        }
        assert_eq!(pair.next_timeout(), None, "no timer left");
        assert!(pair.run_until_idle_or(Duration::from_secs(60)));
        assert_eq!(pair.now, Duration::ZERO, "nothing waited for the clock");
    }
}

#[test]
fn keepalive_pings_are_answered_and_keep_an_idle_connection_open() {
    let secs = Duration::from_secs;
    let mut pair = Pair::connect(PairConfig {
        server: Config {
            ping_interval: Some(secs(10)),
            idle_timeout: Some(secs(25)),
            ..Config::default()
        },
        start: secs(100),
        ..PairConfig::default()
    });
    assert_eq!(pair.next_timeout(), Some(secs(110)));
    assert!(!pair.run_until_idle_or(secs(200)), "keepalive never idles");
    assert_eq!(pair.now, secs(200));
    // A ping every interval, each answered at once, stamped with the clock in ms.
    let stamps: Vec<framewire_core::Bytes> = (11..=20u64)
        .map(|t| (t * 10_000).to_be_bytes().to_vec().into())
        .collect();
    let pings: Vec<Message> = stamps.iter().cloned().map(Message::Ping).collect();
    let pongs: Vec<Message> = stamps.into_iter().map(Message::Pong).collect();
    assert_eq!(pair.client.take_events(), pings);
    assert_eq!(pair.server.take_events(), pongs);
    assert_eq!((pair.client.error, pair.server.error), (None, None));
    assert_eq!(pair.server.conn.close_state(), CloseState::Open);
}

#[test]
fn idle_timeout_on_the_virtual_clock_closes_both_ends_with_1001() {
    let mut pair = Pair::connect(PairConfig {
        server: Config {
            idle_timeout: Some(Duration::from_secs(25)),
            ..Config::default()
        },
        ..PairConfig::default()
    });
    pair.advance(Duration::from_secs(20));
    pair.client.conn.send_text("still here").unwrap();
    pair.drive();
    assert_eq!(
        pair.server.take_events(),
        [Message::Text("still here".into())]
    );
    assert_eq!(
        pair.next_timeout(),
        Some(Duration::from_secs(45)),
        "input resets the deadline"
    );
    assert!(
        pair.run_until_idle_or(Duration::from_secs(1000)),
        "both ends closed"
    );
    assert_eq!(pair.now, Duration::from_secs(45));
    let err = ProtocolError::IdleTimeout { millis: 25_000 };
    assert_eq!(pair.server.error, Some(err.clone()));
    assert_eq!(
        pair.client.take_events(),
        [Message::Close(Some(CloseCode::GOING_AWAY), err.to_string())]
    );
    assert!(pair.client.conn.is_closed() && pair.server.conn.is_closed());
}

#[test]
fn a_close_lost_on_the_wire_is_given_up_after_the_close_timeout() {
    let mut pair = Pair::connect(PairConfig {
        client: Config {
            close_timeout: Duration::from_secs(2),
            ..Config::default()
        },
        ..PairConfig::default()
    });
    pair.client.conn.close(CloseCode::NORMAL, "").unwrap();
    let lost = pair.client.take_output();
    assert_eq!(lost[0], 0x88, "the close frame");
    assert!(pair.run_until_idle_or(Duration::from_secs(60)));
    assert_eq!(pair.now, Duration::from_secs(2));
    assert!(pair.client.conn.is_closed());
    assert_eq!(pair.server.events, []);
    assert_eq!(pair.server.conn.close_state(), CloseState::Open);
}

#[test]
fn keepalive_ping_then_idle_timeout() {
    let config = Config {
        ping_interval: Some(Duration::from_secs(10)),
        idle_timeout: Some(Duration::from_secs(25)),
        ..Config::default()
    };
    let secs = Duration::from_secs;
    let mut conn = Connection::server(config);
    assert_eq!(conn.poll_timeout(), None, "no time known yet");
    conn.handle_timeout(secs(100));
    assert_eq!(conn.poll_timeout(), Some(secs(110)));
    conn.handle_timeout(secs(110));
    assert_eq!(conn.pending_output()[0], 0x89, "keepalive ping sent");
    let n = conn.pending_output().len();
    conn.consume_output(n);
    // The next check is one interval after the ping, not at the idle deadline.
    assert_eq!(conn.poll_timeout(), Some(secs(120)));
    // The pong arrives; it is timed at the next call.
    conn.feed(&client_frame(0x8A, b"pong"));
    assert!(matches!(conn.poll_event(), Ok(Some(Event::Pong(_)))));
    conn.handle_timeout(secs(120));
    assert!(
        conn.pending_output().is_empty(),
        "no ping right after input"
    );
    assert_eq!(conn.poll_timeout(), Some(secs(130)));
    // A silent peer gets a ping every interval until the idle timeout.
    conn.handle_timeout(secs(130));
    assert_eq!(conn.pending_output()[0], 0x89);
    let n = conn.pending_output().len();
    conn.consume_output(n);
    assert_eq!(conn.poll_timeout(), Some(secs(140)));
    conn.handle_timeout(secs(140));
    assert_eq!(conn.pending_output()[0], 0x89);
    let n = conn.pending_output().len();
    conn.consume_output(n);
    assert_eq!(
        conn.poll_timeout(),
        Some(secs(145)),
        "idle deadline comes first"
    );
    conn.handle_timeout(secs(145));
    assert_eq!(
        conn.poll_event(),
        Err(ProtocolError::IdleTimeout { millis: 25_000 })
    );
    assert_eq!(sent_close_code(&conn), Some(1001));
    assert!(conn.is_closed());
}

#[test]
fn close_timeout_when_peer_never_answers() {
    let config = Config {
        close_timeout: Duration::from_secs(2),
        ..Config::default()
    };
    let mut conn = Connection::server(config);
    conn.handle_timeout(Duration::ZERO);
    conn.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(
        conn.poll_timeout(),
        Some(Duration::ZERO),
        "asks for the time now"
    );
    conn.handle_timeout(Duration::from_secs(1));
    assert_eq!(conn.poll_timeout(), Some(Duration::from_secs(3)));
    conn.handle_timeout(Duration::from_secs(3));
    assert!(conn.is_closed());
}

fn arb_message() -> impl Strategy<Value = (u8, Vec<u8>)> {
    prop_oneof![
        ".{0,300}".prop_map(|s| (0x1u8, s.into_bytes())),
        proptest::collection::vec(any::<u8>(), 0..70_000).prop_map(|b| (0x2u8, b)),
        proptest::collection::vec(any::<u8>(), 0..125).prop_map(|b| (0x9u8, b)),
        proptest::collection::vec(any::<u8>(), 0..125).prop_map(|b| (0xAu8, b)),
    ]
}

fn stream(messages: &[(u8, Vec<u8>)], fragment: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for (op, payload) in messages {
        if *op & 0x8 != 0 || payload.len() <= fragment || fragment == 0 {
            out.extend(client_frame(0x80 | op, payload));
            continue;
        }
        let chunks: Vec<&[u8]> = payload.chunks(fragment).collect();
        for (i, c) in chunks.iter().enumerate() {
            let op = if i == 0 { *op } else { 0 };
            let fin = if i + 1 == chunks.len() { 0x80 } else { 0 };
            out.extend(client_frame(fin | op, c));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn split_input_gives_the_same_events(messages in proptest::collection::vec(arb_message(), 1..6),
                                          fragment in 0usize..400,
                                          mut cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12)) {
        let bytes = stream(&messages, fragment);
        let (whole, err, _) = run_server(&bytes);
        prop_assert_eq!(err, None);
        prop_assert_eq!(whole.len(), messages.len());
        let mut cuts: Vec<usize> = cuts.drain(..).map(|i| i.index(bytes.len() + 1)).collect();
        cuts.sort();
        let mut conn = Connection::server(Config::default());
        let mut split = Vec::new();
        let mut at = 0;
        for c in cuts.into_iter().chain([bytes.len()]) {
            conn.feed(&bytes[at..c]);
            at = c;
            let (events, err) = drain(&mut conn);
            prop_assert_eq!(err, None);
            split.extend(events);
        }
        prop_assert_eq!(split, whole);
    }

    #[test]
    fn frames_round_trip(fin in any::<bool>(), op in prop::sample::select(vec![0u8, 1, 2, 8, 9, 10]),
                         rsv in 0u8..8, mask in any::<Option<[u8; 4]>>(),
                         payload in proptest::collection::vec(any::<u8>(), 0..70_000)) {
        let mut h = FrameHeader::new(fin, OpCode::Binary, mask, payload.len() as u64);
        h.opcode = op;
        h.rsv1 = rsv & 4 != 0;
        h.rsv2 = rsv & 2 != 0;
        h.rsv3 = rsv & 1 != 0;
        let mut out = Vec::new();
        encode_frame(&h, &payload, &mut out);
        match framewire_core::frame::decode_frame(&out) {
            framewire_core::frame::Decoded::Frame(f) => {
                prop_assert_eq!(f.header, h);
                prop_assert_eq!(f.len, out.len());
                let mut p = f.payload.to_vec();
                if let Some(k) = f.header.mask {
                    framewire_core::mask::apply_mask(&mut p, k, 0);
                }
                prop_assert_eq!(p, payload);
            }
            other => prop_assert!(false, "not a whole frame: {:?}", other),
        }
        // Any strict prefix is incomplete and says how much is missing.
        let cut = out.len() / 2;
        let incomplete = !matches!(framewire_core::frame::decode_frame(&out[..cut]), framewire_core::frame::Decoded::Frame(_));
        prop_assert!(incomplete || cut == out.len());
    }
}

#[test]
fn wants_input_only_while_a_frame_within_the_limit_is_incomplete() {
    let limits = Limits {
        max_frame_payload: 1000,
        ..Limits::default()
    };
    let cfg = Config {
        limits,
        ..Config::default()
    };
    let whole = client_frame(0x82, &[7; 600]);
    let mut conn = Connection::server(cfg.clone());
    assert!(conn.wants_input(), "nothing buffered");
    conn.feed(&whole[..1]);
    assert!(conn.wants_input(), "half a header");
    conn.feed(&whole[1..300]);
    assert!(conn.wants_input(), "part of the payload");
    conn.feed(&whole[300..]);
    assert!(!conn.wants_input(), "a whole frame is buffered");
    assert!(matches!(conn.poll_event(), Ok(Some(Event::Binary(b))) if b.len() == 600));
    assert!(
        matches!(conn.poll_event(), Ok(None)),
        "the lent frame is released"
    );
    assert!(conn.wants_input(), "the frame was taken");
    // A header declaring more than the limit is not waited for: it fails when decoded.
    let mut conn = Connection::server(cfg);
    conn.feed(&client_frame(0x82, &[7; 1001])[..20]);
    assert!(!conn.wants_input(), "a frame over max_frame_payload");
    assert!(conn.poll_event().is_err());
}
