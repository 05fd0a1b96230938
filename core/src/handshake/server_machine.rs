//! The server side of the opening handshake as a sans-IO state machine.
//!
//! [`ServerHandshake`] owns the head buffer and its limit and the handshake
//! deadline; [`ServerHandshake::step`] hands the host the parsed request
//! ([`PendingRequest`]) before anything is answered, and the host's decision
//! ([`PendingRequest::accept`] or [`PendingRequest::decline`]) gives the
//! answer's bytes and, on success, the [`Connection`].

use std::time::Duration;

use super::head::HeadBuffer;
use super::outcome::{HandshakeInfo, Upgraded};
use super::response::HttpResponse;
use super::server::{
    answer, check_request, parse_request, rejection, Offered, Request, ServerHandshakeConfig,
    UpgradeOffer,
};
use super::HandshakeError;
use crate::{Config, Connection};

/// The server side of the opening handshake, reading the request head.
///
/// Feed it bytes ([`Self::input_buffer`] and [`Self::commit_input`], or
/// [`Self::feed`]), tell it the time ([`Self::handle_timeout`] once at the start
/// and whenever [`Self::poll_timeout`] passes), and [`Self::step`] it:
///
/// ```
/// use framewire_core::handshake::{Acceptance, ServerHandshake, ServerHandshakeConfig, ServerStep};
/// use framewire_core::Config;
///
/// let mut hs = ServerHandshake::new(Config::default(), ServerHandshakeConfig::default());
/// hs.feed(b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
///           Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
/// let ServerStep::Request(pending) = hs.step() else { panic!("the head is complete") };
/// assert_eq!(pending.request().path, "/chat");
/// let upgraded = pending.accept(Acceptance::default()).expect("a valid upgrade");
/// assert!(upgraded.response.starts_with(b"HTTP/1.1 101"));
/// ```
#[derive(Debug)]
pub struct ServerHandshake {
    config: Config,
    options: ServerHandshakeConfig,
    head: HeadBuffer,
}

/// Where a [`ServerHandshake`] stands after a [`ServerHandshake::step`].
#[derive(Debug)]
pub enum ServerStep {
    /// The head is not complete: give the machine more bytes, then step again.
    NeedInput(ServerHandshake),
    /// The request head is complete and nothing is answered yet: decide.
    Request(PendingRequest),
    /// The head cannot make a request (malformed, too large, too slow): write
    /// the answer and close the transport.
    Declined(Declined),
}

impl ServerHandshake {
    /// A handshake with the connection's `config` (head limit
    /// `config.limits.max_handshake_bytes`, deadline `config.handshake_timeout`)
    /// that negotiates by `options`.
    pub fn new(config: Config, options: ServerHandshakeConfig) -> Self {
        let head = HeadBuffer::new(
            config.limits.max_handshake_bytes + 1,
            config.handshake_timeout,
        );
        Self {
            config,
            options,
            head,
        }
    }

    /// Room to read at least one and up to `min` bytes into; then call
    /// [`Self::commit_input`]. It never grows the buffer past the head limit
    /// (plus one byte, which proves a head too large).
    pub fn input_buffer(&mut self, min: usize) -> &mut [u8] {
        self.head.input_buffer(min)
    }

    /// Records that `n` bytes were read into [`Self::input_buffer`].
    pub fn commit_input(&mut self, n: usize) {
        self.head.commit(n);
    }

    /// Copies received bytes in (all of them: bytes after the head are the first frames).
    pub fn feed(&mut self, data: &[u8]) {
        self.head.feed(data);
    }

    /// Tells the machine the time: the first call starts the handshake
    /// deadline, a call at or after it makes the next [`Self::step`] decline
    /// with 408.
    pub fn handle_timeout(&mut self, now: Duration) {
        self.head.handle_timeout(now);
    }

    /// The handshake deadline, once [`Self::handle_timeout`] started it.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.head.poll_timeout()
    }

    /// Parses what has arrived.
    pub fn step(self) -> ServerStep {
        let limit = self.config.limits.max_handshake_bytes;
        let parsed = match parse_request(self.head.bytes(), limit) {
            Ok(Some(parsed)) => parsed,
            Ok(None) if self.head.timed_out() => {
                let millis = self.head.timeout().as_millis() as u64;
                return ServerStep::Declined(Declined::for_error(HandshakeError::TimedOut {
                    millis,
                }));
            }
            Ok(None) => return ServerStep::NeedInput(self),
            Err(e) => return ServerStep::Declined(Declined::for_error(e)),
        };
        let (request, head_len) = parsed;
        let offer = check_request(&request);
        ServerStep::Request(PendingRequest {
            config: self.config,
            options: self.options,
            bytes: self.head.into_bytes(),
            head_len,
            request,
            offer,
        })
    }
}

