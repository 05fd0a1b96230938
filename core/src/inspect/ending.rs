//! How the observed connection ended, or where it stands.

use std::time::Duration;

use crate::close::CloseCode;

use super::direction::Direction;
use super::record::Unfinished;
use super::violation::Violation;

/// A close frame seen in one direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseSeen {
    /// Who sent it.
    pub direction: Direction,
    /// Its frame index in the direction.
    pub frame: u64,
    /// Absolute offset of the frame.
    pub offset: u64,
    /// The time given with the bytes that completed it.
    pub time: Option<Duration>,
    /// Its status code (as on the wire, even when invalid), absent for an empty payload.
    pub code: Option<CloseCode>,
    /// Its reason (invalid UTF-8 replaced with U+FFFD).
    pub reason: String,
    /// The frame broke no rule.
    pub valid: bool,
    /// Order among feed calls, to tell which close came first.
    pub(super) seq: u64,
}

/// Where one direction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectionEnd {
    /// Its close frame, if one was seen.
    pub close: Option<CloseSeen>,
    /// The frame its bytes end inside, if any.
    pub unfinished: Option<Unfinished>,
    /// A data message was still open (its last frame not seen).
    pub open_message: bool,
    /// Bytes that came after its close frame (ignored, as `Connection` ignores them).
    pub bytes_after_close: u64,
    /// Its first broken rule (in a frame, or else in the unfinished frame).
    pub first_violation: Option<Violation>,
    /// Bytes fed in this direction.
    pub bytes: u64,
}

/// The verdict on the whole connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A rule was broken; the receiver fails the connection with the violation's close code.
    Failed {
        /// The direction whose bytes broke the rule first.
        direction: Direction,
        /// The first violation.
        violation: Violation,
    },
    /// Both ends sent a close frame.
    Closed {
        /// The end that sent its close first.
        first: Direction,
    },
    /// Only one end sent a close frame.
    CloseUnanswered {
        /// The end that sent it.
        by: Direction,
    },
    /// The bytes end inside a frame (and no close was seen that way).
    MidFrame {
        /// The direction whose bytes stop mid-frame.
        direction: Direction,
    },
    /// No close frame either way: the connection dropped or is still open.
    NoClose,
}

/// How the connection ended (or stands, if more bytes may come).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    /// The client's side.
    pub client_to_server: DirectionEnd,
    /// The server's side.
    pub server_to_client: DirectionEnd,
    /// The end that sent the first close frame.
    pub first_closer: Option<Direction>,
    /// The verdict.
    pub outcome: Outcome,
}

impl Ending {
    /// The end of one direction.
    pub fn direction(&self, d: Direction) -> &DirectionEnd {
        match d {
            Direction::ClientToServer => &self.client_to_server,
            Direction::ServerToClient => &self.server_to_client,
        }
    }
}
