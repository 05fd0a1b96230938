//! The server's WebSocket loop: read, let the core decode, answer, write.
//!
//! One loop serves every endpoint. Events are answered straight from the
//! core's buffers (an echo of 2 KiB or more is not even copied: the core's
//! vectored output writes it from the input buffer), and everything queued is
//! written once per batch of events.

use std::io::{ErrorKind, IoSlice};
use std::net::SocketAddr;
use std::time::Duration;

use framewire_core::{CloseCode, Connection, Event, ProtocolError, Sender};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::chat::{ChatInbox, Relay, Seat};
use crate::clock;
use crate::tcp;
use crate::wire::{Direction, Tap, WireInbox, WireItem};

/// The smallest read; reads grow while they fill the buffer.
const MIN_READ: usize = 4 * 1024;

/// The largest read.
const MAX_READ: usize = 256 * 1024;

/// How long a write may stall when no idle timeout is configured.
const DEFAULT_WRITE_STALL: Duration = Duration::from_secs(60);

/// A timer deadline (since the clock's epoch) for "no deadline at all".
const FAR_AWAY: Duration = Duration::from_secs(365 * 24 * 3600);

/// Longest message text quoted in the log.
const LOG_TEXT: usize = 200;

/// What the endpoint does with messages.
#[derive(Debug)]
pub(crate) enum Endpoint {
    /// `/`: greets with `socket ok`, logs and echoes.
    Greet,
    /// `/echo`: echoes exactly, sends nothing else.
    Echo,
    /// `/chat`: relays to the other members.
    Chat(Seat, ChatInbox),
    /// `/__wire`: streams another connection's bytes.
    Wire(WireInbox),
}

/// An upgraded connection ready to run.
pub(crate) struct Session {
    pub io: TcpStream,
    pub conn: Connection,
    pub endpoint: Endpoint,
    pub tap: Option<Tap>,
    pub peer: SocketAddr,
}

/// Why a session ended; put into words only when it is logged or tapped.
#[derive(Debug)]
pub(crate) enum EndReason {
    /// The client's close frame.
    ClientClosed {
        code: Option<CloseCode>,
        reason: String,
    },
    /// The client broke the protocol.
    Violation(ProtocolError),
    /// Reading failed, or the client ended TCP without a close handshake.
    Read(std::io::Error),
    /// Writing failed.
    Write(std::io::Error),
    /// The client stopped reading for this long.
    WriteStalled(Duration),
    /// The server is shutting down.
    Shutdown,
    /// The close handshake ended some other way (a close the server started).
    Closed,
}

impl std::fmt::Display for EndReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ClientClosed {
                code: Some(c),
                reason,
            } => write!(f, "client closed: {c} {reason:?}"),
            Self::ClientClosed { code: None, reason } => {
                write!(f, "client closed: no code {reason:?}")
            }
            Self::Violation(e) => write!(f, "protocol violation by the client: {e}"),
            Self::Read(e) => write!(f, "{e}"),
            Self::Write(e) => write!(f, "write error: {e}"),
            Self::WriteStalled(d) => write!(f, "the client did not read for {d:?}"),
            Self::Shutdown => f.write_str("server shutting down"),
            Self::Closed => f.write_str("closed"),
        }
    }
}

/// Something other than the peer that wants attention.
enum Outside {
    Chat(Option<Relay>),
    Wire(Option<WireItem>),
}

