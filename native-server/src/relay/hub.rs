//! The relayed connections and the inspector sockets watching them.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::clock;

/// Messages queued for one inspector socket.
const QUEUE: usize = 4096;

/// Injections waiting for a frame boundary, per direction of a connection.
pub(crate) const INJECT_QUEUE: usize = 16;

/// Milliseconds since the proxy started (its clock's epoch), sub-millisecond.
pub(crate) fn now_ms() -> f64 {
    clock::now().as_secs_f64() * 1000.0
}

/// Locks, ignoring poisoning (every critical section leaves the data whole).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One direction of a relayed connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    /// Client to upstream.
    Up = 0,
    /// Upstream to client.
    Down = 1,
}

impl Dir {
    /// `up` or `down`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Dir::Up => "up",
            Dir::Down => "down",
        }
    }

    /// The chunk kind of relayed (0, 1) or injected (2, 3) bytes.
    pub(crate) fn kind(self, injected: bool) -> u8 {
        self as u8 + if injected { 2 } else { 0 }
    }

    /// The side whose bytes go this way.
    pub(crate) fn source(self) -> Side {
        match self {
            Dir::Up => Side::Client,
            Dir::Down => Side::Upstream,
        }
    }

    /// The side the bytes go to.
    pub(crate) fn dest(self) -> Side {
        match self {
            Dir::Up => Side::Upstream,
            Dir::Down => Side::Client,
        }
    }

    /// The other direction.
    pub(crate) fn other(self) -> Dir {
        match self {
            Dir::Up => Dir::Down,
            Dir::Down => Dir::Up,
        }
    }
}

/// Who did something on a relayed connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The side that connected to the proxy.
    Client,
    /// The server relayed to.
    Upstream,
    /// The proxy itself (an injected frame).
    Proxy,
}

impl Side {
    /// `client`, `upstream` or `proxy`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Upstream => "upstream",
            Side::Proxy => "proxy",
        }
    }
}

/// A close frame sent on a relayed connection, as the core's frame
/// boundaries decoded it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CloseSent {
    /// Who sent it (the proxy for an injected close).
    pub(crate) by: Side,
    /// The direction it went.
    pub(crate) dir: Dir,
    /// Its status code, if its payload has one.
    pub(crate) code: Option<u16>,
    /// When the proxy relayed it (ms since the proxy's start).
    pub(crate) at: f64,
}

impl CloseSent {
    fn json(&self) -> Value {
        json!({"by": self.by.name(), "to": self.dir.dest().name(), "code": self.code, "at": self.at})
    }

    /// Who sent it and its code, for the log: `the client (1000)`.
    pub(crate) fn describe(&self) -> String {
        let code = self
            .code
            .map_or_else(|| "no code".to_owned(), |c| c.to_string());
        match self.by {
            Side::Proxy => format!(
                "the proxy (injected towards the {}, {code})",
                self.dir.dest().name()
            ),
            by => format!("the {} ({code})", by.name()),
        }
    }
}

/// The close frames of a connection: the first, and the first one the other way after it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Closes {
    /// The first close frame sent, either way.
    pub(crate) first: Option<CloseSent>,
    /// The first close frame sent the other way after it: the answer.
    pub(crate) answer: Option<CloseSent>,
}

/// How one side's TCP connection ended (or was ended), in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TcpEnd {
    /// The side.
    pub(crate) by: Side,
    /// How it ended.
    pub(crate) how: TcpEndKind,
}

/// How one side's TCP connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TcpEndKind {
    /// The side sent FIN.
    Fin,
    /// Reading from it failed (a reset, usually).
    Reset,
    /// Writing to it failed.
    WriteFailed,
    /// The proxy ended it after the half-close timeout.
    HalfCloseTimeout,
}

impl TcpEndKind {
    /// `FIN`, `reset`, `write failed` or `half-close timeout`, as the `ended` notice says it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            TcpEndKind::Fin => "FIN",
            TcpEndKind::Reset => "reset",
            TcpEndKind::WriteFailed => "write failed",
            TcpEndKind::HalfCloseTimeout => "half-close timeout",
        }
    }
}

