//! One direction of the connection: its bytes, its frames, its close.

use std::time::Duration;

use crate::close::{parse_close_payload, ClosePayloadError};
use crate::config::Limits;
use crate::error::ProtocolError;
use crate::frame::{decode_frame, Decoded, FrameHeader};
use crate::mask::apply_mask;
use crate::opcode::OpCode;
use crate::rules::{header_violations, RuleContext};

use super::config::InspectorConfig;
use super::direction::Direction;
use super::ending::CloseSeen;
use super::message::{Messages, Open};
use super::record::{CloseInfo, FrameRecord, MessageRecord, Observation, Unfinished};
use super::violation::Violation;

/// A frame at least this long that starts the buffer takes the buffer rather than a copy.
const TAKE_AT_LEAST: usize = 64 * 1024;

/// A frame longer than the buffer, reported truncated; its remaining bytes are skipped.
#[derive(Debug, Clone, Copy)]
struct Skipping {
    header: FrameHeader,
    offset: u64,
    remaining: u64,
}

/// The state of one direction.
#[derive(Debug)]
pub(super) struct Side {
    direction: Direction,
    check_masking: bool,
    limits: Limits,
    max_buffer: usize,
    /// Bytes of the unfinished frame.
    buf: Vec<u8>,
    /// Absolute offset of `buf[0]`.
    base: u64,
    skipping: Option<Skipping>,
    fed: u64,
    frames: u64,
    pub(super) messages: Messages,
    pub(super) close: Option<CloseSeen>,
    pub(super) after_close: u64,
    /// The first violation in a reported frame, with the feed call that found it.
    pub(super) first_violation: Option<(u64, Violation)>,
}

impl Side {
    pub(super) fn new(direction: Direction, config: &InspectorConfig) -> Self {
        Self {
            direction,
            check_masking: config.check_masking,
            limits: config.limits,
            max_buffer: config.max_buffer,
            buf: Vec::new(),
            base: 0,
            skipping: None,
            fed: 0,
            frames: 0,
            messages: Messages::new(config.start),
            close: None,
            after_close: 0,
            first_violation: None,
        }
    }

    /// Bytes fed so far.
    pub(super) fn position(&self) -> u64 {
        self.fed
    }

    /// Bytes held for an unfinished frame.
    pub(super) fn buffered(&self) -> usize {
        self.buf.len()
    }

    fn rule_context(&self) -> RuleContext {
        let sender = self.check_masking.then(|| self.direction.sender());
        self.messages.rule_context(sender, &self.limits)
    }

