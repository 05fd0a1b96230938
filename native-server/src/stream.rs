//! [`WebSocket`]: the one driver of an established connection, over any tokio
//! transport, and its halves. `framewire serve` runs its endpoints on it too.

use std::any::Any;
use std::future::{poll_fn, Future};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll, Wake, Waker};
use std::time::Duration;

use framewire_core::{
    Bytes, CloseCode, CloseState, Connection, Event, Message, PreparedMessage, ProtocolError,
    Sender,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use crate::clock;
use crate::error::{Error, Result};
use crate::tcp;
use crate::ticker::{Alarm, Ticker};
use crate::topics::{Gone, Outlet};

mod traits;

/// The default high-water mark: sends wait while more output than this is buffered.
pub const HIGH_WATER: usize = 64 * 1024;

/// The smallest read; reads grow while they fill the buffer.
const MIN_READ: usize = 4 * 1024;

/// Most slices of pending output (shared frames each have one) in one write.
const MAX_SLICES: usize = 32;

/// Timer firings handled in one poll before yielding to other tasks.
const MAX_FIRINGS: usize = 16;

pub use framewire_core::handshake::HandshakeInfo;

/// How a [`WebSocket`] moves bytes: how much output may wait, how long the
/// peer may refuse it, how much is read at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriverConfig {
    /// Sends wait while more than this many bytes of output are buffered, and
    /// `recv` stops reading until the transport takes them. Default [`HIGH_WATER`].
    /// (The core's [`framewire_core::Limits::max_pending_output`] is the hard limit.)
    pub high_water: usize,
    /// When output waits this long without the transport taking a byte of it,
    /// the connection ends with [`Error::WriteStalled`]. Default 60 s.
    pub write_stall: Duration,
    /// The largest single read (reads start at 4 KiB and double while they fill
    /// the buffer); sends read ahead only while less undecoded input than this
    /// is buffered. Default 256 KiB.
    pub max_read: usize,
    /// After its close, a connection whose peer may still be sending shuts
    /// down its sending side and reads and drops what comes, until the peer's
    /// end of stream, for at most this long: closing a socket with unread
    /// input resets the connection, and a reset can destroy the close frame
    /// before the peer reads it (a proxy passing the reset on, say). Default 1 s.
    pub linger: Duration,
    /// The most bytes read and dropped while lingering. Default 64 KiB.
    pub linger_bytes: usize,
}

impl Default for DriverConfig {
    fn default() -> Self {
        Self {
            high_water: HIGH_WATER,
            write_stall: Duration::from_secs(60),
            max_read: 256 * 1024,
            linger: Duration::from_secs(1),
            linger_bytes: 64 * 1024,
        }
    }
}

/// An established WebSocket over the transport `S`: the connection's only driver.
///
/// Messages can be taken owned ([`Self::recv`]) or lent straight from the
/// core's buffers together with the sender ([`Self::recv_with`]), so an echo
/// copies nothing the core does not.
///
/// # What runs when
///
/// Nothing runs between operations: there is no background task. Each
/// operation drives the connection while it runs:
///
/// - [`WebSocket::recv`], [`WebSocket::recv_with`] (and the reader half's):
///   whenever no message is ready they write pending output, fire due timers
///   (keepalive ping, idle timeout, close timeout) and the write-stall limit,
///   then read. While output above the high-water mark (or an echo lent from
///   the input buffer) waits for the transport, they do not read.
/// - [`WebSocket::send`], `send_text`, `send_binary`, `ping`, [`WebSocket::flush`]
///   and [`WebSocket::close`] (and the writer half's): each call writes what the
///   transport takes, reads what has arrived (up to
///   [`DriverConfig::max_read`] bytes of undecoded input, so the idle timer
///   sees a live peer), and fires due timers, then waits while more than
///   [`DriverConfig::high_water`] bytes are buffered (`flush`: until none are).
/// - [`WebSocket::feed`] only queues, unless the high-water mark is passed.
///
/// A timer that falls due while no operation runs fires at the next one. A
/// task that stays in `recv` (the reader half, say) keeps every timer on time.
///
/// Over a [`TcpStream`] the driver uses socket tricks a generic transport
/// cannot offer (see [`is_tcp`]); any other `AsyncRead + AsyncWrite` works
/// through its trait methods.
#[derive(Debug)]
pub struct WebSocket<S> {
    driver: Driver<S>,
    /// `None` when empty (as for `framewire serve`'s endpoints): 128 bytes
    /// fewer in every idle connection.
    info: Option<Box<HandshakeInfo>>,
}

/// What [`WebSocket::handshake`] shows when nothing was kept of the handshake.
static NO_HANDSHAKE_INFO: std::sync::LazyLock<HandshakeInfo> =
    std::sync::LazyLock::new(HandshakeInfo::default);

/// The receiving half of a [`WebSocket`]. It answers pings and, while in
/// `recv`, drives the timers and pending output.
#[derive(Debug)]
pub struct WsReader<S> {
    shared: Arc<Shared<S>>,
}

/// The sending half of a [`WebSocket`].
#[derive(Debug)]
pub struct WsWriter<S> {
    shared: Arc<Shared<S>>,
}