/// How a relayed connection ended, for the `ended` notice.
#[derive(Debug, Clone)]
pub(crate) struct Ended {
    /// `closed`, `reset`, `answered` (no upgrade), `half-close timeout`,
    /// `upstream unreachable`, `upstream did not answer`, `client left`.
    pub(crate) how: &'static str,
    /// Who started the end: the sender of the first close frame, else the
    /// side whose TCP ended first.
    pub(crate) by: Side,
    /// The TCP ends, first first.
    pub(crate) tcp: Vec<TcpEnd>,
}

/// A message for an inspector socket.
#[derive(Debug)]
pub(crate) enum Item {
    /// A JSON text message.
    Text(String),
    /// A chunk: kind, id, time, bytes.
    Binary(Vec<u8>),
}

/// The sending end of one inspector socket's queue, bounded in messages and bytes.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    tx: mpsc::Sender<Item>,
    queued: Arc<AtomicUsize>,
    limit: usize,
}

impl Outbox {
    fn text(&self, value: &Value) -> bool {
        self.tx.try_send(Item::Text(value.to_string())).is_ok()
    }

    /// Queues a chunk unless the byte budget is spent (an empty queue takes any chunk).
    fn binary(&self, chunk: Vec<u8>) -> bool {
        let len = chunk.len();
        let queued = self.queued.fetch_add(len, Ordering::Relaxed);
        if (queued > 0 && queued + len > self.limit)
            || self.tx.try_send(Item::Binary(chunk)).is_err()
        {
            self.queued.fetch_sub(len, Ordering::Relaxed);
            return false;
        }
        true
    }
}

/// The receiving end of an inspector socket's queue.
#[derive(Debug)]
pub(crate) struct Inbox {
    rx: mpsc::Receiver<Item>,
    queued: Arc<AtomicUsize>,
}

impl Inbox {
    /// The next message; `None` when the hub let go of the socket.
    pub(crate) async fn next(&mut self) -> Option<Item> {
        let item = self.rx.recv().await?;
        if let Item::Binary(b) = &item {
            self.queued.fetch_sub(b.len(), Ordering::Relaxed);
        }
        Some(item)
    }
}

/// An inspector socket attached to a connection.
#[derive(Debug)]
struct Watcher {
    socket: u64,
    outbox: Outbox,
    /// Bytes not delivered since the last `dropped` notice.
    dropped: u64,
}

/// What an injection is, for the confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum What {
    Ping,
    Close,
    Frame,
}

impl What {
    pub(crate) fn name(self) -> &'static str {
        match self {
            What::Ping => "ping",
            What::Close => "close",
            What::Frame => "frame",
        }
    }
}

/// Bytes to write into one direction at its next frame boundary.
#[derive(Debug)]
pub(crate) struct Injection {
    pub(crate) what: What,
    pub(crate) bytes: Vec<u8>,
}

/// Where a connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Handshake,
    Open,
    Closing,
    Ended,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Handshake => "handshake",
            State::Open => "open",
            State::Closing => "closing",
            State::Ended => "ended",
        }
    }
}

/// The described parts of a relayed connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnInfo {
    pub(crate) peer: String,
    pub(crate) path: String,
    pub(crate) upstream_url: String,
    pub(crate) request: String,
    pub(crate) tag: Option<String>,
    pub(crate) status: Option<u16>,
    pub(crate) protocol: Option<String>,
    pub(crate) extensions: Option<String>,
    pub(crate) response: String,
    pub(crate) state: State,
}

/// One relayed connection, shared by its task and the hub.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) id: u32,
    opened: f64,
    info: Mutex<ConnInfo>,
    bytes: [AtomicU64; 2],
    frames: [AtomicU64; 2],
    /// Counters at the last `updated`.
    reported: Mutex<[u64; 4]>,
    watchers: Mutex<Vec<Watcher>>,
    inject: Mutex<Option<[mpsc::Sender<Injection>; 2]>>,
    closes: Mutex<Closes>,
    /// False for a plain HTTP request relayed: no inspector socket hears of it.
    listed: bool,
}

