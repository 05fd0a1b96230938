//! Echo on a minimal tokio loop over framewire-core's sans-IO `Connection`.
//!
//! Shows what the core costs without the framewire-server host around it: the
//! input buffer is only claimed once the socket is readable, large echoes are
//! written straight from the input buffer (vectored output), and everything
//! queued is written with one `writev` per batch of events.

use framewire_core::deflate::DeflateConfig;
use framewire_core::handshake::{Acceptance, ServerHandshake, ServerHandshakeConfig, ServerStep};
use framewire_core::{Config, Connection, Event, Limits};
use std::io::IoSlice;
use std::pin::Pin;
use std::task::Poll;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

use super::MAX_MESSAGE;

/// The smallest read; reads double while they fill the buffer.
const MIN_READ: usize = 4 * 1024;
/// The largest read.
const MAX_READ: usize = 256 * 1024;

/// Upgrades `stream` (accepting permessage-deflate when offered) and echoes text and
/// binary messages until the peer closes.
pub async fn handle(mut stream: TcpStream) {
    let config = Config {
        limits: Limits {
            max_frame_payload: MAX_MESSAGE as u64,
            max_message: MAX_MESSAGE as u64,
            max_pending_output: 2 * MAX_MESSAGE,
            ..Limits::default()
        },
        ..Config::default()
    };
    // permessage-deflate with the core's defaults when the client offers it (the plain
    // scenarios offer no extension).
    let hs_config = ServerHandshakeConfig {
        deflate: Some(DeflateConfig::default()),
        ..ServerHandshakeConfig::default()
    };
    let mut hs = ServerHandshake::new(config, hs_config);
    let pending = loop {
        hs = match hs.step() {
            ServerStep::Request(pending) => break pending,
            ServerStep::Declined(d) => {
                let _ = stream.write_all(&d.response).await;
                return;
            }
            ServerStep::NeedInput(mut hs) => match stream.read(hs.input_buffer(1024)).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    hs.commit_input(n);
                    hs
                }
            },
        };
    };
    let mut upgraded = match pending.accept(Acceptance::default()) {
        Ok(u) => u,
        Err(d) => {
            let _ = stream.write_all(&d.response).await;
            return;
        }
    };
    if stream.write_all(&upgraded.response).await.is_err() {
        return;
    }
    let _ = echo(&mut stream, &mut upgraded.connection).await;
}

async fn echo(stream: &mut TcpStream, conn: &mut Connection) -> std::io::Result<()> {
    conn.set_vectored_output(true);
    let mut read_size = MIN_READ;
    loop {
        loop {
            match conn.poll_event_and_sender() {
                Ok(Some((event, tx))) => {
                    let _ = match event {
                        Event::Text(t) => tx.send_text(t),
                        Event::Binary(b) => tx.send_binary(b),
                        _ => Ok(()),
                    };
                }
                Ok(None) => {
                    if !conn.has_pending_work() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        write_all(stream, conn).await?;
        if conn.is_closed() {
            return Ok(());
        }
        // The input buffer is claimed only once data is there (idle connections hold none).
        stream.readable().await?;
        let buf = conn.input_buffer(read_size);
        let room = buf.len();
        match read_once(stream, buf).await? {
            Some(0) => return Ok(()),
            Some(n) => {
                conn.commit_input(n);
                read_size = if n == room {
                    (room * 2).min(MAX_READ)
                } else {
                    MIN_READ
                };
            }
            None => {}
        }
    }
}

/// One read attempt through `AsyncRead::poll_read`, which (unlike `try_read`)
/// forgets the socket's readiness after a short read, saving the `EAGAIN` read
/// that would follow. `None` when the socket was not readable after all.
async fn read_once(stream: &mut TcpStream, buf: &mut [u8]) -> std::io::Result<Option<usize>> {
    let mut rb = ReadBuf::new(buf);
    let polled = std::future::poll_fn(|cx| {
        Poll::Ready(match Pin::new(&mut *stream).poll_read(cx, &mut rb) {
            Poll::Ready(r) => Some(r),
            Poll::Pending => None,
        })
    })
    .await;
    match polled {
        Some(Ok(())) => Ok(Some(rb.filled().len())),
        Some(Err(e)) => Err(e),
        None => Ok(None),
    }
}

/// Writes all pending output, echoed payloads straight from the input buffer.
async fn write_all(stream: &mut TcpStream, conn: &mut Connection) -> std::io::Result<()> {
    while conn.pending_len() > 0 {
        let parts = conn.pending_output_vectored();
        let slices = parts.map(IoSlice::new);
        match stream.try_write_vectored(&slices) {
            Ok(n) => conn.consume_output(n),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => stream.writable().await?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
