//! The `framewire serve` server: one port for the inspector's files and the
//! `/`, `/echo`, `/chat` and `/__wire` WebSocket endpoints, over plain TCP or,
//! with [`ServerConfig::tls`], over TLS (`https://` and `wss://`).

use framewire_core::deflate::DeflateConfig;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use framewire_core::handshake::{
    Acceptance, Declined, HttpResponse, PendingRequest, ServerHandshake, ServerHandshakeConfig,
    ServerStep,
};
use framewire_core::Config;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{mpsc, watch};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::chat;
use crate::clock;
use crate::handshake::{read_request, HeadEnd};
use crate::http::query_param;
use crate::session::{Endpoint, Running, Session, SessionConfig};
use crate::static_files;
use crate::tcp;
use crate::ticker::{self, Ticker};
use crate::topics::Hub;
use crate::wire::{valid_token, WireHub};

/// Everything the server is configured with.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The directory served to plain GETs (the inspector page).
    pub www: PathBuf,
    /// Limits and timers of each connection.
    pub ws: Config,
    /// Subprotocols offered and origins allowed.
    pub handshake: ServerHandshakeConfig,
    /// Connections served at once; more get `503 Service Unavailable`.
    pub max_connections: usize,
    /// How long a shutdown waits for clients to finish the close handshake.
    pub shutdown_timeout: Duration,
    /// Serve TLS (`https://` and `wss://`) with this rustls configuration
    /// instead of plain TCP, on the same port for everything. Make one with
    /// [`crate::tls_server_config_from_pem`]; a configuration of your own
    /// should set ALPN `http/1.1`. The TLS handshake and the request head
    /// share the handshake timeout. `None` (the default): plain TCP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            www: default_www(),
            ws: Config {
                ping_interval: Some(Duration::from_secs(30)),
                idle_timeout: Some(Duration::from_secs(60)),
                ..Config::default()
            },
            handshake: ServerHandshakeConfig {
                deflate: Some(DeflateConfig::default()),
                ..ServerHandshakeConfig::default()
            },
            max_connections: 10_000,
            shutdown_timeout: Duration::from_secs(5),
            tls: None,
        }
    }
}

/// `./www` when it exists, else the `www/` of the source tree this was built from.
pub fn default_www() -> PathBuf {
    let here = PathBuf::from("www");
    if here.is_dir() {
        return here;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../www"))
}

struct State {
    cfg: ServerConfig,
    /// Accepted sockets inherit `TCP_NODELAY` from the listener.
    nodelay_inherited: bool,
    active: AtomicUsize,
    chat: Hub,
    wire: Arc<WireHub>,
    /// The one timer of every connection's deadlines.
    ticker: Arc<Ticker>,
    /// `cfg.ws`, shared by the sessions (a parked one keeps none of its own).
    sessions: Arc<SessionConfig>,
}

impl State {
    fn new(cfg: ServerConfig, nodelay_inherited: bool) -> Arc<Self> {
        Arc::new(Self {
            nodelay_inherited,
            active: AtomicUsize::new(0),
            chat: chat::hub(),
            wire: Arc::new(WireHub::default()),
            ticker: Ticker::new(),
            sessions: Arc::new(SessionConfig::new(cfg.ws.clone())),
            cfg,
        })
    }
}

/// A bound server, ready to [`Server::run`].
pub struct Server {
    listener: TcpListener,
    /// Made once from [`ServerConfig::tls`]; cloning it is a reference count.
    tls: Option<TlsAcceptor>,
    state: Arc<State>,
}

/// How a shutdown went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Connections open when the shutdown began.
    pub open: usize,
    /// Connections still open when the shutdown timeout passed (0 when all finished).
    pub unfinished: usize,
}

impl Server {
    /// Binds the listening socket.
    pub async fn bind(addr: impl ToSocketAddrs, cfg: ServerConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let nodelay_inherited = tcp::nodelay_inherited(&listener);
        tcp::defer_accept(&listener);
        Ok(Self {
            listener,
            tls: cfg.tls.clone().map(TlsAcceptor::from),
            state: State::new(cfg, nodelay_inherited),
        })
    }

