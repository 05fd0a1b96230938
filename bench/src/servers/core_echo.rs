//! Echo on a minimal tokio loop over framewire-core's sans-IO `Connection`.
//!
//! Shows what the core costs without the framewire-server host around it: the
//! input buffer is only claimed once the socket is readable, events are echoed
//! straight from the input buffer, and everything queued is written once per read.

use framewire_core::handshake::{self, ServerHandshakeConfig};
use framewire_core::{Config, Connection, Event, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::MAX_MESSAGE;

/// The smallest read; reads double while they fill the buffer.
const MIN_READ: usize = 4 * 1024;
/// The largest read.
const MAX_READ: usize = 256 * 1024;

/// Upgrades `stream` and echoes text and binary messages until the peer closes.
pub async fn handle(mut stream: TcpStream) {
    let mut head = Vec::with_capacity(1024);
    let (accept, used) = loop {
        let mut chunk = [0u8; 1024];
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        head.extend_from_slice(&chunk[..n]);
        match handshake::parse_request(&head, 16 * 1024) {
            Ok(Some((req, used))) => {
                let accepted = handshake::validate_request(&req)
                    .and_then(|up| handshake::accept(&up, &ServerHandshakeConfig::default()));
                match accepted {
                    Ok(a) => break (a, used),
                    Err(e) => {
                        let _ = stream.write_all(&handshake::rejection_response(&e)).await;
                        return;
                    }
                }
            }
            Ok(None) => {}
            Err(e) => {
                let _ = stream.write_all(&handshake::rejection_response(&e)).await;
                return;
            }
        }
    };
    if stream.write_all(&accept.response).await.is_err() {
        return;
    }
    let config = Config {
        limits: Limits {
            max_frame_payload: MAX_MESSAGE as u64,
            max_message: MAX_MESSAGE as u64,
            max_pending_output: 2 * MAX_MESSAGE,
            ..Limits::default()
        },
        ..Config::default()
    };
    let mut conn = Connection::server(config);
    conn.feed(&head[used..]);
    drop(head);
    let _ = echo(&mut stream, &mut conn).await;
}

async fn echo(stream: &mut TcpStream, conn: &mut Connection) -> std::io::Result<()> {
    let mut read_size = MIN_READ;
    loop {
        while let Ok(Some((event, tx))) = conn.poll_event_and_sender() {
            let _ = match event {
                Event::Text(t) => tx.send_text(t),
                Event::Binary(b) => tx.send_binary(b),
                _ => Ok(()),
            };
        }
        while !conn.pending_output().is_empty() {
            match stream.try_write(conn.pending_output()) {
                Ok(n) => conn.consume_output(n),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => stream.writable().await?,
                Err(e) => return Err(e),
            }
        }
        if conn.is_closed() {
            return Ok(());
        }
        stream.readable().await?;
        let buf = conn.input_buffer(read_size);
        let room = buf.len();
        match stream.try_read(buf) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                conn.commit_input(n);
                read_size = if n == room {
                    (room * 2).min(MAX_READ)
                } else {
                    MIN_READ
                };
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
}
