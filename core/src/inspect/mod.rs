//! A passive observer of both directions of a connection: it never writes.
//!
//! Feed it each direction's bytes as they were seen (with the time, if known) and
//! it reports every frame with the byte range of each field, reassembles messages,
//! inflates permessage-deflate, and names every broken rule with its offset and
//! the close code the core sends for it. The rules are the core's own
//! ([`crate::rules::check_header`], [`crate::ProtocolError`]) checked in the order
//! [`crate::Connection`] checks them, so its first violation in a direction is the
//! error a `Connection` receiving those bytes fails with.
//!
//! Memory is bounded: each direction holds at most [`InspectorConfig::max_buffer`]
//! bytes of an unfinished frame, and a compressed message inflates to at most
//! [`crate::Limits::max_message`] bytes. Nothing is allocated from a declared length
//! (unless a host asks for it with [`Inspector::reserve_declared`]).
//!
//! ```
//! use framewire_core::inspect::{Direction, Inspector, InspectorConfig, Observation};
//!
//! let mut insp = Inspector::new(InspectorConfig::default()).unwrap();
//! // RFC 6455 section 5.7: a masked "Hello" from the client.
//! let hello = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
//! let seen = insp.feed(Direction::ClientToServer, &hello, None);
//! let Observation::Frame(f) = &seen[0] else { panic!() };
//! assert_eq!(f.payload(), b"Hello");
//! assert!(f.violations.is_empty());
//! ```

pub mod analysis;
mod config;
mod direction;
mod ending;
mod message;
mod record;
mod side;
mod violation;

#[cfg(test)]
mod tests;

use std::time::Duration;

use crate::deflate::{DeflateParams, Negotiated};
use crate::frame::MAX_HEADER_LEN;
use crate::role::Role;

pub use config::{deflate_answer, InspectError, InspectorConfig, Start, MAX_RESPONSE_HEAD};
pub use direction::Direction;
pub use ending::{CloseSeen, DirectionEnd, Ending, Outcome};
pub use record::{CloseInfo, FrameRecord, MessagePart, MessageRecord, Observation, Unfinished};
pub use violation::{rule_name, Violation};

use side::Side;

/// Watches both directions of one connection and explains its bytes.
#[derive(Debug)]
pub struct Inspector {
    config: InspectorConfig,
    sides: [Side; 2],
    feeds: u64,
}