    /// The address actually bound (useful after binding port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The hub of the `/chat` rooms (topics `chat/ROOM`): give it a relay
    /// ([`Hub::set_relay`], or the Redis bridge) to span several servers.
    pub fn chat_hub(&self) -> &Hub {
        &self.state.chat
    }

    /// Whether connections are served over TLS (`https://` and `wss://` URLs).
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Serves until `shutdown` resolves, then stops accepting, sends close 1001
    /// to every client and waits up to the shutdown timeout for them.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> ShutdownReport {
        let (stop_tx, stop_rx) = watch::channel(false);
        let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
        // Ends once the state is gone: the server and its last connection.
        tokio::spawn(ticker::run(Arc::downgrade(&self.state.ticker)));
        tokio::pin!(shutdown);
        // The accepting loop runs inside one select, so the shutdown future is
        // polled once per wake-up of the listener, not once per connection.
        let accepting = async {
            loop {
                match self.listener.accept().await {
                    Ok((stream, peer)) => {
                        // The guard holds the server's wait for its tasks.
                        let (guard, over) =
                            Active::enter(self.state.clone(), Some(done_tx.clone()));
                        let stop = stop_rx.clone();
                        // One task type per transport: a plain connection's
                        // task holds nothing of TLS.
                        match &self.tls {
                            None => tokio::spawn(handle(stream, peer, (guard, over), stop, None)),
                            Some(acceptor) => {
                                let acceptor = acceptor.clone();
                                tokio::spawn(handle_tls(
                                    stream,
                                    acceptor,
                                    peer,
                                    (guard, over),
                                    stop,
                                ))
                            }
                        };
                    }
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        };
        tokio::select! {
            () = &mut shutdown => {}
            () = accepting => {}
        }
        drop(self.listener);
        let open = self.state.active.load(Ordering::Relaxed);
        tracing::info!(open, "shutting down: closing every connection with 1001");
        let _ = stop_tx.send(true);
        self.state.ticker.shut_down();
        drop(done_tx);
        let timeout = self.state.cfg.shutdown_timeout;
        let _ = tokio::time::timeout(timeout, done_rx.recv()).await;
        let unfinished = self.state.active.load(Ordering::Relaxed);
        ShutdownReport { open, unfinished }
    }
}

/// Counts a connection while it lives, and holds the server's wait for its
/// connections' tasks (`done`) until it ends.
struct Active {
    state: Arc<State>,
    /// Never read: dropped with the task, it ends the server's wait for it.
    _done: Option<mpsc::Sender<()>>,
}

impl Active {
    /// Counts a new connection; with whether it is over `--max-connections`
    /// (it is answered 503).
    fn enter(state: Arc<State>, done: Option<mpsc::Sender<()>>) -> (Self, bool) {
        let n = state.active.fetch_add(1, Ordering::Relaxed) + 1;
        let over_limit = n > state.cfg.max_connections;
        (Self { state, _done: done }, over_limit)
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.state.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A transport the server's connection handler runs on: plain TCP, or TLS over it.
trait Transport: AsyncRead + AsyncWrite + Unpin + Send + Sized + 'static {
    /// Sets `TCP_NODELAY` when the listener's setting is not inherited.
    fn set_nodelay(&self);
    /// Reads what has already arrived, without waiting; `WouldBlock` when nothing has.
    fn read_now(&self, buf: &mut [u8]) -> std::io::Result<usize>;
    /// The transport as plain TCP, when it is (its quiet connections park).
    fn into_tcp(self) -> Result<TcpStream, Self>;
}

impl Transport for TcpStream {
    fn set_nodelay(&self) {
        let _ = TcpStream::set_nodelay(self, true);
    }

    fn read_now(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        tcp::read_drained(self, buf)
    }

