//! The client's side: build an upgrade request, check the server's answer.

use base64::Engine;

use super::extensions::{format_extensions, parse_extensions, ExtensionOffer};
use super::http::{
    has_token, head_len, header_tokens, own_headers, parse_error, single, MAX_HEADERS,
};
use super::{accept_key, HandshakeError, Headers};
use crate::deflate::{client_accept, Negotiated, EXTENSION_NAME};

/// What a client asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientRequest {
    /// Host header value (`host:port`).
    pub host: String,
    /// Request target, starting with `/`.
    pub path: String,
    /// Subprotocols offered, most preferred first.
    pub protocols: Vec<String>,
    /// Extensions offered.
    pub extensions: Vec<ExtensionOffer>,
    /// Origin header, if any.
    pub origin: Option<String>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
}

impl ClientRequest {
    /// The request head for `key` (see [`generate_key`]).
    pub fn encode(&self, key: &str) -> Vec<u8> {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        let mut s = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n",
            self.host
        );
        if !self.protocols.is_empty() {
            s.push_str(&format!(
                "Sec-WebSocket-Protocol: {}\r\n",
                self.protocols.join(", ")
            ));
        }
        if !self.extensions.is_empty() {
            s.push_str(&format!(
                "Sec-WebSocket-Extensions: {}\r\n",
                format_extensions(&self.extensions)
            ));
        }
        if let Some(o) = &self.origin {
            s.push_str(&format!("Origin: {o}\r\n"));
        }
        for (k, v) in &self.headers {
            s.push_str(&format!("{k}: {v}\r\n"));
        }
        s.push_str("\r\n");
        s.into_bytes()
    }
}

/// A fresh random `Sec-WebSocket-Key`: base64 of 16 random bytes.
pub fn generate_key() -> Result<String, getrandom::Error> {
    let mut raw = [0u8; 16];
    getrandom::getrandom(&mut raw)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(raw))
}

/// A parsed HTTP response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Every header, in order.
    pub headers: Headers,
}

/// Parses a response head arriving in any chunks.
pub fn parse_response(
    buf: &[u8],
    max_bytes: usize,
) -> Result<Option<(Response, usize)>, HandshakeError> {
    let mut raw = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut raw);
    let status = resp.parse(buf).map_err(parse_error)?;
    match head_len(status, buf.len(), max_bytes)? {
        None => Ok(None),
        Some(n) => Ok(Some((
            Response {
                status: resp.code.unwrap_or_default(),
                reason: resp.reason.unwrap_or_default().to_owned(),
                headers: own_headers(resp.headers)?,
            },
            n,
        ))),
    }
}

/// What the server chose.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    /// The subprotocol, if any.
    pub protocol: Option<String>,
    /// The extensions, as answered.
    pub extensions: Vec<ExtensionOffer>,
    /// permessage-deflate as agreed, to pass to [`crate::Connection::enable_deflate`].
    pub deflate: Option<Negotiated>,
}

/// Checks the server's answer to `request` sent with `key` (RFC 6455 section 4.1).
pub fn validate_response(
    resp: &Response,
    key: &str,
    request: &ClientRequest,
) -> Result<Accepted, HandshakeError> {
    if resp.status != 101 {
        return Err(HandshakeError::NotSwitching {
            status: resp.status,
            reason: resp.reason.clone(),
        });
    }
    let headers = &resp.headers;
    if !has_token(headers, "upgrade", "websocket") {
        return Err(HandshakeError::NotUpgrade);
    }
    if !has_token(headers, "connection", "upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    let expected = accept_key(key);
    let got = single(headers, "sec-websocket-accept")?.unwrap_or("");
    if got != expected {
        return Err(HandshakeError::BadAccept {
            got: got.to_owned(),
            expected,
        });
    }
    let mut chosen = header_tokens(headers, "sec-websocket-protocol");
    let protocol = chosen.next().map(str::to_owned);
    if chosen.next().is_some() {
        return Err(HandshakeError::DuplicateHeader("sec-websocket-protocol"));
    }
    if let Some(p) = &protocol {
        if !request.protocols.iter().any(|o| o == p) {
            return Err(HandshakeError::ProtocolNotOffered(p.clone()));
        }
    }
    let extensions = parse_extensions(headers.get_all("sec-websocket-extensions"))?;
    let mut deflate = None;
    for e in &extensions {
        // Names match as the server matches them, ASCII case-insensitively; the
        // answer may answer any of several offers of the same extension.
        let mut offers = request
            .extensions
            .iter()
            .filter(|o| o.name.eq_ignore_ascii_case(&e.name))
            .peekable();
        if offers.peek().is_none() {
            return Err(HandshakeError::ExtensionNotOffered(e.name.clone()));
        }
        if e.name.eq_ignore_ascii_case(EXTENSION_NAME) {
            if deflate.is_some() {
                return Err(HandshakeError::DuplicateHeader("permessage-deflate answer"));
            }
            let mut first_error = None;
            for offer in offers {
                match client_accept(e, offer) {
                    Ok(agreed) => {
                        deflate = Some(agreed);
                        break;
                    }
                    Err(err) => {
                        first_error.get_or_insert(err);
                    }
                }
            }
            if deflate.is_none() {
                let err = first_error.map_or_else(String::new, |e| e.to_string());
                return Err(HandshakeError::ExtensionRefused(err));
            }
        }
    }
    Ok(Accepted {
        protocol,
        extensions,
        deflate,
    })
}
