//! Message state of one direction: fragments, sizes, UTF-8 and inflation,
//! checked in the order `Connection` checks them.

use crate::config::Limits;
use crate::deflate::{Decompressor, InflateError};
use crate::error::ProtocolError;
use crate::frame::FrameHeader;
use crate::opcode::{DataKind, OpCode};
use crate::rules::RuleContext;
use crate::utf8::Utf8Validator;

use super::config::Start;
use super::record::MessagePart;
use super::violation::Violation;

/// A data message whose last frame has not been seen.
#[derive(Debug, Clone)]
pub(super) struct Open {
    pub(super) index: u64,
    pub(super) kind: Option<DataKind>,
    pub(super) first_frame: u64,
    pub(super) offset: u64,
    pub(super) fragments: u32,
    pub(super) wire_size: u64,
    /// Reassembled (inflated) bytes so far; `None` once unknown.
    pub(super) size: Option<u64>,
    pub(super) compressed: bool,
    /// The message's UTF-8 check; `None` for binary, or once it cannot go on.
    pub(super) utf8: Option<Utf8Validator>,
    pub(super) valid: bool,
}

/// Where messages stand between frames.
#[derive(Debug, Clone)]
pub(super) enum State {
    /// The bytes began mid-stream and no frame has shown a message boundary.
    Unknown,
    /// No message is open.
    Idle,
    /// A message is open.
    Open(Open),
}

/// permessage-deflate state of one direction.
#[derive(Debug)]
struct Inflate {
    decompressor: Decompressor,
    no_context_takeover: bool,
}

/// What one data frame added to its message.
#[derive(Debug, Default)]
pub(super) struct DataOutcome {
    pub(super) part: Option<MessagePart>,
    pub(super) inflated: Option<Vec<u8>>,
    pub(super) violations: Vec<Violation>,
    /// The message this frame ended.
    pub(super) ended: Option<Open>,
}

/// Message state of one direction.
#[derive(Debug)]
pub(super) struct Messages {
    pub(super) state: State,
    inflate: Option<Inflate>,
    count: u64,
}

impl Messages {
    pub(super) fn new(start: Start) -> Self {
        Self {
            state: match start {
                Start::Connection => State::Idle,
                Start::MidStream => State::Unknown,
            },
            inflate: None,
            count: 0,
        }
    }

    /// Turns on permessage-deflate for this direction.
    pub(super) fn enable_deflate(&mut self, no_context_takeover: bool) {
        self.inflate = Some(Inflate {
            decompressor: Decompressor::new(no_context_takeover),
            no_context_takeover,
        });
    }

    pub(super) fn deflate_enabled(&self) -> bool {
        self.inflate.is_some()
    }

    /// The header rules' context, as `Connection::rule_context` builds it.
    pub(super) fn rule_context(
        &self,
        sender_checked: Option<crate::role::Role>,
        limits: &Limits,
    ) -> RuleContext {
        RuleContext {
            sender: sender_checked,
            rsv_on_message_start: if self.inflate.is_some() { 0b100 } else { 0 },
            in_message: match self.state {
                State::Unknown => None,
                State::Idle => Some(false),
                State::Open(_) => Some(true),
            },
            max_frame_payload: limits.max_frame_payload,
        }
    }

    /// A validator for the arrived start of an unfinished frame, when `Connection`
    /// checks it before the frame ends (uncompressed text), with the message bytes before it.
    pub(super) fn partial_text_check(&self, header: &FrameHeader) -> Option<(Utf8Validator, u64)> {
        match (header.opcode(), &self.state) {
            (Some(OpCode::Text), _) if !header.rsv1 => Some((Utf8Validator::new(), 0)),
            (Some(OpCode::Continuation), State::Open(o))
                if o.kind == Some(DataKind::Text) && !o.compressed =>
            {
                Some((o.utf8.clone()?, o.size?))
            }
            _ => None,
        }
    }

