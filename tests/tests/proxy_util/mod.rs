//! Helpers of the `framewire proxy` tests: the relay in this process, an
//! inspector-socket client, and raw upstreams that answer and record by hand.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use framewire_core::handshake::{accept_key, parse_request};
use framewire_server::relay::{InspectorKey, Relay, RelayConfig};
use framewire_server::{
    connect, ClientConfig, ClientStream, Message, ProxyConfig, WebSocket, WsUrl,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Each upstream connection's request head and the bytes it received after it.
pub type Record = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// Upper bound for any single wait.
pub const WAIT: Duration = Duration::from_secs(20);

/// The inspector key of every test proxy.
pub const KEY: &str = "0123456789abcdef0123456789abcdef";

/// A proxy running in this process.
pub struct TestProxy {
    pub addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl TestProxy {
    /// A proxy in front of `upstream`, configured by `tune`.
    pub async fn start(upstream: &str, tune: impl FnOnce(&mut RelayConfig)) -> Self {
        let url = WsUrl::parse(upstream).expect("a ws:// or wss:// upstream");
        let mut cfg = RelayConfig::new(url, InspectorKey::parse(KEY).unwrap());
        tune(&mut cfg);
        let relay = Relay::bind("127.0.0.1:0", cfg)
            .await
            .expect("the proxy binds");
        let addr = relay.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(relay.run(async {
            let _ = rx.await;
        }));
        Self { addr, _stop: tx }
    }

    /// `ws://PROXY` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }
}

/// A client configuration without any HTTP proxy from the environment.
pub fn direct(deflate: bool) -> ClientConfig {
    let mut cfg = ClientConfig {
        proxy: ProxyConfig::Direct,
        ..ClientConfig::default()
    };
    if !deflate {
        cfg.deflate = None;
    }
    cfg
}

/// An inspector socket client.
pub struct Inspect {
    pub ws: WebSocket<ClientStream>,
    /// Binary chunks received, in order.
    pub chunks: Vec<Vec<u8>>,
}

impl Inspect {
    /// Opens the inspector socket of `proxy` with `key` and reads up to `listed`.
    pub async fn open(proxy: &TestProxy) -> (Self, Vec<Value>) {
        let url = proxy.url(&format!("/__framewire/inspect?key={KEY}"));
        let ws = connect(&url, &direct(false))
            .await
            .expect("the inspector socket opens");
        let mut me = Self {
            ws,
            chunks: Vec::new(),
        };
        let mut before = Vec::new();
        loop {
            let v = me.next_json().await;
            let listed = v["type"] == "listed";
            before.push(v);
            if listed {
                return (me, before);
            }
        }
    }

    /// Sends a command.
    pub async fn send(&mut self, command: Value) {
        self.ws.send_text(&command.to_string()).await.unwrap();
    }

    /// The next JSON message; binary chunks met on the way are kept in `chunks`.
    pub async fn next_json(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.recv())
                .await
                .expect("an inspector message in time")
                .expect("the inspector socket is open")
                .expect("the inspector socket works");
            match msg {
                Message::Text(t) => return serde_json::from_str(&t).unwrap(),
                Message::Binary(b) => self.chunks.push(b.to_vec()),
                _ => {}
            }
        }
    }

    /// Reads until a JSON message that `want` accepts.
    pub async fn until(&mut self, want: impl Fn(&Value) -> bool) -> Value {
        loop {
            let v = self.next_json().await;
            if want(&v) {
                return v;
            }
        }
    }
}

/// A raw upstream: answers each connection's head with `answer(request head)`,
/// then records what it receives (and, with `echo`, sends it back).
pub struct RawUpstream {
    pub addr: SocketAddr,
    /// Each connection's request head and the bytes received after it.
    pub seen: Record,
}

/// A valid 101 for a request head (with its Sec-WebSocket-Key).
pub fn switching(head: &str) -> Vec<u8> {
    let (req, _) = parse_request(head.as_bytes(), 1 << 16).unwrap().unwrap();
    let key = req.header("sec-websocket-key").unwrap_or_default();
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    )
    .into_bytes()
}