/// True when the driver will use the TCP fast path for `S`.
///
/// The fast path is chosen by a type check (`Any`) rather than a `Transport`
/// trait: a trait would need an impl for every transport a user has, and the
/// orphan rule forbids users to write one for a foreign type such as a TLS
/// stream, so every such user would need a wrapper. The check costs nothing
/// (it is decided when `WebSocket<S>` is compiled) and needs only `S: 'static`.
/// For a [`TcpStream`] the driver:
///
/// - reads with `tcp::read_drained`, which after a short read makes tokio forget
///   the socket's readiness, sparing a `recv` that would only say `EAGAIN` per
///   batch (about 10% of handshake CPU when measured);
/// - writes the last bytes of a connection with `MSG_MORE`, so the close frame
///   and the FIN leave in one segment;
/// - drops the socket instead of shutting it down after a clean close whose
///   last read drained it, which sends those held-back bytes and the FIN.
pub fn is_tcp<S: 'static>() -> bool {
    std::any::TypeId::of::<S>() == std::any::TypeId::of::<TcpStream>()
}

/// The transport as a [`TcpStream`], when it is one.
fn as_tcp<S: 'static>(io: &S) -> Option<&TcpStream> {
    (io as &dyn Any).downcast_ref::<TcpStream>()
}

/// The connection and its transport, with everything needed to drive them.
/// Every method is synchronous and takes the task context: no lock is ever
/// held across an `.await`.
#[derive(Debug)]
struct Driver<S> {
    /// `None` once the connection failed (the transport is dropped then).
    io: Option<S>,
    conn: Connection,
    cfg: DriverConfig,
    read_size: usize,
    /// What wakes the connection at its next deadline.
    timer: Timer,
    /// Since when output has waited without the transport taking a byte.
    stall_since: Option<Instant>,
    /// Bytes were written to a transport that buffers (flush pending).
    unflushed: bool,
    /// The peer's close frame was received.
    peer_closed: bool,
    /// The last read left the socket empty.
    drained: bool,
    /// The close handshake is over and the transport finished (or failed).
    ended: bool,
    /// A read ahead while sending met the end of the stream: what is buffered is
    /// still decoded, then receiving reports the connection lost.
    eof: bool,
    /// A violation to report once its close frame is out (boxed: an [`Error`]
    /// is 80 bytes, and every idle connection would hold them).
    failure: Option<Box<Error>>,
    /// The transport failure a send met, for the receiving side: a reader
    /// half must not see a failed connection end like a closed one.
    unreported: Option<Box<Error>>,
    /// Split into halves ([`WebSocket::split`]): a failure a send met is
    /// reported to the reader half too (unsplit, its caller saw it already).
    split: bool,
    /// Counts writes and the end (wrapping), for waking the other half.
    wrote: u32,
    /// Counts reads (wrapping), for waking the other half.
    read: u32,
    /// Parking mode ([`WebSocket::recv_with_or_quiet`]): while the core holds
    /// buffers, a timer this long after it last looked lets it find itself
    /// quiet and free them, so that a connection with no timers of its own parks too.
    quiet_tick: Option<Duration>,
    /// When that timer falls due.
    quiet_at: Option<Instant>,
    /// Lingering after the close ([`DriverConfig::linger`]): until when, and
    /// how many more bytes may be dropped.
    linger: Option<(Instant, usize)>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + 'static> Driver<S> {
    fn new(io: S, mut conn: Connection) -> Self {
        // Large echoes go out straight from the input buffer (see poll_write_out).
        conn.set_vectored_output(true);
        conn.handle_timeout(clock::now());
        Self {
            io: Some(io),
            conn,
            cfg: DriverConfig::default(),
            read_size: MIN_READ,
            timer: Timer::Own(None),
            stall_since: None,
            unflushed: false,
            peer_closed: false,
            drained: false,
            ended: false,
            eof: false,
            failure: None,
            unreported: None,
            split: false,
            wrote: 0,
            read: 0,
            quiet_tick: None,
            quiet_at: None,
            linger: None,
        }
    }

    /// True when the connection can be parked: the transport open and
    /// nothing owed to it, and the core quiet ([`Connection::can_park`]).
    fn can_park(&self) -> bool {
        self.io.is_some()
            && !self.ended
            && !self.eof
            && !self.split
            && !self.peer_closed
            && !self.unflushed
            && self.failure.is_none()
            && self.unreported.is_none()
            && self.stall_since.is_none()
            && self.conn.can_park()
    }

