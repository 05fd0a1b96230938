//! Test helpers for the client: certificates made at run time (rcgen), a TLS
//! echo server, a plain HTTP server, and a real HTTP proxy (Debian's tinyproxy).
//! Shared by native-server's tests and the CLI's (through `#[path]`).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use framewire_server::{accept, AcceptConfig, Message};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "framewire-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A test CA, made at run time; its certificate is written to `ca_pem`.
pub struct Pki {
    pub dir: TempDir,
    pub ca_pem: PathBuf,
    issuer: Issuer<'static, KeyPair>,
}

/// Which server certificate to issue.
#[derive(Clone, Copy)]
pub enum Leaf {
    /// Valid for localhost and 127.0.0.1.
    Good,
    /// Valid, but for wrong.example only.
    WrongName,
    /// For localhost and 127.0.0.1, but expired in 2020.
    Expired,
}

impl Pki {
    pub fn new() -> Self {
        let dir = TempDir::new("pki");
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "framewire test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let ca_pem = dir.path("ca.pem");
        std::fs::write(&ca_pem, cert.pem()).unwrap();
        Self {
            issuer: Issuer::new(params, key),
            dir,
            ca_pem,
        }
    }

    /// A rustls server configuration with a certificate of this CA.
    pub fn server_config(&self, leaf: Leaf) -> Arc<rustls::ServerConfig> {
        let (chain, key_der) = self.leaf(leaf);
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key_der)
            .unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }

    /// A server certificate of this CA (the chain: just the leaf) and its key.
    pub fn leaf(
        &self,
        leaf: Leaf,
    ) -> (
        Vec<rustls::pki_types::CertificateDer<'static>>,
        rustls::pki_types::PrivateKeyDer<'static>,
    ) {
        let (cert, key) = self.issue(leaf);
        let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        (vec![cert.der().clone()], key_der)
    }

    /// A server certificate of this CA written as PEM files in the temp dir:
    /// (certificate chain, private key).
    pub fn leaf_files(&self, leaf: Leaf) -> (PathBuf, PathBuf) {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let (cert, key) = self.issue(leaf);
        let cert_pem = self.dir.path(&format!("leaf-{n}.pem"));
        let key_pem = self.dir.path(&format!("leaf-{n}.key"));
        std::fs::write(&cert_pem, cert.pem()).unwrap();
        std::fs::write(&key_pem, key.serialize_pem()).unwrap();
        (cert_pem, key_pem)
    }

    fn issue(&self, leaf: Leaf) -> (rcgen::Certificate, KeyPair) {
        let names = match leaf {
            Leaf::WrongName => vec!["wrong.example".to_owned()],
            _ => vec!["localhost".to_owned(), "127.0.0.1".to_owned()],
        };
        let mut params = CertificateParams::new(names).unwrap();
        if let Leaf::Expired = leaf {
            params.not_before = rcgen::date_time_ymd(2019, 1, 1);
            params.not_after = rcgen::date_time_ymd(2020, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert, key)
    }
}

/// A TLS WebSocket echo server on 127.0.0.1, on a thread of its own. It
/// records each request head's `Authorization` header and ALPN choice.
pub struct TlsEcho {
    pub addr: SocketAddr,
    pub seen_alpn: Arc<std::sync::Mutex<Vec<Option<Vec<u8>>>>>,
}

impl TlsEcho {
    pub fn start(config: Arc<rustls::ServerConfig>) -> Self {
        let std_listener = TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let seen_alpn = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = seen_alpn.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
                let acceptor = tokio_rustls::TlsAcceptor::from(config);
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        return;
                    };
                    let acceptor = acceptor.clone();
                    let seen = seen.clone();
                    tokio::spawn(async move {
                        let Ok(tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        seen.lock()
                            .unwrap()
                            .push(tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec));
                        let Ok(mut ws) = accept(tls, &AcceptConfig::default()).await else {
                            return;
                        };
                        while let Some(Ok(msg)) = ws.recv().await {
                            let sent = match msg {
                                Message::Text(t) => ws.send_text(&t).await,
                                Message::Binary(b) => ws.send_binary(&b).await,
                                _ => Ok(()),
                            };
                            if sent.is_err() {
                                break;
                            }
                        }
                    });
                }
            });
        });
        Self { addr, seen_alpn }
    }
}

/// A server on 127.0.0.1 that answers anything with a plain HTTP 400.
pub fn plain_http_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut tcp in listener.incoming().map_while(Result::ok) {
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 1024];
            let _ = tcp.read(&mut buf);
            let _ = tcp.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nConnection: close\r\n\r\nBad Request",
            );
        }
    });
    addr
}

