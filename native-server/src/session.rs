//! The built-in endpoints of `framewire serve`, on the public [`WebSocket`]
//! driver and nothing else, so the server measures the path library users take.
//!
//! Events are answered from the core's buffers through [`WebSocket::recv_with`]
//! (an echo of 2 KiB or more is not even copied: it is written straight from
//! the input buffer), and the driver writes everything queued once per batch.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use framewire_core::{CloseCode, Config, Connection, Event, Message, PreparedMessage, Sender};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::chat::Member;
use crate::clock;
use crate::error::Error;
use crate::stream::{DriverConfig, HandshakeInfo, ParkedSocket, Received, WebSocket, WsWriter};
use crate::ticker::{Stop, Ticker};
use crate::topics::TooSlow;
use crate::wire::{Tap, Tapped, WireInbox, WireItem};

/// How long a write may stall when no idle timeout is configured.
const DEFAULT_WRITE_STALL: Duration = Duration::from_secs(60);

/// Longest message text quoted in the log.
const LOG_TEXT: usize = 200;

/// Events handled in a row before the outside sources and the shutdown get
/// the first look (a busy peer must not starve the chat relays).
const FAIR_TURN: u32 = 32;

/// Chat messages queued with the connection before it is flushed.
const CHAT_BATCH: usize = 64;

/// What the endpoint does with messages.
#[derive(Debug)]
pub(crate) enum Endpoint {
    /// `/`: greets with `socket ok`, logs and echoes.
    Greet,
    /// `/echo`: echoes exactly, sends nothing else.
    Echo,
    /// `/chat`: relays to the other members of its room.
    Chat(Member),
    /// `/__wire`: streams another connection's bytes.
    Wire(WireInbox),
}

/// What the endpoint does with the peer's messages. The chat member is boxed:
/// the other kinds' loops hold this enum too.
#[derive(Debug)]
enum Kind {
    Greet,
    Echo,
    Chat(Box<Member>),
    Wire,
}

impl Kind {
    /// The endpoint's request path, for the log.
    fn path(&self) -> &'static str {
        match self {
            Self::Greet => "/",
            Self::Echo => "/echo",
            Self::Chat(_) => "/chat",
            Self::Wire => "/__wire",
        }
    }
}

/// Where an endpoint's messages from elsewhere come from (`/chat`'s come
/// through its member).
#[derive(Debug)]
enum Inbox {
    Wire(WireInbox),
}

/// An upgraded connection ready to run, on its transport `S` (TCP, or TLS over TCP).
pub(crate) struct Session<S> {
    pub io: S,
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
    /// The connection failed: a violation, the transport, a stalled reader.
    Failed(Error),
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
            Self::Failed(Error::Protocol(e)) => write!(f, "protocol violation by the client: {e}"),
            Self::Failed(Error::ConnectionLost) => {
                f.write_str("the client ended the TCP connection without a close handshake")
            }
            Self::Failed(Error::WriteStalled(d)) => write!(f, "the client did not read for {d:?}"),
            Self::Failed(e) => write!(f, "{e}"),
            Self::Shutdown => f.write_str("server shutting down"),
            Self::Closed => f.write_str("closed"),
        }
    }
}

/// The first reason a session's loop met to end, boxed: the loop's future
/// holds it in every idle connection, and an [`EndReason`] is 80 bytes.
type Ending = Option<Box<EndReason>>;

/// Something other than the peer that wants attention.
enum Outside {
    Chat(Result<PreparedMessage, TooSlow>),
    Wire(Option<WireItem>),
}

/// One turn of an endpoint's loop.
enum Step {
    Peer(Option<crate::Result<Option<EndReason>>>),
    Outside(Outside),
    Stop,
}