impl Session {
    /// Runs the connection to its end; returns why it ended.
    pub(crate) async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> EndReason {
        let peer = self.peer;
        let mut reason = None;
        // Large echoes go out straight from the input buffer (see write_out).
        self.conn.set_vectored_output(true);
        let mut closing = *shutdown.borrow();
        if closing {
            let _ = self
                .conn
                .close(CloseCode::GOING_AWAY, "server shutting down");
        }
        if matches!(self.endpoint, Endpoint::Greet) {
            let _ = self.conn.send_text("socket ok");
        }
        let write_stall = self
            .conn
            .config()
            .idle_timeout
            .unwrap_or(DEFAULT_WRITE_STALL);
        let mut read_size = MIN_READ;
        // The peer's close frame was received, and the last read emptied the socket.
        let mut peer_closed = false;
        let mut drained = false;
        // The timer starts at the core's first deadline (or far away without
        // one), which needs no clock reading here.
        let mut armed = self.conn.poll_timeout();
        let sleep = tokio::time::sleep_until(clock::deadline(armed.unwrap_or(FAR_AWAY)));
        tokio::pin!(sleep);
        // One long-lived future: re-registering with the watch on every loop
        // turn would cost a lock per batch of messages.
        let stop = async move {
            if !*shutdown.borrow_and_update() {
                let _ = shutdown.changed().await;
            }
        };
        tokio::pin!(stop);
        loop {
            loop {
                match self.conn.poll_event_and_sender() {
                    Ok(Some((event, tx))) => {
                        if let Some(r) = on_event(&self.endpoint, event, tx, peer) {
                            peer_closed = true;
                            reason.get_or_insert(r);
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::debug!(%peer, "protocol violation: {e}");
                        reason.get_or_insert(EndReason::Violation(e));
                        break;
                    }
                }
            }
            if self.conn.pending_len() > 0 {
                if let Err(e) = self.write_out(write_stall).await {
                    reason.get_or_insert(e);
                    break;
                }
            }
            if self.conn.is_closed() {
                break;
            }
            let want = self.conn.poll_timeout();
            if want != armed {
                if let Some(at) = want {
                    sleep.as_mut().reset(clock::deadline(at));
                }
                armed = want;
            }
            tokio::select! {
                ready = self.io.readable() => {
                    match ready.and_then(|()| self.read_some(&mut read_size)) {
                        Ok(d) => drained = d,
                        Err(e) => {
                            reason.get_or_insert(EndReason::Read(e));
                            break;
                        }
                    }
                }
                () = &mut sleep, if armed.is_some() => {
                    armed = None;
                    self.conn.handle_timeout(clock::now());
                }
                outside = next_outside(&mut self.endpoint) => self.on_outside(outside),
                () = &mut stop, if !closing => {
                    closing = true;
                    reason.get_or_insert(EndReason::Shutdown);
                    let _ = self.conn.close(CloseCode::GOING_AWAY, "server shutting down");
                }
            }
        }
        if !(peer_closed && drained && self.conn.is_closed() && self.conn.pending_len() == 0) {
            // Data may still be arriving: end only the sending side, since
            // closing a socket with unread data resets the connection.
            let _ = self.io.shutdown().await;
        }
        // Otherwise dropping the socket sends the held-back close frame and the FIN together.
        let reason = reason.unwrap_or(EndReason::Closed);
        if let Some(tap) = &self.tap {
            tap.closed(&reason.to_string()).await;
        }
        reason
    }

    /// Reads what the socket has into the core's input buffer (allocated only
    /// once data arrives, so idle connections hold none). True when the
    /// socket was left empty.
    fn read_some(&mut self, read_size: &mut usize) -> std::io::Result<bool> {
        let buf = self.conn.input_buffer(*read_size);
        let room = buf.len();
        let read = tcp::read_drained(&self.io, buf);
        let n = match read {
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the client ended the TCP connection without a close handshake",
                ))
            }
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) => return Err(e),
        };
        if let Some(tap) = &self.tap {
            tap.record(Direction::ClientToServer, &self.conn.input_buffer(0)[..n]);
        }
        self.conn.commit_input(n);
        *read_size = if n == room {
            (room * 2).min(MAX_READ)
        } else {
            MIN_READ
        };
        Ok(n < room)
    }

    /// Writes all pending output, large echoes straight from the input buffer
    /// (one `writev` for the batch), waiting at most `stall` for a slow reader.
    async fn write_out(&mut self, stall: Duration) -> Result<(), EndReason> {
        if let Some(tap) = &self.tap {
            for part in self.conn.pending_output_vectored() {
                tap.record(Direction::ServerToClient, part);
            }
        }
        // The stall deadline is set at the first full socket buffer, not before.
        let mut deadline = None;
        while self.conn.pending_len() > 0 {
            let last = self.conn.is_closed();
            let written = match self.conn.pending_output_vectored() {
                [only, [], []] if last => tcp::try_write_last(&self.io, only),
                [only, [], []] => self.io.try_write(only),
                parts => self.io.try_write_vectored(&parts.map(IoSlice::new)),
            };
            match written {
                Ok(n) => self.conn.consume_output(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    let until =
                        *deadline.get_or_insert_with(|| tokio::time::Instant::now() + stall);
                    match tokio::time::timeout_at(until, self.io.writable()).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => return Err(EndReason::Write(e)),
                        Err(_) => return Err(EndReason::WriteStalled(stall)),
                    }
                }
                Err(e) => return Err(EndReason::Write(e)),
            }
        }
        Ok(())
    }

    fn on_outside(&mut self, outside: Outside) {
        let sent = match outside {
            Outside::Chat(Some(Relay::Text(t))) => self.conn.send_text(&t),
            Outside::Chat(Some(Relay::Binary(b))) => self.conn.send_binary(&b),
            Outside::Wire(Some(WireItem::Text(t))) => self.conn.send_text(&t),
            Outside::Wire(Some(WireItem::Chunk(c))) => self.conn.send_binary(&c),
            Outside::Chat(None) => {
                self.endpoint = Endpoint::Echo;
                self.conn.close(
                    CloseCode::POLICY_VIOLATION,
                    "too slow for the chat: messages were dropped",
                )
            }
            Outside::Wire(None) => {
                self.endpoint = Endpoint::Echo;
                self.conn.close(CloseCode::NORMAL, "wire view replaced")
            }
        };
        if let Err(e) = sent {
            tracing::debug!(peer = %self.peer, "relay not sent: {e}");
        }
    }
}

