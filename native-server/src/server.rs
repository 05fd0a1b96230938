//! The `framewire serve` server: one port for the inspector's files and the
//! `/`, `/echo`, `/chat` and `/__wire` WebSocket endpoints.

use framewire_core::deflate::DeflateConfig;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use framewire_core::handshake::{self, HandshakeError, Request, ServerHandshakeConfig};
use framewire_core::{Config, Connection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{mpsc, watch};

use crate::chat::ChatRoom;
use crate::clock;
use crate::error::Error;
use crate::handshake::read_head;
use crate::http::{plain_response, query_param, split_target};
use crate::session::{Endpoint, Session};
use crate::static_files;
use crate::tcp;
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
    /// How long a client may take to send its request head.
    pub handshake_timeout: Duration,
    /// Connections served at once; more get `503 Service Unavailable`.
    pub max_connections: usize,
    /// How long a shutdown waits for clients to finish the close handshake.
    pub shutdown_timeout: Duration,
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
            handshake_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            shutdown_timeout: Duration::from_secs(5),
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
    chat: Arc<ChatRoom>,
    wire: Arc<WireHub>,
}

/// A bound server, ready to [`Server::run`].
pub struct Server {
    listener: TcpListener,
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
            state: Arc::new(State {
                cfg,
                nodelay_inherited,
                active: AtomicUsize::new(0),
                chat: Arc::new(ChatRoom::default()),
                wire: Arc::new(WireHub::default()),
            }),
        })
    }

    /// The address actually bound (useful after binding port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then stops accepting, sends close 1001
    /// to every client and waits up to the shutdown timeout for them.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> ShutdownReport {
        let (stop_tx, stop_rx) = watch::channel(false);
        let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
        tokio::pin!(shutdown);
        // The accepting loop runs inside one select, so the shutdown future is
        // polled once per wake-up of the listener, not once per connection.
        let accepting = async {
            loop {
                match self.listener.accept().await {
                    Ok((stream, peer)) => {
                        let guard = Active::enter(self.state.clone());
                        let stop = stop_rx.clone();
                        let done = done_tx.clone();
                        tokio::spawn(async move {
                            handle(stream, peer, guard, stop).await;
                            drop(done);
                        });
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
        drop(done_tx);
        let timeout = self.state.cfg.shutdown_timeout;
        let _ = tokio::time::timeout(timeout, done_rx.recv()).await;
        let unfinished = self.state.active.load(Ordering::Relaxed);
        ShutdownReport { open, unfinished }
    }
}

/// Counts a connection while it lives.
struct Active {
    state: Arc<State>,
    over_limit: bool,
}

impl Active {
    fn enter(state: Arc<State>) -> Self {
        let n = state.active.fetch_add(1, Ordering::Relaxed) + 1;
        let over_limit = n > state.cfg.max_connections;
        Self { state, over_limit }
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.state.active.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn handle(
    mut stream: TcpStream,
    peer: SocketAddr,
    active: Active,
    mut stop: watch::Receiver<bool>,
) {
    let state = active.state.clone();
    let cfg = &state.cfg;
    if active.over_limit {
        tracing::warn!(%peer, "over --max-connections: answered 503");
        let body = "too many connections: try again later\n";
        reply(
            &mut stream,
            &plain_response(503, "Service Unavailable", body, &[("Retry-After", "1")]),
        )
        .await;
        return;
    }
    if !state.nodelay_inherited {
        let _ = stream.set_nodelay(true);
    }
    let mut buf = Vec::new();
    let max = cfg.ws.limits.max_handshake_bytes;
    let head = match head_now(&stream, &mut buf, max) {
        Some(head) => Ok(head.map_err(Error::Handshake)),
        None => tokio::select! {
            head = tokio::time::timeout(cfg.handshake_timeout, read_head(&mut stream, &mut buf, max, handshake::parse_request)) => head,
            _ = stop.changed() => return,
        },
    };
    let (request, used) = match head {
        Ok(Ok(head)) => head,
        Ok(Err(Error::Handshake(e))) => return refuse(&mut stream, peer, &e).await,
        Ok(Err(e)) => {
            tracing::debug!(%peer, "handshake ended: {e}");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "no request head within {:?}: dropped", cfg.handshake_timeout);
            return;
        }
    };
    if !request.wants_upgrade() {
        tracing::debug!(%peer, method = %request.method, path = %request.path, "file request");
        return static_files::serve(&mut stream, &request, &cfg.www).await;
    }
    // The handshake's future ends before the session's starts: the task
    // holds the larger of the two, not both.
    let Some((session, path)) = upgrade(stream, peer, &state, request, buf, used).await else {
        return;
    };
    let reason = session.run(stop).await;
    tracing::info!(%peer, %path, "websocket closed: {reason}");
}

async fn upgrade(
    mut stream: TcpStream,
    peer: SocketAddr,
    state: &Arc<State>,
    request: Request,
    buf: Vec<u8>,
    used: usize,
) -> Option<(Session, &'static str)> {
    let cfg = &state.cfg;
    let upgrade = match request.into_upgrade() {
        Ok(u) => u,
        Err(e) => {
            refuse(&mut stream, peer, &e).await;
            return None;
        }
    };
    let (target, query) = split_target(&upgrade.path);
    let Some(path) = ENDPOINTS.iter().copied().find(|p| *p == target) else {
        let body = format!("no WebSocket endpoint at {target}: use /, /echo, /chat or /__wire\n");
        reply(&mut stream, &plain_response(404, "Not Found", &body, &[])).await;
        return None;
    };
    let token = query_param(query, "tap");
    if path == "/__wire" && !token.as_deref().is_some_and(valid_token) {
        let body = "the wire view needs ?tap=TOKEN (1 to 128 letters, digits, '-' or '_')\n";
        reply(&mut stream, &plain_response(400, "Bad Request", body, &[])).await;
        return None;
    }
    let handshake::Accept {
        protocol,
        deflate,
        response,
        ..
    } = match handshake::accept(&upgrade, &cfg.handshake) {
        Ok(a) => a,
        Err(e) => {
            refuse(&mut stream, peer, &e).await;
            return None;
        }
    };
    drop(upgrade);
    let endpoint = match path {
        "/echo" => Endpoint::Echo,
        "/chat" => {
            let (seat, inbox) = state.chat.join();
            Endpoint::Chat(seat, inbox)
        }
        "/__wire" => Endpoint::Wire(state.wire.register(token.as_deref().unwrap_or_default())),
        _ => Endpoint::Greet,
    };
    let tap = match (&endpoint, token) {
        (Endpoint::Wire(..), _) | (_, None) => None,
        (_, Some(t)) => state.wire.lookup(&t),
    };
    if let Some(tap) = &tap {
        tap.attached(
            path,
            &peer.to_string(),
            &String::from_utf8_lossy(&buf[..used]),
            &String::from_utf8_lossy(&response),
        );
    }
    if let Err(e) = stream.write_all(&response).await {
        tracing::debug!(%peer, "could not write the 101 response: {e}");
        return None;
    }
    drop(response);
    tracing::info!(%peer, %path, ?protocol, "websocket open");
    drop(protocol);
    let mut conn = Connection::server(cfg.ws.clone());
    if let (Some(agreed), Some(deflate)) = (deflate, &cfg.handshake.deflate) {
        conn.enable_deflate(agreed, deflate);
    }
    let leftover = &buf[used..];
    if let Some(tap) = &tap {
        tap.record(crate::wire::Direction::ClientToServer, leftover);
    }
    conn.feed(leftover);
    // The request head is not needed any more: keep idle connections small.
    drop(buf);
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

/// The request head when the socket already holds all of it (the usual case
/// for a fresh connection): no timer and no wait. `None` leaves what was read
/// in `buf` for [`read_head`].
fn head_now(
    stream: &TcpStream,
    buf: &mut Vec<u8>,
    max: usize,
) -> Option<Result<(Request, usize), HandshakeError>> {
    let mut chunk = [0u8; 4096];
    let room = chunk.len().min(max + 1);
    match tcp::read_drained(stream, &mut chunk[..room]) {
        Ok(n) if n > 0 => {
            buf.extend_from_slice(&chunk[..n]);
            handshake::parse_request(buf, max).transpose()
        }
        _ => None,
    }
}

/// Answers a refused handshake with its HTTP status.
async fn refuse(stream: &mut TcpStream, peer: SocketAddr, e: &HandshakeError) {
    tracing::info!(%peer, status = e.status(), "handshake refused: {e}");
    reply(stream, &handshake::rejection_response(e)).await;
}

/// Writes a whole response, then lets the client read it before the socket closes.
async fn reply(stream: &mut TcpStream, response: &[u8]) {
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