/// A running session: `/` and `/echo` over TCP park while quiet
/// ([`Parking`]); the others (chat and wire endpoints, tapped connections
/// (the inspector's), TLS) run boxed, so that every connection's task holds
/// one small future type.
#[allow(
    clippy::large_enum_variant,
    reason = "the parked session is what most connections are; the boxed ones are few"
)]
pub(crate) enum Running {
    Boxed(Pin<Box<dyn Future<Output = EndReason> + Send>>),
    Parking(Parking),
}

impl Running {
    /// Whether the connection is parked (its loop not running).
    #[cfg(test)]
    pub(crate) fn is_parked(&self) -> bool {
        matches!(
            self,
            Self::Parking(Parking {
                phase: Phase::Parked(_),
                ..
            })
        )
    }

    /// Polls the session to its end; `config` is the one it was started with
    /// (the server's, which its task holds: a parked session keeps no
    /// pointer to it).
    pub(crate) fn poll(&mut self, config: &SessionConfig, cx: &mut Context<'_>) -> Poll<EndReason> {
        match self {
            Self::Boxed(serving) => serving.as_mut().poll(cx),
            Self::Parking(parking) => parking.poll(config, cx),
        }
    }
}

/// A peer's address in 16 bytes instead of a `SocketAddr`'s 32 (an IPv4 one
/// inline, an IPv6 one boxed), and whether the endpoint is `/`.
struct Peer {
    v4: SocketAddrV4,
    greet: bool,
    v6: Option<Box<SocketAddrV6>>,
}

impl Peer {
    fn new(addr: SocketAddr, greet: bool) -> Self {
        match addr {
            SocketAddr::V4(v4) => Self {
                v4,
                greet,
                v6: None,
            },
            SocketAddr::V6(v6) => Self {
                v4: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
                greet,
                v6: Some(Box::new(v6)),
            },
        }
    }

    fn addr(&self) -> SocketAddr {
        match &self.v6 {
            Some(v6) => SocketAddr::V6(**v6),
            None => SocketAddr::V4(self.v4),
        }
    }
}

/// A `/` or `/echo` session over TCP: while the connection is quiet its
/// task holds only the parked connection (the transport, the core's
/// [`framewire_core::Parked`] state, its alarm, which holds the shutdown's
/// slot too) and its peer; the loop ([`serve_peer`]) is boxed while there is
/// something to do.
pub(crate) struct Parking {
    phase: Phase,
    peer: Peer,
}

/// What the sessions of a server share (a parked one keeps none of its own).
#[derive(Debug)]
pub(crate) struct SessionConfig {
    /// Every connection's configuration (`ServerConfig::ws`).
    pub conn: Config,
    /// How long after it last looked a connection that holds buffers asks its
    /// core whether it went quiet: about two of these after its last message
    /// it frees them and parks.
    pub quiet_tick: Duration,
}

impl SessionConfig {
    /// Connections with `conn`, parking about two seconds after their last message.
    pub(crate) fn new(conn: Config) -> Self {
        Self {
            conn,
            quiet_tick: Duration::from_secs(1),
        }
    }
}

/// Where a [`Parking`] session is.
enum Phase {
    /// Its alarm holds the shutdown's slot ([`Stop::park_into`]).
    Parked(ParkedSocket<TcpStream>),
    Active(Pin<Box<dyn Future<Output = Outcome> + Send>>),
    Done,
}

/// What a turn of [`serve_peer`] starts with.
struct Turn {
    kind: Kind,
    peer: SocketAddr,
    quiet_tick: Duration,
    /// The shutdown came and the close is queued.
    closing: bool,
    reason: Ending,
}

/// How a turn of [`serve_peer`] ended.
enum Outcome {
    /// The connection went quiet and was parked (its alarm holding the
    /// shutdown's slot).
    Parked(ParkedSocket<TcpStream>),
    /// The session is over.
    Ended(EndReason),
}

impl Parking {
    fn kind(&self) -> Kind {
        if self.peer.greet {
            Kind::Greet
        } else {
            Kind::Echo
        }
    }