    /// Adds a data frame (text, binary or continuation) whose unmasked payload is
    /// `payload` (only its start when `truncated`), and whose payload begins at
    /// absolute `payload_at`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn data_frame(
        &mut self,
        header: &FrameHeader,
        op: OpCode,
        payload: &[u8],
        truncated: bool,
        frame_index: u64,
        frame_at: u64,
        payload_at: u64,
        header_ok: bool,
        limits: &Limits,
    ) -> DataOutcome {
        let mut out = DataOutcome::default();
        let starts = matches!(op, OpCode::Text | OpCode::Binary);
        let previous = std::mem::replace(&mut self.state, State::Idle);
        let mut open = match previous {
            State::Open(o) if !starts => o,
            _ => {
                let kind = match op {
                    OpCode::Text => Some(DataKind::Text),
                    OpCode::Binary => Some(DataKind::Binary),
                    _ => None,
                };
                let index = self.count;
                self.count += 1;
                Open {
                    index,
                    kind,
                    first_frame: frame_index,
                    offset: frame_at,
                    fragments: 0,
                    wire_size: 0,
                    size: starts.then_some(0),
                    compressed: starts && header.rsv1 && self.inflate.is_some(),
                    utf8: (kind == Some(DataKind::Text)).then(Utf8Validator::new),
                    valid: true,
                }
            }
        };
        open.fragments = open.fragments.saturating_add(1);
        open.wire_size = open.wire_size.saturating_add(header.payload_len);
        let single = starts && header.fin && !header.rsv1;
        let mut push = |error: ProtocolError, offset: u64| {
            out.violations.push(Violation { error, offset });
        };
        // Connection: a whole uncompressed message in one frame is checked against
        // the message limit by its declared length; fragments are counted.
        if single {
            if header.payload_len > limits.max_message {
                push(
                    ProtocolError::MessageTooBig {
                        len: header.payload_len,
                        limit: limits.max_message,
                    },
                    frame_at + 1,
                );
            }
        } else if open.fragments > limits.max_fragments {
            push(
                ProtocolError::TooManyFragments {
                    limit: limits.max_fragments,
                },
                frame_at,
            );
        }
        let before = open.size;
        let mut inflated = None;
        if open.compressed {
            match (&mut self.inflate, truncated) {
                (Some(inf), false) if open.size.is_some() => {
                    let room = limits.max_message.saturating_sub(before.unwrap_or(0));
                    let mut bytes = Vec::new();
                    let mut r = inf.decompressor.inflate(payload, &mut bytes, room);
                    if r.is_ok() && header.fin {
                        r = inf.decompressor.finish(&mut bytes, room);
                    }
                    match r {
                        Ok(()) => {
                            open.size = before.map(|b| b + bytes.len() as u64);
                            inflated = Some(bytes);
                        }
                        Err(e) => {
                            let e = match e {
                                InflateError::TooBig { .. } => InflateError::TooBig {
                                    limit: limits.max_message,
                                },
                                other => other,
                            };
                            // At the payload, or at the frame when it has none (an
                            // empty final frame that ends a corrupt stream): never
                            // past the frame's last byte.
                            let at = if payload.is_empty() {
                                frame_at
                            } else {
                                payload_at
                            };
                            push(ProtocolError::Inflate(e), at);
                            open.size = None;
                            inf.decompressor = Decompressor::new(inf.no_context_takeover);
                        }
                    }
                }
                (Some(inf), _) => {
                    // A truncated frame (or a message already broken) cannot be inflated;
                    // the context is lost, so start the next message afresh.
                    open.size = None;
                    inf.decompressor = Decompressor::new(inf.no_context_takeover);
                }
                (None, _) => open.size = None,
            }
        } else if !single {
            if let Some(b) = before {
                let total = b.saturating_add(header.payload_len);
                if total > limits.max_message {
                    push(
                        ProtocolError::MessageTooBig {
                            len: total,
                            limit: limits.max_message,
                        },
                        frame_at + 1,
                    );
                }
            }
        }
        if !open.compressed {
            open.size = match (before, truncated) {
                (Some(b), false) => Some(b.saturating_add(payload.len() as u64)),
                _ => None,
            };
        }
        let content: Option<&[u8]> = if open.compressed {
            inflated.as_deref()
        } else {
            Some(payload)
        };
        match (open.utf8.as_mut(), content) {
            (Some(v), Some(content)) => {
                let mut r = v.feed(content);
                if r.is_ok() && header.fin && !truncated {
                    r = v.finish();
                }
                match r {
                    Err(e) => {
                        let within = if open.compressed {
                            0
                        } else {
                            e.offset.saturating_sub(before.unwrap_or(0))
                        };
                        push(
                            ProtocolError::InvalidUtf8 { offset: e.offset },
                            payload_at + within,
                        );
                        open.utf8 = None;
                    }
                    Ok(()) if truncated => open.utf8 = None,
                    Ok(()) => {}
                }
            }
            _ => open.utf8 = None,
        }
        open.valid &= header_ok && out.violations.is_empty();
        out.part = Some(MessagePart {
            message: open.index,
            kind: open.kind,
            fragment: open.fragments,
            compressed: open.compressed,
        });
        out.inflated = inflated;
        if header.fin {
            out.ended = Some(open);
        } else {
            self.state = State::Open(open);
        }
        out
    }
}
