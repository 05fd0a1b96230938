use std::time::Duration;

use super::*;
use crate::deflate::DeflateParams;

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

fn at(ms: u64) -> Option<Duration> {
    Some(Duration::from_millis(ms))
}

/// A client frame (masked with a zero key, so the payload reads as is).
fn client(opcode_byte: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut v = vec![opcode_byte, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    v.extend_from_slice(payload);
    v
}

fn server(opcode_byte: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut v = vec![opcode_byte, payload.len() as u8];
    v.extend_from_slice(payload);
    v
}

fn session() -> Session {
    Session::new(SessionConfig::default()).unwrap()
}

#[test]
fn ping_is_matched_to_its_pong_with_the_round_trip_time() {
    let mut s = session();
    s.feed(C2S, &client(0x89, b"a"), at(100));
    s.feed(C2S, &client(0x89, b"b"), at(150));
    s.feed(S2C, &server(0x8a, b"b"), at(190));
    s.feed(S2C, &server(0x8a, b"a"), at(400));
    let h = s.heartbeats();
    assert_eq!(h.pings.len(), 2);
    assert_eq!(h.pings[0].rtt_ms, Some(300.0));
    assert_eq!(h.pings[1].rtt_ms, Some(40.0));
    assert_eq!(h.unanswered, 0);
    assert_eq!(h.rtt_ms, Some([40.0, 170.0, 300.0]));
}

/// The page asked for every pong's ping while an injected ping waited, and each
/// question matched the whole session again; the session now keeps the matches.
#[test]
fn the_ping_a_pong_answered_is_kept_as_frames_come_and_agrees_with_the_report() {
    let mut s = session();
    let steps: [(Direction, u8, &[u8]); 10] = [
        (C2S, 0x89, b"a"),
        (C2S, 0x89, b"a"),
        (S2C, 0x89, b"z"),
        (S2C, 0x8a, b"a"),
        (C2S, 0x8a, b"q"),
        (C2S, 0x8a, b"z"),
        (S2C, 0x81, b"text"),
        (S2C, 0x8a, b"a"),
        (S2C, 0x8a, b"a"),
        (C2S, 0x8a, b"z"),
    ];
    for (i, (dir, op, payload)) in steps.into_iter().enumerate() {
        let bytes = if dir == C2S {
            client(op, payload)
        } else {
            server(op, payload)
        };
        s.feed(dir, &bytes, at(i as u64));
    }
    let h = s.heartbeats();
    let mut matched = 0;
    for f in s.frames().iter().filter(|f| f.opcode == 0xA) {
        let from_report = h
            .pings
            .iter()
            .find(|p| p.direction == f.direction.reverse() && p.pong_frame == Some(f.index))
            .map(|p| p.ping_frame);
        assert_eq!(
            s.ping_answered_by(f.direction, f.index),
            from_report,
            "{f:?}"
        );
        matched += usize::from(from_report.is_some());
    }
    // Frame indexes count every frame of a direction. Both client pings are
    // answered (server pongs 1 and 3), the server's ping by the client's pong 3.
    assert_eq!(matched, 3);
    assert_eq!(s.ping_answered_by(S2C, 1), Some(0));
    assert_eq!(s.ping_answered_by(S2C, 3), Some(1));
    assert_eq!(
        s.ping_answered_by(S2C, 4),
        None,
        "a third pong of a has no ping left"
    );
    assert_eq!(s.ping_answered_by(C2S, 2), None, "q answers nothing");
    assert_eq!(s.ping_answered_by(C2S, 3), Some(0));
    assert_eq!(
        s.ping_answered_by(C2S, 4),
        None,
        "the second z has no ping left"
    );
    assert_eq!(s.ping_answered_by(S2C, 2), None, "a text frame is no pong");
}

#[test]
fn unanswered_ping_and_unsolicited_pong_are_counted() {
    let mut s = session();
    s.feed(S2C, &server(0x89, b"x"), at(0));
    // A pong from the same direction, and one with another payload: neither answers.
    s.feed(S2C, &server(0x8a, b"x"), at(10));
    s.feed(C2S, &client(0x8a, b"y"), at(20));
    let h = s.heartbeats();
    assert_eq!(h.unanswered, 1);
    assert!(h.pings[0].unanswered());
    assert_eq!(h.unsolicited_pongs, 2);
    assert_eq!(h.rtt_ms, None);
}

#[test]
fn longest_silences_are_reported_per_direction_longest_first() {
    let mut s = session();
    for t in [0, 10, 1010, 1020, 6020] {
        s.feed(S2C, &server(0x81, b"t"), at(t));
    }
    let h = s.heartbeats();
    let gaps: Vec<f64> = h.silences.iter().map(|g| g.duration_ms).collect();
    assert_eq!(gaps, vec![5000.0, 1000.0, 10.0]);
    assert!(h.silences.iter().all(|g| g.direction == S2C));
}

#[test]
fn fragments_are_grouped_with_the_control_frames_between_them() {
    let mut s = session();
    s.feed(S2C, &server(0x01, b"hel"), at(1));
    s.feed(C2S, &client(0x89, b"p"), at(2));
    s.feed(S2C, &server(0x8a, b"p"), at(3));
    s.feed(S2C, &server(0x80, b"lo"), at(7));
    let view = s.message_view();
    assert_eq!(view.len(), 3, "{view:?}");
    let ViewEntry::Message(m) = &view[0] else {
        panic!("{view:?}")
    };
    assert_eq!(m.message.frames, vec![0, 2]);
    assert_eq!(m.message.size, Some(5));
    assert_eq!(m.message.wire_size, 9);
    assert_eq!(m.message.text.as_deref(), Some("hello"));
    assert_eq!(
        (m.message.first_ms, m.message.last_ms),
        (Some(1.0), Some(7.0))
    );
    assert_eq!(m.duration_ms, Some(6.0));
    assert_eq!(m.interleaved.len(), 2);
    assert_eq!(m.interleaved[0].opcode, 0x9);
    assert!(matches!(&view[1], ViewEntry::Control(f) if f.opcode == 0x9));
}

#[test]
fn close_by_the_server_is_diagnosed_with_meaning_cause_and_duration() {
    let mut s = session();
    s.feed(S2C, &server(0x88, b"\x03\xf1bye"), at(1000));
    s.feed(C2S, &client(0x88, b"\x03\xf1"), at(1042));
    let d = s.close_diagnosis(true);
    assert_eq!(d.outcome, "closed");
    assert_eq!(d.first_closer, Some(S2C));
    assert_eq!(d.closes[0].code, Some(1009));
    assert_eq!(d.closes[0].meaning, "message too big");
    assert!(d.closes[0].cause.contains("larger than the receiver"));
    assert_eq!(d.handshake_ms, Some(42.0));
    let ev = d.close_event.unwrap();
    assert_eq!(
        (ev.code, ev.reason.as_str(), ev.was_clean),
        (1009, "bye", true)
    );
}

#[test]
fn tcp_ending_without_a_close_frame_is_a_1006_in_the_browser() {
    let mut s = session();
    s.feed(S2C, &server(0x81, b"hi"), at(0));
    let d = s.close_diagnosis(true);
    assert_eq!(d.outcome, "no-close");
    let ev = d.close_event.unwrap();
    assert_eq!((ev.code, ev.was_clean), (1006, false));
    assert!(ev.why.contains("without a close frame"), "{}", ev.why);
    // Not known to have ended: no guess.
    assert_eq!(s.close_diagnosis(false).close_event, None);
}

#[test]
fn a_bad_server_frame_makes_the_browser_report_1006() {
    let mut s = session();
    // A masked server frame breaks a rule.
    s.feed(S2C, &client(0x81, b"x"), at(0));
    let d = s.close_diagnosis(true);
    assert_eq!(d.outcome, "failed");
    assert_eq!(d.close_event.unwrap().code, 1006);
    assert!(
        d.summary.iter().any(|l| l.contains("close 1002")),
        "{:?}",
        d.summary
    );
}

#[test]
fn close_codes_of_every_range_are_explained() {
    for (code, word) in [
        (1000, "finished"),
        (1012, "restarting"),
        (1015, "TLS"),
        (2000, "future versions"),
        (3000, "IANA"),
        (4001, "private use"),
        (999, "not a close code"),
    ] {
        assert!(close_code_cause(code).contains(word), "{code}");
    }
}

#[test]
fn filter_by_direction_kind_text_and_size_counts_the_hidden() {
    let mut s = session();
    s.feed(C2S, &client(0x81, b"hello world"), at(0));
    s.feed(S2C, &server(0x81, b"HELLO back"), at(1));
    s.feed(S2C, &server(0x82, &[1, 2, 3]), at(2));
    s.feed(S2C, &server(0x89, b""), at(3));
    let all = s.filter(&Filter::default()).unwrap();
    assert_eq!((all.frames.len(), all.hidden_frames), (4, 0));
    let r = s
        .filter(&Filter {
            text: Some("hello".into()),
            ..Filter::default()
        })
        .unwrap();
    assert_eq!(r.frames, vec![0, 1]);
    assert_eq!((r.messages.len(), r.hidden_messages), (2, 1));
    let r = s
        .filter(&Filter {
            direction: Some(S2C),
            kind: Some(KindFilter::Data),
            max_size: Some(5),
            ..Filter::default()
        })
        .unwrap();
    assert_eq!(r.frames, vec![2]);
    assert_eq!(r.hidden_frames, 3);
    let r = s
        .filter(&Filter {
            kind: Some(KindFilter::Control),
            ..Filter::default()
        })
        .unwrap();
    assert_eq!((r.frames, r.messages.len()), (vec![3], 0));
    assert!(matches!(
        s.filter(&Filter {
            min_size: Some(9),
            max_size: Some(2),
            ..Filter::default()
        }),
        Err(FilterError::EmptyRange { .. })
    ));
}

#[cfg(feature = "regex")]
#[test]
fn filter_by_regex_and_a_bad_regex_is_an_error() {
    let mut s = session();
    s.feed(S2C, &server(0x81, br#"{"id":42}"#), at(0));
    s.feed(S2C, &server(0x81, br#"{"id":"x"}"#), at(1));
    let r = s
        .filter(&Filter {
            regex: Some(r#""id":\d+"#.into()),
            ..Filter::default()
        })
        .unwrap();
    assert_eq!(r.frames, vec![0]);
    let e = s
        .filter(&Filter {
            regex: Some("(".into()),
            ..Filter::default()
        })
        .unwrap_err();
    assert!(matches!(e, FilterError::BadRegex { .. }), "{e}");
}

#[test]
fn traffic_is_bucketed_per_direction() {
    let mut s = session();
    s.feed(C2S, &client(0x81, b"a"), at(1000));
    s.feed(S2C, &server(0x81, b"bb"), at(1100));
    s.feed(S2C, &server(0x81, b"cc"), at(2500));
    let t = s.traffic(1000.0);
    assert_eq!(t.origin_ms, 1000.0);
    assert_eq!(t.buckets.len(), 2);
    assert_eq!((t.buckets[0].c2s_messages, t.buckets[0].c2s_bytes), (1, 7));
    assert_eq!((t.buckets[0].s2c_messages, t.buckets[0].s2c_bytes), (1, 4));
    assert_eq!(t.buckets[1].s2c_messages, 1);
    assert_eq!(t.peak_bytes_per_sec, [7.0, 4.0]);
    // A tiny bucket over a long span is widened to stay within MAX_BUCKETS.
    assert!(s.traffic(0.001).buckets.len() <= MAX_BUCKETS);
}

#[test]
fn deflate_parameters_are_put_in_words_with_zlib_memory() {
    let answer = DeflateParams {
        server_no_context_takeover: true,
        client_no_context_takeover: false,
        server_max_window_bits: Some(10),
        client_max_window_bits: Some(None),
    };
    let setup = DeflateSetup::new(&answer);
    assert_eq!(
        setup.answer,
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits"
    );
    // Server deflate: (1 << 12) + (1 << 17) + 7 KiB; client inflate: 1 << 10 + 7 KiB.
    assert_eq!(setup.sides[1].deflate_bytes, 4096 + 131_072 + 7168);
    assert_eq!(setup.sides[0].inflate_bytes, 1024 + 7168);
    assert_eq!(setup.sides[0].deflate_window_bits, 15);
    assert!(setup
        .words
        .iter()
        .any(|w| w.starts_with("server_no_context_takeover")));
}

#[test]
fn frames_past_the_limit_are_counted_not_kept() {
    let mut s = Session::new(SessionConfig {
        max_frames: 2,
        ..SessionConfig::default()
    })
    .unwrap();
    for t in 0..5 {
        s.feed(S2C, &server(0x81, b"x"), at(t));
    }
    assert_eq!((s.frames().len(), s.dropped_frames()), (2, 3));
}
