//! What can go wrong in the tokio host.

use std::time::Duration;

use framewire_core::handshake::HandshakeError;
use framewire_core::{ProtocolError, SendError};

/// An error of a [`crate::WebSocket`], of [`crate::accept`] or of [`crate::connect`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The opening handshake was refused or malformed.
    #[error("opening handshake failed: {0}")]
    Handshake(#[from] HandshakeError),
    /// The opening handshake did not finish in time.
    #[error("opening handshake did not finish within {0:?}")]
    HandshakeTimeout(Duration),
    /// The transport ended before the opening handshake was complete.
    #[error("the connection ended during the opening handshake")]
    HandshakeEof,
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
    /// A `ws://` URL that cannot be used.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The operating system's random number generator failed (mask keys need it).
    #[error("random number generator failed: {0}")]
    Random(getrandom::Error),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