    /// The next event, handed to `f` with the sender while it is lent.
    fn poll_lend<R, F>(
        &mut self,
        cx: &mut Context<'_>,
        f: &mut Option<F>,
    ) -> Poll<Option<Result<R>>>
    where
        F: FnOnce(Event<'_>, &mut Sender) -> R,
    {
        self.poll_recv(cx, |conn| {
            let Some((event, tx)) = conn.poll_event_and_sender()? else {
                return Ok(None);
            };
            let close = matches!(event, Event::Close { .. });
            // `f` is there: the future that owns it completes with its answer.
            Ok(f.take().map(|f| (f(event, tx), close)))
        })
    }

    /// The next message, owned ([`Connection::poll_message`]: a reassembled
    /// message is handed over in the buffer it was assembled in).
    fn poll_message(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message>>> {
        self.poll_recv(cx, |conn| {
            Ok(conn.poll_message()?.map(|m| {
                let close = matches!(m, Message::Close(..));
                (m, close)
            }))
        })
    }

    /// Drives the connection until `take` gets an event from the core (it
    /// says whether that was the peer's close), the connection ends (`None`)
    /// or fails.
    fn poll_recv<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut take: impl FnMut(&mut Connection) -> Result<Option<(R, bool)>, ProtocolError>,
    ) -> Poll<Option<Result<R>>> {
        let mut firings = 0;
        loop {
            if self.ended {
                return Poll::Ready(self.unreported.take().map(|e| Err(*e)));
            }
            if self.failure.is_none() {
                match take(&mut self.conn) {
                    Ok(Some((answer, close))) => {
                        self.peer_closed |= close;
                        if close {
                            // The close echo goes out now: a user who stops
                            // reading at the peer's close and drops the
                            // connection must not leave it unanswered.
                            let _ = self.poll_write_out(cx);
                        }
                        return Poll::Ready(Some(Ok(answer)));
                    }
                    // A compressed message inflates in bounded steps: other tasks and
                    // the runtime's IO run between them (the pending output goes out first).
                    Ok(None) if self.conn.has_pending_work() => {
                        if let Poll::Ready(Err(e)) = self.poll_write_out(cx) {
                            return Poll::Ready(Some(Err(self.die_receiving(e))));
                        }
                        return yield_to_others(cx);
                    }
                    Ok(None) => {}
                    // The close frame is queued: send it, then report.
                    Err(e) => self.failure = Some(Box::new(e.into())),
                }
            }
            if let Poll::Ready(Err(e)) = self.poll_write_out(cx) {
                return Poll::Ready(Some(Err(self.die_receiving(e))));
            }
            let pending = self.conn.pending_len();
            if self.conn.is_closed() && pending == 0 {
                ready!(self.poll_finish(cx));
                return Poll::Ready(self.failure.take().map(|e| Err(*e)));
            }
            match self.poll_timers(cx) {
                Poll::Ready(Ok(())) if firings < MAX_FIRINGS => {
                    firings += 1;
                    continue;
                }
                Poll::Ready(Ok(())) => {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(self.die_receiving(e)))),
                Poll::Pending => {}
            }
            // Wait for the transport rather than read on while output piles up,
            // or while an echo still lies in the input buffer (reading would copy it).
            if self.conn.is_closed()
                || pending > self.cfg.high_water
                || self.conn.output_borrows_input()
            {
                return Poll::Pending;
            }
            if self.eof {
                return Poll::Ready(Some(Err(self.die_receiving(Error::ConnectionLost))));
            }
            match ready!(self.poll_read_in(cx)) {
                Ok(0) => return Poll::Ready(Some(Err(self.die_receiving(Error::ConnectionLost)))),
                Ok(_) => {}
                Err(e) => return Poll::Ready(Some(Err(self.die_receiving(e.into())))),
            }
        }
    }

    /// Drives the connection for a sending operation: writes pending output,
    /// reads ahead, fires due timers; ready once at most `limit` bytes of
    /// output remain.
    fn poll_out(&mut self, cx: &mut Context<'_>, limit: usize) -> Poll<Result<()>> {
        let mut firings = 0;
        loop {
            if self.ended {
                return Poll::Ready(match self.conn.pending_len() {
                    0 => Ok(()),
                    _ => Err(Error::Closed),
                });
            }
            if let Poll::Ready(Err(e)) = self.poll_write_out(cx) {
                return Poll::Ready(Err(self.die(e)));
            }
            // Read ahead until the transport has no more (so that it wakes this
            // task when more comes: a peer that waits for us to read before it
            // reads again would otherwise wait for ever) or the limit is reached;
            // past it while a frame larger than the limit is still arriving.
            while !self.conn.is_closed()
                && !self.eof
                && (self.conn.buffered_input() < self.cfg.max_read || self.conn.wants_input())
            {
                match self.poll_read_in(cx) {
                    // The frames read before the end (a close answer, say) are still
                    // received: the next receive reports the end after them.
                    // (Counted as a read: a receiving half waiting on the transport wakes.)
                    Poll::Ready(Ok(0)) => {
                        self.eof = true;
                        self.read = self.read.wrapping_add(1);
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(self.die(e.into()))),
                    Poll::Ready(Ok(_)) => {}
                    Poll::Pending => break,
                }
            }
            if self.conn.is_closed() && self.conn.pending_len() == 0 {
                ready!(self.poll_finish(cx));
                return Poll::Ready(Ok(()));
            }
            let timers = self.poll_timers(cx);
            match timers {
                Poll::Ready(Ok(())) if firings < MAX_FIRINGS => {
                    firings += 1;
                    continue;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(self.die(e))),
                _ => {}
            }
            if self.conn.pending_len() <= limit {
                return Poll::Ready(Ok(()));
            }
            if timers.is_ready() {
                cx.waker().wake_by_ref();
            }
            return Poll::Pending;
        }
    }