    fn into_tcp(self) -> Result<TcpStream, Self> {
        Ok(self)
    }
}

impl Transport for TlsStream<TcpStream> {
    /// Set on the TCP socket before the TLS handshake.
    fn set_nodelay(&self) {}

    /// The request head is read through rustls, by the generic reader.
    fn read_now(&self, _buf: &mut [u8]) -> std::io::Result<usize> {
        Err(std::io::ErrorKind::WouldBlock.into())
    }

    fn into_tcp(self) -> Result<TcpStream, Self> {
        Err(self)
    }
}

/// The first byte of a TLS record carrying a handshake message (the ClientHello).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Runs the TLS handshake (under the handshake timeout, which the request head
/// then shares), then serves the connection as [`handle`] does. A client that
/// speaks plain HTTP gets a plain `400` saying to use `https://` or `wss://`;
/// a failed TLS handshake is logged at debug level and dropped.
async fn handle_tls(
    stream: TcpStream,
    acceptor: TlsAcceptor,
    peer: SocketAddr,
    entered: (Active, bool),
    mut stop: watch::Receiver<bool>,
) {
    let active = &entered.0;
    if !active.state.nodelay_inherited {
        let _ = stream.set_nodelay(true);
    }
    let started = clock::now();
    let deadline = clock::deadline(started + active.state.cfg.ws.handshake_timeout);
    let mut first = [0u8; 1];
    let peeked = tokio::select! {
        peeked = tokio::time::timeout_at(deadline, stream.peek(&mut first)) => peeked,
        _ = stop.changed() => return,
    };
    match peeked {
        Ok(Ok(1..)) if first[0] == TLS_HANDSHAKE_RECORD => {}
        Ok(Ok(1..)) if first[0].is_ascii_uppercase() => {
            tracing::debug!(%peer, "plain HTTP on the TLS port: answered 400");
            let mut stream = stream;
            let answer = HttpResponse::text(400, PLAIN_ON_TLS);
            return reply(&mut stream, &answer.encode().unwrap_or_default()).await;
        }
        Ok(Ok(_)) => {
            tracing::debug!(%peer, "TLS handshake failed: not a TLS client");
            return;
        }
        Ok(Err(e)) => {
            tracing::debug!(%peer, "TLS handshake failed: {e}");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake failed: timed out");
            return;
        }
    }
    let accepted = tokio::select! {
        accepted = tokio::time::timeout_at(deadline, acceptor.accept(stream)) => accepted,
        _ = stop.changed() => return,
    };
    match accepted {
        Ok(Ok(tls)) => handle(tls, peer, entered, stop, Some(started)).await,
        Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
        Err(_) => tracing::debug!(%peer, "TLS handshake failed: timed out"),
    }
}

/// The body of the 400 answering plain HTTP on a TLS port (built by the core's `HttpResponse`).
const PLAIN_ON_TLS: &str =
    "this port speaks TLS: use https:// for the page and wss:// for sockets\n";

/// Serves one connection: the request head (its handshake deadline counted
/// from `started`, else from now), then a file or a WebSocket endpoint.
///
/// The handshake runs in a boxed future of its own that owns the arguments:
/// its state (the head, the request, the machine, the answer) and the
/// arguments it is done with are freed before the session starts, so a
/// connection's task holds only what the session needs (an `async fn`, or an
/// async block capturing the arguments, would keep them all beside it).
fn handle<S: Transport>(
    stream: S,
    peer: SocketAddr,
    (active, over_limit): (Active, bool),
    stop: watch::Receiver<bool>,
    started: Option<Duration>,
) -> impl Future<Output = ()> + Send {
    let handshake = Box::pin(async move {
        let mut stop = stop;
        let entered = (&active, over_limit);
        let session = handshake(stream, peer, entered, &mut stop, started).await;
        // The session logs its end (its endpoint and peer are in its state).
        session.map(|(session, _)| {
            let state = &active.state;
            let running = session.run(&state.ticker, &state.sessions, S::into_tcp);
            (running, active)
        })
    });
    ConnectionTask::Handshake(handshake)
}

/// A connection's task ([`handle`]): its handshake, boxed with the arguments
/// it owns, then its session beside the guard that counts it, whose state
/// holds the session's shared configuration. Written by hand so that a
/// parked session's task holds nothing else (an async block kept the boxed
/// handshake's place beside the session: 32 bytes more).
enum ConnectionTask<H> {
    Handshake(Pin<Box<H>>),
    Session(Running, Active),
    Done,
}

impl<H: Future<Output = Option<(Running, Active)>>> Future for ConnectionTask<H> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        loop {
            match this {
                Self::Handshake(handshake) => match handshake.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some((running, active))) => {
                        *this = Self::Session(running, active);
                    }
                    Poll::Ready(None) => break,
                },
                Self::Session(running, active) => {
                    if running.poll(&active.state.sessions, cx).is_pending() {
                        return Poll::Pending;
                    }
                    break;
                }
                Self::Done => return Poll::Ready(()),
            }
        }
        *this = Self::Done;
        Poll::Ready(())
    }
}

