//! Reading an HTTP head off a transport, and the two opening handshakes for embedders.

use std::time::Duration;

use framewire_core::deflate::{client_offer, DeflateConfig};
use framewire_core::handshake::{
    self, generate_key, parse_response, validate_response, ClientRequest, HandshakeError, Request,
    ServerHandshakeConfig,
};
use framewire_core::{Config, Connection};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::{Error, Result};
use crate::stream::{HandshakeInfo, WebSocket};
use crate::url::WsUrl;

/// Settings of [`accept`].
#[derive(Debug, Clone)]
pub struct AcceptConfig {
    /// Limits and timers of the connection.
    pub ws: Config,
    /// Subprotocols and allowed origins.
    pub handshake: ServerHandshakeConfig,
    /// How long the client may take to send its request.
    pub handshake_timeout: Duration,
}

impl Default for AcceptConfig {
    fn default() -> Self {
        Self {
            ws: Config::default(),
            handshake: ServerHandshakeConfig::default(),
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// Settings of [`connect`] and [`client_handshake`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Limits and timers of the connection.
    pub ws: Config,
    /// Subprotocols offered, most preferred first.
    pub protocols: Vec<String>,
    /// The Origin header to send, if any.
    pub origin: Option<String>,
    /// How long connecting and the handshake may take.
    pub handshake_timeout: Duration,
    /// Offer permessage-deflate with these preferences (offered by default); `None` does not offer it.
    pub deflate: Option<DeflateConfig>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            ws: Config::default(),
            protocols: Vec::new(),
            origin: None,
            deflate: Some(DeflateConfig::default()),
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// Reads from `io` into `buf` until `parse` finds a complete head; returns it
/// and its length. Bytes after the head stay in `buf`.
pub(crate) async fn read_head<S, T>(
    io: &mut S,
    buf: &mut Vec<u8>,
    max: usize,
    parse: impl Fn(&[u8], usize) -> std::result::Result<Option<(T, usize)>, HandshakeError>,
) -> Result<(T, usize)>
where
    S: AsyncRead + Unpin,
{
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(done) = parse(buf, max)? {
            return Ok(done);
        }
        let room = (max + 1).saturating_sub(buf.len()).clamp(1, chunk.len());
        let n = io.read(&mut chunk[..room]).await?;
        if n == 0 {
            return Err(Error::HandshakeEof);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Runs the server side of the opening handshake on `io` and returns the
/// connection. Refused requests get their HTTP error response before the error
/// is returned. Any path is accepted; look at [`WebSocket::handshake`].
pub async fn accept<S>(mut io: S, cfg: &AcceptConfig) -> Result<WebSocket<S>>
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let mut buf = Vec::new();
    let max = cfg.ws.limits.max_handshake_bytes;
    let head = tokio::time::timeout(
        cfg.handshake_timeout,
        read_head(&mut io, &mut buf, max, handshake::parse_request),
    )
    .await
    .map_err(|_| Error::HandshakeTimeout(cfg.handshake_timeout))?;
    let (request, used): (Request, usize) = match head {
        Ok(h) => h,
        Err(Error::Handshake(e)) => return Err(refuse(&mut io, e).await),
        Err(e) => return Err(e),
    };
    let upgrade = match handshake::validate_request(&request) {
        Ok(u) => u,
        Err(e) => return Err(refuse(&mut io, e).await),
    };
    let accepted = match handshake::accept(&upgrade, &cfg.handshake) {
        Ok(a) => a,
        Err(e) => return Err(refuse(&mut io, e).await),
    };
    io.write_all(&accepted.response).await?;
    io.flush().await?;
    let info = HandshakeInfo {
        path: upgrade.path,
        protocol: accepted.protocol,
        headers: upgrade.headers,
    };
    let mut conn = Connection::server(cfg.ws.clone());
    if let (Some(agreed), Some(deflate)) = (accepted.deflate, &cfg.handshake.deflate) {
        conn.enable_deflate(agreed, deflate);
    }
    Ok(WebSocket::from_parts(io, conn, &buf[used..], info))
}

/// Writes the HTTP error response for `e` and returns it as an [`Error`].
async fn refuse<S: AsyncWrite + Unpin>(io: &mut S, e: HandshakeError) -> Error {
    let _ = io.write_all(&handshake::rejection_response(&e)).await;
    let _ = io.shutdown().await;
    Error::Handshake(e)
}

/// Connects to a `ws://` URL over TCP and runs the client handshake.
pub async fn connect(url: &str, cfg: &ClientConfig) -> Result<WebSocket<tokio::net::TcpStream>> {
    let parsed = WsUrl::parse(url)?;
    let tcp = tokio::time::timeout(
        cfg.handshake_timeout,
        tokio::net::TcpStream::connect((parsed.host.as_str(), parsed.port)),
    )
    .await
    .map_err(|_| Error::HandshakeTimeout(cfg.handshake_timeout))??;
    tcp.set_nodelay(true)?;
    client_handshake(tcp, &parsed, cfg).await
}

/// Runs the client side of the opening handshake for `url` on an open transport.
pub async fn client_handshake<S>(mut io: S, url: &WsUrl, cfg: &ClientConfig) -> Result<WebSocket<S>>
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let request = ClientRequest {
        host: url.authority.clone(),
        path: url.path.clone(),
        protocols: cfg.protocols.clone(),
        extensions: cfg.deflate.iter().map(client_offer).collect(),
        origin: cfg.origin.clone(),
        headers: Vec::new(),
    };
    let key = generate_key().map_err(Error::Random)?;
    let conn = Connection::client(cfg.ws.clone()).map_err(Error::Random)?;
    io.write_all(&request.encode(&key)).await?;
    io.flush().await?;
    let mut buf = Vec::new();
    let max = cfg.ws.limits.max_handshake_bytes;
    let (response, used) = tokio::time::timeout(
        cfg.handshake_timeout,
        read_head(&mut io, &mut buf, max, parse_response),
    )
    .await
    .map_err(|_| Error::HandshakeTimeout(cfg.handshake_timeout))??;
    let accepted = validate_response(&response, &key, &request)?;
    let mut conn = conn;
    if let (Some(agreed), Some(deflate)) = (accepted.deflate, &cfg.deflate) {
        conn.enable_deflate(agreed, deflate);
    }
    let info = HandshakeInfo {
        path: url.path.clone(),
        protocol: accepted.protocol,
        headers: response.headers,
    };
    Ok(WebSocket::from_parts(io, conn, &buf[used..], info))
}
