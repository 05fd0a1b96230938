//! Vectored output: echoed payloads written straight from the input buffer, in
//! order with everything else queued, whatever the host's write sizes.

use framewire_core::{CloseCode, Config, Connection, Event, Limits, SendError};
use proptest::prelude::*;

/// The wire bytes of a client sending `messages` (binary when the flag is set).
fn client_bytes(messages: &[(bool, Vec<u8>)]) -> Vec<u8> {
    let mut client = Connection::client_with_seed(Config::default(), [7; 32]);
    for (binary, m) in messages {
        if *binary {
            client.send_binary(m).unwrap();
        } else {
            client.send_text(std::str::from_utf8(m).unwrap()).unwrap();
        }
    }
    client.pending_output().to_vec()
}

fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| b'a' + ((i + seed as usize) % 26) as u8)
        .collect()
}

/// Echoes every data event of what is buffered; returns how many were echoed.
fn echo_all(conn: &mut Connection) -> usize {
    let mut n = 0;
    while let Ok(Some((event, tx))) = conn.poll_event_and_sender() {
        match event {
            Event::Text(t) => tx.send_text(t).unwrap(),
            Event::Binary(b) => tx.send_binary(b).unwrap(),
            _ => continue,
        }
        n += 1;
    }
    n
}

/// What a server with vectored output off sends for the same input: the reference.
fn copied_echo(wire: &[u8]) -> Vec<u8> {
    let mut conn = Connection::server(Config::default());
    conn.feed(wire);
    echo_all(&mut conn);
    conn.pending_output().to_vec()
}

/// Writes everything pending with `pending_output`, `chunk` bytes at a time.
fn write_in_chunks(conn: &mut Connection, chunk: usize) -> Vec<u8> {
    let mut wire = Vec::new();
    loop {
        let next = conn.pending_output();
        if next.is_empty() {
            return wire;
        }
        let n = next.len().min(chunk);
        wire.extend_from_slice(&next[..n]);
        conn.consume_output(n);
    }
}

fn vectored_server() -> Connection {
    let mut conn = Connection::server(Config::default());
    conn.set_vectored_output(true);
    conn
}

#[test]
fn a_large_echo_is_written_from_the_input_buffer() {
    let data = payload(10_000, 1);
    let wire = client_bytes(&[(true, data.clone())]);
    let mut conn = vectored_server();
    conn.feed(&wire);
    assert_eq!(echo_all(&mut conn), 1);
    let [head, body, tail] = conn.pending_output_vectored();
    assert_eq!(head, [0x82, 126, 0x27, 0x10]);
    assert_eq!(body, &data[..]);
    assert!(tail.is_empty());
    assert_eq!(conn.pending_len(), 4 + data.len());
    assert_eq!(write_in_chunks(&mut conn, usize::MAX), copied_echo(&wire));
    assert_eq!(conn.pending_len(), 0);
}

#[test]
fn small_echoes_and_vectored_off_copy_as_before() {
    let wire = client_bytes(&[(false, payload(20, 0)), (true, payload(3000, 2))]);
    let mut conn = vectored_server();
    conn.feed(&wire);
    echo_all(&mut conn);
    let [_, body, _] = conn.pending_output_vectored();
    assert_eq!(
        body.len(),
        3000,
        "the large one is borrowed, the small one copied"
    );
    let mut off = Connection::server(Config::default());
    off.feed(&wire);
    echo_all(&mut off);
    let [all, body, tail] = off.pending_output_vectored();
    assert!(body.is_empty() && tail.is_empty());
    assert_eq!(all, off.pending_output());
    assert_eq!(write_in_chunks(&mut conn, 7), all);
}

#[test]
fn a_client_never_borrows_because_it_masks() {
    let data = payload(5000, 3);
    let mut server = Connection::server(Config::default());
    server.send_binary(&data).unwrap();
    let mut client = Connection::client_with_seed(Config::default(), [1; 32]);
    client.set_vectored_output(true);
    client.feed(server.pending_output());
    echo_all(&mut client);
    let [all, body, tail] = client.pending_output_vectored();
    assert!(body.is_empty() && tail.is_empty());
    assert_eq!(all.len(), 4 + 4 + data.len());
}

