//! A broken rule located in the byte stream.

use crate::close::CloseCode;
use crate::error::ProtocolError;

/// A rule a direction's bytes break: the core's error and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The error `Connection` fails with for this rule.
    pub error: ProtocolError,
    /// Absolute offset, in the direction's byte stream, of the offending byte.
    pub offset: u64,
}

impl Violation {
    /// The close code the core sends for this violation (from [`ProtocolError::close_code`]).
    pub fn close_code(&self) -> CloseCode {
        self.error.close_code()
    }

    /// The rule's name: the error's variant, such as `UnmaskedClientFrame`.
    pub fn rule(&self) -> &'static str {
        rule_name(&self.error)
    }
}

/// The variant name of `e`, such as `ReservedBits`: a stable name for a rule.
pub fn rule_name(e: &ProtocolError) -> &'static str {
    match e {
        ProtocolError::ReservedBits { .. } => "ReservedBits",
        ProtocolError::ReservedOpcode { .. } => "ReservedOpcode",
        ProtocolError::UnmaskedClientFrame => "UnmaskedClientFrame",
        ProtocolError::MaskedServerFrame => "MaskedServerFrame",
        ProtocolError::ControlFrameTooLong { .. } => "ControlFrameTooLong",
        ProtocolError::FragmentedControlFrame => "FragmentedControlFrame",
        ProtocolError::NonMinimalLength { .. } => "NonMinimalLength",
        ProtocolError::LengthHighBit => "LengthHighBit",
        ProtocolError::ContinuationWithoutStart => "ContinuationWithoutStart",
        ProtocolError::MessageInterleaved { .. } => "MessageInterleaved",
        ProtocolError::FrameTooBig { .. } => "FrameTooBig",
        ProtocolError::MessageTooBig { .. } => "MessageTooBig",
        ProtocolError::TooManyFragments { .. } => "TooManyFragments",
        ProtocolError::InvalidUtf8 { .. } => "InvalidUtf8",
        ProtocolError::InvalidClose(_) => "InvalidClose",
        ProtocolError::Inflate(_) => "Inflate",
        ProtocolError::IdleTimeout { .. } => "IdleTimeout",
    }
}