    /// Writes pending output until none is left (ready) or the transport is full (pending).
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let Some(io) = self.io.as_mut() else {
            return Poll::Ready(match self.conn.pending_len() {
                0 => Ok(()),
                _ => Err(Error::Closed),
            });
        };
        let tcp = as_tcp(io).is_some();
        while self.conn.pending_len() > 0 {
            let last = self.conn.is_closed();
            let mut slices: [&[u8]; MAX_SLICES] = [&[]; MAX_SLICES];
            let n = self.conn.pending_output_slices(&mut slices);
            let parts = &slices[..n];
            let written = match as_tcp(io) {
                Some(tcp) => poll_write_tcp(tcp, cx, parts, last),
                None => poll_write_generic(io, cx, parts),
            };
            match written {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(io::Error::from(io::ErrorKind::WriteZero).into()))
                }
                Poll::Ready(Ok(n)) => {
                    self.conn.consume_output(n);
                    self.stall_since = None;
                    self.unflushed = !tcp;
                    self.wrote = self.wrote.wrapping_add(1);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                Poll::Pending => {
                    self.stall_since.get_or_insert_with(Instant::now);
                    return Poll::Pending;
                }
            }
        }
        if self.unflushed {
            if Pin::new(io).poll_flush(cx)?.is_pending() {
                self.stall_since.get_or_insert_with(Instant::now);
                return Poll::Pending;
            }
            self.unflushed = false;
        }
        self.stall_since = None;
        Poll::Ready(Ok(()))
    }

    /// Reads what the transport has into the core's input buffer (over TCP the
    /// buffer is taken only once data is there, so idle connections hold none).
    /// `Ok(0)` is the end of the stream.
    fn poll_read_in(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some(io) = self.io.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        let (n, room) = match as_tcp(io) {
            Some(tcp) => loop {
                ready!(tcp.poll_read_ready(cx))?;
                let buf = self.conn.input_buffer(self.read_size);
                let room = buf.len();
                match tcp::read_drained(tcp, buf) {
                    Ok(n) => break (n, room),
                    // The readiness was stale and is forgotten now: wait again.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Poll::Ready(Err(e)),
                }
            },
            None => {
                let buf = self.conn.input_buffer(self.read_size);
                let room = buf.len();
                let mut rb = ReadBuf::new(buf);
                ready!(Pin::new(io).poll_read(cx, &mut rb))?;
                (rb.filled().len(), room)
            }
        };
        if n > 0 {
            self.conn.commit_input(n);
            self.read = self.read.wrapping_add(1);
            self.drained = n < room;
            self.read_size = if n == room {
                (room * 2).min(self.cfg.max_read.max(MIN_READ))
            } else {
                MIN_READ
            };
        }
        Poll::Ready(Ok(n))
    }

    /// Fires what is due of the core's timers and the write-stall limit, and
    /// arms the timer for the next deadline. Ready(Ok) when something fired.
    fn poll_timers(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let core = self.conn.poll_timeout().map(clock::deadline);
        let stall = self.stall_since.map(|since| {
            since
                .checked_add(self.cfg.write_stall)
                .unwrap_or_else(far_away)
        });
        let quiet = match self.quiet_tick {
            Some(tick) if self.conn.buffer_capacity() > 0 => {
                Some(*self.quiet_at.get_or_insert_with(|| Instant::now() + tick))
            }
            _ => None,
        };
        let Some(at) = [core, stall, quiet].into_iter().flatten().min() else {
            return Poll::Pending;
        };
        ready!(self.timer.poll_at(at, cx));
        if stall.is_some_and(|s| s <= Instant::now()) {
            return Poll::Ready(Err(Error::WriteStalled(self.cfg.write_stall)));
        }
        self.quiet_at = None;
        self.conn.handle_timeout(clock::now());
        Poll::Ready(Ok(()))
    }

    /// Ends the transport after the close handshake, once all output is out.
    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(io) = self.io.as_mut() {
            let tcp = as_tcp(io).is_some();
            if tcp && self.peer_closed && self.drained {
                // Dropping sends the held-back close frame and the FIN together.
                self.io = None;
            } else if self.linger.is_some() {
                ready!(self.poll_linger(cx));
            } else {
                // Data may still be arriving: end only the sending side, since
                // closing a socket with unread data resets the connection, then
                // linger. The transport itself goes with the WebSocket.
                match Pin::new(io).poll_shutdown(cx) {
                    Poll::Ready(_) => {}
                    Poll::Pending => {
                        self.stall_since.get_or_insert_with(Instant::now);
                        match self.poll_timers(cx) {
                            Poll::Ready(Err(_)) => self.io = None,
                            Poll::Ready(Ok(())) => {
                                cx.waker().wake_by_ref();
                                return Poll::Pending;
                            }
                            Poll::Pending => return Poll::Pending,
                        }
                    }
                }
                let until = Instant::now() + self.cfg.linger;
                self.linger = Some((until, self.cfg.linger_bytes));
                ready!(self.poll_linger(cx));
            }
        }
        self.ended = true;
        self.wrote = self.wrote.wrapping_add(1);
        Poll::Ready(())
    }

    /// Reads and drops what the peer still sends after the close, until its
    /// end of stream, a read failure, or the linger's time or bytes run out.
    fn poll_linger(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let (Some(io), Some((until, left))) = (self.io.as_mut(), self.linger.as_mut()) else {
            return Poll::Ready(());
        };
        let mut scratch = [0u8; 2048];
        while *left > 0 {
            let mut rb = ReadBuf::new(&mut scratch);
            match Pin::new(&mut *io).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) if !rb.filled().is_empty() => {
                    *left = left.saturating_sub(rb.filled().len());
                }
                Poll::Ready(_) => break,
                Poll::Pending => {
                    let until = *until;
                    ready!(self.timer.poll_at(until, cx));
                    break;
                }
            }
        }
        self.linger = None;
        Poll::Ready(())
    }

    /// Ends the connection after a transport failure: drops the transport.
    fn die(&mut self, e: Error) -> Error {
        self.io = None;
        self.ended = true;
        self.wrote = self.wrote.wrapping_add(1);
        self.unreported = match &e {
            _ if !self.split => None,
            Error::Io(io) => Some(Error::Io(std::io::Error::new(io.kind(), io.to_string()))),
            Error::ConnectionLost => Some(Error::ConnectionLost),
            Error::WriteStalled(d) => Some(Error::WriteStalled(*d)),
            _ => None,
        }
        .map(Box::new);
        e
    }

    /// [`Driver::die`] on the receiving side, which reports the failure itself.
    fn die_receiving(&mut self, e: Error) -> Error {
        let e = self.die(e);
        self.unreported = None;
        e
    }

    /// Queues a prepared message with the core (its frame shared, not copied).
    fn queue_prepared(&mut self, msg: &PreparedMessage) -> Result<()> {
        if self.ended {
            return Err(Error::Closed);
        }
        Ok(self.conn.send_prepared(msg)?)
    }

    /// Queues `msg` with the core.
    fn queue(&mut self, msg: &Message) -> Result<()> {
        if self.ended {
            return Err(Error::Closed);
        }
        match msg {
            Message::Text(t) => self.conn.send_text(t)?,
            Message::Binary(b) => self.conn.send_binary(b)?,
            Message::Ping(b) => self.conn.send_ping(b)?,
            Message::Pong(b) => self.conn.send_pong(b)?,
            Message::Close(code, reason) => {
                self.conn.close(code.unwrap_or(CloseCode::NORMAL), reason)?;
            }
        }
        Ok(())
    }
}

