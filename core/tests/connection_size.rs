//! An idle connection's footprint: what rarely matters (mask generator, compression
//! state) is boxed, so a server holding thousands of idle connections stays small.

use std::time::Duration;

use framewire_core::{Config, Connection, Event, Sender};

#[test]
fn a_connection_struct_stays_under_half_a_kib() {
    let size = std::mem::size_of::<Connection>();
    assert!(size <= 512, "Connection is {size} bytes");
    assert!(std::mem::size_of::<Sender>() <= 192);
}

#[test]
fn a_new_connection_allocates_no_buffer() {
    let server = Connection::server(Config::default());
    assert_eq!(server.buffered_input(), 0);
    assert_eq!(server.pending_len(), 0);
    assert!(server.pending_output().is_empty());
}

#[test]
fn a_quiet_connection_frees_its_buffers_at_the_next_timer() {
    let cfg = Config {
        idle_timeout: Some(Duration::from_secs(60)),
        ..Config::default()
    };
    let mut client = Connection::client_with_seed(cfg.clone(), [7; 32]);
    let mut server = Connection::server(cfg);
    server.handle_timeout(Duration::ZERO);
    client.send_text("hello").unwrap();
    server.feed(client.pending_output());
    client.consume_output(client.pending_output().len());
    match server.poll_event().unwrap() {
        Some(Event::Text(t)) => assert_eq!(t, "hello"),
        other => panic!("expected the text, got {other:?}"),
    }
    server.send_text("hello back").unwrap();
    let n = server.pending_output().len();
    server.consume_output(n);
    assert!(server.poll_event().unwrap().is_none());
    assert!(
        server.buffer_capacity() > 0,
        "the exchange claimed no buffer"
    );
    // Data arrived since the last timer: the buffers stay (a busy connection keeps them).
    server.handle_timeout(Duration::from_secs(1));
    assert!(server.buffer_capacity() > 0);
    // Nothing arrived since: quiet, so they go.
    server.handle_timeout(Duration::from_secs(2));
    assert_eq!(server.buffer_capacity(), 0);
    // The next data claims them again.
    client.send_text("again").unwrap();
    server.feed(client.pending_output());
    assert!(matches!(
        server.poll_event().unwrap(),
        Some(Event::Text("again"))
    ));
}
