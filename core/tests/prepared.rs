//! `PreparedMessage`: a frame encoded (and compressed) once, queued on many
//! connections without copying, interleaved in order with their own messages.

#[allow(dead_code, reason = "the shared harness: this file uses part of it")]
mod pair;

use framewire_core::deflate::DeflateConfig;
use framewire_core::{Bytes, Message, PreparedMessage};
use pair::{Pair, PairConfig};

/// A payload long enough to be queued shared rather than copied.
fn big_text(tag: &str) -> String {
    format!("{tag}:{}", "the same words again and again, ".repeat(40))
}

/// 2 KiB of hex digits from a fixed generator: they hardly compress (level 1
/// codes literals with fixed codes), so the compressed frame is long enough to be shared.
fn noisy_text() -> String {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..2048)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            char::from_digit((x >> 60) as u32, 16).unwrap_or('0')
        })
        .collect()
}

fn text(t: &str) -> Message {
    Message::text(t.to_owned())
}

#[test]
fn a_prepared_frame_is_queued_shared_not_copied() {
    let msg = PreparedMessage::text(big_text("shared"));
    let mut pairs = [
        Pair::connect(PairConfig::default()),
        Pair::connect(PairConfig::default()),
    ];
    for pair in &mut pairs {
        pair.server.conn.send_prepared(&msg).unwrap();
        let mut slices: [&[u8]; 8] = [&[]; 8];
        let n = pair.server.conn.pending_output_slices(&mut slices);
        assert_eq!(n, 1);
        assert_eq!(
            slices[0].as_ptr(),
            msg.frame().as_ptr(),
            "the connection's output is the prepared frame itself"
        );
        pair.drive();
        assert_eq!(pair.client.take_events(), [text(&big_text("shared"))]);
    }
}

#[test]
fn prepared_frames_keep_their_place_among_the_connections_own_messages() {
    let a = PreparedMessage::text(big_text("a"));
    let b = PreparedMessage::binary(Bytes::from(vec![7u8; 1000]));
    let small = PreparedMessage::text("small");
    // One byte at a time: every split between the buffer and the shared frames.
    let mut pair = Pair::connect(PairConfig {
        chunk: Some(1),
        ..PairConfig::default()
    });
    let conn = &mut pair.server.conn;
    conn.send_text("first").unwrap();
    conn.send_prepared(&a).unwrap();
    conn.send_prepared(&b).unwrap();
    conn.send_text("between").unwrap();
    conn.send_prepared(&small).unwrap();
    conn.send_prepared(&a).unwrap();
    conn.send_ping(b"p").unwrap();
    let queued = conn.pending_len();
    let mut all = Vec::new();
    let mut slices: [&[u8]; 16] = [&[]; 16];
    let n = conn.pending_output_slices(&mut slices);
    for s in &slices[..n] {
        all.extend_from_slice(s);
    }
    assert_eq!(all.len(), queued, "the slices hold every pending byte");
    pair.drive();
    let got = pair.client.take_events();
    assert_eq!(
        got,
        [
            text("first"),
            text(&big_text("a")),
            Message::binary(vec![7u8; 1000]),
            text("between"),
            text("small"),
            text(&big_text("a")),
            Message::Ping(Bytes::from_static(b"p")),
        ]
    );
    assert_eq!(pair.server.conn.pending_len(), 0);
}

#[test]
fn compressed_once_for_every_connection_with_the_same_window() {
    let takeover = DeflateConfig::default();
    let no_takeover = DeflateConfig {
        server_no_context_takeover: true,
        ..DeflateConfig::default()
    };
    let msg = PreparedMessage::text(noisy_text());
    let mut pairs = [
        Pair::connect(PairConfig::deflate(takeover)),
        Pair::connect(PairConfig::deflate(no_takeover)),
        Pair::connect(PairConfig::deflate(takeover)),
    ];
    let mut frames = Vec::new();
    for pair in &mut pairs {
        pair.server.conn.send_prepared(&msg).unwrap();
        frames.push(pair.server.conn.pending_output().as_ptr());
        pair.drive();
        assert_eq!(pair.client.take_events(), [text(&noisy_text())]);
    }
    assert_eq!(msg.compressions(), 1, "one compression for all three");
    assert!(frames.iter().all(|&p| p == frames[0]), "one shared frame");
    assert_eq!(
        msg.compressed_frame(1, 15)[0] & 0x40,
        0x40,
        "the shared frame is a compressed one (RSV1)"
    );
}

#[test]
fn a_smaller_window_gets_its_own_compression() {
    let narrow = DeflateConfig {
        server_max_window_bits: 10,
        ..DeflateConfig::default()
    };
    let msg = PreparedMessage::binary(Bytes::from(big_text("w").into_bytes()));
    for cfg in [DeflateConfig::default(), narrow, narrow] {
        let mut pair = Pair::connect(PairConfig::deflate(cfg));
        pair.server.conn.send_prepared(&msg).unwrap();
        pair.drive();
        assert_eq!(
            pair.client.take_events(),
            [Message::binary(big_text("w").into_bytes())]
        );
    }
    assert_eq!(msg.compressions(), 2, "15 and 10 bits, once each");
}

#[test]
fn a_connection_with_context_takeover_refers_back_into_a_prepared_message() {
    // The prepared frame was compressed by nobody's history; the connection's
    // next own message may refer back into it, and the client must inflate it.
    let mut pair = Pair::connect(PairConfig::deflate(DeflateConfig::default()));
    let prepared = big_text("again");
    pair.server
        .conn
        .send_prepared(&PreparedMessage::text(prepared.clone()))
        .unwrap();
    pair.drive();
    pair.server.conn.send_text(&prepared).unwrap();
    let own = pair.server.conn.pending_len();
    pair.drive();
    assert_eq!(
        pair.client.take_events(),
        [text(&prepared), text(&prepared)]
    );
    assert!(
        own < 40,
        "the repeat is a back-reference ({own} bytes on the wire)"
    );
}

#[test]
fn a_client_masks_a_prepared_message_as_its_own() {
    let mut pair = Pair::connect(PairConfig::default());
    let msg = PreparedMessage::text(big_text("from the client"));
    pair.client.conn.send_prepared(&msg).unwrap();
    assert_ne!(pair.client.conn.pending_output(), &msg.frame()[..]);
    pair.drive();
    assert_eq!(
        pair.server.take_events(),
        [text(&big_text("from the client"))]
    );
}
