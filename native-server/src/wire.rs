//! The wire view: the bytes of a connection, as read and written, for the inspector.
//!
//! Protocol: the page opens `ws://HOST/__wire?tap=T` (T: 1-128 of `A-Za-z0-9-_`),
//! then its main connection `ws://HOST/<endpoint>?tap=T`. The wire socket then
//! gets one TEXT `{"type":"attached","path":..,"peer":..,"request":..,"response":..}`,
//! then for every chunk read from or written to the main connection one BINARY
//! message: byte 0 the direction ([`Direction`]), bytes 1..9 an f64 big-endian of
//! milliseconds since the Unix epoch, then the bytes exactly as on the wire. When
//! chunks had to be dropped (the queue is bounded), a TEXT
//! `{"type":"dropped","bytes":N}` comes before the next message; when the main
//! connection ends, a TEXT `{"type":"closed","reason":..}`.

use std::collections::HashMap;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;

use crate::clock::unix_millis;
use crate::http::json_string;

/// Messages queued for one wire socket.
const QUEUE: usize = 4096;

/// Bytes queued for one wire socket; chunks beyond are dropped and counted
/// (an empty queue takes one chunk of any size).
const BUDGET: usize = 8 << 20;

/// Longest tap token.
const MAX_TOKEN: usize = 128;

/// Who wrote a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Direction {
    /// Read by the server: client to server (frames still masked).
    ClientToServer = 0,
    /// Written by the server: server to client.
    ServerToClient = 1,
}

/// One message for a wire socket.
#[derive(Debug)]
pub(crate) enum WireItem {
    /// A JSON text message.
    Text(String),
    /// Direction, timestamp, bytes.
    Chunk(Vec<u8>),
}

#[derive(Debug, Default)]
struct Budget {
    queued: AtomicUsize,
    dropped: AtomicU64,
}

/// True for a usable tap token.
pub(crate) fn valid_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_TOKEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The wire sockets, by token.
#[derive(Debug, Default)]
pub(crate) struct WireHub {
    subscribers: Mutex<HashMap<String, (u64, Tap)>>,
    next_id: AtomicU64,
}

impl WireHub {
    /// Registers a wire socket for `token`; `None` when a live wire socket
    /// holds it already (a second registration must not steal its traffic).
    pub(crate) fn register(self: &Arc<Self>, token: &str) -> Option<WireInbox> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let budget = Arc::new(Budget::default());
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let tap = Tap {
            tx,
            budget: budget.clone(),
        };
        {
            let mut subs = self.lock();
            if subs.contains_key(token) {
                return None;
            }
            subs.insert(token.to_owned(), (id, tap));
        }
        let registration = Registration {
            hub: self.clone(),
            token: token.to_owned(),
            id,
        };
        Some(WireInbox {
            rx,
            budget,
            held: None,
            _registration: registration,
        })
    }

    /// The tap of the wire socket registered for `token`, if any.
    pub(crate) fn lookup(&self, token: &str) -> Option<Tap> {
        self.lock().get(token).map(|(_, tap)| tap.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, Tap)>> {
        self.subscribers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Keeps a wire socket registered; unregisters it when dropped.
#[derive(Debug)]
struct Registration {
    hub: Arc<WireHub>,
    token: String,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut subs = self.hub.lock();
        if subs.get(&self.token).is_some_and(|(id, _)| *id == self.id) {
            subs.remove(&self.token);
        }
    }
}

/// What a wire socket sends, in order; the socket stays registered while it lives.
#[derive(Debug)]
pub(crate) struct WireInbox {
    rx: mpsc::Receiver<WireItem>,
    budget: Arc<Budget>,
    held: Option<WireItem>,
    _registration: Registration,
}

impl WireInbox {
    /// The next message for the wire socket; `None` once no tap can feed it.
    ///
    /// After an overflow, chunks are dropped until the queue has drained and
    /// the `dropped` notice is out, so the notice sits exactly at the gap.
    pub(crate) async fn next(&mut self) -> Option<WireItem> {
        if let Some(item) = self.held.take() {
            return Some(item);
        }
        let item = match self.rx.try_recv() {
            Ok(item) => Some(item),
            Err(mpsc::error::TryRecvError::Empty) => None,
            Err(mpsc::error::TryRecvError::Disconnected) => None,
        };
        let item = match item {
            Some(WireItem::Text(t)) if self.budget.dropped.load(Ordering::Relaxed) > 0 => {
                self.held = Some(WireItem::Text(t));
                None
            }
            other => other,
        };
        if let Some(item) = item {
            return Some(self.taken(item));
        }
        let dropped = self.budget.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            return Some(WireItem::Text(format!(
                "{{\"type\":\"dropped\",\"bytes\":{dropped}}}"
            )));
        }
        if let Some(item) = self.held.take() {
            return Some(item);
        }
        let item = self.rx.recv().await?;
        Some(self.taken(item))
    }

    fn taken(&self, item: WireItem) -> WireItem {
        if let WireItem::Chunk(c) = &item {
            self.budget.queued.fetch_sub(c.len(), Ordering::Relaxed);
        }
        item
    }
}

/// The sending end for one main connection.
#[derive(Debug, Clone)]
pub(crate) struct Tap {
    tx: mpsc::Sender<WireItem>,
    budget: Arc<Budget>,
}

