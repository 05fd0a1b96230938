//! The server's side: parse and check an upgrade request, answer it.

use super::extensions::{format_extensions, parse_extensions, ExtensionOffer};
use super::http::{
    has_token, head_len, header_tokens, is_token, own_headers, parse_error, single, valid_key,
    MAX_HEADERS,
};
use super::response::{check_fields, push_field, HttpResponse};
use super::{push_accept_key, HandshakeError, Headers};
use crate::deflate::{server_negotiate, DeflateConfig, Negotiated};

/// A parsed HTTP request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method, such as `GET`.
    pub method: String,
    /// The request target, such as `/echo?x=1`.
    pub path: String,
    /// The minor HTTP version (1 for HTTP/1.1).
    pub http_minor: u8,
    /// Every header, in order.
    pub headers: Headers,
}

impl Request {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// True when the request asks for a WebSocket upgrade at all.
    pub fn wants_upgrade(&self) -> bool {
        has_token(&self.headers, "upgrade", "websocket")
    }
}

/// Parses a request head arriving in any chunks: `Ok(None)` until it is complete,
/// then the request and the bytes it took.
pub fn parse_request(
    buf: &[u8],
    max_bytes: usize,
) -> Result<Option<(Request, usize)>, HandshakeError> {
    let mut raw = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut raw);
    let status = req.parse(buf).map_err(parse_error)?;
    match head_len(status, buf.len(), max_bytes)? {
        None => Ok(None),
        Some(n) => {
            let request = Request {
                method: req.method.unwrap_or_default().to_owned(),
                path: req.path.unwrap_or_default().to_owned(),
                http_minor: req.version.unwrap_or_default(),
                headers: own_headers(req.headers)?,
            };
            Ok(Some((request, n)))
        }
    }
}

/// A request that passed every check of RFC 6455 section 4.2.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRequest {
    /// The request target.
    pub path: String,
    /// The Host header.
    pub host: String,
    /// The Sec-WebSocket-Key.
    pub key: String,
    /// The Origin header, if any.
    pub origin: Option<String>,
    /// Subprotocols offered, in the client's order.
    pub protocols: Vec<String>,
    /// Extensions offered, in the client's order.
    pub extensions: Vec<ExtensionOffer>,
    /// Every header, for the application.
    pub headers: Headers,
}

/// Checks a parsed request against RFC 6455 section 4.2.1.
pub fn validate_request(req: &Request) -> Result<UpgradeRequest, HandshakeError> {
    let checked = check_request(req)?;
    Ok(checked.with(req.path.clone(), req.headers.clone()))
}

/// What an upgrade request offers, as RFC 6455 section 4.2.1's checks found it
/// (its path and headers stay in the [`Request`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeOffer {
    /// The Host header.
    pub host: String,
    /// The Sec-WebSocket-Key.
    pub key: String,
    /// The Origin header, if any.
    pub origin: Option<String>,
    /// Subprotocols offered, in the client's order.
    pub protocols: Vec<String>,
    /// Extensions offered, in the client's order.
    pub extensions: Vec<ExtensionOffer>,
}

impl UpgradeOffer {
    fn with(self, path: String, headers: Headers) -> UpgradeRequest {
        UpgradeRequest {
            path,
            host: self.host,
            key: self.key,
            origin: self.origin,
            protocols: self.protocols,
            extensions: self.extensions,
            headers,
        }
    }
}

/// Checks a request against RFC 6455 section 4.2.1 without copying its path and headers.
pub(crate) fn check_request(req: &Request) -> Result<UpgradeOffer, HandshakeError> {
    if req.method != "GET" {
        return Err(HandshakeError::NotGet(req.method.clone()));
    }
    if req.http_minor < 1 {
        return Err(HandshakeError::HttpVersion(req.http_minor));
    }
    let headers: &Headers = &req.headers;
    let host = single(headers, "host")?.ok_or(HandshakeError::MissingHost)?;
    if !has_token(headers, "upgrade", "websocket") {
        return Err(HandshakeError::NotUpgrade);
    }
    if !has_token(headers, "connection", "upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    match single(headers, "sec-websocket-version")? {
        Some("13") => {}
        Some(v) => return Err(HandshakeError::UnsupportedVersion(v.to_owned())),
        None => return Err(HandshakeError::UnsupportedVersion(String::new())),
    }
    let key = single(headers, "sec-websocket-key")?.ok_or(HandshakeError::MissingKey)?;
    if !valid_key(key) {
        return Err(HandshakeError::InvalidKey(key.to_owned()));
    }
    let protocols: Vec<String> = header_tokens(headers, "sec-websocket-protocol")
        .map(|p| {
            if is_token(p) {
                Ok(p.to_owned())
            } else {
                Err(HandshakeError::InvalidProtocol(format!(
                    "{p:?} is not a token"
                )))
            }
        })
        .collect::<Result<_, _>>()?;
    let extensions = parse_extensions(headers.get_all("sec-websocket-extensions"))?;
    Ok(UpgradeOffer {
        host: host.to_owned(),
        key: key.to_owned(),
        origin: single(headers, "origin")?.map(str::to_owned),
        protocols,
        extensions,
    })
}

