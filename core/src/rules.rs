//! The header rules of RFC 6455 sections 5.2-5.5, shared by the connection and the inspector.

use crate::error::ProtocolError;
use crate::frame::{FrameHeader, LengthEncoding};
use crate::opcode::OpCode;
use crate::role::Role;

/// What a receiver knows when it checks a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleContext {
    /// Who sent the frame, if known (decides the masking rule).
    pub sender: Option<Role>,
    /// RSV bits an extension allows on the first frame of a data message (RSV1 is 0b100).
    pub rsv_on_message_start: u8,
    /// Whether a fragmented message is open, if known.
    pub in_message: Option<bool>,
    /// Largest accepted payload.
    pub max_frame_payload: u64,
}

impl Default for RuleContext {
    fn default() -> Self {
        Self {
            sender: None,
            rsv_on_message_start: 0,
            in_message: None,
            max_frame_payload: u64::MAX >> 1,
        }
    }
}

/// Every rule `header` breaks, in wire order.
pub fn header_violations(header: &FrameHeader, ctx: &RuleContext) -> Vec<ProtocolError> {
    candidates(header, ctx).into_iter().flatten().collect()
}

/// The first rule `header` breaks.
pub fn check_header(header: &FrameHeader, ctx: &RuleContext) -> Result<(), ProtocolError> {
    candidates(header, ctx)
        .into_iter()
        .flatten()
        .next()
        .map_or(Ok(()), Err)
}

/// Each rule's verdict, in the order the fields appear on the wire.
fn candidates(header: &FrameHeader, ctx: &RuleContext) -> [Option<ProtocolError>; 7] {
    let op = header.opcode();
    let starts_message = matches!(op, Some(OpCode::Text | OpCode::Binary));
    let allowed_rsv = if starts_message {
        ctx.rsv_on_message_start
    } else {
        0
    };
    let bits = header.rsv_bits() & !allowed_rsv;
    let len = header.payload_len;
    [
        (bits != 0).then_some(ProtocolError::ReservedBits { bits }),
        op.is_none().then_some(ProtocolError::ReservedOpcode {
            opcode: header.opcode,
        }),
        (header.is_control() && !header.fin).then_some(ProtocolError::FragmentedControlFrame),
        match (ctx.in_message, op) {
            (Some(false), Some(OpCode::Continuation)) => {
                Some(ProtocolError::ContinuationWithoutStart)
            }
            (Some(true), Some(o @ (OpCode::Text | OpCode::Binary))) => {
                Some(ProtocolError::MessageInterleaved { opcode: o.name() })
            }
            _ => None,
        },
        match (ctx.sender, header.mask.is_some()) {
            (Some(Role::Client), false) => Some(ProtocolError::UnmaskedClientFrame),
            (Some(Role::Server), true) => Some(ProtocolError::MaskedServerFrame),
            _ => None,
        },
        if header.is_control() && len > 125 {
            Some(ProtocolError::ControlFrameTooLong { len })
        } else if header.length_encoding == LengthEncoding::Bits64 && len >> 63 != 0 {
            Some(ProtocolError::LengthHighBit)
        } else if header.length_encoding != LengthEncoding::minimal(len) {
            Some(ProtocolError::NonMinimalLength {
                len,
                bits: header.length_encoding.bits(),
            })
        } else {
            None
        },
        (len > ctx.max_frame_payload).then_some(ProtocolError::FrameTooBig {
            len,
            limit: ctx.max_frame_payload,
        }),
    ]
}
