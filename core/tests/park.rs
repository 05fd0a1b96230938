//! Parking a quiet connection ([`Connection::park`]): what it keeps, what it
//! refuses, and that an unparked connection goes on as if never parked.

// Not every test file uses every helper of the shared harness.
#[allow(dead_code)]
mod pair;

use std::time::Duration;

use framewire_core::deflate::DeflateConfig;
use framewire_core::{CloseCode, CloseState, Config, Connection, Message, Parked};
use pair::{Pair, PairConfig};

const JSON: &str = r#"{"user":"ada","action":"update","items":[{"id":1,"name":"alpha","tags":["a","b"]},{"id":2,"name":"beta","tags":["b","c"]}]}"#;

/// The server end's connection, swapped out of the pair.
fn take_server(pair: &mut Pair) -> Connection {
    std::mem::replace(&mut pair.server.conn, Connection::server(Config::default()))
}

/// The server echoes every message the client sends, then both ends stay
/// quiet past two timers (the second finds the server quiet: it frees its buffers).
fn exchange_and_quiet(pair: &mut Pair, text: &str) {
    pair.client.conn.send_text(text).unwrap();
    pair.drive();
    for m in pair.server.take_events() {
        let Message::Text(t) = m else {
            panic!("expected text, got {m:?}")
        };
        pair.server.conn.send_text(&t).unwrap();
    }
    pair.drive();
    pair.advance(Duration::from_secs(1));
    pair.advance(Duration::from_secs(1));
}

#[test]
fn a_parked_record_is_small() {
    let size = std::mem::size_of::<Parked>();
    assert!(size <= 56, "Parked is {size} bytes");
}

#[test]
fn park_and_unpark_keep_the_agreed_deflate_and_its_history() {
    let mut pair = Pair::connect(PairConfig::deflate(DeflateConfig::default()));
    assert!(pair.server.conn.deflate_enabled());
    exchange_and_quiet(&mut pair, JSON);
    assert_eq!(pair.client.take_events(), [Message::Text(JSON.into())]);
    let server = take_server(&mut pair);
    assert_eq!(server.buffer_capacity(), 0, "quiet: no buffer left");
    let footprint = server.deflate_footprint().unwrap();
    let deadline = server.poll_timeout();
    let parked = server.park().expect("a quiet connection parks");
    assert_eq!(
        parked.deflate_footprint().unwrap().history_bytes,
        footprint.history_bytes
    );
    let cfg = Config::default();
    assert_eq!(parked.poll_timeout(&cfg), deadline);
    let server = parked.unpark(&cfg);
    assert!(server.deflate_enabled());
    assert_eq!(server.close_state(), CloseState::Open);
    assert_eq!(server.deflate_footprint(), Some(footprint));
    pair.server.conn = server;
    // The same message again: with the history kept (context takeover) it
    // compresses to a back-reference, and the client inflates it.
    let wire_before = pair.server.take_wire();
    let first_frame = wire_before.len();
    pair.server.conn.send_text(JSON).unwrap();
    pair.drive();
    let second_frame = pair.server.take_wire().len();
    assert_eq!(pair.client.take_events(), [Message::Text(JSON.into())]);
    assert!(
        second_frame * 2 < first_frame,
        "the history was lost: {second_frame} bytes after {first_frame}"
    );
    // And it receives compressed messages as before.
    pair.client.conn.send_text(JSON).unwrap();
    pair.drive();
    assert_eq!(pair.server.take_events(), [Message::Text(JSON.into())]);
}

#[test]
fn a_connection_with_anything_buffered_or_a_close_under_way_is_given_back() {
    let mut pair = Pair::connect(PairConfig::default());
    // Input arrived and was handled, but no timer found it quiet yet: its buffers stay.
    pair.client.conn.send_text("hi").unwrap();
    pair.drive();
    let server = take_server(&mut pair);
    assert!(!server.can_park());
    let server = server.park().expect_err("buffers held");
    pair.server.conn = server;
    assert_eq!(pair.server.take_events(), [Message::Text("hi".into())]);
    // Output queued.
    pair.advance(Duration::from_secs(1));
    pair.advance(Duration::from_secs(1));
    let mut server = take_server(&mut pair);
    server.send_text("queued").unwrap();
    let mut server = server.park().expect_err("output queued");
    assert_eq!(server.pending_len(), 8, "given back unchanged");
    server.consume_output(server.pending_len());
    // A close sent: its state (and the close timer) must not be forgotten.
    server.close(CloseCode::NORMAL, "bye").unwrap();
    let n = server.pending_len();
    server.consume_output(n);
    server.handle_timeout(Duration::from_secs(3));
    let server = server.park().expect_err("closing");
    assert_eq!(server.close_state(), CloseState::CloseSent);
    assert!(server.poll_timeout().is_some(), "the close timer was lost");
}

#[test]
fn a_parked_connection_keeps_its_keepalive_and_idle_deadlines() {
    let cfg = Config {
        ping_interval: Some(Duration::from_secs(30)),
        idle_timeout: Some(Duration::from_secs(60)),
        ..Config::default()
    };
    let mut pair = Pair::connect(PairConfig {
        client: cfg.clone(),
        server: cfg.clone(),
        ..PairConfig::default()
    });
    let server = take_server(&mut pair);
    assert!(server.can_park());
    let due = server.poll_timeout().expect("a keepalive is due");
    let parked = server.park().expect("a new connection is quiet");
    assert_eq!(parked.poll_timeout(&cfg), Some(due));
    // Unparked at the deadline, it pings; at the idle timeout it closes 1001.
    let mut server = parked.unpark(&cfg);
    server.handle_timeout(due);
    let ping = server.pending_output().to_vec();
    assert_eq!(ping[0], 0x89, "a ping: {ping:?}");
    server.consume_output(ping.len());
    let parked = server.park().expect("quiet again after its ping");
    let idle = parked.poll_timeout(&cfg).unwrap();
    assert_eq!(idle, pair.now + Duration::from_secs(60));
    let mut server = parked.unpark(&cfg);
    server.handle_timeout(idle);
    assert_eq!(server.close_state(), CloseState::Closed);
    let close = server.pending_output();
    assert_eq!(
        &close[..4],
        &[0x88, close[1], 0x03, 0xe9],
        "close 1001: {close:?}"
    );
}