/// What a server accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerHandshakeConfig {
    /// Subprotocols supported, most preferred first.
    pub protocols: Vec<String>,
    /// Origins allowed; `None` allows any (and requests without Origin).
    pub allowed_origins: Option<Vec<String>>,
    /// permessage-deflate preferences; `None` declines compression.
    pub deflate: Option<DeflateConfig>,
}

/// A successful negotiation: the 101 response and what was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accept {
    /// The subprotocol chosen, if any.
    pub protocol: Option<String>,
    /// The extensions accepted, as answered.
    pub extensions: Vec<ExtensionOffer>,
    /// permessage-deflate as agreed, to pass to [`crate::Connection::enable_deflate`].
    pub deflate: Option<Negotiated>,
    /// The response head to write.
    pub response: Vec<u8>,
}

/// Room for a 101 response with a subprotocol and a deflate answer, so
/// building it takes one allocation.
const RESPONSE_CAPACITY: usize = 256;

/// Negotiates and builds the 101 response. Subprotocol: the server's most
/// preferred one that the client offered.
pub fn accept(req: &UpgradeRequest, cfg: &ServerHandshakeConfig) -> Result<Accept, HandshakeError> {
    let offer = Offered {
        key: &req.key,
        origin: req.origin.as_deref(),
        protocols: &req.protocols,
        extensions: &req.extensions,
    };
    answer(&offer, cfg, None, &[])
}

/// The parts of an offer the answer depends on.
pub(crate) struct Offered<'a> {
    pub(crate) key: &'a str,
    pub(crate) origin: Option<&'a str>,
    pub(crate) protocols: &'a [String],
    pub(crate) extensions: &'a [ExtensionOffer],
}

impl<'a> From<&'a UpgradeOffer> for Offered<'a> {
    fn from(o: &'a UpgradeOffer) -> Self {
        Self {
            key: &o.key,
            origin: o.origin.as_deref(),
            protocols: &o.protocols,
            extensions: &o.extensions,
        }
    }
}

/// Checks the origin, negotiates, and builds the 101 response with `protocol`
/// (else the configured choice) and the extra `headers`.
pub(crate) fn answer(
    offer: &Offered<'_>,
    cfg: &ServerHandshakeConfig,
    protocol: Option<&str>,
    headers: &[(String, String)],
) -> Result<Accept, HandshakeError> {
    if let Some(allowed) = &cfg.allowed_origins {
        let origin = offer.origin.unwrap_or("");
        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
            return Err(HandshakeError::OriginNotAllowed(origin.to_owned()));
        }
    }
    let protocol = match protocol {
        Some(p) if offer.protocols.iter().any(|o| o == p) => Some(p.to_owned()),
        Some(p) => {
            return Err(HandshakeError::InvalidAnswer(format!(
                "subprotocol {p:?} was not offered by the client"
            )))
        }
        None => cfg
            .protocols
            .iter()
            .find(|p| offer.protocols.iter().any(|o| o == *p))
            .cloned(),
    };
    check_fields(headers)?;
    let deflate = cfg
        .deflate
        .as_ref()
        .and_then(|d| server_negotiate(offer.extensions, d));
    let (extensions, deflate) = match deflate {
        Some((answer, agreed)) => (vec![answer], Some(agreed)),
        None => (Vec::new(), None),
    };
    let mut response = String::with_capacity(RESPONSE_CAPACITY);
    response.push_str(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ",
    );
    push_accept_key(offer.key, &mut response);
    response.push_str("\r\n");
    if let Some(p) = &protocol {
        push_field(&mut response, "Sec-WebSocket-Protocol", p);
    }
    if !extensions.is_empty() {
        push_field(
            &mut response,
            "Sec-WebSocket-Extensions",
            &format_extensions(&extensions),
        );
    }
    for (name, value) in headers {
        push_field(&mut response, name, value);
    }
    response.push_str("\r\n");
    Ok(Accept {
        protocol,
        extensions,
        deflate,
        response: response.into_bytes(),
    })
}

/// An HTTP error response for a refused handshake, with a plain-text body that says why.
pub fn rejection_response(err: &HandshakeError) -> Vec<u8> {
    rejection(err).encode().unwrap_or_else(|_| {
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .to_vec()
    })
}

/// The [`HttpResponse`] that refuses a handshake for `err`.
pub fn rejection(err: &HandshakeError) -> HttpResponse {
    let status = err.status();
    let response = HttpResponse::text(status, &format!("{err}\n"));
    match status {
        426 => response
            .header("Sec-WebSocket-Version", "13")
            .header("Upgrade", "websocket"),
        405 => response.header("Allow", "GET"),
        _ => response,
    }
}
