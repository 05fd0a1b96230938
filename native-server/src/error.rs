//! What can go wrong in the tokio host.

use std::time::Duration;

use framewire_core::handshake::{HandshakeError, Refusal};
use framewire_core::{ProtocolError, SendError};

use crate::proxy::ProxyError;
use crate::tls_client::TlsError;

/// An error of a [`crate::WebSocket`], of [`crate::accept`] or of [`crate::connect`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// No TCP connection to the server.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The `host:port` connected to.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// TLS (`wss://`) failed: an untrusted or wrong certificate, a server not
    /// speaking TLS, or an unusable CA file.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The HTTP proxy could not be used or refused the tunnel.
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    /// The opening handshake was refused or malformed.
    #[error("opening handshake failed: {0}")]
    Handshake(#[from] HandshakeError),
    /// The server answered the upgrade with another status: its status,
    /// headers and the start of its body.
    #[error("the server refused the upgrade: {} {}", .0.status, .0.reason)]
    Refused(Box<Refusal>),
    /// The host's own decision declined the upgrade with this status (the answer was sent).
    #[error("the upgrade was declined with status {status}")]
    Declined {
        /// The status answered.
        status: u16,
    },
    /// The peer broke RFC 6455 (or a limit); the close frame was sent.
    #[error("protocol violation by the peer: {0}")]
    Protocol(#[from] ProtocolError),
    /// A message could not be queued.
    #[error("cannot send: {0}")]
    Send(#[from] SendError),
    /// The transport ended without a close handshake.
    #[error("the peer ended the connection without a close handshake")]
    ConnectionLost,
    /// The peer took no byte of pending output for this long (the write-stall
    /// limit, [`crate::DriverConfig::write_stall`]); the connection was dropped.
    #[error("the peer did not read for {0:?}: connection dropped")]
    WriteStalled(Duration),
    /// The connection is over (closed, or failed earlier): nothing more can be sent.
    #[error("the connection is over")]
    Closed,
    /// A `ws://` or `wss://` URL that cannot be used.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// hyper did not hand over the upgraded connection (feature `hyper`): the
    /// server does not serve upgrades, or the client left before the 101.
    #[cfg(feature = "hyper")]
    #[error("hyper did not hand over the connection: {0}")]
    Upgrade(hyper::Error),
    /// The operating system's random number generator failed (mask keys need it).
    #[error("random number generator failed: {0}")]
    Random(getrandom::Error),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