/// A complete request head, not answered yet. Look at it, then
/// [`Self::accept`] or [`Self::decline`].
#[derive(Debug)]
pub struct PendingRequest {
    config: Config,
    options: ServerHandshakeConfig,
    /// The head and the bytes after it.
    bytes: Vec<u8>,
    head_len: usize,
    request: Request,
    offer: Result<UpgradeOffer, HandshakeError>,
}

/// What the host answers an upgrade request with, besides what the
/// [`ServerHandshakeConfig`] settles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acceptance {
    /// The subprotocol to answer with; it must be one the client offered.
    /// `None` picks the configured one (the server's most preferred offered one).
    pub protocol: Option<String>,
    /// Extra header fields for the 101 answer (cookies, say).
    pub headers: Vec<(String, String)>,
}

impl PendingRequest {
    /// A request whose head something else read and parsed (hyper, say): it
    /// is checked as [`ServerHandshake::step`] checks one. [`Self::head`] and
    /// [`Self::rest`] are empty; bytes after the head stay with that host.
    pub fn from_request(config: Config, options: ServerHandshakeConfig, request: Request) -> Self {
        let offer = check_request(&request);
        Self {
            config,
            options,
            bytes: Vec::new(),
            head_len: 0,
            request,
            offer,
        }
    }

    /// The request: method, target, HTTP version and every header.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The request head's bytes, exactly as received.
    pub fn head(&self) -> &[u8] {
        &self.bytes[..self.head_len]
    }

    /// The bytes received after the head (the first frames, if the client did not wait).
    pub fn rest(&self) -> &[u8] {
        &self.bytes[self.head_len..]
    }

    /// The upgrade the request offers, or why it is not a valid WebSocket
    /// upgrade (RFC 6455 section 4.2.1). A plain GET for a page gives
    /// [`HandshakeError::NotUpgrade`].
    pub fn offer(&self) -> Result<&UpgradeOffer, &HandshakeError> {
        self.offer.as_ref()
    }

    /// Accepts the upgrade: checks the origin, negotiates the extensions, and
    /// builds the 101 answer and the connection. When the request is not a
    /// valid upgrade, or the host's choice is invalid, gives the answer that
    /// says why (4xx, or 500 for the host's own mistake) instead.
    pub fn accept(self, acceptance: Acceptance) -> Result<Upgraded, Declined> {
        let offer = match &self.offer {
            Ok(offer) => offer,
            Err(e) => return Err(Declined::for_error(e.clone())),
        };
        let accepted = answer(
            &Offered::from(offer),
            &self.options,
            acceptance.protocol.as_deref(),
            &acceptance.headers,
        )
        .map_err(Declined::for_error)?;
        let mut connection = Connection::server(self.config);
        if let (Some(agreed), Some(cfg)) = (accepted.deflate, &self.options.deflate) {
            connection.enable_deflate(agreed, cfg);
        }
        connection.feed(&self.bytes[self.head_len..]);
        let Request { path, headers, .. } = self.request;
        Ok(Upgraded {
            response: accepted.response,
            connection,
            info: HandshakeInfo {
                path,
                protocol: accepted.protocol,
                extensions: accepted.extensions,
                deflate: accepted.deflate,
                headers,
            },
        })
    }

    /// Answers with a plain HTTP response instead (a refusal, a redirect, a
    /// page). A response that cannot be sent as it is (status 101 or out of
    /// range, a header that would split the head) becomes a 500 that says why.
    pub fn decline(self, response: HttpResponse) -> Declined {
        match response.encode() {
            Ok(bytes) => Declined {
                status: response.status,
                error: None,
                response: bytes,
            },
            Err(e) => Declined::for_error(e),
        }
    }
}

/// A handshake that ends without an upgrade: write [`Self::response`], then
/// close the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declined {
    /// The status answered.
    pub status: u16,
    /// Why, when the machine refused on its own (a bad or late request, an
    /// invalid host answer); `None` when the host declined.
    pub error: Option<HandshakeError>,
    /// The answer's bytes.
    pub response: Vec<u8>,
}

impl Declined {
    fn for_error(e: HandshakeError) -> Self {
        let answer = rejection(&e);
        Self {
            status: answer.status,
            response: answer.encode().unwrap_or_default(),
            error: Some(e),
        }
    }
}
