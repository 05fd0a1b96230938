//! [`WebSocket`]: an established connection over any tokio transport, and its halves.

use std::sync::{Arc, Mutex, MutexGuard};

use framewire_core::{CloseCode, Connection, Message};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::Notify;

use crate::clock;
use crate::error::{Error, Result};

/// Queued output above this many bytes makes [`WsWriter::feed`] wait for the transport.
pub const HIGH_WATER: usize = 64 * 1024;

/// Output is copied to the transport in pieces of at most this many bytes.
const WRITE_CHUNK: usize = 256 * 1024;

/// The smallest read; reads grow while they fill the buffer.
const MIN_READ: usize = 4 * 1024;

/// The largest read.
const MAX_READ: usize = 256 * 1024;

pub use framewire_core::handshake::HandshakeInfo;

/// An established WebSocket over the transport `S`.
///
/// Timers (keepalive pings, idle timeout, the close timeout) run while
/// [`WebSocket::recv`] (or [`WsReader::recv`]) is awaited.
#[derive(Debug)]
pub struct WebSocket<S> {
    reader: WsReader<S>,
    writer: WsWriter<S>,
    info: HandshakeInfo,
}

/// The receiving half of a [`WebSocket`]. It answers pings and drives the timers.
#[derive(Debug)]
pub struct WsReader<S> {
    shared: Arc<Shared<S>>,
    io: ReadHalf<S>,
    buf: Vec<u8>,
    done: bool,
}

/// The sending half of a [`WebSocket`].
#[derive(Debug)]
pub struct WsWriter<S> {
    shared: Arc<Shared<S>>,
}

#[derive(Debug)]
struct Shared<S> {
    conn: Mutex<Connection>,
    out: tokio::sync::Mutex<Out<S>>,
    timers_changed: Notify,
}

/// The write side of the transport with the bytes taken from the connection but
/// not yet written (so a cancelled flush loses nothing).
#[derive(Debug)]
struct Out<S> {
    io: WriteHalf<S>,
    scratch: Vec<u8>,
    pos: usize,
}

impl<S: AsyncRead + AsyncWrite> WebSocket<S> {
    /// Wraps a transport whose opening handshake is done. `leftover` holds bytes
    /// read after the handshake head (the first frames).
    pub fn from_parts(io: S, mut conn: Connection, leftover: &[u8], info: HandshakeInfo) -> Self {
        conn.feed(leftover);
        conn.handle_timeout(clock::now());
        let (rd, wr) = tokio::io::split(io);
        let shared = Arc::new(Shared {
            conn: Mutex::new(conn),
            out: tokio::sync::Mutex::new(Out {
                io: wr,
                scratch: Vec::new(),
                pos: 0,
            }),
            timers_changed: Notify::new(),
        });
        Self {
            reader: WsReader {
                shared: shared.clone(),
                io: rd,
                buf: Vec::new(),
                done: false,
            },
            writer: WsWriter { shared },
            info,
        }
    }

    /// What the opening handshake settled.
    pub fn handshake(&self) -> &HandshakeInfo {
        &self.info
    }

    /// The next message (pings, pongs and the peer's close included), `None`
    /// once the connection is over.
    pub async fn recv(&mut self) -> Option<Result<Message>> {
        self.reader.recv().await
    }

    /// Sends a message and waits until it is written.
    pub async fn send(&mut self, msg: Message) -> Result<()> {
        self.writer.send(msg).await
    }

    /// Sends a text message and waits until it is written.
    pub async fn send_text(&mut self, text: &str) -> Result<()> {
        self.writer.send_text(text).await
    }

    /// Sends a binary message and waits until it is written.
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<()> {
        self.writer.send_binary(data).await
    }

    /// Sends a ping (at most 125 bytes).
    pub async fn ping(&mut self, data: &[u8]) -> Result<()> {
        self.writer.ping(data).await
    }

    /// Runs the close handshake: sends a close frame with `code` and `reason`,
    /// then reads (and drops) messages until the peer's close arrives or the
    /// close timeout passes.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        self.writer.close(code, reason).await?;
        while let Some(msg) = self.reader.recv().await {
            msg?;
        }
        Ok(())
    }

    /// Splits into a receiving and a sending half that can live in different tasks.
    pub fn split(self) -> (WsReader<S>, WsWriter<S>) {
        (self.reader, self.writer)
    }
}

enum Step {
    Deliver(Message),
    Fail(Error),
    End,
    Wait,
}