/// A free TCP port on 127.0.0.1 (nothing listens on it once returned).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Debian's tinyproxy on 127.0.0.1, in the foreground, killed on drop.
pub struct Tinyproxy {
    pub port: u16,
    child: Child,
    pub dir: TempDir,
}

impl Tinyproxy {
    /// Starts tinyproxy allowing CONNECT to `connect_ports` only, asking for
    /// `auth` (user, password) when given. Panics with a clear message when
    /// tinyproxy is not installed.
    pub fn start(connect_ports: &[u16], auth: Option<(&str, &str)>) -> Self {
        let bin = ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .map(str::to_owned)
            .or_else(|| {
                Command::new("sh")
                    .args(["-c", "command -v tinyproxy"])
                    .output()
                    .ok()
                    .filter(|o| o.status.success())
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            })
            .unwrap_or_else(|| {
                panic!(
                    "tinyproxy is not installed: the proxy tests need it. Run scripts/setup.sh \
                     (or apt-get install -y tinyproxy)"
                )
            });
        let dir = TempDir::new("tinyproxy");
        let mut last_err = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let mut conf = format!(
                "Port {port}\nListen 127.0.0.1\nBindSame no\nTimeout 30\nMaxClients 16\n\
                 Allow 127.0.0.1\nLogLevel Info\nLogFile \"{}\"\nDisableViaHeader Yes\n",
                dir.path("tinyproxy.log").display()
            );
            for p in connect_ports {
                conf.push_str(&format!("ConnectPort {p}\n"));
            }
            if let Some((user, password)) = auth {
                conf.push_str(&format!("BasicAuth {user} {password}\n"));
            }
            let conf_path = dir.path("tinyproxy.conf");
            std::fs::write(&conf_path, conf).unwrap();
            let mut child = Command::new(&bin)
                .arg("-d")
                .arg("-c")
                .arg(&conf_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = child.try_wait() {
                    let mut err = String::new();
                    if let Some(mut e) = child.stderr.take() {
                        let _ = e.read_to_string(&mut err);
                    }
                    last_err = format!("tinyproxy exited with {status}: {err}");
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Self { port, child, dir };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("tinyproxy did not start: {last_err}");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The lines of tinyproxy's log so far.
    pub fn log(&self) -> Vec<String> {
        std::fs::File::open(self.dir.path("tinyproxy.log"))
            .map(|f| BufReader::new(f).lines().map_while(Result::ok).collect())
            .unwrap_or_default()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian's `redis-server` on 127.0.0.1 with no persistence (`--save ''
/// --appendonly no`), in the foreground, killed on drop. Independent of any
/// system service: its own port and working directory.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
    dir: TempDir,
}

impl RedisServer {
    /// Starts one on a free port. Panics with a clear message when
    /// redis-server is not installed.
    pub fn start() -> Self {
        let mut redis = Self {
            port: free_port(),
            child: None,
            dir: TempDir::new("redis"),
        };
        redis.restart();
        redis
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it (SIGKILL: no goodbye to its clients).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (killing it first if it runs); waits until it answers PING.
    pub fn restart(&mut self) {
        self.kill();
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--daemonize", "no", "--loglevel", "warning"])
            .current_dir(&self.dir.0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server ({e}): the topics tests need it. Run \
                     scripts/setup.sh (or apt-get install -y redis-server)"
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.answers_ping() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not answer PING on port {port} within 10 s");
    }

    fn answers_ping(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
        let mut answer = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok()
            && s.read_exact(&mut answer).is_ok()
            && &answer == b"+PONG\r\n"
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A running `framewire serve` server: the URL of `path` on it, its chat hub,
/// the trigger of its shutdown and its task.
pub async fn serve(
    path: &str,
) -> (
    String,
    framewire_server::topics::Hub,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<framewire_server::ShutdownReport>,
) {
    let cfg = framewire_server::ServerConfig::default();
    let server = framewire_server::Server::bind("127.0.0.1:0", cfg)
        .await
        .unwrap();
    let url = format!("ws://{}{path}", server.local_addr().unwrap());
    let hub = server.chat_hub().clone();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async {
        let _ = stop_rx.await;
    }));
    (url, hub, stop_tx, running)
}

/// Waits for the server's shutdown to finish, every connection closed.
pub async fn finished(running: tokio::task::JoinHandle<framewire_server::ShutdownReport>) {
    let report = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the shutdown hung")
        .unwrap();
    assert_eq!(report.unfinished, 0, "{report:?}");
}