/// Reads the request head (its handshake deadline counted from `started`,
/// else from now), serves a page or refuses, or upgrades: the session to run,
/// or `None` when the connection is done.
async fn handshake<S: Transport>(
    mut stream: S,
    peer: SocketAddr,
    (active, over_limit): (&Active, bool),
    stop: &mut watch::Receiver<bool>,
    started: Option<Duration>,
) -> Option<(Session<S>, &'static str)> {
    let state = &active.state;
    let cfg = &state.cfg;
    if over_limit {
        tracing::warn!(%peer, "over --max-connections: answered 503");
        let busy = HttpResponse::text(503, "too many connections: try again later\n")
            .header("Retry-After", "1");
        reply(&mut stream, &busy.encode().unwrap_or_default()).await;
        return None;
    }
    if !state.nodelay_inherited {
        stream.set_nodelay();
    }
    let mut hs = ServerHandshake::new(cfg.ws.clone(), cfg.handshake.clone());
    if let Some(started) = started {
        hs.handle_timeout(started);
    }
    // The socket usually holds the whole head already (TCP_DEFER_ACCEPT): no
    // timer and no wait then.
    if let Ok(n) = stream.read_now(hs.input_buffer(HEAD_READ)) {
        hs.commit_input(n);
    }
    let pending = match hs.step() {
        ServerStep::Request(p) => p,
        ServerStep::Declined(d) => {
            refuse(&mut stream, peer, d).await;
            return None;
        }
        ServerStep::NeedInput(hs) => tokio::select! {
            read = read_request(&mut stream, hs) => match read {
                Ok(p) => p,
                Err(HeadEnd::Declined(d)) => {
                    refuse(&mut stream, peer, d).await;
                    return None;
                }
                Err(HeadEnd::Io(e)) => {
                    tracing::debug!(%peer, "handshake ended: {e}");
                    return None;
                }
            },
            _ = stop.changed() => return None,
        },
    };
    if !pending.request().wants_upgrade() {
        let request = pending.request();
        tracing::debug!(%peer, method = %request.method, path = %request.path, "file request");
        let page = static_files::respond(request, &cfg.www).await;
        let answer = pending.decline(page);
        reply(&mut stream, &answer.response).await;
        return None;
    }
    upgrade(stream, peer, state, pending).await
}

