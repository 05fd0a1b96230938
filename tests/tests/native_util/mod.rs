//! Helpers shared by the native server tests: an in-process server on an
//! ephemeral loopback port, and a raw client for hand-made frames.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use framewire_core::handshake::{accept_key, generate_key, ClientRequest};
use framewire_core::{Config, Connection, Message};
use framewire_server::{Server, ServerConfig, ShutdownReport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Upper bound for any single wait in these tests.
pub const WAIT: Duration = Duration::from_secs(20);

/// A server running in this process.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<ShutdownReport>,
}

impl TestServer {
    /// Starts a server on 127.0.0.1:0 with `cfg`.
    pub async fn start(cfg: ServerConfig) -> Self {
        let server = Server::bind("127.0.0.1:0", cfg)
            .await
            .expect("bind 127.0.0.1:0");
        let addr = server.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async {
            let _ = rx.await;
        }));
        Self {
            addr,
            stop: Some(tx),
            task,
        }
    }

    /// Starts a server with the default configuration and a temporary www directory.
    pub async fn default() -> Self {
        Self::start(ServerConfig {
            www: www_fixture(),
            ..ServerConfig::default()
        })
        .await
    }

    /// `ws://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// Triggers the graceful shutdown and waits for it.
    pub async fn shutdown(mut self) -> ShutdownReport {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(WAIT, &mut self.task)
            .await
            .expect("shutdown in time")
            .unwrap()
    }
}

/// A www directory with a few files, unique per call.
pub fn www_fixture() -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "framewire-www-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(dir.join("pkg")).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>inspector</title>",
    )
    .unwrap();
    std::fs::write(dir.join("app.mjs"), "export const x = 1;\n").unwrap();
    std::fs::write(dir.join("pkg/framewire_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(dir.join(".secret"), "hidden").unwrap();
    dir
}

/// Sends `request` bytes raw and returns everything the server answers until it closes.
pub async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(WAIT, s.read_to_end(&mut out))
        .await
        .expect("server answered and closed");
    String::from_utf8_lossy(&out).into_owned()
}

/// A client driven by hand: the core connection over a plain TcpStream.
pub struct RawClient {
    pub io: TcpStream,
    pub conn: Connection,
}

impl RawClient {
    /// Connects and runs the handshake for `path`.
    pub async fn connect(addr: SocketAddr, path: &str) -> Self {
        Self::connect_with(addr, path, Vec::new()).await
    }

    /// [`Self::connect`] with extra request header fields (an extension offer, say).
    pub async fn connect_with(
        addr: SocketAddr,
        path: &str,
        headers: Vec<(String, String)>,
    ) -> Self {
        let mut io = TcpStream::connect(addr).await.unwrap();
        let key = generate_key().unwrap();
        let req = ClientRequest {
            host: addr.to_string(),
            path: path.into(),
            headers,
            ..ClientRequest::default()
        };
        io.write_all(&req.encode(&key)).await.unwrap();
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            io.read_exact(&mut b).await.unwrap();
            head.push(b[0]);
        }
        let head = String::from_utf8(head).unwrap();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        assert!(head.contains(&accept_key(&key)), "{head}");
        let conn = Connection::client(Config::default()).unwrap();
        Self { io, conn }
    }

    /// Writes raw bytes.
    pub async fn write_raw(&mut self, bytes: &[u8]) {
        self.io.write_all(bytes).await.unwrap();
    }

    /// Writes whatever the connection queued.
    pub async fn flush(&mut self) {
        let out = self.conn.pending_output().to_vec();
        self.io.write_all(&out).await.unwrap();
        self.conn.consume_output(out.len());
    }

    /// The next message, `None` when the connection is over.
    pub async fn next(&mut self) -> Option<Message> {
        loop {
            let event = match self.conn.poll_event() {
                Ok(e) => e.map(|e| e.to_message()),
                Err(e) => panic!("server broke the protocol: {e}"),
            };
            if let Some(m) = event {
                self.flush().await;
                return Some(m);
            }
            if self.conn.has_pending_work() {
                continue;
            }
            if self.conn.is_closed() {
                return None;
            }
            let mut buf = [0u8; 65536];
            let n = tokio::time::timeout(WAIT, self.io.read(&mut buf))
                .await
                .expect("read in time")
                .unwrap();
            if n == 0 {
                return None;
            }
            self.conn.feed(&buf[..n]);
        }
    }

    /// Reads until the server ends the TCP connection; returns every raw byte.
    pub async fn read_to_end(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = tokio::time::timeout(WAIT, self.io.read_to_end(&mut out))
            .await
            .expect("server closed in time");
        out
    }
}

/// Masks `payload` into a client frame with `first_byte` (FIN/RSV/opcode) by hand.
pub fn client_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let key = [1u8, 2, 3, 4];
    let mut f = vec![first_byte, 0x80 | payload.len() as u8];
    f.extend_from_slice(&key);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    f
}