impl<S: AsyncRead + AsyncWrite> WsReader<S> {
    /// The next message (pings, pongs and the peer's close included), `None`
    /// once the connection is over. Cancel-safe.
    pub async fn recv(&mut self) -> Option<Result<Message>> {
        if self.done {
            return None;
        }
        loop {
            let (step, has_output, timeout) = {
                let mut conn = lock(&self.shared.conn);
                let step = match conn.poll_event() {
                    Ok(Some(event)) => Step::Deliver(event.to_message()),
                    Ok(None) => Step::Wait,
                    Err(e) => Step::Fail(e.into()),
                };
                let step = match step {
                    Step::Wait if conn.is_closed() => Step::End,
                    other => other,
                };
                (step, !conn.pending_output().is_empty(), conn.poll_timeout())
            };
            if has_output {
                if let Err(e) = self.shared.flush().await {
                    self.done = true;
                    return Some(Err(e));
                }
            }
            match step {
                Step::Deliver(m) => return Some(Ok(m)),
                Step::Fail(e) => {
                    self.finish().await;
                    return Some(Err(e));
                }
                Step::End => {
                    self.finish().await;
                    return None;
                }
                Step::Wait => {}
            }
            if self.buf.is_empty() {
                self.buf.resize(MIN_READ, 0);
            }
            let sleep = async {
                match timeout {
                    Some(at) => tokio::time::sleep_until(clock::deadline(at)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                read = self.io.read(&mut self.buf) => match read {
                    Ok(0) => {
                        self.done = true;
                        return Some(Err(Error::ConnectionLost));
                    }
                    Ok(n) => {
                        lock(&self.shared.conn).feed(&self.buf[..n]);
                        if n == self.buf.len() && n < MAX_READ {
                            self.buf.resize(n * 2, 0);
                        }
                    }
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e.into()));
                    }
                },
                () = sleep => lock(&self.shared.conn).handle_timeout(clock::now()),
                () = self.shared.timers_changed.notified() => {}
            }
        }
    }

    /// Ends the transport once the connection is over.
    async fn finish(&mut self) {
        self.done = true;
        let _ = self.shared.flush().await;
        let _ = self.shared.out.lock().await.io.shutdown().await;
    }
}

impl<S: AsyncRead + AsyncWrite> WsWriter<S> {
    /// Sends a message and waits until it is written.
    pub async fn send(&mut self, msg: Message) -> Result<()> {
        self.feed(msg).await?;
        self.flush().await
    }

    /// Queues a message; waits for the transport only when more than
    /// [`HIGH_WATER`] bytes are queued. Call [`Self::flush`] after a batch.
    pub async fn feed(&mut self, msg: Message) -> Result<()> {
        let pending = {
            let mut conn = lock(&self.shared.conn);
            match &msg {
                Message::Text(t) => conn.send_text(t)?,
                Message::Binary(b) => conn.send_binary(b)?,
                Message::Ping(b) => conn.send_ping(b)?,
                Message::Pong(b) => conn.send_pong(b)?,
                Message::Close(code, reason) => {
                    conn.close(code.unwrap_or(CloseCode::NORMAL), reason)?;
                    self.shared.timers_changed.notify_one();
                }
            }
            conn.pending_output().len()
        };
        if pending > HIGH_WATER {
            self.flush().await?;
        }
        Ok(())
    }

    /// Sends a text message and waits until it is written.
    pub async fn send_text(&mut self, text: &str) -> Result<()> {
        lock(&self.shared.conn).send_text(text)?;
        self.flush().await
    }

    /// Sends a binary message and waits until it is written.
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<()> {
        lock(&self.shared.conn).send_binary(data)?;
        self.flush().await
    }

    /// Sends a ping (at most 125 bytes).
    pub async fn ping(&mut self, data: &[u8]) -> Result<()> {
        lock(&self.shared.conn).send_ping(data)?;
        self.flush().await
    }

    /// Sends a close frame. The reader half sees the peer's answer and then ends.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        lock(&self.shared.conn).close(code, reason)?;
        self.shared.timers_changed.notify_one();
        self.flush().await
    }

    /// Writes everything queued to the transport.
    pub async fn flush(&mut self) -> Result<()> {
        self.shared.flush().await
    }
}

impl<S: AsyncWrite> Shared<S> {
    /// Moves queued output to the transport until none is left. Cancel-safe.
    async fn flush(&self) -> Result<()> {
        let mut guard = self.out.lock().await;
        let out = &mut *guard;
        loop {
            if out.pos < out.scratch.len() {
                let n = out.io.write(&out.scratch[out.pos..]).await?;
                if n == 0 {
                    return Err(std::io::Error::from(std::io::ErrorKind::WriteZero).into());
                }
                out.pos += n;
                continue;
            }
            out.scratch.clear();
            out.pos = 0;
            let mut conn = lock(&self.conn);
            let pending = conn.pending_output();
            if pending.is_empty() {
                break;
            }
            let take = pending.len().min(WRITE_CHUNK);
            out.scratch.extend_from_slice(&pending[..take]);
            conn.consume_output(take);
        }
        out.io.flush().await?;
        Ok(())
    }
}

/// Locks the connection; a panic elsewhere cannot leave it half-updated in a way
/// that matters more than losing the connection, so poisoning is ignored.
fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    conn.lock().unwrap_or_else(|p| p.into_inner())
}