impl Tap {
    /// Reports bytes read or written.
    pub(crate) fn record(&self, dir: Direction, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.budget.dropped.load(Ordering::Relaxed) > 0 {
            // A gap is being reported: keep dropping until the notice is out.
            self.budget
                .dropped
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
            return;
        }
        let len = 9 + bytes.len();
        let queued = self.budget.queued.fetch_add(len, Ordering::Relaxed);
        // One chunk always fits an empty queue, however large (a 16 MiB echo).
        if queued > 0 && queued + len > BUDGET {
            self.budget.queued.fetch_sub(len, Ordering::Relaxed);
            self.budget
                .dropped
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
            return;
        }
        let mut chunk = Vec::with_capacity(len);
        chunk.push(dir as u8);
        chunk.extend_from_slice(&unix_millis().to_be_bytes());
        chunk.extend_from_slice(bytes);
        if self.tx.try_send(WireItem::Chunk(chunk)).is_err() {
            self.budget.queued.fetch_sub(len, Ordering::Relaxed);
            self.budget
                .dropped
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
    }

    /// Announces the main connection with its handshake.
    pub(crate) fn attached(&self, path: &str, peer: &str, request: &str, response: &str) {
        let json = format!(
            "{{\"type\":\"attached\",\"path\":{},\"peer\":{},\"request\":{},\"response\":{}}}",
            json_string(path),
            json_string(peer),
            json_string(request),
            json_string(response)
        );
        let _ = self.tx.try_send(WireItem::Text(json));
    }

    /// Reports the end of the main connection (waits up to a second for room).
    pub(crate) async fn closed(&self, reason: &str) {
        let json = format!("{{\"type\":\"closed\",\"reason\":{}}}", json_string(reason));
        let _ = self
            .tx
            .send_timeout(WireItem::Text(json), Duration::from_secs(1))
            .await;
    }
}

/// A transport that reports every byte read and written to a tap, so a tapped
/// connection runs on the ordinary [`crate::WebSocket`] driver (without the
/// TCP fast path, which only the inspector's own connections give up).
#[derive(Debug)]
pub(crate) struct Tapped<S> {
    io: S,
    tap: Tap,
}

impl<S> Tapped<S> {
    /// Wraps `io`; what it reads is client to server, what it writes server to client.
    pub(crate) fn new(io: S, tap: Tap) -> Self {
        Self { io, tap }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tapped<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.io).poll_read(cx, buf))?;
        this.tap
            .record(Direction::ClientToServer, &buf.filled()[before..]);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tapped<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let n = ready!(Pin::new(&mut this.io).poll_write(cx, buf))?;
        this.tap.record(Direction::ServerToClient, &buf[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let n = ready!(Pin::new(&mut this.io).poll_write_vectored(cx, bufs))?;
        let mut left = n;
        for b in bufs {
            let take = left.min(b.len());
            this.tap.record(Direction::ServerToClient, &b[..take]);
            left -= take;
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunks_carry_direction_time_and_bytes() {
        let hub = Arc::new(WireHub::default());
        let mut inbox = hub.register("t1").unwrap();
        let tap = hub.lookup("t1").unwrap();
        assert!(hub.lookup("t2").is_none());
        tap.attached(
            "/echo",
            "127.0.0.1:1",
            "GET / HTTP/1.1\r\n",
            "HTTP/1.1 101\r\n",
        );
        tap.record(Direction::ServerToClient, b"\x81\x02hi");
        let Some(WireItem::Text(t)) = inbox.next().await else {
            panic!("no attached")
        };
        assert!(
            t.starts_with("{\"type\":\"attached\",\"path\":\"/echo\""),
            "{t}"
        );
        assert!(t.contains("\"request\":\"GET / HTTP/1.1\\r\\n\""), "{t}");
        let Some(WireItem::Chunk(c)) = inbox.next().await else {
            panic!("no chunk")
        };
        assert_eq!(c[0], 1);
        let ms = f64::from_be_bytes(c[1..9].try_into().unwrap());
        assert!((ms - unix_millis()).abs() < 60_000.0, "{ms}");
        assert_eq!(&c[9..], b"\x81\x02hi");
    }

    #[tokio::test]
    async fn overflow_is_counted_and_reported() {
        let hub = Arc::new(WireHub::default());
        let mut inbox = hub.register("t").unwrap();
        let tap = hub.lookup("t").unwrap();
        let big = vec![0u8; 1 << 20];
        for _ in 0..10 {
            tap.record(Direction::ClientToServer, &big);
        }
        let mut chunks = 0;
        let mut dropped = None;
        for _ in 0..10 {
            match inbox.next().await.unwrap() {
                WireItem::Chunk(_) => chunks += 1,
                WireItem::Text(t) => {
                    dropped = Some(t);
                    break;
                }
            }
        }
        assert_eq!(chunks, 7, "8 MiB of budget holds 7 chunks of 1 MiB + 9");
        assert_eq!(
            dropped.unwrap(),
            format!("{{\"type\":\"dropped\",\"bytes\":{}}}", 3 << 20)
        );
    }

    #[test]
    fn a_token_in_use_cannot_be_registered_again() {
        let hub = Arc::new(WireHub::default());
        let first = hub.register("t").unwrap();
        assert!(
            hub.register("t").is_none(),
            "a second registration must not take over the first one's traffic"
        );
        assert!(hub.lookup("t").is_some());
        drop(first);
        assert!(
            hub.lookup("t").is_none(),
            "the registration ends with its guard"
        );
        let again = hub.register("t");
        assert!(again.is_some(), "a freed token can be used again");
    }

    #[test]
    fn tokens() {
        assert!(valid_token("abc-DEF_123"));
        assert!(!valid_token(""));
        assert!(!valid_token("a b"));
        assert!(!valid_token(&"a".repeat(129)));
    }
}
