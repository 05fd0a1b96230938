//! Why an opening handshake was refused.

/// A handshake problem, with the HTTP status a server answers it with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The head is not valid HTTP/1.1.
    #[error("malformed HTTP: {0}")]
    Malformed(String),
    /// The head is longer than the limit.
    #[error("handshake head is over the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// More headers than the parser accepts.
    #[error("more than {0} header lines")]
    TooManyHeaders(usize),
    /// The method is not GET.
    #[error("method {0} is not allowed: a WebSocket upgrade is a GET")]
    NotGet(String),
    /// HTTP/1.0 or older.
    #[error("HTTP/1.{0} is too old: a WebSocket upgrade needs HTTP/1.1")]
    HttpVersion(u8),
    /// No Host header.
    #[error("missing Host header")]
    MissingHost,
    /// `Upgrade: websocket` is absent.
    #[error("missing 'Upgrade: websocket' header")]
    NotUpgrade,
    /// `Connection` lacks the `Upgrade` token.
    #[error("'Connection' header does not contain the 'Upgrade' token")]
    MissingConnectionUpgrade,
    /// A version other than 13.
    #[error("unsupported Sec-WebSocket-Version {0:?}: only 13 is supported")]
    UnsupportedVersion(String),
    /// No key.
    #[error("missing Sec-WebSocket-Key header")]
    MissingKey,
    /// A key that is not base64 of 16 bytes.
    #[error("Sec-WebSocket-Key {0:?} is not base64 of 16 bytes")]
    InvalidKey(String),
    /// A header that must appear once appeared more often.
    #[error("header {0} appears more than once")]
    DuplicateHeader(&'static str),
    /// Origin not in the allowed list.
    #[error("origin {0:?} is not allowed")]
    OriginNotAllowed(String),
    /// A malformed extension header.
    #[error("invalid Sec-WebSocket-Extensions: {0}")]
    InvalidExtensions(String),
    /// A malformed subprotocol list.
    #[error("invalid Sec-WebSocket-Protocol: {0}")]
    InvalidProtocol(String),
    /// The server answered with something other than 101.
    #[error("server answered {status} {reason} instead of 101 Switching Protocols")]
    NotSwitching {
        /// Its status.
        status: u16,
        /// Its reason phrase.
        reason: String,
    },
    /// Wrong or missing `Sec-WebSocket-Accept`.
    #[error("Sec-WebSocket-Accept {got:?} does not match the key (expected {expected:?})")]
    BadAccept {
        /// What came.
        got: String,
        /// What the key gives.
        expected: String,
    },
    /// The server chose a subprotocol the client did not offer.
    #[error("server chose subprotocol {0:?}, which was not offered")]
    ProtocolNotOffered(String),
    /// The server answered an extension the client did not offer.
    #[error("server chose extension {0:?}, which was not offered")]
    ExtensionNotOffered(String),
    /// The server's extension answer is not acceptable.
    #[error("server's extension answer is not acceptable: {0}")]
    ExtensionRefused(String),
    /// The head did not arrive within the handshake timeout.
    #[error("the handshake did not finish within {millis} ms")]
    TimedOut {
        /// The timeout.
        millis: u64,
    },
    /// The peer ended the transport before the handshake finished.
    #[error("the peer closed the connection before the handshake finished")]
    Closed,
    /// This client's own request cannot be sent (a header that would split the
    /// head, a target with spaces), or no randomness was available for its key.
    #[error("invalid request from this client: {0}")]
    InvalidRequest(String),
    /// The host's own answer is not valid (a subprotocol the client did not
    /// offer, a header that would split the head): a bug in the host, answered 500.
    #[error("invalid answer from this server: {0}")]
    InvalidAnswer(String),
}

impl HandshakeError {
    /// The HTTP status a server sends for this problem.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotGet(_) => 405,
            Self::HttpVersion(_) => 505,
            Self::UnsupportedVersion(_) => 426,
            Self::OriginNotAllowed(_) => 403,
            Self::TooLarge { .. } | Self::TooManyHeaders(_) => 431,
            Self::TimedOut { .. } => 408,
            Self::InvalidAnswer(_) => 500,
            _ => 400,
        }
    }
}