impl Conn {
    fn json(&self) -> Value {
        let i = lock(&self.info).clone();
        let closes = self.closes();
        json!({
            "id": self.id,
            "peer": i.peer,
            "path": i.path,
            "upstream_url": i.upstream_url,
            "status": i.status,
            "protocol": i.protocol,
            "extensions": i.extensions,
            "request": i.request,
            "response": i.response,
            "tag": i.tag,
            "opened": self.opened,
            "bytes_up": self.bytes[0].load(Ordering::Relaxed),
            "bytes_down": self.bytes[1].load(Ordering::Relaxed),
            "frames_up": self.frames[0].load(Ordering::Relaxed),
            "frames_down": self.frames[1].load(Ordering::Relaxed),
            "state": i.state.name(),
            "close": closes.first.map(|c| c.json()),
            "close_answer": closes.answer.map(|c| c.json()),
        })
    }

    /// The close frames seen so far.
    pub(crate) fn closes(&self) -> Closes {
        *lock(&self.closes)
    }

    /// Records a close frame sent in `dir` (by the proxy when `injected`);
    /// true when it is the connection's first close or the answer to it.
    pub(crate) fn close_sent(&self, dir: Dir, injected: bool, code: Option<u16>) -> bool {
        let sent = CloseSent {
            by: if injected { Side::Proxy } else { dir.source() },
            dir,
            code,
            at: now_ms(),
        };
        let mut closes = lock(&self.closes);
        match closes.first {
            None => closes.first = Some(sent),
            Some(first) if first.dir != dir && closes.answer.is_none() => {
                closes.answer = Some(sent)
            }
            Some(_) => return false,
        }
        true
    }

    fn counters(&self) -> [u64; 4] {
        [
            self.bytes[0].load(Ordering::Relaxed),
            self.bytes[1].load(Ordering::Relaxed),
            self.frames[0].load(Ordering::Relaxed),
            self.frames[1].load(Ordering::Relaxed),
        ]
    }

    /// Sends bytes seen in `dir` (relayed, or `injected`) to every attached socket.
    pub(crate) fn chunk(&self, dir: Dir, injected: bool, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.bytes[dir as usize].fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let mut watchers = lock(&self.watchers);
        if watchers.is_empty() {
            return;
        }
        let mut msg = Vec::with_capacity(13 + bytes.len());
        msg.push(dir.kind(injected));
        msg.extend_from_slice(&self.id.to_be_bytes());
        msg.extend_from_slice(&now_ms().to_be_bytes());
        msg.extend_from_slice(bytes);
        for w in watchers.iter_mut() {
            if w.dropped > 0 {
                let notice = json!({"type": "dropped", "id": self.id, "bytes": w.dropped});
                if !w.outbox.text(&notice) {
                    w.dropped += bytes.len() as u64;
                    continue;
                }
                w.dropped = 0;
            }
            if !w.outbox.binary(msg.clone()) {
                w.dropped += bytes.len() as u64;
            }
        }
    }

    /// Records the frames counted in `dir` so far.
    pub(crate) fn set_frames(&self, dir: Dir, frames: u64) {
        self.frames[dir as usize].store(frames, Ordering::Relaxed);
    }

    /// Changes the described parts.
    pub(crate) fn update(&self, f: impl FnOnce(&mut ConnInfo)) {
        f(&mut lock(&self.info));
    }

    /// Opens the injection queues; the receivers go to the two directions' pumps.
    pub(crate) fn open_injection(&self) -> [mpsc::Receiver<Injection>; 2] {
        let (up_tx, up_rx) = mpsc::channel(INJECT_QUEUE);
        let (down_tx, down_rx) = mpsc::channel(INJECT_QUEUE);
        *lock(&self.inject) = Some([up_tx, down_tx]);
        [up_rx, down_rx]
    }

    fn attach(&self, socket: u64, outbox: Outbox) {
        let mut watchers = lock(&self.watchers);
        if !watchers.iter().any(|w| w.socket == socket) {
            watchers.push(Watcher {
                socket,
                outbox,
                dropped: 0,
            });
        }
    }

    fn detach(&self, socket: u64) {
        lock(&self.watchers).retain(|w| w.socket != socket);
    }
}

/// An inspector socket as the hub knows it.
#[derive(Debug)]
struct Socket {
    outbox: Outbox,
    attach_new: bool,
}