impl Inspector {
    /// An inspector with `config`; fails when `config.max_buffer` cannot hold a header.
    pub fn new(config: InspectorConfig) -> Result<Self, InspectError> {
        if config.max_buffer < MAX_HEADER_LEN {
            return Err(InspectError::BufferTooSmall(config.max_buffer));
        }
        Ok(Self {
            config,
            sides: Direction::BOTH.map(|d| Side::new(d, &config)),
            feeds: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &InspectorConfig {
        &self.config
    }

    /// Turns on permessage-deflate as the server's answer `answer` agreed
    /// (each direction's context takeover as answered).
    pub fn enable_deflate(&mut self, answer: &DeflateParams) {
        self.sides[0]
            .messages
            .enable_deflate(answer.client_no_context_takeover);
        self.sides[1]
            .messages
            .enable_deflate(answer.server_no_context_takeover);
    }

    /// Turns on permessage-deflate as one end (`role`) negotiated it.
    pub fn enable_deflate_negotiated(&mut self, role: Role, agreed: &Negotiated) {
        let ours = Direction::sent_by(role);
        self.sides[ours.index()]
            .messages
            .enable_deflate(agreed.compress_no_context_takeover);
        self.sides[ours.reverse().index()]
            .messages
            .enable_deflate(agreed.decompress_no_context_takeover);
    }

    /// Reads the server's response head (the `101`) and turns on permessage-deflate
    /// if it agrees to it. Returns whether it did.
    pub fn enable_deflate_from_response(&mut self, head: &[u8]) -> Result<bool, InspectError> {
        match deflate_answer(head)? {
            Some(answer) => {
                self.enable_deflate(&answer);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// True when permessage-deflate is on (in either direction).
    pub fn deflate_enabled(&self) -> bool {
        self.sides.iter().any(|s| s.messages.deflate_enabled())
    }

    /// Takes the next bytes seen in direction `dir` (at `time`, if known) and
    /// returns the frames and messages they complete. The list grows with the
    /// bytes given: feed large inputs in pieces to hold few records at once.
    pub fn feed(
        &mut self,
        dir: Direction,
        bytes: &[u8],
        time: Option<Duration>,
    ) -> Vec<Observation> {
        self.feed_side(dir, |side, seq, out| side.feed(bytes, time, seq, out))
    }

    /// Takes the next bytes seen in direction `dir`, as [`Inspector::feed`], owned: when
    /// nothing is buffered in `dir` they become its buffer without a copy, else they are
    /// appended. For a host whose bytes arrive in a fresh buffer (a JavaScript array copied
    /// into wasm memory with `Uint8Array::to_vec`, which writes no zeros first).
    pub fn feed_owned(
        &mut self,
        dir: Direction,
        bytes: Vec<u8>,
        time: Option<Duration>,
    ) -> Vec<Observation> {
        self.feed_side(dir, |side, seq, out| side.feed_owned(bytes, time, seq, out))
    }

    /// Counts one feed and has `dir`'s side take it (with the feed's number),
    /// returning what it reports.
    fn feed_side(
        &mut self,
        dir: Direction,
        take: impl FnOnce(&mut Side, u64, &mut Vec<Observation>),
    ) -> Vec<Observation> {
        self.feeds += 1;
        let mut out = Vec::new();
        take(&mut self.sides[dir.index()], self.feeds, &mut out);
        out
    }

    /// Reserves room in `dir`'s buffer for the rest of the frame its bytes end inside, as
    /// the frame's header declares, up to [`InspectorConfig::max_buffer`]: the buffer then
    /// grows once, not by doubling, which copies where memory cannot be remapped (wasm).
    /// This allocates from a declared length, which [`Inspector::feed`] never does: a
    /// header alone can make the buffer hold up to `max_buffer` bytes.
    pub fn reserve_declared(&mut self, dir: Direction) {
        self.sides[dir.index()].reserve_declared();
    }

    /// Bytes fed in `dir` so far.
    pub fn position(&self, dir: Direction) -> u64 {
        self.sides[dir.index()].position()
    }

    /// Bytes held in `dir` for an unfinished frame.
    pub fn buffered(&self, dir: Direction) -> usize {
        self.sides[dir.index()].buffered()
    }

    /// The frame `dir`'s bytes end inside, if any, with the rules its arrived part breaks.
    pub fn unfinished(&self, dir: Direction) -> Option<Unfinished> {
        self.sides[dir.index()].unfinished()
    }

    /// The first rule `dir`'s bytes break, counting the unfinished frame last:
    /// the error a `Connection` receiving them fails with.
    pub fn first_violation(&self, dir: Direction) -> Option<Violation> {
        let side = &self.sides[dir.index()];
        match &side.first_violation {
            Some((_, v)) => Some(v.clone()),
            None => self
                .unfinished(dir)
                .and_then(|u| u.violations.into_iter().next()),
        }
    }

    /// How the connection ended (or stands, if more bytes may come).
    pub fn ending(&self) -> Ending {
        let end = |d: Direction| {
            let side = &self.sides[d.index()];
            DirectionEnd {
                close: side.close.clone(),
                unfinished: self.unfinished(d),
                open_message: matches!(side.messages.state, message::State::Open(_)),
                bytes_after_close: side.after_close,
                first_violation: self.first_violation(d),
                bytes: side.position(),
            }
        };
        let c2s = end(Direction::ClientToServer);
        let s2c = end(Direction::ServerToClient);
        let first_closer = match (&c2s.close, &s2c.close) {
            (Some(a), Some(b)) => Some(if b.seq < a.seq {
                b.direction
            } else {
                a.direction
            }),
            (Some(a), None) => Some(a.direction),
            (None, Some(b)) => Some(b.direction),
            (None, None) => None,
        };
        // The violation found at the earliest feed call; an unfinished frame's, last.
        let failed = Direction::BOTH
            .into_iter()
            .filter_map(|d| {
                let v = self.first_violation(d)?;
                let seq = self.sides[d.index()]
                    .first_violation
                    .as_ref()
                    .map_or(u64::MAX, |(s, _)| *s);
                Some((seq, d, v))
            })
            .min_by_key(|(seq, d, _)| (*seq, d.index()));
        let outcome = if let Some((_, direction, violation)) = failed {
            Outcome::Failed {
                direction,
                violation,
            }
        } else if let (Some(_), Some(_), Some(first)) = (&c2s.close, &s2c.close, first_closer) {
            Outcome::Closed { first }
        } else if let Some(by) = first_closer {
            Outcome::CloseUnanswered { by }
        } else if let Some(u) = c2s.unfinished.as_ref().or(s2c.unfinished.as_ref()) {
            Outcome::MidFrame {
                direction: u.direction,
            }
        } else {
            Outcome::NoClose
        };
        Ending {
            client_to_server: c2s,
            server_to_client: s2c,
            first_closer,
            outcome,
        }
    }
}
