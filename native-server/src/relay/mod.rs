//! `framewire proxy`: a relay in front of one WebSocket server that shows its
//! traffic to the inspector page.
//!
//! Every connection accepted is relayed to the one configured upstream (never
//! anywhere else): the client's request head is rewritten by the core
//! ([`framewire_core::handshake::forward_request`]: Host, Origin, path), the
//! upstream's answer is relayed whatever it is, and then bytes go both ways
//! unchanged through a bounded buffer per direction (a slow reader on one
//! side slows the writer on the other). A reset on one side is passed on as a
//! reset, a FIN as a FIN; a side left half-closed longer than
//! [`RelayConfig::half_close_timeout`] is ended with the other. How each
//! connection ended is logged and sent to the inspector: who sent the first
//! close frame (decoded by the core's [`framewire_core::frame::FrameBoundaries`]),
//! who answered it, and which side ended TCP, by FIN or reset. A request that
//! asks for no upgrade (plain HTTP, say a page or its `/favicon.ico`) is
//! relayed to the upstream too, with `Connection: close`, but is no WebSocket
//! connection: the inspector does not list it. The bytes of every connection go to the attached
//! inspector sockets ([`inspector_socket`] documents that protocol), frame
//! boundaries are followed by the core's [`framewire_core::frame::FrameBoundaries`]
//! so injected frames go between frames, and `--log-frames` decodes both
//! directions with the core's inspector. Paths under `/__framewire/` are the
//! proxy's own: the inspector page's files and the inspector socket.

mod conn;
mod frame_log;
mod hub;
pub mod inspector_socket;
mod key;
mod pump;
mod upstream;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use framewire_core::handshake::{ForwardOptions, ForwardTarget, HttpResponse};
use tokio::net::{TcpListener, ToSocketAddrs};

pub use key::{check_listen, inspector_peer_allowed, InspectorKey, KeyError, ListenError};

use crate::server::reply;
use crate::tls_client;
use crate::url::WsUrl;
use crate::TlsError;
use hub::Hub;
use upstream::Upstream;

/// Everything `framewire proxy` is configured with.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The one server relayed to.
    pub upstream: WsUrl,
    /// Extra CA files trusted for a `wss://` upstream (besides webpki-roots).
    pub ca_files: Vec<PathBuf>,
    /// Accept any certificate from a `wss://` upstream (tests only).
    pub insecure: bool,
    /// Forward the client's Origin instead of naming the upstream's.
    pub keep_origin: bool,
    /// Do not append the client's path and query to the upstream's path.
    pub fixed_path: bool,
    /// Allow a non-loopback listening address and non-loopback inspector peers.
    pub allow_remote: bool,
    /// The key the inspector socket asks for.
    pub inspector_key: InspectorKey,
    /// The inspector page's directory, served under `/__framewire/`.
    pub www: PathBuf,
    /// Connections relayed at once; more are answered 503.
    pub max_connections: usize,
    /// Bytes each direction of a connection holds at most (one read's worth).
    pub buffer_bytes: usize,
    /// Largest request head from a client and answer head from the upstream.
    pub max_head_bytes: usize,
    /// Time for a client's request head, and for connecting to the upstream
    /// and reading its answer.
    pub handshake_timeout: Duration,
    /// Time a connection may stay half-closed: after one side's FIN, the
    /// other side must end its side within this, or the proxy ends both.
    pub half_close_timeout: Duration,
    /// Bytes of chunks queued for one inspector socket before chunks are dropped.
    pub inspector_queue_bytes: usize,
    /// Log every frame and broken rule (info level).
    pub log_frames: bool,
    /// With `log_frames`, show the start of each payload.
    pub log_payloads: bool,
}