/// The live connections and the inspector sockets.
#[derive(Debug)]
pub(crate) struct Hub {
    upstream: String,
    queue_bytes: usize,
    conns: Mutex<BTreeMap<u32, Arc<Conn>>>,
    sockets: Mutex<HashMap<u64, Socket>>,
    next_conn: AtomicU32,
    next_socket: AtomicU64,
}

/// Why a command was refused; its text goes to the page as an `error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CommandError {
    #[error("no live connection {0}")]
    UnknownConnection(u32),
    #[error("connection {0} is not an open WebSocket connection (yet, or any more)")]
    NotOpen(u32),
    #[error("connection {0} has {INJECT_QUEUE} injections waiting for a frame boundary already")]
    Busy(u32),
}

impl Hub {
    /// A hub for connections relayed to `upstream`, each inspector socket
    /// queueing at most `queue_bytes` of chunks.
    pub(crate) fn new(upstream: String, queue_bytes: usize) -> Self {
        Self {
            upstream,
            queue_bytes,
            conns: Mutex::default(),
            sockets: Mutex::default(),
            next_conn: AtomicU32::new(1),
            next_socket: AtomicU64::new(1),
        }
    }

    fn broadcast(&self, value: &Value) {
        for s in lock(&self.sockets).values() {
            s.outbox.text(value);
        }
    }

    /// A connection that no inspector socket hears of (a plain HTTP request
    /// relayed): its bytes go nowhere but on.
    pub(crate) fn unlisted(&self, info: ConnInfo) -> Arc<Conn> {
        self.new_conn(info, false)
    }

    fn new_conn(&self, info: ConnInfo, listed: bool) -> Arc<Conn> {
        Arc::new(Conn {
            id: self.next_conn.fetch_add(1, Ordering::Relaxed),
            opened: now_ms(),
            info: Mutex::new(info),
            bytes: Default::default(),
            frames: Default::default(),
            reported: Mutex::default(),
            watchers: Mutex::default(),
            inject: Mutex::default(),
            closes: Mutex::default(),
            listed,
        })
    }

    /// Registers a new WebSocket connection and announces it.
    pub(crate) fn open(&self, info: ConnInfo) -> Arc<Conn> {
        let conn = self.new_conn(info, true);
        let id = conn.id;
        lock(&self.conns).insert(id, conn.clone());
        let opened = json!({"type": "opened", "conn": conn.json()});
        for (&socket, s) in lock(&self.sockets).iter() {
            s.outbox.text(&opened);
            if s.attach_new {
                conn.attach(socket, s.outbox.clone());
            }
        }
        conn
    }

    /// Announces a change of a connection's described parts at once.
    pub(crate) fn changed(&self, conn: &Conn) {
        if !conn.listed {
            return;
        }
        *lock(&conn.reported) = conn.counters();
        self.broadcast(&json!({"type": "updated", "conn": conn.json()}));
    }

    /// Announces `updated` for every connection whose counters changed since the last one.
    pub(crate) fn tick(&self) {
        if lock(&self.sockets).is_empty() {
            return;
        }
        let conns: Vec<Arc<Conn>> = lock(&self.conns).values().cloned().collect();
        for conn in conns {
            let now = conn.counters();
            let changed = {
                let mut last = lock(&conn.reported);
                std::mem::replace(&mut *last, now) != now
            };
            if changed {
                self.broadcast(&json!({"type": "updated", "conn": conn.json()}));
            }
        }
    }

    /// Forgets a connection and announces how it ended: who started the end,
    /// the close frames (who sent the first, with its code, and who answered)
    /// and the TCP ends in order.
    pub(crate) fn end(&self, conn: &Conn, ended: &Ended) {
        conn.update(|i| i.state = State::Ended);
        lock(&self.conns).remove(&conn.id);
        *lock(&conn.inject) = None;
        if !conn.listed {
            return;
        }
        let closes = conn.closes();
        let tcp: Vec<Value> = ended
            .tcp
            .iter()
            .map(|t| json!({"by": t.by.name(), "how": t.how.name()}))
            .collect();
        self.broadcast(&json!({
            "type": "ended", "id": conn.id, "how": ended.how, "by": ended.by.name(),
            "close": closes.first.map(|c| c.json()),
            "close_answer": closes.answer.map(|c| c.json()),
            "tcp": tcp, "at": now_ms()
        }));
    }