#[test]
fn reading_before_writing_copies_the_payload_and_keeps_order() {
    let first = payload(4096, 4);
    let second = payload(2500, 5);
    let wire = client_bytes(&[(true, first.clone()), (false, second.clone())]);
    let split = wire.len() - 1000;
    let mut conn = vectored_server();
    conn.feed(&wire[..split]);
    assert_eq!(echo_all(&mut conn), 1);
    assert_eq!(conn.pending_output_vectored()[1], &first[..]);
    // More input before the echo was written: the payload may have to move.
    conn.feed(&wire[split..]);
    assert_eq!(echo_all(&mut conn), 1);
    assert_eq!(write_in_chunks(&mut conn, 1000), copied_echo(&wire));
}

#[test]
fn two_large_echoes_in_one_read_go_out_in_order() {
    let wire = client_bytes(&[
        (true, payload(3000, 6)),
        (true, payload(70_000, 7)),
        (false, payload(2048, 8)),
    ]);
    let mut conn = vectored_server();
    conn.feed(&wire);
    assert_eq!(echo_all(&mut conn), 3);
    conn.close(CloseCode::NORMAL, "bye").unwrap();
    let mut reference = Connection::server(Config::default());
    reference.feed(&wire);
    echo_all(&mut reference);
    reference.close(CloseCode::NORMAL, "bye").unwrap();
    assert_eq!(write_in_chunks(&mut conn, 4093), reference.pending_output());
}

#[test]
fn turning_vectored_output_off_copies_a_waiting_payload() {
    let data = payload(9000, 9);
    let wire = client_bytes(&[(true, data)]);
    let mut conn = vectored_server();
    conn.feed(&wire);
    echo_all(&mut conn);
    conn.set_vectored_output(false);
    let [all, body, tail] = conn.pending_output_vectored();
    assert!(body.is_empty() && tail.is_empty());
    assert_eq!(all, copied_echo(&wire));
}

#[test]
fn a_borrowed_payload_counts_toward_the_output_limit() {
    let cfg = Config {
        limits: Limits {
            max_pending_output: 5000,
            ..Limits::default()
        },
        ..Config::default()
    };
    let wire = client_bytes(&[(true, payload(6000, 1))]);
    let mut conn = Connection::server(cfg);
    conn.set_vectored_output(true);
    conn.feed(&wire);
    echo_all(&mut conn);
    assert_eq!(conn.pending_output_vectored()[1].len(), 6000);
    assert!(matches!(
        conn.send_text("more"),
        Err(SendError::OutputFull {
            pending: 6004,
            limit: 5000
        })
    ));
}

proptest! {
    /// Any mix of message sizes, any split of the input into reads, any write
    /// sizes, reads and writes interleaved: the same bytes as copying.
    #[test]
    fn same_bytes_as_copying(
        sizes in proptest::collection::vec((any::<bool>(), 0usize..9000), 1..6),
        read in 1usize..20_000,
        write in 1usize..20_000,
        write_before_read in any::<bool>(),
    ) {
        let messages: Vec<(bool, Vec<u8>)> = sizes
            .iter()
            .enumerate()
            .map(|(i, &(binary, len))| (binary, payload(len, i as u8)))
            .collect();
        let wire = client_bytes(&messages);
        let mut conn = vectored_server();
        let mut out = Vec::new();
        let mut echoed = 0;
        for piece in wire.chunks(read) {
            let buf = conn.input_buffer(piece.len());
            buf[..piece.len()].copy_from_slice(piece);
            conn.commit_input(piece.len());
            echoed += echo_all(&mut conn);
            if write_before_read {
                out.extend(write_in_chunks(&mut conn, write));
            } else {
                let n = conn.pending_output().len().min(write);
                out.extend_from_slice(&conn.pending_output()[..n]);
                conn.consume_output(n);
            }
        }
        out.extend(write_in_chunks(&mut conn, write));
        prop_assert_eq!(echoed, messages.len());
        prop_assert_eq!(out, copied_echo(&wire));
    }
}