/// What [`WebSocket::recv_with_or_quiet`] got.
pub(crate) enum Received<R> {
    /// What [`WebSocket::recv_with`] gives.
    Event(Option<Result<R>>),
    /// Nothing yet, and the connection can be parked.
    Quiet,
}

/// A parked connection ([`WebSocket::park`]): all it holds until the peer
/// speaks, a timer falls due or the server shuts down.
#[derive(Debug)]
pub(crate) struct ParkedSocket<S> {
    pub io: S,
    pub conn: framewire_core::Parked,
    pub alarm: Alarm,
}

/// What wakes a connection at its next deadline.
#[derive(Debug)]
enum Timer {
    /// A tokio sleep of its own, created at the first deadline (it needs the
    /// runtime), then re-armed.
    Own(Option<Pin<Box<Sleep>>>),
    /// A slot in a timer shared with other connections (the server's).
    Shared(Alarm),
}

impl Timer {
    /// Ready once `at` has passed; else wakes the task then.
    fn poll_at(&mut self, at: Instant, cx: &mut Context<'_>) -> Poll<()> {
        match self {
            Self::Own(sleep) => {
                let sleep = sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
                if sleep.deadline() != at {
                    sleep.as_mut().reset(at);
                }
                sleep.as_mut().poll(cx)
            }
            Self::Shared(alarm) => alarm.poll_at(at, cx),
        }
    }
}

/// Pending, with this task woken only after the runtime polled its IO and its other tasks
/// (as `tokio::task::yield_now` does; a plain self-wake would run it again first).
fn yield_to_others<T>(cx: &mut Context<'_>) -> Poll<T> {
    let yielded = std::pin::pin!(tokio::task::yield_now());
    // The first poll of `yield_now` only registers the deferred wake-up.
    let _ = yielded.poll(cx);
    Poll::Pending
}

/// A deadline beyond any connection's life.
fn far_away() -> Instant {
    Instant::now() + Duration::from_secs(365 * 24 * 3600)
}

/// One write of pending output to a TCP socket: one `sendmsg` for split
/// output, `MSG_MORE` for a connection's last bytes.
fn poll_write_tcp(
    tcp: &TcpStream,
    cx: &mut Context<'_>,
    parts: &[&[u8]],
    last: bool,
) -> Poll<io::Result<usize>> {
    loop {
        let written = match parts {
            [only] if last => tcp::try_write_last(tcp, only),
            [only] => tcp.try_write(only),
            parts => tcp::try_send_vectored(tcp, &io_slices(parts)),
        };
        match written {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready!(tcp.poll_write_ready(cx))?,
            other => return Poll::Ready(other),
        }
    }
}

/// One write of pending output to any transport: vectored when it supports it.
fn poll_write_generic<S: AsyncWrite + Unpin>(
    io: &mut S,
    cx: &mut Context<'_>,
    parts: &[&[u8]],
) -> Poll<io::Result<usize>> {
    let io = Pin::new(io);
    if io.is_write_vectored() && parts.len() > 1 {
        io.poll_write_vectored(cx, &io_slices(parts))
    } else {
        io.poll_write(cx, parts.first().copied().unwrap_or_default())
    }
}

/// The parts (at most [`MAX_SLICES`]) as `IoSlice`s for one vectored write, on the stack.
fn io_slices<'a>(parts: &[&'a [u8]]) -> IoSlices<'a> {
    let mut slices = [IoSlice::new(&[]); MAX_SLICES];
    for (slot, part) in slices.iter_mut().zip(parts) {
        *slot = IoSlice::new(part);
    }
    IoSlices {
        slices,
        len: parts.len().min(MAX_SLICES),
    }
}

/// Up to [`MAX_SLICES`] `IoSlice`s.
struct IoSlices<'a> {
    slices: [IoSlice<'a>; MAX_SLICES],
    len: usize,
}