    /// Runs `ws`'s loop (boxed) until it parks or ends.
    fn activate(
        &self,
        ws: WebSocket<TcpStream>,
        stop: Stop,
        quiet_tick: Duration,
        (closing, reason): (bool, Ending),
    ) -> Phase {
        let turn = Turn {
            kind: self.kind(),
            peer: self.peer.addr(),
            quiet_tick,
            closing,
            reason,
        };
        Phase::Active(Box::pin(serve_peer(ws, stop, turn)))
    }

    fn poll(&mut self, sessions: &SessionConfig, cx: &mut Context<'_>) -> Poll<EndReason> {
        let mut wakes = 0;
        loop {
            self.phase = match std::mem::replace(&mut self.phase, Phase::Done) {
                Phase::Parked(mut socket) => {
                    let config = &sessions.conn;
                    // A wake-up that finds nothing to do (readiness already
                    // consumed, say) parks again; twice in one poll, the next
                    // look waits for the other tasks.
                    let woken = match wakes {
                        0 | 1 => poll_parked(&mut socket, config, cx),
                        _ => {
                            cx.waker().wake_by_ref();
                            Poll::Pending
                        }
                    };
                    if woken.is_pending() {
                        self.phase = Phase::Parked(socket);
                        return Poll::Pending;
                    }
                    wakes += 1;
                    let stop = socket.alarm.take_stop();
                    let conn = socket.conn.unpark(config);
                    let cfg = driver_config(config);
                    let ws = WebSocket::resumed(socket.io, conn, socket.alarm, cfg);
                    self.activate(ws, stop, sessions.quiet_tick, (false, None))
                }
                Phase::Active(mut serving) => match serving.as_mut().poll(cx) {
                    Poll::Pending => {
                        self.phase = Phase::Active(serving);
                        return Poll::Pending;
                    }
                    Poll::Ready(Outcome::Parked(socket)) => Phase::Parked(socket),
                    Poll::Ready(Outcome::Ended(reason)) => return Poll::Ready(reason),
                },
                Phase::Done => return Poll::Pending,
            };
        }
    }
}

/// Ready when a parked connection has something to do: the shutdown came, a
/// deadline of its core passed, or the peer sent something (or closed, or
/// reset the connection).
fn poll_parked(
    socket: &mut ParkedSocket<TcpStream>,
    config: &Config,
    cx: &mut Context<'_>,
) -> Poll<()> {
    if socket.alarm.poll_stop(cx).is_ready() {
        return Poll::Ready(());
    }
    if let Some(at) = socket.conn.poll_timeout(config) {
        if socket.alarm.poll_at(clock::deadline(at), cx).is_ready() {
            return Poll::Ready(());
        }
    }
    socket.io.poll_read_ready(cx).map(|_| ())
}

/// The driver settings of a server connection with `config`.
fn driver_config(config: &Config) -> DriverConfig {
    DriverConfig {
        write_stall: config.idle_timeout.unwrap_or(DEFAULT_WRITE_STALL),
        ..DriverConfig::default()
    }
}