impl RawUpstream {
    /// Starts it; `then` runs on each connection after the answer (its
    /// stream and the shared record index).
    pub async fn start<F, Fut>(answer: fn(&str) -> Vec<u8>, then: F) -> Self
    where
        F: Fn(TcpStream, Record, usize) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Record = Arc::default();
        let record = seen.clone();
        let then = Arc::new(then);
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let record = record.clone();
                let then = then.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut b = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if s.read_exact(&mut b).await.is_err() {
                            return;
                        }
                        head.push(b[0]);
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let reply = answer(&head);
                    let index = {
                        let mut r = record.lock().unwrap();
                        r.push((head, Vec::new()));
                        r.len() - 1
                    };
                    if s.write_all(&reply).await.is_err() {
                        return;
                    }
                    then(s, record, index).await;
                });
            }
        });
        Self { addr, seen }
    }

    /// An upstream that answers 101 and records everything it receives.
    pub async fn recording() -> Self {
        Self::start(switching, record_all).await
    }

    /// `ws://UPSTREAM` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// What connection `i` received after its head.
    pub fn received(&self, i: usize) -> Vec<u8> {
        self.seen.lock().unwrap()[i].1.clone()
    }

    /// Connection `i`'s request head.
    pub fn head(&self, i: usize) -> String {
        self.seen.lock().unwrap()[i].0.clone()
    }

    /// Waits until connection `i` received at least `n` bytes.
    pub async fn wait_for(&self, i: usize, n: usize) -> Vec<u8> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let got = self
                .seen
                .lock()
                .unwrap()
                .get(i)
                .map(|(_, b)| b.clone())
                .unwrap_or_default();
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "upstream connection {i} received {} of {n} bytes",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Records every byte of `s` into `record[index]` until it ends.
pub async fn record_all(mut s: TcpStream, record: Record, index: usize) {
    let mut buf = vec![0u8; 65536];
    while let Ok(n) = s.read(&mut buf).await {
        if n == 0 {
            break;
        }
        record.lock().unwrap()[index].1.extend_from_slice(&buf[..n]);
    }
}

/// Reads a raw HTTP answer (head and what follows) until the peer closes.
pub async fn read_all(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(WAIT, s.read_to_end(&mut out)).await;
    out
}

/// A client upgrade request head for `path` on `host`.
pub fn upgrade_head(path: &str, host: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// Connects raw to the proxy, sends an upgrade head, and reads the answer head.
pub async fn raw_upgrade(proxy: &TestProxy, path: &str, extra: &str) -> (TcpStream, String) {
    let mut s = TcpStream::connect(proxy.addr).await.unwrap();
    s.write_all(upgrade_head(path, &proxy.addr.to_string(), extra).as_bytes())
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        tokio::time::timeout(WAIT, s.read_exact(&mut b))
            .await
            .expect("an answer in time")
            .expect("an answer head");
        head.push(b[0]);
    }
    (s, String::from_utf8(head).unwrap())
}

/// An upstream that answers 101, reads up to the client's FIN and then keeps
/// its own side open (a half-closed connection).
pub async fn half_open_upstream() -> RawUpstream {
    RawUpstream::start(switching, |mut s, _r, _i| async move {
        let mut buf = [0u8; 64];
        while let Ok(1..) = s.read(&mut buf).await {}
        tokio::time::sleep(WAIT).await;
    })
    .await
}

/// A raw WebSocket connection through `proxy` and its id, from the `opened`
/// that `inspect` (opened before) receives.
pub async fn raw_connection(proxy: &TestProxy, inspect: &mut Inspect) -> (TcpStream, u64) {
    let (client, answer) = raw_upgrade(proxy, "/", "").await;
    assert!(answer.starts_with("HTTP/1.1 101 "), "{answer}");
    let opened = inspect.until(|v| v["type"] == "opened").await;
    (client, opened["conn"]["id"].as_u64().expect("an id"))
}
