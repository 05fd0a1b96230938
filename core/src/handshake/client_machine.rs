//! The client side of the opening handshake as a sans-IO state machine.
//!
//! [`ClientHandshake`] builds the request (written from
//! [`ClientHandshake::pending_output`]), owns the response buffer, its limit
//! and the deadline, checks the answer, and gives the [`Connection`], or the
//! status, headers and body of a refusal.

use std::time::Duration;

use super::client::{parse_response, validate_response, ClientRequest};
use super::head::HeadBuffer;
use super::outcome::{Established, HandshakeInfo};
use super::response::check_fields;
use super::{generate_key, HandshakeError, Headers};
use crate::deflate::{client_offer, DeflateConfig, EXTENSION_NAME};
use crate::{Config, Connection};

/// The client side of the opening handshake.
///
/// Write [`Self::pending_output`] (the request) and [`Self::consume_output`]
/// what was written; read into [`Self::input_buffer`] and
/// [`Self::commit_input`] (or [`Self::feed`]); call [`Self::end_of_input`]
/// when the server ends the transport; tell it the time with
/// [`Self::handle_timeout`]; [`Self::step`] after each read.
#[derive(Debug)]
pub struct ClientHandshake {
    request: ClientRequest,
    deflate: Option<DeflateConfig>,
    key: String,
    out: Vec<u8>,
    written: usize,
    head: HeadBuffer,
    limit: usize,
    connection: Connection,
}

/// Where a [`ClientHandshake`] stands after a [`ClientHandshake::step`].
#[derive(Debug)]
pub enum ClientStep {
    /// The answer is not complete: give the machine more bytes, then step again.
    NeedInput(ClientHandshake),
    /// The server switched protocols: the connection is ready.
    Established(Established),
    /// The server answered with another status: its status, headers and body.
    Refused(Refusal),
    /// The answer broke RFC 6455 (or HTTP), or did not come in time.
    Failed(HandshakeError),
}

/// A server's answer other than 101.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// Every header.
    pub headers: Headers,
    /// The body, or its start: at most the head limit
    /// (`Limits::max_handshake_bytes`) of it, and only what arrived before the
    /// server ended the transport or the deadline passed.
    pub body: Vec<u8>,
}

impl Refusal {
    /// The refusal as a [`HandshakeError::NotSwitching`].
    pub fn error(&self) -> HandshakeError {
        HandshakeError::NotSwitching {
            status: self.status,
            reason: self.reason.clone(),
        }
    }
}

impl ClientHandshake {
    /// A handshake for `request`, offering permessage-deflate with `deflate`
    /// when given, with a fresh random key and mask-key seed.
    pub fn new(
        config: Config,
        request: ClientRequest,
        deflate: Option<DeflateConfig>,
    ) -> Result<Self, HandshakeError> {
        let random = |e: getrandom::Error| HandshakeError::InvalidRequest(e.to_string());
        let key = generate_key().map_err(random)?;
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(random)?;
        Self::with_key_and_seed(config, request, deflate, key, seed)
    }

    /// [`Self::new`] with a given key and mask-key seed (for tests and replays).
    pub fn with_key_and_seed(
        config: Config,
        mut request: ClientRequest,
        deflate: Option<DeflateConfig>,
        key: String,
        seed: [u8; 32],
    ) -> Result<Self, HandshakeError> {
        check_request(&request)?;
        if let Some(d) = &deflate {
            if !request.extensions.iter().any(|e| e.name == EXTENSION_NAME) {
                request.extensions.push(client_offer(d));
            }
        }
        let out = request.encode(&key);
        let limit = config.limits.max_handshake_bytes;
        let head = HeadBuffer::new(2 * limit + 1, config.handshake_timeout);
        Ok(Self {
            request,
            deflate,
            key,
            out,
            written: 0,
            head,
            limit,
            connection: Connection::client_with_seed(config, seed),
        })
    }

    /// The request bytes not yet written.
    pub fn pending_output(&self) -> &[u8] {
        &self.out[self.written..]
    }