impl<S> Session<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// Runs the connection to its end, woken by `ticker` at its deadlines and
    /// at the shutdown; the future yields why it ended. `config` is what
    /// every connection of the server runs with (a parked one keeps none of
    /// its own); `into_tcp` gives the transport back as TCP when it is.
    pub(crate) fn run(
        mut self,
        ticker: &Arc<Ticker>,
        config: &SessionConfig,
        into_tcp: impl FnOnce(S) -> std::result::Result<TcpStream, S>,
    ) -> Running {
        let peer = self.peer;
        let shutdown = Stop::new(ticker.clone());
        match self.tap.take() {
            None if matches!(self.endpoint, Endpoint::Greet | Endpoint::Echo) => {
                let io = match into_tcp(self.io) {
                    Ok(tcp) => tcp,
                    Err(io) => {
                        self.io = io;
                        let (ws, kind, inbox) = self.parts(ticker, |io| io);
                        return Running::Boxed(Box::pin(serve(ws, kind, inbox, peer, shutdown)));
                    }
                };
                let greet = matches!(self.endpoint, Endpoint::Greet);
                let parking = Parking {
                    phase: Phase::Done,
                    peer: Peer::new(peer, greet),
                };
                let mut ws = WebSocket::from_connection(io, self.conn, HandshakeInfo::default());
                ws.set_config(driver_config(&config.conn));
                ws.share_timer(ticker.clone());
                let start = begin(&mut ws, &parking.kind(), &shutdown);
                // A connection quiet from the start parks without its loop.
                let phase = match ws.park() {
                    Ok(mut socket) => {
                        shutdown.park_into(&mut socket.alarm);
                        Phase::Parked(socket)
                    }
                    Err(ws) => parking.activate(ws, shutdown, config.quiet_tick, start),
                };
                Running::Parking(Parking { phase, ..parking })
            }
            None => {
                let (ws, kind, inbox) = self.parts(ticker, |io| io);
                Running::Boxed(Box::pin(serve_any(ws, kind, inbox, peer, shutdown)))
            }
            Some(tap) => {
                let recorder = tap.clone();
                let (ws, kind, inbox) = self.parts(ticker, move |io| Tapped::new(io, recorder));
                let serving = serve_any(ws, kind, inbox, peer, shutdown);
                Running::Boxed(Box::pin(async move {
                    let reason = serving.await;
                    tap.closed(&reason.to_string()).await;
                    reason
                }))
            }
        }
    }

    /// The WebSocket on `wrap(io)`, woken by `ticker`, and what the endpoint
    /// needs (`/chat` takes its messages through its member, attached to the
    /// connection).
    fn parts<T>(
        self,
        ticker: &Arc<Ticker>,
        wrap: impl FnOnce(S) -> T,
    ) -> (WebSocket<T>, Kind, Option<Inbox>)
    where
        T: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        let cfg = driver_config(self.conn.config());
        // The endpoints read nothing of it (the server logs the path itself):
        // an empty one costs no allocation per connection.
        let info = HandshakeInfo::default();
        let (kind, inbox) = match self.endpoint {
            Endpoint::Greet => (Kind::Greet, None),
            Endpoint::Echo => (Kind::Echo, None),
            Endpoint::Chat(member) => (Kind::Chat(Box::new(member)), None),
            Endpoint::Wire(inbox) => (Kind::Wire, Some(Inbox::Wire(inbox))),
        };
        let mut ws = WebSocket::from_connection(wrap(self.io), self.conn, info);
        ws.set_config(cfg);
        ws.share_timer(ticker.clone());
        (ws, kind, inbox)
    }
}

/// The endpoint loop: the peer's events, the outside source, the shutdown.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would hold the WebSocket twice in the future (768 bytes per connection)"
)]
fn serve<S>(
    mut ws: WebSocket<S>,
    kind: Kind,
    mut inbox: Option<Inbox>,
    peer: SocketAddr,
    mut stop: Stop,
) -> impl Future<Output = EndReason> + Send
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    async move {
        let (mut closing, mut reason) = begin(&mut ws, &kind, &stop);
        let mut streak = 0;
        loop {
            let answer = |event: Event<'_>, tx: &mut Sender| on_event(&kind, event, tx, peer);
            let step = next_step(
                &mut streak,
                ws.recv_with(answer),
                next_outside(&mut inbox),
                Pin::new(&mut stop),
                closing,
            )
            .await;
            match step {
                Step::Peer(got) => {
                    if !from_peer(got, &mut reason, peer) {
                        break;
                    }
                    streak += 1;
                }
                Step::Outside(outside) => {
                    streak = 0;
                    let sent = match outside {
                        Outside::Wire(Some(WireItem::Text(t))) => ws.send_text(&t).await,
                        Outside::Wire(Some(WireItem::Chunk(c))) => ws.send_binary(&c).await,
                        Outside::Chat(_) => Ok(()),
                        Outside::Wire(None) => {
                            inbox = None;
                            let close =
                                Message::Close(Some(CloseCode::NORMAL), "wire view ended".into());
                            ws.feed(close).await
                        }
                    };
                    if let Err(e) = sent {
                        tracing::debug!(%peer, "relay not sent: {e}");
                    }
                }
                Step::Stop => {
                    streak = 0;
                    closing = true;
                    reason.get_or_insert_with(|| Box::new(EndReason::Shutdown));
                    let _ = ws.queue(&going_away());
                }
            }
        }
        ended(&kind, peer, reason.map_or(EndReason::Closed, |r| *r))
    }
}

