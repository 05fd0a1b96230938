//! The opening handshakes on a tokio transport: short read and write loops
//! around the core's [`ServerHandshake`] and [`ClientHandshake`] machines. No
//! header is parsed or checked here.

use framewire_core::deflate::DeflateConfig;
use framewire_core::handshake::{
    Acceptance, ClientHandshake, ClientRequest, ClientStep, Declined, HttpResponse, PendingRequest,
    ServerHandshake, ServerHandshakeConfig, ServerStep,
};
use framewire_core::Config;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use std::path::PathBuf;

use crate::client_stream::ClientStream;
use crate::clock;
use crate::error::{Error, Result};
use crate::proxy::{self, ProxyConfig, ProxyError, ProxyUrl};
use crate::stream::WebSocket;
use crate::tls_client;
use crate::url::WsUrl;

/// Bytes asked for per read while a head arrives.
const HEAD_READ: usize = 4096;

/// Settings of [`accept`].
#[derive(Debug, Clone, Default)]
pub struct AcceptConfig {
    /// Limits and timers of the connection, the head limit and the handshake timeout included.
    pub ws: Config,
    /// Subprotocols, allowed origins and permessage-deflate.
    pub handshake: ServerHandshakeConfig,
}

/// Settings of [`connect`] and [`client_handshake`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Limits and timers of the connection; `ws.handshake_timeout` bounds
    /// connecting (TCP, the proxy's tunnel, TLS) and the handshake together.
    pub ws: Config,
    /// Subprotocols offered, most preferred first.
    pub protocols: Vec<String>,
    /// The Origin header to send, if any.
    pub origin: Option<String>,
    /// Extra request header fields.
    pub headers: Vec<(String, String)>,
    /// Offer permessage-deflate with these preferences (by default [`DeflateConfig::client`]:
    /// `client_max_window_bits` without a value, as browsers offer); `None` does not offer it.
    pub deflate: Option<DeflateConfig>,
    /// PEM files of extra CA certificates trusted for `wss://`, besides the
    /// built-in webpki-roots set (the platform's store is never read).
    pub ca_files: Vec<PathBuf>,
    /// Skip the verification of the server's certificate for `wss://`: any
    /// certificate for any name is accepted. For tests only.
    pub insecure: bool,
    /// The HTTP proxy to go through (by default from the environment).
    pub proxy: ProxyConfig,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            ws: Config::default(),
            protocols: Vec::new(),
            origin: None,
            headers: Vec::new(),
            deflate: Some(DeflateConfig::client()),
            ca_files: Vec::new(),
            insecure: false,
            proxy: ProxyConfig::FromEnv,
        }
    }
}

/// How reading a request head ended without a request.
#[derive(Debug)]
pub(crate) enum HeadEnd {
    /// The machine declined (malformed, too large, too slow): write the answer.
    Declined(Declined),
    /// The transport ended or failed first.
    Io(Error),
}

/// Reads into `hs` until it holds a whole request head. The deadline is the
/// machine's: a read still waiting when it passes makes the machine decline.
pub(crate) async fn read_request<S>(
    io: &mut S,
    mut hs: ServerHandshake,
) -> std::result::Result<PendingRequest, HeadEnd>
where
    S: AsyncRead + Unpin,
{
    if hs.poll_timeout().is_none() {
        hs.handle_timeout(clock::now());
    }
    loop {
        hs = match hs.step() {
            ServerStep::Request(pending) => return Ok(pending),
            ServerStep::Declined(d) => return Err(HeadEnd::Declined(d)),
            ServerStep::NeedInput(mut hs) => {
                let deadline = hs.poll_timeout().unwrap_or_else(clock::now);
                let read = tokio::time::timeout_at(
                    clock::deadline(deadline),
                    io.read(hs.input_buffer(HEAD_READ)),
                )
                .await;
                match read {
                    Ok(Ok(0)) => {
                        return Err(HeadEnd::Io(Error::Handshake(
                            framewire_core::handshake::HandshakeError::Closed,
                        )))
                    }
                    Ok(Ok(n)) => hs.commit_input(n),
                    Ok(Err(e)) => return Err(HeadEnd::Io(e.into())),
                    Err(_) => hs.handle_timeout(clock::now()),
                }
                hs
            }
        };
    }
}