/// Where a request goes: `framewire serve`'s routing, on the request target
/// (path and query, all it reads) before anything is answered. It reads the
/// target in place: turning the whole request into an `http::Request` for it
/// built a header map and copied every header value, per upgrade.
fn route(target: &str) -> Result<Route, HttpResponse> {
    let uri;
    let (target, query) = match target.split_once('?') {
        // The origin form (`/echo?x=1`, what clients send) is split in place.
        _ if !target.starts_with('/') => {
            uri = target.parse::<http::Uri>().map_err(|e| {
                HttpResponse::text(400, &format!("request target {target:?}: {e}\n"))
            })?;
            (uri.path(), uri.query().unwrap_or(""))
        }
        Some((path, query)) => (path, query),
        None => (target, ""),
    };
    let room_path = target
        .strip_prefix("/chat")
        .filter(|rest| rest.starts_with('/'));
    let Some(path) = ENDPOINTS
        .iter()
        .copied()
        .find(|p| *p == target || (*p == "/chat" && room_path.is_some()))
    else {
        let body = format!(
            "no WebSocket endpoint at {target}: use /, /echo, /chat, /chat/ROOM or /__wire\n"
        );
        return Err(HttpResponse::text(404, &body));
    };
    let token = query_param(query, "tap");
    if path == "/__wire" && !token.as_deref().is_some_and(valid_token) {
        let body = "the wire view needs ?tap=TOKEN (1 to 128 letters, digits, '-' or '_')\n";
        return Err(HttpResponse::text(400, body));
    }
    let room = match path {
        "/chat" => {
            let asked = query_param(query, "room");
            let room = chat::room_of(room_path.unwrap_or(""), asked.as_deref());
            let Some(room) = room else {
                let body = "a chat room is 1 to 128 letters, digits, '-' or '_' (/chat/ROOM or /chat?room=ROOM)\n";
                return Err(HttpResponse::text(400, body));
            };
            Some(room)
        }
        _ => None,
    };
    Ok(Route { path, token, room })
}

/// Where a request goes: the endpoint, the wire-view token, the chat room.
#[derive(Debug)]
struct Route {
    path: &'static str,
    token: Option<String>,
    room: Option<String>,
}

async fn upgrade<S: Transport>(
    mut stream: S,
    peer: SocketAddr,
    state: &Arc<State>,
    pending: PendingRequest,
) -> Option<(Session<S>, &'static str)> {
    let routed = match pending.offer() {
        // Accepting an invalid upgrade gives the answer that says why.
        Err(_) => Ok(Route {
            path: ENDPOINTS[0],
            token: None,
            room: None,
        }),
        Ok(_) => route(&pending.request().path),
    };
    let Route { path, token, room } = match routed {
        Ok(routed) => routed,
        Err(page) => {
            let answer = pending.decline(page);
            tracing::info!(%peer, status = answer.status, "websocket request declined");
            reply(&mut stream, &answer.response).await;
            return None;
        }
    };
    let wire = match &token {
        Some(t) if path == "/__wire" => match state.wire.register(t) {
            Some(inbox) => Some(inbox),
            None => {
                let body = "this tap token is in use by another wire view: make a new one\n";
                let answer = pending.decline(HttpResponse::text(409, body));
                tracing::info!(%peer, status = answer.status, "wire view refused: its token is in use");
                reply(&mut stream, &answer.response).await;
                return None;
            }
        },
        _ => None,
    };
    let tap = match &token {
        Some(t) if path != "/__wire" => state.wire.lookup(t),
        _ => None,
    };
    let tapped = tap.as_ref().map(|_| {
        (
            String::from_utf8_lossy(pending.head()).into_owned(),
            pending.rest().to_vec(),
        )
    });
    let upgraded = match pending.accept(Acceptance::default()) {
        Ok(u) => u,
        Err(d) => {
            refuse(&mut stream, peer, d).await;
            return None;
        }
    };
    let endpoint = match path {
        "/echo" => Endpoint::Echo,
        "/chat" => Endpoint::Chat(chat::Member::join(
            &state.chat,
            room.as_deref().unwrap_or(chat::LOBBY),
        )),
        _ => match wire {
            Some(inbox) => Endpoint::Wire(inbox),
            None => Endpoint::Greet,
        },
    };
    if let (Some(tap), Some((head, rest))) = (&tap, &tapped) {
        tap.attached(
            path,
            &peer.to_string(),
            head,
            &String::from_utf8_lossy(&upgraded.response),
        );
        tap.record(crate::wire::Direction::ClientToServer, rest);
    }
    if let Err(e) = stream.write_all(&upgraded.response).await {
        tracing::debug!(%peer, "could not write the 101 response: {e}");
        return None;
    }
    tracing::info!(%peer, %path, protocol = ?upgraded.info.protocol, "websocket open");
    let mut conn = upgraded.connection;
    conn.handle_timeout(clock::now());
    let session = Session {
        io: stream,
        conn,
        endpoint,
        tap,
        peer,
    };
    Some((session, path))
}