impl<'a> std::ops::Deref for IoSlices<'a> {
    type Target = [IoSlice<'a>];

    fn deref(&self) -> &[IoSlice<'a>] {
        &self.slices[..self.len]
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + 'static> WebSocket<S> {
    /// Wraps a transport whose opening handshake is done. `leftover` holds bytes
    /// read after the handshake head (the first frames).
    pub fn from_parts(io: S, mut conn: Connection, leftover: &[u8], info: HandshakeInfo) -> Self {
        conn.feed(leftover);
        Self::from_connection(io, conn, info)
    }

    /// Wraps a transport whose opening handshake is done, with a connection
    /// that was already fed whatever arrived after the handshake head.
    pub fn from_connection(io: S, conn: Connection, info: HandshakeInfo) -> Self {
        Self {
            driver: Driver::new(io, conn),
            info: (info != HandshakeInfo::default()).then(|| Box::new(info)),
        }
    }

    /// Wakes the connection at its deadlines through `ticker`, shared with
    /// other connections, instead of a tokio sleep of its own.
    pub(crate) fn share_timer(&mut self, ticker: Arc<Ticker>) {
        self.driver.timer = Timer::Shared(Alarm::new(ticker));
    }

    /// The next event lent to `f`, as [`Self::recv_with`], or
    /// [`Received::Quiet`] when no event is ready and the connection can be
    /// parked ([`Self::park`]). Puts the driver in parking mode: a connection
    /// that holds buffers asks its core `tick` after it last looked whether it
    /// went quiet (the first tick with no input since the last frees them).
    pub(crate) async fn recv_with_or_quiet<R>(
        &mut self,
        tick: Duration,
        f: impl FnOnce(Event<'_>, &mut Sender) -> R,
    ) -> Received<R> {
        self.driver.quiet_tick = Some(tick);
        let mut f = Some(f);
        poll_fn(|cx| match self.driver.poll_lend(cx, &mut f) {
            Poll::Ready(got) => Poll::Ready(Received::Event(got)),
            Poll::Pending if self.driver.can_park() => Poll::Ready(Received::Quiet),
            Poll::Pending => Poll::Pending,
        })
        .await
    }

    /// Parks a quiet connection over a shared timer: its transport, the
    /// core's [`Parked`] state and its alarm; else gives it back.
    #[allow(
        clippy::result_large_err,
        reason = "the WebSocket given back is the connection itself, moved, not an error"
    )]
    pub(crate) fn park(self) -> std::result::Result<ParkedSocket<S>, Self> {
        let Self { driver, info } = self;
        if !driver.can_park() || info.is_some() {
            return Err(Self { driver, info });
        }
        let Driver {
            io: Some(io),
            conn,
            timer: Timer::Shared(alarm),
            ..
        } = driver
        else {
            return Err(Self { driver, info });
        };
        match conn.park() {
            Ok(conn) => Ok(ParkedSocket { io, conn, alarm }),
            // Not reached: the driver asked the core first.
            Err(conn) => Err(Self::resumed(io, conn, alarm, driver.cfg)),
        }
    }

    /// A parked connection running again with `cfg`.
    pub(crate) fn resumed(io: S, conn: Connection, alarm: Alarm, cfg: DriverConfig) -> Self {
        let mut ws = Self::from_connection(io, conn, HandshakeInfo::default());
        ws.driver.timer = Timer::Shared(alarm);
        ws.driver.cfg = cfg;
        ws
    }

    /// Replaces the driver settings (high-water mark, write-stall limit, read size).
    pub fn set_config(&mut self, cfg: DriverConfig) {
        self.driver.cfg = cfg;
    }

    /// The driver settings.
    pub fn config(&self) -> &DriverConfig {
        &self.driver.cfg
    }

    /// What the opening handshake settled.
    pub fn handshake(&self) -> &HandshakeInfo {
        self.info.as_deref().unwrap_or(&NO_HANDSHAKE_INFO)
    }

    /// Bytes queued but not yet taken by the transport.
    pub fn buffered_output(&self) -> usize {
        self.driver.conn.pending_len()
    }

    /// Where the close handshake stands.
    pub fn close_state(&self) -> CloseState {
        self.driver.conn.close_state()
    }

    /// The next message (pings, pongs and the peer's close included), `None`
    /// once the connection is over. A violation by the peer is returned once,
    /// after its close frame went out. Cancel-safe.
    ///
    /// A message that arrived fragmented or compressed is handed over in the
    /// buffer the core assembled it in (no copy); one that arrived in a single
    /// frame is copied once out of the input buffer.
    pub async fn recv(&mut self) -> Option<Result<Message>> {
        poll_fn(|cx| self.driver.poll_message(cx)).await
    }

    /// The next event, lent from the core's buffers to `f` together with the
    /// [`Sender`], so an answer (an echo, say) copies nothing the core does not:
    /// an echoed payload of 2 KiB or more is written straight from the input
    /// buffer. `f` runs synchronously; what it queues is written before the
    /// next read. `None` once the connection is over. Cancel-safe.
    pub async fn recv_with<R>(
        &mut self,
        f: impl FnOnce(Event<'_>, &mut Sender) -> R,
    ) -> Option<Result<R>> {
        let mut f = Some(f);
        poll_fn(|cx| self.driver.poll_lend(cx, &mut f)).await
    }

    /// Queues a message and writes what the transport takes now; waits while
    /// more than the high-water mark is buffered. [`Self::flush`] waits for all.
    /// Dropped after it started, the message is still sent.
    pub async fn send(&mut self, msg: Message) -> Result<()> {
        self.driver.queue(&msg)?;
        self.drive_out(self.driver.cfg.high_water).await
    }

    /// Queues a message encoded once for many connections (a topic's
    /// publish, say): its frame is shared, not copied or compressed again
    /// ([`Sender::send_prepared`]); as [`Self::send`].
    pub async fn send_prepared(&mut self, msg: &PreparedMessage) -> Result<()> {
        self.driver.queue_prepared(msg)?;
        self.drive_out(self.driver.cfg.high_water).await
    }

    /// Queues a prepared message without writing it unless the high-water
    /// mark is passed; as [`Self::feed`].
    pub async fn feed_prepared(&mut self, msg: &PreparedMessage) -> Result<()> {
        self.driver.queue_prepared(msg)?;
        if self.driver.conn.pending_len() > self.driver.cfg.high_water {
            self.drive_out(self.driver.cfg.high_water).await?;
        }
        Ok(())
    }

    /// Queues a text message; as [`Self::send`].
    pub async fn send_text(&mut self, text: &str) -> Result<()> {
        self.driver.queue_text(text)?;
        self.drive_out(self.driver.cfg.high_water).await
    }

    /// Queues a binary message; as [`Self::send`].
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<()> {
        self.driver.queue_binary(data)?;
        self.drive_out(self.driver.cfg.high_water).await
    }

    /// Queues a ping (at most 125 bytes); as [`Self::send`].
    pub async fn ping(&mut self, data: &[u8]) -> Result<()> {
        self.driver
            .queue(&Message::Ping(Bytes::copy_from_slice(data)))?;
        self.drive_out(self.driver.cfg.high_water).await
    }

    /// Queues a message without writing it: the next receive or send writes
    /// it. For the server's small control messages, which need no future.
    pub(crate) fn queue(&mut self, msg: &Message) -> Result<()> {
        self.driver.queue(msg)
    }

    /// Queues a message without writing it unless the high-water mark is
    /// passed; call [`Self::flush`] (or any other operation) after a batch.
    pub async fn feed(&mut self, msg: Message) -> Result<()> {
        self.driver.queue(&msg)?;
        if self.driver.conn.pending_len() > self.driver.cfg.high_water {
            self.drive_out(self.driver.cfg.high_water).await?;
        }
        Ok(())
    }

    /// Writes everything queued to the transport.
    pub async fn flush(&mut self) -> Result<()> {
        self.drive_out(0).await
    }

    /// Runs the close handshake: sends a close frame with `code` and `reason`,
    /// then reads (and drops) messages until the peer's close arrives or the
    /// close timeout passes.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        self.driver
            .queue(&Message::Close(Some(code), reason.to_owned()))?;
        while let Some(got) = self.recv_with(|_, _| ()).await {
            got?;
        }
        Ok(())
    }

    /// Splits into a receiving and a sending half that can live in different tasks.
    ///
    /// The halves share the driver behind a `std::sync::Mutex` that is held only
    /// inside poll functions (never across an `.await`), so neither half can
    /// block the other for longer than one non-blocking step. The transport
    /// keeps one waker per direction, so the halves poll it with a waker that
    /// wakes both, and each wakes the other when it wrote (or read) on its behalf.
    pub fn split(mut self) -> (WsReader<S>, WsWriter<S>) {
        self.driver.split = true;
        let parked = Arc::new(Parked::default());
        let shared = Arc::new(Shared {
            driver: Mutex::new(self.driver),
            waker: Waker::from(parked.clone()),
            parked,
        });
        (
            WsReader {
                shared: shared.clone(),
            },
            WsWriter { shared },
        )
    }

    async fn drive_out(&mut self, limit: usize) -> Result<()> {
        poll_fn(|cx| self.driver.poll_out(cx, limit)).await
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + 'static> Driver<S> {
    fn queue_text(&mut self, text: &str) -> Result<()> {
        if self.ended {
            return Err(Error::Closed);
        }
        Ok(self.conn.send_text(text)?)
    }

    fn queue_binary(&mut self, data: &[u8]) -> Result<()> {
        if self.ended {
            return Err(Error::Closed);
        }
        Ok(self.conn.send_binary(data)?)
    }
}

/// Which half polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Half {
    Reader = 0,
    Writer = 1,
}

/// The driver shared by the halves.
#[derive(Debug)]
struct Shared<S> {
    driver: Mutex<Driver<S>>,
    parked: Arc<Parked>,
    /// Wakes both halves: the transport and the timer get this one.
    waker: Waker,
}

/// The wakers of the halves waiting on the shared driver.
#[derive(Debug, Default)]
struct Parked {
    slots: Mutex<[Option<Waker>; 2]>,
}

impl Parked {
    fn park(&self, half: Half, waker: &Waker) {
        let mut slots = lock(&self.slots);
        match &mut slots[half as usize] {
            Some(w) if w.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
    }

    fn wake_half(&self, half: Half) {
        let waker = lock(&self.slots)[half as usize].take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Wake for Parked {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let taken = {
            let mut slots = lock(&self.slots);
            [slots[0].take(), slots[1].take()]
        };
        for w in taken.into_iter().flatten() {
            w.wake();
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + 'static> Shared<S> {
    /// Runs one poll step of the driver for `half`.
    fn poll<R>(
        &self,
        half: Half,
        cx: &mut Context<'_>,
        step: impl FnOnce(&mut Driver<S>, &mut Context<'_>) -> Poll<R>,
    ) -> Poll<R> {
        self.parked.park(half, cx.waker());
        let mut inner_cx = Context::from_waker(&self.waker);
        let mut driver = lock(&self.driver);
        let before = (driver.wrote, driver.read);
        let out = step(&mut driver, &mut inner_cx);
        let after = (driver.wrote, driver.read);
        drop(driver);
        // The writer waits only for output to drain (or the end); the reader
        // for input, timers and the end.
        let (other, moved) = match half {
            Half::Reader => (Half::Writer, after.0 != before.0),
            Half::Writer => (Half::Reader, after != before),
        };
        if moved {
            self.parked.wake_half(other);
        }
        out
    }

    fn with<R>(&self, f: impl FnOnce(&mut Driver<S>) -> R) -> R {
        f(&mut lock(&self.driver))
    }

    async fn drive_out(&self, limit: Option<usize>) -> Result<()> {
        poll_fn(|cx| {
            self.poll(Half::Writer, cx, |d, cx| {
                let limit = limit.unwrap_or(d.cfg.high_water);
                d.poll_out(cx, limit)
            })
        })
        .await
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + 'static> WsReader<S> {
    /// The next message (pings, pongs and the peer's close included), `None`
    /// once the connection is over. Cancel-safe. As [`WebSocket::recv`]; a
    /// transport failure the writer half met is returned here once too, so a
    /// failed connection never ends like a closed one.
    pub async fn recv(&mut self) -> Option<Result<Message>> {
        poll_fn(|cx| self.poll_message(cx)).await
    }

    fn poll_message(&self, cx: &mut Context<'_>) -> Poll<Option<Result<Message>>> {
        self.shared
            .poll(Half::Reader, cx, |d, cx| d.poll_message(cx))
    }

    /// The next event lent to `f` with the [`Sender`], as [`WebSocket::recv_with`];
    /// `f` runs while the driver is locked, so it should be short and must not
    /// call the writer half (that would wait for the lock `f` is inside).
    pub async fn recv_with<R>(
        &mut self,
        f: impl FnOnce(Event<'_>, &mut Sender) -> R,
    ) -> Option<Result<R>> {
        let mut f = Some(f);
        poll_fn(|cx| {
            self.shared
                .poll(Half::Reader, cx, |d, cx| d.poll_lend(cx, &mut f))
        })
        .await
    }

    /// Bytes queued but not yet taken by the transport.
    pub fn buffered_output(&self) -> usize {
        self.shared.with(|d| d.conn.pending_len())
    }

    /// Where the close handshake stands.
    pub fn close_state(&self) -> CloseState {
        self.shared.with(|d| d.conn.close_state())
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + 'static> WsWriter<S> {
    /// Queues a message and writes what the transport takes now; waits while
    /// more than the high-water mark is buffered, as [`WebSocket::send`].
    pub async fn send(&mut self, msg: Message) -> Result<()> {
        self.shared.with(|d| d.queue(&msg))?;
        self.shared.drive_out(None).await
    }

    /// Queues a message without writing it unless the high-water mark is
    /// passed; call [`Self::flush`] after a batch.
    pub async fn feed(&mut self, msg: Message) -> Result<()> {
        self.feed_with(|d| d.queue(&msg)).await
    }

    /// Queues a prepared message, its frame shared; as [`WebSocket::send_prepared`].
    pub async fn send_prepared(&mut self, msg: &PreparedMessage) -> Result<()> {
        self.shared.with(|d| d.queue_prepared(msg))?;
        self.shared.drive_out(None).await
    }

    /// Queues a prepared message without writing it unless the high-water
    /// mark is passed; as [`Self::feed`].
    pub async fn feed_prepared(&mut self, msg: &PreparedMessage) -> Result<()> {
        self.feed_with(|d| d.queue_prepared(msg)).await
    }

    /// Queues with `queue`, then writes only while the high-water mark is passed.
    async fn feed_with(&mut self, queue: impl FnOnce(&mut Driver<S>) -> Result<()>) -> Result<()> {
        let above = self
            .shared
            .with(|d| queue(d).map(|()| d.conn.pending_len() > d.cfg.high_water))?;
        if above {
            self.shared.drive_out(None).await?;
        }
        Ok(())
    }

    /// Queues a text message; as [`Self::send`].
    pub async fn send_text(&mut self, text: &str) -> Result<()> {
        self.shared.with(|d| d.queue_text(text))?;
        self.shared.drive_out(None).await
    }

    /// Queues a binary message; as [`Self::send`].
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<()> {
        self.shared.with(|d| d.queue_binary(data))?;
        self.shared.drive_out(None).await
    }

    /// Queues a ping (at most 125 bytes); as [`Self::send`].
    pub async fn ping(&mut self, data: &[u8]) -> Result<()> {
        self.send(Message::Ping(Bytes::copy_from_slice(data))).await
    }

    /// Sends a close frame and writes everything queued. The reader half sees
    /// the peer's answer and then ends.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        self.shared
            .with(|d| d.queue(&Message::Close(Some(code), reason.to_owned())))?;
        self.shared.drive_out(Some(0)).await
    }

    /// Writes everything queued to the transport.
    pub async fn flush(&mut self) -> Result<()> {
        self.shared.drive_out(Some(0)).await
    }

    /// Bytes queued but not yet taken by the transport.
    pub fn buffered_output(&self) -> usize {
        self.shared.with(|d| d.conn.pending_len())
    }

    /// Where the close handshake stands.
    pub fn close_state(&self) -> CloseState {
        self.shared.with(|d| d.conn.close_state())
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> WsWriter<S> {
    /// The connection as a topic hub's outlet ([`crate::topics::Subscriber::attach`]).
    pub(crate) fn outlet(&self) -> Arc<dyn Outlet> {
        self.shared.clone()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Outlet for Shared<S> {
    fn put(&self, msgs: &[PreparedMessage]) -> std::result::Result<usize, Gone> {
        // The transport wakes both halves when it takes more: the reader
        // half, waiting in `recv`, writes what is left.
        let mut cx = Context::from_waker(&self.waker);
        let mut driver = lock(&self.driver);
        for msg in msgs {
            driver.queue_prepared(msg).map_err(|_| Gone)?;
        }
        match driver.poll_write_out(&mut cx) {
            Poll::Ready(Ok(())) => Ok(0),
            Poll::Pending => {
                // The reader half arms the write-stall limit and writes the
                // rest: it must run once to do so.
                let left = driver.conn.pending_len();
                drop(driver);
                self.waker.wake_by_ref();
                Ok(left)
            }
            Poll::Ready(Err(e)) => {
                // Reported to the reader half, which ends the session.
                driver.die(e);
                drop(driver);
                self.waker.wake_by_ref();
                Err(Gone)
            }
        }
    }
}

/// Locks a mutex; a panic elsewhere cannot leave the driver half-updated in a
/// way that matters more than losing the connection, so poisoning is ignored.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