/// Runs the server side of the opening handshake on `io` and returns the
/// connection. Refused requests get their HTTP answer before the error is
/// returned. Any path is accepted; look at [`WebSocket::handshake`], or use
/// [`accept_with`] to decide per request.
pub async fn accept<S>(io: S, cfg: &AcceptConfig) -> Result<WebSocket<S>>
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
{
    accept_with(io, cfg, |_| Ok(Acceptance::default())).await
}

/// Like [`accept`], but shows the request to `decide` as an
/// `http::Request<()>` (method, URI with path and query, headers) before
/// anything is answered. `decide` returns the [`Acceptance`] (a subprotocol
/// the client offered, extra response headers such as cookies) or an
/// [`HttpResponse`] to answer instead, with its status, headers and body (an
/// `http::Response<Vec<u8>>` converts with `.into()`), which ends in
/// [`Error::Declined`]. Authentication, origin checks and routing go here:
///
/// ```no_run
/// use framewire_server::{accept_with, AcceptConfig};
/// use framewire_core::handshake::{Acceptance, HttpResponse};
///
/// # async fn run(tcp: tokio::net::TcpStream) -> framewire_server::Result<()> {
/// let ws = accept_with(tcp, &AcceptConfig::default(), |req| {
///     let token = req.uri().query().unwrap_or("").contains("token=s3cret");
///     if req.uri().path() != "/feed" || !token {
///         return Err(HttpResponse::text(403, "a token is needed\n"));
///     }
///     Ok(Acceptance {
///         headers: vec![("Set-Cookie".into(), "seen=1".into())],
///         ..Acceptance::default()
///     })
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub async fn accept_with<S, F>(mut io: S, cfg: &AcceptConfig, decide: F) -> Result<WebSocket<S>>
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
    F: FnOnce(&http::Request<()>) -> std::result::Result<Acceptance, HttpResponse>,
{
    let hs = ServerHandshake::new(cfg.ws.clone(), cfg.handshake.clone());
    let pending = match read_request(&mut io, hs).await {
        Ok(p) => p,
        Err(HeadEnd::Declined(d)) => return Err(decline(&mut io, d).await),
        Err(HeadEnd::Io(e)) => return Err(e),
    };
    let upgraded = match pending.request().to_http() {
        Ok(request) => match decide(&request) {
            Ok(acceptance) => pending.accept(acceptance),
            Err(response) => Err(pending.decline(response)),
        },
        // A target `http` cannot hold is no upgrade the host could route.
        Err(e) => Err(pending.decline(HttpResponse::text(400, &format!("{e}\n")))),
    };
    let upgraded = match upgraded {
        Ok(u) => u,
        Err(d) => return Err(decline(&mut io, d).await),
    };
    io.write_all(&upgraded.response).await?;
    io.flush().await?;
    Ok(WebSocket::from_parts(
        io,
        upgraded.connection,
        &[],
        upgraded.info,
    ))
}

/// Writes a declined handshake's answer, ends the transport, and returns the error.
async fn decline<S: AsyncWrite + Unpin>(io: &mut S, d: Declined) -> Error {
    let _ = io.write_all(&d.response).await;
    let _ = io.shutdown().await;
    match d.error {
        Some(e) => Error::Handshake(e),
        None => Error::Declined { status: d.status },
    }
}

/// Connects to a `ws://` or `wss://` URL and runs the client handshake: TCP
/// (through an HTTP proxy's CONNECT tunnel when [`ClientConfig::proxy`] says
/// so), TLS for `wss://` (SNI and verification for the URL's host, ALPN
/// `http/1.1`), then the upgrade, all within `cfg.ws.handshake_timeout`.
/// User information in the URL is sent as `Authorization: Basic`.
pub async fn connect(url: &str, cfg: &ClientConfig) -> Result<WebSocket<ClientStream>> {
    let parsed = WsUrl::parse(url)?;
    let tls = if parsed.tls {
        Some(tls_client::client_config(&cfg.ca_files, cfg.insecure)?)
    } else {
        None
    };
    let proxy = cfg.proxy.proxy_for(&parsed)?;
    let timeout = cfg.ws.handshake_timeout;
    let started = tokio::time::Instant::now();
    let io = tokio::time::timeout(timeout, open(&parsed, proxy.as_ref(), tls, cfg))
        .await
        .map_err(|_| {
            Error::Handshake(framewire_core::handshake::HandshakeError::TimedOut {
                millis: timeout.as_millis() as u64,
            })
        })??;
    let mut rest = cfg.clone();
    rest.ws.handshake_timeout = timeout.saturating_sub(started.elapsed());
    client_handshake(io, &parsed, &rest).await
}