    /// Takes the next bytes of this direction.
    pub(super) fn feed(
        &mut self,
        mut input: &[u8],
        time: Option<Duration>,
        seq: u64,
        out: &mut Vec<Observation>,
    ) {
        self.fed = self.fed.saturating_add(input.len() as u64);
        loop {
            if self.close.is_some() {
                self.after_close = self.after_close.saturating_add(input.len() as u64);
                return;
            }
            if let Some(s) = self.skipping.as_mut() {
                let n = usize::try_from(s.remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                s.remaining -= n as u64;
                self.base += n as u64;
                input = &input[n..];
                if s.remaining == 0 {
                    self.skipping = None;
                }
            }
            if input.is_empty() {
                return;
            }
            // The buffer never grows past `max_buffer` (at least a whole header),
            // so each round consumes bytes or reports a truncated frame.
            let room = self.max_buffer.saturating_sub(self.buf.len());
            let n = room.min(input.len());
            self.buf.extend_from_slice(&input[..n]);
            input = &input[n..];
            self.drain_frames(time, seq, out);
        }
    }

    /// Takes the next bytes of this direction, owned: when nothing is buffered they become
    /// the buffer (no copy), else they are appended to it (else fed as [`Side::feed`]).
    pub(super) fn feed_owned(
        &mut self,
        bytes: Vec<u8>,
        time: Option<Duration>,
        seq: u64,
        out: &mut Vec<Observation>,
    ) {
        let room = self.max_buffer.saturating_sub(self.buf.len());
        if self.close.is_some() || self.skipping.is_some() || bytes.len() > room {
            return self.feed(&bytes, time, seq, out);
        }
        self.fed = self.fed.saturating_add(bytes.len() as u64);
        if self.buf.is_empty() {
            self.buf = bytes;
        } else {
            self.buf.extend_from_slice(&bytes);
        }
        self.drain_frames(time, seq, out);
    }

    /// Reserves room for the rest of the frame the buffer ends inside, as its header
    /// declares, up to the buffer limit.
    pub(super) fn reserve_declared(&mut self) {
        if self.skipping.is_some() || self.close.is_some() {
            return;
        }
        if let Decoded::HeaderOnly { needed, .. } = decode_frame(&self.buf) {
            let needed = usize::try_from(needed).unwrap_or(usize::MAX);
            let room = self.max_buffer.saturating_sub(self.buf.len());
            self.buf.reserve_exact(needed.min(room));
        }
    }

    /// Reports every frame at the start of the buffer that can be reported.
    fn drain_frames(&mut self, time: Option<Duration>, seq: u64, out: &mut Vec<Observation>) {
        let mut at = 0;
        while self.close.is_none() {
            let rest = &self.buf[at..];
            match decode_frame(rest) {
                Decoded::Frame(f) => {
                    let (header, len) = (f.header, f.len);
                    let offset = self.base + at as u64;
                    let bytes = if at == 0 && len >= TAKE_AT_LEAST && len >= rest.len() - len {
                        // A large frame that starts the buffer: the buffer becomes the
                        // record's and the bytes after the frame (fewer) the new buffer.
                        self.take_front(len)
                    } else {
                        at += len;
                        rest[..len].to_vec()
                    };
                    self.frame(header, bytes, offset, false, time, seq, out);
                }
                // Only a full buffer (so `at` is 0) holds a frame this long.
                Decoded::HeaderOnly { header, needed } if rest.len() >= self.max_buffer => {
                    // The whole buffer is the frame's start: it becomes the record's.
                    let offset = self.base;
                    let bytes = self.take_front(self.buf.len());
                    self.frame(header, bytes, offset, true, time, seq, out);
                    self.skipping = Some(Skipping {
                        header,
                        offset,
                        remaining: needed,
                    });
                    break;
                }
                _ => break,
            }
        }
        if self.close.is_some() {
            let left = (self.buf.len() - at) as u64;
            self.after_close = self.after_close.saturating_add(left);
            at = self.buf.len();
        }
        self.buf.drain(..at);
        self.base += at as u64;
        if self.buf.is_empty() && self.buf.capacity() > 1 << 20 {
            self.buf = Vec::new();
        }
    }

    /// Moves the buffer's first `len` bytes out, without copying them: the bytes after
    /// them are copied into a new buffer. The bytes moved hold little spare capacity.
    fn take_front(&mut self, len: usize) -> Vec<u8> {
        let after = self.buf.split_off(len);
        let mut front = std::mem::replace(&mut self.buf, after);
        if front.capacity() > len + len / 4 {
            front.shrink_to_fit();
        }
        self.base += len as u64;
        front
    }

    /// Checks and reports one frame; `bytes` is the whole frame, or its start when
    /// `truncated`, as on the wire: its payload is unmasked in place for the record.
    #[allow(clippy::too_many_arguments)]
    fn frame(
        &mut self,
        header: FrameHeader,
        mut bytes: Vec<u8>,
        offset: u64,
        truncated: bool,
        time: Option<Duration>,
        seq: u64,
        out: &mut Vec<Observation>,
    ) {
        let index = self.frames;
        self.frames += 1;
        let header_len = header.header_len().min(bytes.len());
        if let Some(key) = header.mask {
            apply_mask(&mut bytes[header_len..], key, 0);
        }
        let payload = &bytes[header_len..];
        let mut violations: Vec<Violation> = header_violations(&header, &self.rule_context())
            .into_iter()
            .map(|error| Violation {
                offset: offset + error.header_offset().unwrap_or(0) as u64,
                error,
            })
            .collect();
        let header_ok = violations.is_empty();
        let payload_at = offset + header.header_len() as u64;
        let mut message = None;
        let mut inflated = None;
        let mut close = None;
        let mut ended: Option<Open> = None;
        match header.opcode() {
            Some(op @ (OpCode::Text | OpCode::Binary | OpCode::Continuation)) => {
                let o = self.messages.data_frame(
                    &header,
                    op,
                    payload,
                    truncated,
                    index,
                    offset,
                    payload_at,
                    header_ok,
                    &self.limits,
                );
                violations.extend(o.violations);
                message = o.part;
                inflated = o.inflated;
                ended = o.ended;
            }
            Some(OpCode::Close) => {
                let (code, reason) = if truncated {
                    (None, String::new())
                } else {
                    match parse_close_payload(payload) {
                        Ok((code, reason)) => {
                            close = Some(CloseInfo {
                                code,
                                reason: reason.to_owned(),
                            });
                            (code, reason.to_owned())
                        }
                        Err(e) => {
                            let within = match e {
                                ClosePayloadError::InvalidReason(n) => 2 + n as u64,
                                _ => 0,
                            };
                            violations.push(Violation {
                                error: ProtocolError::InvalidClose(e),
                                offset: payload_at + within,
                            });
                            let code = (payload.len() >= 2).then(|| {
                                crate::close::CloseCode(u16::from_be_bytes([
                                    payload[0], payload[1],
                                ]))
                            });
                            let reason = payload.get(2..).unwrap_or_default();
                            (code, String::from_utf8_lossy(reason).into_owned())
                        }
                    }
                };
                self.close = Some(CloseSeen {
                    direction: self.direction,
                    frame: index,
                    offset,
                    time,
                    code,
                    reason,
                    valid: violations.is_empty(),
                    seq,
                });
            }
            _ => {}
        }
        if self.first_violation.is_none() {
            if let Some(v) = violations.first() {
                self.first_violation = Some((seq, v.clone()));
            }
        }
        out.push(Observation::Frame(Box::new(FrameRecord {
            direction: self.direction,
            index,
            offset,
            time,
            header,
            layout: header.layout(),
            unmasked: bytes,
            truncated,
            message,
            inflated,
            close,
            violations,
        })));
        if let Some(m) = ended {
            out.push(Observation::Message(MessageRecord {
                direction: self.direction,
                index: m.index,
                kind: m.kind,
                first_frame: m.first_frame,
                offset: m.offset,
                frames: m.fragments,
                wire_size: m.wire_size,
                size: m.size,
                compressed: m.compressed,
                valid: m.valid,
                time,
            }));
        }
    }

    /// The frame the bytes end inside, with the rules its arrived part breaks.
    pub(super) fn unfinished(&self) -> Option<Unfinished> {
        if self.close.is_some() {
            return None;
        }
        if let Some(s) = &self.skipping {
            let total = (s.header.header_len() as u64).saturating_add(s.header.payload_len);
            return Some(Unfinished {
                direction: self.direction,
                offset: s.offset,
                available: total - s.remaining,
                needed: s.remaining,
                header: Some(s.header),
                violations: Vec::new(),
            });
        }
        if self.buf.is_empty() {
            return None;
        }
        let (header, needed) = match decode_frame(&self.buf) {
            Decoded::Frame(_) => return None,
            Decoded::Incomplete { needed } => (None, needed as u64),
            Decoded::HeaderOnly { header, needed } => (Some(header), needed),
        };
        let mut violations = Vec::new();
        if let Some(h) = &header {
            violations.extend(header_violations(h, &self.rule_context()).into_iter().map(
                |error| Violation {
                    offset: self.base + error.header_offset().unwrap_or(0) as u64,
                    error,
                },
            ));
            // Connection validates the arrived part of uncompressed text before the frame ends.
            if let Some((mut v, before)) = self.messages.partial_text_check(h) {
                let mut arrived = self.buf[h.header_len()..].to_vec();
                if let Some(key) = h.mask {
                    apply_mask(&mut arrived, key, 0);
                }
                if let Err(e) = v.feed(&arrived) {
                    violations.push(Violation {
                        offset: self.base + h.header_len() as u64 + e.offset.saturating_sub(before),
                        error: ProtocolError::InvalidUtf8 { offset: e.offset },
                    });
                }
            }
        }
        Some(Unfinished {
            direction: self.direction,
            offset: self.base,
            available: self.buf.len() as u64,
            needed,
            header,
            violations,
        })
    }
}