    /// Registers an inspector socket: `hello`, an `opened` for every live
    /// connection and `listed` are queued for it first.
    pub(crate) fn join(&self) -> (u64, Inbox) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let queued = Arc::new(AtomicUsize::new(0));
        let outbox = Outbox {
            tx,
            queued: queued.clone(),
            limit: self.queue_bytes,
        };
        let id = self.next_socket.fetch_add(1, Ordering::Relaxed);
        outbox.text(&json!({
            "type": "hello", "version": 1, "upstream": self.upstream, "now": now_ms()
        }));
        let conns: Vec<Arc<Conn>> = lock(&self.conns).values().cloned().collect();
        for c in &conns {
            outbox.text(&json!({"type": "opened", "conn": c.json()}));
        }
        outbox.text(&json!({"type": "listed", "count": conns.len()}));
        lock(&self.sockets).insert(
            id,
            Socket {
                outbox,
                attach_new: false,
            },
        );
        (id, Inbox { rx, queued })
    }

    /// Unregisters an inspector socket and detaches it everywhere.
    pub(crate) fn leave(&self, socket: u64) {
        lock(&self.sockets).remove(&socket);
        for c in lock(&self.conns).values() {
            c.detach(socket);
        }
    }

    fn outbox(&self, socket: u64) -> Option<Outbox> {
        lock(&self.sockets).get(&socket).map(|s| s.outbox.clone())
    }

    /// Sends `value` to one socket.
    pub(crate) fn tell(&self, socket: u64, value: &Value) {
        if let Some(o) = self.outbox(socket) {
            o.text(value);
        }
    }

    /// Attaches `socket` to connection `id`: its state first, then its bytes from now on.
    pub(crate) fn attach(&self, socket: u64, id: u32) -> Result<(), CommandError> {
        let conn = self.conn(id)?;
        let outbox = self
            .outbox(socket)
            .ok_or(CommandError::UnknownConnection(id))?;
        outbox.text(&json!({"type": "opened", "conn": conn.json()}));
        conn.attach(socket, outbox);
        Ok(())
    }

    /// Detaches `socket` from connection `id` (nothing when not attached).
    pub(crate) fn detach(&self, socket: u64, id: u32) {
        if let Ok(conn) = self.conn(id) {
            conn.detach(socket);
        }
    }

    /// Attaches `socket` to every connection opened from now on, or stops.
    pub(crate) fn attach_new(&self, socket: u64, on: bool) {
        if let Some(s) = lock(&self.sockets).get_mut(&socket) {
            s.attach_new = on;
        }
    }

    /// Queues an injection into connection `id`'s direction `dir`.
    pub(crate) fn inject(
        &self,
        id: u32,
        dir: Dir,
        injection: Injection,
    ) -> Result<(), CommandError> {
        let conn = self.conn(id)?;
        let inject = lock(&conn.inject);
        let tx = inject
            .as_ref()
            .map(|t| &t[dir as usize])
            .ok_or(CommandError::NotOpen(id))?;
        tx.try_send(injection).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => CommandError::Busy(id),
            mpsc::error::TrySendError::Closed(_) => CommandError::NotOpen(id),
        })
    }

    /// Confirms an injection to every inspector socket.
    pub(crate) fn injected(&self, conn: &Conn, dir: Dir, what: What) {
        self.broadcast(&json!({
            "type": "injected", "id": conn.id, "dir": dir.name(), "what": what.name(), "at": now_ms()
        }));
    }

    fn conn(&self, id: u32) -> Result<Arc<Conn>, CommandError> {
        lock(&self.conns)
            .get(&id)
            .cloned()
            .ok_or(CommandError::UnknownConnection(id))
    }

    /// Live connections.
    pub(crate) fn live(&self) -> usize {
        lock(&self.conns).len()
    }
}

/// How often counters are reported.
pub(crate) const UPDATE_EVERY: Duration = Duration::from_secs(1);
