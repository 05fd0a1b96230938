//! Protocol violations: what went wrong, where, and which close code it earns.

use crate::close::{CloseCode, ClosePayloadError};

/// A broken rule of RFC 6455 (or a configured limit) found in received frames.
///
/// `offset` fields are byte offsets into the frame that broke the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// RSV bits set without an extension that defines them.
    #[error("reserved bits {bits:#05b} set without a negotiated extension that defines them")]
    ReservedBits {
        /// The RSV1-3 bits (RSV1 is 0b100).
        bits: u8,
    },
    /// An opcode RFC 6455 reserves.
    #[error("opcode {opcode:#x} is reserved")]
    ReservedOpcode {
        /// The 4-bit value.
        opcode: u8,
    },
    /// A client frame arrived unmasked.
    #[error("client frames must be masked, this one is not")]
    UnmaskedClientFrame,
    /// A server frame arrived masked.
    #[error("server frames must not be masked, this one is")]
    MaskedServerFrame,
    /// A control frame with more than 125 bytes of payload.
    #[error("control frame payload of {len} bytes: at most 125 allowed")]
    ControlFrameTooLong {
        /// Its declared length.
        len: u64,
    },
    /// A control frame without FIN.
    #[error("control frames must not be fragmented (FIN is clear)")]
    FragmentedControlFrame,
    /// The length did not use the smallest encoding.
    #[error("payload length {len} written with {bits} bits: the minimal encoding must be used")]
    NonMinimalLength {
        /// The length.
        len: u64,
        /// The bits used (16 or 64).
        bits: u8,
    },
    /// A 64-bit length with its most significant bit set.
    #[error("64-bit payload length has its most significant bit set")]
    LengthHighBit,
    /// A continuation frame with no message to continue.
    #[error("continuation frame without a message to continue")]
    ContinuationWithoutStart,
    /// A new text or binary frame while a fragmented message is unfinished.
    #[error("new {opcode} message started before the fragmented message in progress ended")]
    MessageInterleaved {
        /// `text` or `binary`.
        opcode: &'static str,
    },
    /// A frame's payload is over the configured limit.
    #[error("frame payload of {len} bytes is over the limit of {limit}")]
    FrameTooBig {
        /// Declared length.
        len: u64,
        /// The limit.
        limit: u64,
    },
    /// A message is over the configured limit.
    #[error("message of at least {len} bytes is over the limit of {limit}")]
    MessageTooBig {
        /// Bytes so far.
        len: u64,
        /// The limit.
        limit: u64,
    },
    /// A message has more fragments than allowed.
    #[error("message has more than {limit} fragments")]
    TooManyFragments {
        /// The limit.
        limit: u32,
    },
    /// Text that is not UTF-8.
    #[error("text message is not valid UTF-8 (at byte {offset} of the message)")]
    InvalidUtf8 {
        /// Offset into the message.
        offset: u64,
    },
    /// A malformed close payload.
    #[error("{0}")]
    InvalidClose(#[from] ClosePayloadError),
    /// A compressed message could not be inflated within the limits.
    #[error("{0}")]
    Inflate(#[from] crate::deflate::InflateError),
    /// The peer stopped answering.
    #[error("no data from the peer for {millis} ms (idle timeout)")]
    IdleTimeout {
        /// The configured timeout.
        millis: u64,
    },
}

impl From<crate::utf8::Utf8Error> for ProtocolError {
    fn from(e: crate::utf8::Utf8Error) -> Self {
        Self::InvalidUtf8 { offset: e.offset }
    }
}

impl ProtocolError {
    /// The close code to send for this violation.
    pub fn close_code(&self) -> CloseCode {
        match self {
            Self::FrameTooBig { .. }
            | Self::MessageTooBig { .. }
            | Self::TooManyFragments { .. }
            | Self::Inflate(crate::deflate::InflateError::TooBig { .. }) => CloseCode::TOO_BIG,
            Self::InvalidUtf8 { .. } | Self::InvalidClose(ClosePayloadError::InvalidReason(_)) => {
                CloseCode::INVALID_PAYLOAD
            }
            Self::IdleTimeout { .. } => CloseCode::GOING_AWAY,
            Self::Inflate(_) => CloseCode::INVALID_PAYLOAD,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }

    /// Offset of the offending field within its frame's header, for header rules.
    pub fn header_offset(&self) -> Option<usize> {
        match self {
            Self::ReservedBits { .. }
            | Self::ReservedOpcode { .. }
            | Self::FragmentedControlFrame
            | Self::ContinuationWithoutStart
            | Self::MessageInterleaved { .. } => Some(0),
            Self::UnmaskedClientFrame
            | Self::MaskedServerFrame
            | Self::ControlFrameTooLong { .. }
            | Self::NonMinimalLength { .. }
            | Self::FrameTooBig { .. } => Some(1),
            Self::LengthHighBit => Some(2),
            _ => None,
        }
    }
}