/// The loop of `/` and `/echo` over TCP ([`Parking`]): the peer's events and
/// the shutdown, until the connection goes quiet (it is parked then) or ends.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would hold the WebSocket twice in the boxed future"
)]
fn serve_peer(
    mut ws: WebSocket<TcpStream>,
    mut stop: Stop,
    turn: Turn,
) -> impl Future<Output = Outcome> + Send {
    async move {
        let Turn {
            kind,
            peer,
            quiet_tick,
            mut closing,
            mut reason,
        } = turn;
        loop {
            let answer = |event: Event<'_>, tx: &mut Sender| on_event(&kind, event, tx, peer);
            let got = tokio::select! {
                biased;
                got = ws.recv_with_or_quiet(quiet_tick, answer) => got,
                () = &mut stop, if !closing => Received::Quiet,
            };
            let got = match got {
                Received::Event(got) => got,
                // The shutdown first: a parked connection wakes for it.
                Received::Quiet if !closing && stop.has_come() => {
                    closing = true;
                    reason.get_or_insert_with(|| Box::new(EndReason::Shutdown));
                    let _ = ws.queue(&going_away());
                    continue;
                }
                Received::Quiet => match ws.park() {
                    Ok(mut socket) => {
                        stop.park_into(&mut socket.alarm);
                        return Outcome::Parked(socket);
                    }
                    // Not reached: the driver is quiet only when it can park.
                    Err(_) => return Outcome::Ended(ended(&kind, peer, EndReason::Closed)),
                },
            };
            if !from_peer(got, &mut reason, peer) {
                break;
            }
        }
        Outcome::Ended(ended(&kind, peer, reason.map_or(EndReason::Closed, |r| *r)))
    }
}

/// Logs the end of a session, then gives its reason back.
fn ended(kind: &Kind, peer: SocketAddr, reason: EndReason) -> EndReason {
    tracing::info!(%peer, path = kind.path(), "websocket closed: {reason}");
    reason
}

/// The close sent to every client when the server shuts down.
fn going_away() -> Message {
    Message::Close(Some(CloseCode::GOING_AWAY), "server shutting down".into())
}

/// A session's start: whether the server is already closing and the end
/// reason then. Its first words are queued (the first receive writes them):
/// the close when closing, `socket ok` on `/`.
fn begin<S>(ws: &mut WebSocket<S>, kind: &Kind, stop: &Stop) -> (bool, Ending)
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let closing = stop.has_come();
    let mut reason = None;
    if closing {
        reason = Some(Box::new(EndReason::Shutdown));
        let _ = ws.queue(&going_away());
    }
    if matches!(kind, Kind::Greet) {
        let _ = ws.queue(&Message::Text("socket ok".into()));
    }
    (closing, reason)
}