    /// Records that `n` bytes of [`Self::pending_output`] were written.
    pub fn consume_output(&mut self, n: usize) {
        self.written = (self.written + n).min(self.out.len());
    }

    /// The `Sec-WebSocket-Key` sent.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Room to read at least one and up to `min` bytes into; then call
    /// [`Self::commit_input`]. Bounded by twice the head limit (a head and the
    /// start of a refusal's body).
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

    /// Records that the server ended the transport.
    pub fn end_of_input(&mut self) {
        self.head.end();
    }

    /// Tells the machine the time: the first call starts the deadline; at or
    /// after it the next [`Self::step`] fails (or gives the refusal as far as it came).
    pub fn handle_timeout(&mut self, now: Duration) {
        self.head.handle_timeout(now);
    }

    /// The handshake deadline, once [`Self::handle_timeout`] started it.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.head.poll_timeout()
    }

    /// Parses what has arrived.
    pub fn step(self) -> ClientStep {
        let (response, head_len) = match parse_response(self.head.bytes(), self.limit) {
            Ok(Some(parsed)) => parsed,
            Ok(None) if self.head.timed_out() => {
                let millis = self.head.timeout().as_millis() as u64;
                return ClientStep::Failed(HandshakeError::TimedOut { millis });
            }
            Ok(None) if self.head.ended() => return ClientStep::Failed(HandshakeError::Closed),
            Ok(None) => return ClientStep::NeedInput(self),
            Err(e) => return ClientStep::Failed(e),
        };
        if response.status != 101 {
            let body = &self.head.bytes()[head_len..];
            let declared = response
                .headers
                .get("content-length")
                .and_then(|v| v.parse::<usize>().ok());
            let want = declared.unwrap_or(usize::MAX).min(self.limit);
            let done = body.len() >= want || self.head.ended() || self.head.timed_out();
            if !done {
                return ClientStep::NeedInput(self);
            }
            let body = body[..body.len().min(want)].to_vec();
            return ClientStep::Refused(Refusal {
                status: response.status,
                reason: response.reason,
                headers: response.headers,
                body,
            });
        }
        let accepted = match validate_response(&response, &self.key, &self.request) {
            Ok(a) => a,
            Err(e) => return ClientStep::Failed(e),
        };
        let mut connection = self.connection;
        if let (Some(agreed), Some(cfg)) = (accepted.deflate, &self.deflate) {
            connection.enable_deflate(agreed, cfg);
        }
        connection.feed(&self.head.bytes()[head_len..]);
        ClientStep::Established(Established {
            connection,
            info: HandshakeInfo {
                path: self.request.path,
                protocol: accepted.protocol,
                extensions: accepted.extensions,
                deflate: accepted.deflate,
                headers: response.headers,
            },
        })
    }
}

/// Refuses requests whose head could not be sent as meant.
fn check_request(request: &ClientRequest) -> Result<(), HandshakeError> {
    let visible = |s: &str| s.bytes().all(|b| b.is_ascii_graphic());
    if !visible(&request.host) {
        return Err(HandshakeError::InvalidRequest(format!(
            "host {:?} holds spaces or control characters",
            request.host
        )));
    }
    if !request.path.is_empty() && (!request.path.starts_with('/') || !visible(&request.path)) {
        return Err(HandshakeError::InvalidRequest(format!(
            "target {:?} must start with '/' and hold no spaces or control characters",
            request.path
        )));
    }
    let origin = request
        .origin
        .iter()
        .map(|o| ("Origin".to_owned(), o.clone()));
    let protocols = request
        .protocols
        .iter()
        .map(|p| ("Sec-WebSocket-Protocol".to_owned(), p.clone()));
    let fields: Vec<(String, String)> = request
        .headers
        .iter()
        .cloned()
        .chain(origin)
        .chain(protocols)
        .collect();
    check_fields(&fields).map_err(|e| match e {
        HandshakeError::InvalidAnswer(why) => HandshakeError::InvalidRequest(why),
        other => other,
    })
}