/// Waits for the endpoint's outside source; never resolves for endpoints without one.
async fn next_outside(endpoint: &mut Endpoint) -> Outside {
    match endpoint {
        Endpoint::Chat(_, inbox) => Outside::Chat(inbox.next().await),
        Endpoint::Wire(inbox) => Outside::Wire(inbox.next().await),
        Endpoint::Greet | Endpoint::Echo => std::future::pending().await,
    }
}

/// Answers one event; returns the end reason for a close.
fn on_event(
    endpoint: &Endpoint,
    event: Event<'_>,
    tx: &mut Sender,
    peer: SocketAddr,
) -> Option<EndReason> {
    let sent = match (endpoint, event) {
        (_, Event::Close { code, reason }) => {
            let reason = EndReason::ClientClosed {
                code,
                reason: reason.to_owned(),
            };
            tracing::debug!(%peer, "{reason}");
            return Some(reason);
        }
        (Endpoint::Echo, Event::Text(t)) => tx.send_text(t),
        (Endpoint::Echo, Event::Binary(b)) => tx.send_binary(b),
        (Endpoint::Greet, Event::Text(t)) => {
            tracing::info!(%peer, "received text ({} bytes): {}", t.len(), clip(t));
            tx.send_text(t)
        }
        (Endpoint::Greet, Event::Binary(b)) => {
            tracing::info!(%peer, "received binary ({} bytes)", b.len());
            tx.send_binary(b)
        }
        (Endpoint::Chat(seat, _), Event::Text(t)) => {
            seat.broadcast(Relay::Text(t.into()));
            Ok(())
        }
        (Endpoint::Chat(seat, _), Event::Binary(b)) => {
            seat.broadcast(Relay::Binary(b.into()));
            Ok(())
        }
        (_, Event::Ping(_) | Event::Pong(_)) | (Endpoint::Wire(..), _) => Ok(()),
    };
    if let Err(e) = sent {
        tracing::debug!(%peer, "answer not sent: {e}");
    }
    None
}

/// The first characters of `t`, for the log.
fn clip(t: &str) -> String {
    match t.char_indices().nth(LOG_TEXT) {
        Some((i, _)) => format!("{:?}…", &t[..i]),
        None => format!("{t:?}"),
    }
}