/// Takes what a turn with the peer gave (an end reason is kept, the first
/// one wins); false once the connection is over.
fn from_peer(
    got: Option<crate::Result<Option<EndReason>>>,
    reason: &mut Ending,
    peer: SocketAddr,
) -> bool {
    match got {
        None => return false,
        Some(Ok(Some(closed))) => {
            reason.get_or_insert_with(|| Box::new(closed));
        }
        Some(Ok(None)) => {}
        Some(Err(e)) => {
            tracing::debug!(%peer, "connection failed: {e}");
            reason.get_or_insert_with(|| Box::new(EndReason::Failed(e)));
        }
    }
    true
}

/// The next turn: the peer first, unless it had [`FAIR_TURN`] turns in a row
/// (then the outside source and the shutdown get the first look); the
/// shutdown only until the session is `closing`.
async fn next_step<P, O, T>(
    streak: &mut u32,
    peer: P,
    outside: O,
    mut stop: Pin<&mut T>,
    closing: bool,
) -> Step
where
    P: Future<Output = Option<crate::Result<Option<EndReason>>>>,
    O: Future<Output = Outside>,
    T: Future<Output = ()>,
{
    tokio::pin!(peer, outside);
    if *streak < FAIR_TURN {
        tokio::select! {
            biased;
            got = &mut peer => Step::Peer(got),
            got = &mut outside => Step::Outside(got),
            () = &mut stop, if !closing => Step::Stop,
        }
    } else {
        *streak = 0;
        tokio::select! {
            biased;
            got = &mut outside => Step::Outside(got),
            () = &mut stop, if !closing => Step::Stop,
            got = &mut peer => Step::Peer(got),
        }
    }
}

/// Waits for the endpoint's outside source; never resolves for endpoints without one.
async fn next_outside(inbox: &mut Option<Inbox>) -> Outside {
    match inbox {
        Some(Inbox::Wire(inbox)) => Outside::Wire(inbox.next().await),
        None => std::future::pending().await,
    }
}

/// Runs `/chat` on [`serve_chat`], the other boxed endpoints on [`serve`].
async fn serve_any<S>(
    ws: WebSocket<S>,
    kind: Kind,
    inbox: Option<Inbox>,
    peer: SocketAddr,
    stop: Stop,
) -> EndReason
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match kind {
        Kind::Chat(member) => serve_chat(ws, member, peer, stop).await,
        kind => serve(ws, kind, inbox, peer, stop).await,
    }
}

/// The `/chat` loop: the peer's events on the reader half, the member's
/// mailbox, the shutdown. The member is attached to the writer half, so the
/// hub writes what the room says straight to the connection (one write per
/// publisher's batch, this task not woken); the mailbox brings only what the
/// connection could not take at once, and the cut-off.
async fn serve_chat<S>(
    mut ws: WebSocket<S>,
    member: Box<Member>,
    peer: SocketAddr,
    mut stop: Stop,
) -> EndReason
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let kind = Kind::Chat(member);
    let (mut closing, mut reason) = begin(&mut ws, &kind, &stop);
    let Kind::Chat(member) = &kind else {
        return EndReason::Closed;
    };
    let (mut rx, mut tx) = ws.split();
    member.inbox().attach(&tx);
    let mut cut_off = false;
    let mut streak = 0;
    loop {
        let answer = |event: Event<'_>, tx: &mut Sender| on_event(&kind, event, tx, peer);
        let inbox = async {
            if cut_off {
                std::future::pending().await
            } else {
                Outside::Chat(member.inbox().recv().await)
            }
        };
        let step = next_step(
            &mut streak,
            rx.recv_with(answer),
            inbox,
            Pin::new(&mut stop),
            closing,
        )
        .await;
        let sent = match step {
            Step::Peer(got) => {
                if !from_peer(got, &mut reason, peer) {
                    break;
                }
                streak += 1;
                Ok(())
            }
            Step::Outside(Outside::Chat(Ok(msg))) => {
                streak = 0;
                relay_batch(&mut tx, member, msg).await
            }
            Step::Outside(Outside::Chat(Err(slow))) => {
                streak = 0;
                cut_off = true;
                tracing::info!(%peer, "{slow}: closing with {}", slow.code);
                let reason = "too slow for the chat: messages were dropped";
                tx.feed(Message::Close(Some(slow.code), reason.into()))
                    .await
            }
            Step::Outside(Outside::Wire(_)) => Ok(()),
            Step::Stop => {
                streak = 0;
                closing = true;
                reason.get_or_insert_with(|| Box::new(EndReason::Shutdown));
                // What the room said before the shutdown goes out before the close.
                member.inbox().detach();
                let mut fed = Ok(());
                while let (Ok(()), Ok(Some(msg))) = (&fed, member.inbox().try_recv()) {
                    fed = tx.feed_prepared(&msg).await;
                }
                match fed {
                    Ok(()) => tx.feed(going_away()).await,
                    failed => failed,
                }
            }
        };
        if let Err(e) = sent {
            tracing::debug!(%peer, "relay not sent: {e}");
        }
    }
    ended(&kind, peer, reason.map_or(EndReason::Closed, |r| *r))
}