impl RelayConfig {
    /// The defaults for relaying to `upstream` with `inspector_key`.
    pub fn new(upstream: WsUrl, inspector_key: InspectorKey) -> Self {
        Self {
            upstream,
            ca_files: Vec::new(),
            insecure: false,
            keep_origin: false,
            fixed_path: false,
            allow_remote: false,
            inspector_key,
            www: crate::default_www(),
            max_connections: 1024,
            buffer_bytes: 64 * 1024,
            max_head_bytes: 16 * 1024,
            handshake_timeout: Duration::from_secs(10),
            half_close_timeout: Duration::from_secs(30),
            inspector_queue_bytes: 8 << 20,
            log_frames: false,
            log_payloads: false,
        }
    }
}

/// Why the proxy cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// The listening address is not allowed.
    #[error(transparent)]
    Listen(#[from] ListenError),
    /// Binding failed.
    #[error("cannot listen: {0}")]
    Bind(#[from] std::io::Error),
    /// The TLS settings for the upstream cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// What the connection handlers share.
#[derive(Debug)]
struct Shared {
    cfg: RelayConfig,
    target: ForwardTarget,
    options: ForwardOptions,
    upstream: Upstream,
    hub: Arc<Hub>,
    active: AtomicUsize,
}

/// A bound proxy, ready to [`Relay::run`].
#[derive(Debug)]
pub struct Relay {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl Relay {
    /// Binds `addr` (refused when it is not loopback and `cfg.allow_remote` is off).
    pub async fn bind(addr: impl ToSocketAddrs, cfg: RelayConfig) -> Result<Self, RelayError> {
        let listener = TcpListener::bind(addr).await?;
        check_listen(listener.local_addr()?, cfg.allow_remote)?;
        // Inspector times count from here.
        crate::clock::epoch();
        let tls = if cfg.upstream.tls {
            Some(tls_client::client_config(&cfg.ca_files, cfg.insecure)?)
        } else {
            None
        };
        let target = ForwardTarget {
            tls: cfg.upstream.tls,
            authority: cfg.upstream.authority.clone(),
            path: cfg.upstream.path.clone(),
        };
        let options = ForwardOptions {
            keep_origin: cfg.keep_origin,
            fixed_path: cfg.fixed_path,
        };
        let hub = Arc::new(Hub::new(
            cfg.upstream.to_string(),
            cfg.inspector_queue_bytes,
        ));
        let upstream = Upstream {
            url: cfg.upstream.clone(),
            tls,
        };
        Ok(Self {
            listener,
            shared: Arc::new(Shared {
                cfg,
                target,
                options,
                upstream,
                hub,
                active: AtomicUsize::new(0),
            }),
        })
    }

    /// The address bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The inspector page's URL, with the key in the fragment (never sent to a server).
    pub fn inspector_url(&self) -> std::io::Result<String> {
        Ok(format!(
            "http://{}/__framewire/#key={}",
            self.local_addr()?,
            self.shared.cfg.inspector_key.expose()
        ))
    }

    /// Relayed connections live now.
    pub fn live(&self) -> usize {
        self.shared.hub.live()
    }

    /// Relays until `shutdown` resolves.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        let ticker = {
            let hub = self.shared.hub.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(hub::UPDATE_EVERY);
                loop {
                    every.tick().await;
                    hub.tick();
                }
            })
        };
        let accepting = async {
            loop {
                match self.listener.accept().await {
                    Ok((stream, peer)) => {
                        let shared = self.shared.clone();
                        tokio::spawn(async move {
                            let n = shared.active.fetch_add(1, Ordering::Relaxed) + 1;
                            if n > shared.cfg.max_connections {
                                tracing::warn!(%peer, "over the connection limit: answered 503");
                                let mut stream = stream;
                                let busy = HttpResponse::text(
                                    503,
                                    "too many connections: try again later\n",
                                )
                                .header("Retry-After", "1");
                                reply(&mut stream, &busy.encode().unwrap_or_default()).await;
                            } else {
                                conn::handle(stream, peer, shared.clone()).await;
                            }
                            shared.active.fetch_sub(1, Ordering::Relaxed);
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
            () = shutdown => {}
            () = accepting => {}
        }
        ticker.abort();
    }
}