/// Opens the transport for `url`: TCP to the server or to `proxy` and its
/// tunnel, then TLS when `tls` is given.
async fn open(
    url: &WsUrl,
    proxy: Option<&ProxyUrl>,
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    cfg: &ClientConfig,
) -> Result<ClientStream> {
    let tcp = match proxy {
        None => tokio::net::TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|source| Error::Connect {
                addr: host_port(&url.host, url.port),
                source,
            })?,
        Some(p) => {
            let mut tcp = tokio::net::TcpStream::connect((p.host.as_str(), p.port))
                .await
                .map_err(|source| ProxyError::Connect {
                    proxy: p.to_string(),
                    source,
                })?;
            let limit = cfg.ws.limits.max_handshake_bytes;
            proxy::tunnel(&mut tcp, p, &url.host, url.port, limit).await?;
            tcp
        }
    };
    tcp.set_nodelay(true)?;
    Ok(match tls {
        None => ClientStream::plain(tcp, proxy.is_some()),
        Some(config) => {
            let tls = tls_client::handshake(tcp, &url.host, config).await?;
            ClientStream::tls(tls, proxy.is_some())
        }
    })
}

/// `host:port`, with brackets around an IPv6 address.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Runs the client side of the opening handshake for `url` on an open transport
/// (TCP, TLS, a proxy's tunnel, anything). The URL's user information, if any,
/// goes out as `Authorization: Basic` unless `cfg.headers` holds an Authorization.
/// A non-101 answer gives [`Error::Refused`] with its status, headers and body.
pub async fn client_handshake<S>(mut io: S, url: &WsUrl, cfg: &ClientConfig) -> Result<WebSocket<S>>
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let request = ClientRequest {
        host: url.authority.clone(),
        path: url.path.clone(),
        protocols: cfg.protocols.clone(),
        origin: cfg.origin.clone(),
        headers: request_headers(url, cfg),
        ..ClientRequest::default()
    };
    let mut hs = ClientHandshake::new(cfg.ws.clone(), request, cfg.deflate)?;
    hs.handle_timeout(clock::now());
    let deadline = clock::deadline(hs.poll_timeout().unwrap_or_else(clock::now));
    let written = tokio::time::timeout_at(deadline, async {
        io.write_all(hs.pending_output()).await?;
        io.flush().await
    })
    .await;
    match written {
        Ok(result) => result?,
        Err(_) => hs.handle_timeout(clock::now()),
    }
    let n = hs.pending_output().len();
    hs.consume_output(n);
    loop {
        hs = match hs.step() {
            ClientStep::Established(e) => {
                return Ok(WebSocket::from_parts(io, e.connection, &[], e.info))
            }
            ClientStep::Refused(r) => return Err(Error::Refused(Box::new(r))),
            ClientStep::Failed(e) => return Err(Error::Handshake(e)),
            ClientStep::NeedInput(mut hs) => {
                let read = tokio::time::timeout_at(deadline, io.read(hs.input_buffer(HEAD_READ)));
                match read.await {
                    Ok(Ok(0)) => hs.end_of_input(),
                    Ok(Ok(n)) => hs.commit_input(n),
                    Ok(Err(e)) => return Err(e.into()),
                    Err(_) => hs.handle_timeout(clock::now()),
                }
                hs
            }
        };
    }
}

/// `cfg.headers`, plus `Authorization: Basic` from the URL's user information.
fn request_headers(url: &WsUrl, cfg: &ClientConfig) -> Vec<(String, String)> {
    let mut headers = cfg.headers.clone();
    if let Some(c) = &url.credentials {
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        {
            headers.push(("Authorization".to_owned(), c.basic()));
        }
    }
    headers
}