/// Queues `first` and what else waits in the member's mailbox (at most
/// [`CHAT_BATCH`] messages, frames shared), writes them all, and lets the hub
/// write straight to the connection again. A cut-off found here is left for
/// the next turn, which closes.
///
/// One message at a time: `feed_prepared` waits while the connection holds
/// more than its high-water mark, and what waits stays in the mailbox, counted
/// against its limit (taken at once, up to 63 messages would be past it).
async fn relay_batch<S>(
    tx: &mut WsWriter<S>,
    member: &Member,
    first: PreparedMessage,
) -> crate::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tx.feed_prepared(&first).await?;
    for _ in 1..CHAT_BATCH {
        match member.inbox().try_recv() {
            Ok(Some(msg)) => tx.feed_prepared(&msg).await?,
            _ => break,
        }
    }
    tx.flush().await?;
    member.inbox().resume_direct();
    Ok(())
}

/// Answers one event; returns the end reason for a close.
fn on_event(kind: &Kind, event: Event<'_>, tx: &mut Sender, peer: SocketAddr) -> Option<EndReason> {
    let sent = match (kind, event) {
        (_, Event::Close { code, reason }) => {
            let reason = EndReason::ClientClosed {
                code,
                reason: reason.to_owned(),
            };
            tracing::debug!(%peer, "{reason}");
            return Some(reason);
        }
        (Kind::Echo, Event::Text(t)) => tx.send_text(t),
        (Kind::Echo, Event::Binary(b)) => tx.send_binary(b),
        (Kind::Greet, Event::Text(t)) => {
            // The text itself only at debug level: payloads may hold secrets.
            tracing::info!(%peer, "received text ({} bytes)", t.len());
            tracing::debug!(%peer, "received text: {}", clip(t));
            tx.send_text(t)
        }
        (Kind::Greet, Event::Binary(b)) => {
            tracing::info!(%peer, "received binary ({} bytes)", b.len());
            tx.send_binary(b)
        }
        (Kind::Chat(member), Event::Text(t)) => {
            member.say_text(t);
            Ok(())
        }
        (Kind::Chat(member), Event::Binary(b)) => {
            member.say_binary(b);
            Ok(())
        }
        // Pings are answered by the core, the wire view only streams, and events a
        // newer core may add (`Event` is non-exhaustive) are not ours to answer.
        _ => Ok(()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peers_compact_address_gives_back_ipv4_and_ipv6_addresses_and_the_endpoint() {
        for (addr, greet) in [
            ("192.0.2.7:40001", true),
            ("[2001:db8::1%3]:443", false),
            ("[::ffff:192.0.2.7]:9", true),
        ] {
            let addr: SocketAddr = addr.parse().unwrap();
            let peer = Peer::new(addr, greet);
            assert_eq!((peer.addr(), peer.greet), (addr, greet));
        }
        assert_eq!(std::mem::size_of::<Peer>(), 16);
    }
}