/// The WebSocket endpoints, by request path.
const ENDPOINTS: [&str; 4] = ["/", "/echo", "/chat", "/__wire"];

/// Bytes read per try while a request head arrives.
const HEAD_READ: usize = 4096;

/// Answers a refused handshake with its HTTP status.
pub(crate) async fn refuse<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    peer: SocketAddr,
    d: Declined,
) {
    match &d.error {
        Some(e) => tracing::info!(%peer, status = d.status, "handshake refused: {e}"),
        None => tracing::info!(%peer, status = d.status, "handshake declined"),
    }
    reply(stream, &d.response).await;
}

/// Writes a whole response, then lets the client read it before the socket closes.
pub(crate) async fn reply<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, response: &[u8]) {
    if stream.write_all(response).await.is_err() {
        return;
    }
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 1024];
    let drain = async {
        let mut total = 0usize;
        while let Ok(n) = stream.read(&mut sink).await {
            total += n;
            if n == 0 || total > 64 * 1024 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

#[cfg(test)]
mod session_faults;

#[cfg(test)]
mod parked;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_reads_origin_form_targets_in_place_and_absolute_ones_as_uris() {
        let echo = route("/echo?x=1").unwrap();
        assert_eq!((echo.path, echo.token, echo.room), ("/echo", None, None));
        let room = route("/chat/room-1").unwrap();
        assert_eq!((room.path, room.room.as_deref()), ("/chat", Some("room-1")));
        let asked = route("/chat?room=abc").unwrap();
        assert_eq!(asked.room.as_deref(), Some("abc"));
        let absolute = route("http://example.com/echo?tap=t1").unwrap();
        assert_eq!(
            (absolute.path, absolute.token.as_deref()),
            ("/echo", Some("t1"))
        );
        assert_eq!(route("/nowhere?x=/echo").unwrap_err().status, 404);
        assert_eq!(route("/__wire").unwrap_err().status, 400);
        assert_eq!(route("http://[bad").unwrap_err().status, 400);
    }

    /// An idle connection is mostly its task's future: this one, holding the
    /// session, parked (`session::Parking`) while the connection is quiet.
    /// Tokio allocates a task 128-byte aligned with 104 bytes of its own (a
    /// 32-byte header, 16 of scheduler and id, 8 of stage, a 48-byte trailer):
    /// a future of up to 152 bytes is a 256-byte block, up to 280 a 384-byte
    /// one. It is 152 bytes in a release build and 160 in a test build (256
    /// and 264 before the parked state shrank, 1,000 and 896 when the
    /// session's loop, with its `WebSocket`, was the future).
    #[tokio::test]
    async fn an_idle_connections_task_future_stays_small() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (stream, peer) = listener.accept().await.unwrap();
        let state = Arc::new(State {
            sessions: Arc::new(SessionConfig::new(ServerConfig::default().ws)),
            cfg: ServerConfig::default(),
            nodelay_inherited: true,
            active: AtomicUsize::new(0),
            chat: chat::hub(),
            wire: Arc::new(WireHub::default()),
            ticker: Ticker::new(),
        });
        let (_stop_tx, stop_rx) = watch::channel(false);
        let task = handle(stream, peer, Active::enter(state, None), stop_rx, None);
        let size = std::mem::size_of_val(&task);
        assert!(size <= 160, "a connection's task future is {size} bytes");
    }

    /// The connections' deadlines live in the server's one ticker (no tokio
    /// sleep each): every connection is pinged on time, a silent one meets its
    /// idle timeout and close timeout, slots are reused, and the ticker's task
    /// ends with the server.
    #[tokio::test]
    async fn connections_share_the_servers_ticker_for_pings_and_timeouts() {
        use framewire_core::Message;
        let cfg = ServerConfig {
            ws: Config {
                ping_interval: Some(Duration::from_millis(100)),
                idle_timeout: Some(Duration::from_millis(400)),
                close_timeout: Duration::from_millis(200),
                ..Config::default()
            },
            ..ServerConfig::default()
        };
        let server = Server::bind("127.0.0.1:0", cfg).await.unwrap();
        let url = format!("ws://{}/echo", server.local_addr().unwrap());
        let ticker = Arc::downgrade(&server.state.ticker);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        let client = crate::ClientConfig {
            deflate: None,
            ..crate::ClientConfig::default()
        };
        // Each live client gets pings (answered while it reads) and outlives the idle timeout.
        let mut clients = Vec::new();
        for _ in 0..8 {
            let mut ws = crate::connect(&url, &client).await.unwrap();
            clients.push(tokio::spawn(async move {
                let until = tokio::time::Instant::now() + Duration::from_millis(700);
                let mut pings = 0;
                while let Ok(Some(msg)) = tokio::time::timeout_at(until, ws.recv()).await {
                    match msg.unwrap() {
                        Message::Ping(_) => pings += 1,
                        other => panic!("unexpected {other:?}"),
                    }
                }
                assert!(pings >= 2, "{pings} pings in 700 ms");
                ws.send_text("still here").await.unwrap();
                loop {
                    match ws.recv().await.unwrap().unwrap() {
                        Message::Ping(_) => {}
                        got => break assert_eq!(got, Message::Text("still here".into())),
                    }
                }
                ws
            }));
        }
        // A silent client is closed for idleness (1001) and dropped.
        let addr = url.trim_start_matches("ws://").trim_end_matches("/echo");
        let mut silent = raw_upgrade(addr).await;
        let start = std::time::Instant::now();
        let got = read_all(&mut silent).await;
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(400), "dropped after {took:?}");
        assert!(has_close_1001(&got), "no close 1001: {got:?}");
        {
            let ticker = ticker.upgrade().unwrap();
            let wheel = ticker.wheel();
            assert!(
                wheel.slots.len() <= 9,
                "{} slots for 9 connections",
                wheel.slots.len()
            );
        }
        for c in clients {
            drop(c.await.unwrap());
        }
        // At the shutdown a silent client gets 1001 and is dropped after the close timeout.
        let mut silent = raw_upgrade(addr).await;
        let mut head = [0u8; 129];
        let n = silent.read(&mut head).await.unwrap();
        assert!(head[..n].starts_with(b"HTTP/1.1 101"), "{:?}", &head[..n]);
        let _ = stop.send(());
        let start = std::time::Instant::now();
        let got = read_all(&mut silent).await;
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(200), "dropped after {took:?}");
        assert!(has_close_1001(&got), "no close 1001: {got:?}");
        let report = running.await.unwrap();
        assert_eq!(report.unfinished, 0);
        tokio::time::timeout(Duration::from_secs(5), async {
            while ticker.strong_count() > 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the ticker outlived the server");
    }

    /// A raw TCP client that upgrades to `/echo`, then neither reads nor answers.
    async fn raw_upgrade(addr: &str) -> TcpStream {
        let mut raw = TcpStream::connect(addr).await.unwrap();
        raw.write_all(
            b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .unwrap();
        raw
    }

    /// Everything until the server drops the connection (at most 5 s).
    async fn read_all(raw: &mut TcpStream) -> Vec<u8> {
        let mut got = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), raw.read_to_end(&mut got))
            .await
            .expect("the connection was never dropped")
            .unwrap();
        got
    }

    /// Whether `got` holds a close frame with code 1001.
    fn has_close_1001(got: &[u8]) -> bool {
        got.windows(4)
            .any(|w| w[0] == 0x88 && w[2..] == [0x03, 0xe9])
    }
}
