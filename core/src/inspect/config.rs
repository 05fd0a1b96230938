//! How an inspector is set up, and what can be wrong with that setup.

use crate::config::Limits;
use crate::deflate::{DeflateParamError, DeflateParams, EXTENSION_NAME};
use crate::frame::MAX_HEADER_LEN;
use crate::handshake::{parse_extensions, parse_response, HandshakeError};

/// Where the inspected bytes begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Start {
    /// At the start of the connection (after the handshake): no message is open.
    Connection,
    /// Somewhere in the middle (pasted bytes): continuation rules are not applied
    /// until a frame shows where messages start.
    MidStream,
}

/// What an inspector checks, and how much it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InspectorConfig {
    /// The limits the observed endpoint enforces (as in its `Config`).
    pub limits: Limits,
    /// Where the bytes begin.
    pub start: Start,
    /// Check who masks (clients must, servers must not); off when the sender is unknown.
    pub check_masking: bool,
    /// Most bytes held per direction for an unfinished frame; a longer frame is
    /// reported truncated at this length and the rest of it skipped.
    /// At least [`MAX_HEADER_LEN`].
    pub max_buffer: usize,
}

impl InspectorConfig {
    /// A config for `limits`, holding one whole frame of the largest allowed size.
    pub fn with_limits(limits: Limits) -> Self {
        let frame = usize::try_from(limits.max_frame_payload).unwrap_or(usize::MAX);
        Self {
            limits,
            start: Start::Connection,
            check_masking: true,
            max_buffer: frame.saturating_add(MAX_HEADER_LEN),
        }
    }
}

impl Default for InspectorConfig {
    /// The default [`Limits`], from the start of a connection, masking checked.
    fn default() -> Self {
        Self::with_limits(Limits::default())
    }
}

/// Why an inspector could not be set up as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// `max_buffer` cannot hold a frame header.
    #[error("buffer limit of {0} bytes is too small: a frame header needs up to {MAX_HEADER_LEN}")]
    BufferTooSmall(usize),
    /// The response head does not parse.
    #[error("the response head cannot be read: {0}")]
    Handshake(#[from] HandshakeError),
    /// The response head has no blank line ending it.
    #[error("the response head is incomplete: no blank line ends it")]
    IncompleteHead,
    /// The head is not a `101 Switching Protocols` answer.
    #[error("the response has status {0}, not 101: no WebSocket connection follows it")]
    NotSwitching(u16),
    /// The permessage-deflate answer has invalid parameters.
    #[error("the permessage-deflate answer is invalid: {0}")]
    Deflate(#[from] DeflateParamError),
}

/// Largest response head read by [`deflate_answer`].
pub const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// The permessage-deflate parameters a server's response head agrees to, or
/// `None` when it does not agree to permessage-deflate.
pub fn deflate_answer(head: &[u8]) -> Result<Option<DeflateParams>, InspectError> {
    let (resp, _) = parse_response(head, MAX_RESPONSE_HEAD)?.ok_or(InspectError::IncompleteHead)?;
    if resp.status != 101 {
        return Err(InspectError::NotSwitching(resp.status));
    }
    let extensions = parse_extensions(resp.headers.get_all("sec-websocket-extensions"))?;
    extensions
        .iter()
        .find(|e| e.name.eq_ignore_ascii_case(EXTENSION_NAME))
        .map(DeflateParams::parse)
        .transpose()
        .map_err(Into::into)
}
