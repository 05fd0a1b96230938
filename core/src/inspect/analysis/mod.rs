//! What a developer asks of a recorded connection, answered from the inspector's
//! records: the message view, compression, heartbeats, the close, a filter and
//! traffic over time.
//!
//! A [`Session`] wraps an [`Inspector`]: feed it each direction's bytes with their
//! time, and it keeps a small summary of every frame and message (never the
//! payloads, only the start of each text message for searching), from which each
//! question is answered on demand. Memory is bounded by [`SessionConfig`].
//!
//! ```
//! use std::time::Duration;
//! use framewire_core::inspect::{Direction, InspectorConfig};
//! use framewire_core::inspect::analysis::{Session, SessionConfig};
//!
//! let mut s = Session::new(SessionConfig::default()).unwrap();
//! // A masked ping "hi" from the client, the server's unmasked pong 25 ms later.
//! s.feed(Direction::ClientToServer, &[0x89, 0x82, 1, 2, 3, 4, 0x69, 0x6b], Some(Duration::from_millis(10)));
//! s.feed(Direction::ServerToClient, &[0x8a, 0x02, b'h', b'i'], Some(Duration::from_millis(35)));
//! let beats = s.heartbeats();
//! assert_eq!(beats.pings[0].rtt_ms, Some(25.0));
//! ```

mod closing;
mod compression;
mod filter;
mod heartbeat;
mod messages;
mod traffic;

#[cfg(test)]
mod tests;

use std::time::Duration;

use crate::deflate::DeflateParams;
use crate::opcode::DataKind;

use super::{Direction, InspectError, Inspector, InspectorConfig, Observation};

pub use closing::{close_code_cause, CloseDiagnosis, CloseEventGuess, CloseFrameView};
pub use compression::{
    deflate_memory, window_memory, Compression, DeflateSetup, DirectionCompression,
    MessageCompression, SideMemory,
};
pub use filter::{Filter, FilterError, FilterResult, KindFilter};
pub use heartbeat::{Heartbeats, PingView, Silence};
pub use messages::{ControlRef, MessageView, ViewEntry};
pub use traffic::{Traffic, TrafficBucket, MAX_BUCKETS};

/// How much a [`Session`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// The inspector's setup (limits, buffer).
    pub inspector: InspectorConfig,
    /// Most frames summarised; later frames are counted in [`Session::dropped_frames`] only.
    pub max_frames: usize,
    /// Most bytes of each text message kept for searching.
    pub max_text: usize,
    /// Most bytes of text kept over the whole session; past it, new messages keep none.
    pub max_text_total: usize,
}

impl Default for SessionConfig {
    /// 250,000 frames, 1 KiB of each text message, 32 MiB of text in all.
    fn default() -> Self {
        Self {
            inspector: InspectorConfig::default(),
            max_frames: 250_000,
            max_text: 1024,
            max_text_total: 32 << 20,
        }
    }
}

/// A close frame's code and reason, as kept in a [`FrameSummary`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct CloseSummary {
    /// The status code, absent for an empty payload.
    pub code: Option<u16>,
    /// The reason.
    pub reason: String,
}

/// What a [`Session`] keeps of one frame.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct FrameSummary {
    /// Its place among the frames of both directions, in the order they were seen.
    pub seq: u64,
    /// Who sent it.
    pub direction: Direction,
    /// Its index among the frames of its direction.
    pub index: u64,
    /// When the bytes completing it were seen, in milliseconds.
    pub time_ms: Option<f64>,
    /// The opcode.
    pub opcode: u8,
    /// The FIN bit.
    pub fin: bool,
    /// Header plus payload, as declared.
    pub wire_len: u64,
    /// The payload length, as declared.
    pub payload_len: u64,
    /// For a data frame: its message's index in the direction.
    pub message: Option<u64>,
    /// Part of a permessage-deflate compressed message.
    pub compressed: bool,
    /// What its payload inflated to, for a compressed frame that inflated.
    pub inflated_len: Option<u64>,
    /// A control frame's payload (ping and pong data, close payload).
    pub control_payload: Vec<u8>,
    /// A close frame's code and reason, when its payload parses.
    pub close: Option<CloseSummary>,
    /// It broke no rule.
    pub valid: bool,
}

impl FrameSummary {
    /// True for close, ping and pong frames (opcodes 0x8-0xF).
    pub fn is_control(&self) -> bool {
        self.opcode & 0x8 != 0
    }
}

/// What a [`Session`] keeps of one data message.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct MessageSummary {
    /// Who sent it.
    pub direction: Direction,
    /// Its index among the messages of its direction.
    pub index: u64,
    /// `text`, `binary`, or `None` when it began before the inspected bytes.
    pub kind: Option<&'static str>,
    /// Frame indexes (in its direction) of its fragments.
    pub frames: Vec<u64>,
    /// `seq` of its first and last frame.
    pub seq_range: (u64, u64),
    /// Header plus payload bytes of its frames on the wire.
    pub wire_size: u64,
    /// Payload bytes of its frames on the wire.
    pub payload_size: u64,
    /// Its content's size after reassembly and inflation; `None` when unknown.
    pub size: Option<u64>,
    /// It was permessage-deflate compressed.
    pub compressed: bool,
    /// None of its frames broke a rule.
    pub valid: bool,
    /// Time of its first frame, in milliseconds.
    pub first_ms: Option<f64>,
    /// Time of its last frame, in milliseconds.
    pub last_ms: Option<f64>,
    /// The start of a text message's content (at most [`SessionConfig::max_text`] bytes).
    pub text: Option<String>,
    /// `text` holds only the start of the content (or none of it, past the session's budget).
    pub text_cut: bool,
    /// The last frame was seen.
    pub complete: bool,
}

/// Why a [`Session`] could not be set up.
pub type SessionError = InspectError;

/// An inspector that remembers what it saw, to answer questions about it.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    inspector: Inspector,
    deflate: Option<DeflateParams>,
    frames: Vec<FrameSummary>,
    messages: Vec<MessageSummary>,
    open: [Option<(MessageSummary, Vec<u8>)>; 2],
    dropped_frames: u64,
    text_kept: usize,
    seq: u64,
    pings: heartbeat::PingMatcher,
}

fn ms(t: Option<Duration>) -> Option<f64> {
    t.map(|d| d.as_secs_f64() * 1000.0)
}

fn kind_name(kind: Option<DataKind>) -> Option<&'static str> {
    match kind {
        Some(DataKind::Text) => Some("text"),
        Some(DataKind::Binary) => Some("binary"),
        None => None,
    }
}

impl Session {
    /// A session with `config`; fails when the inspector's buffer cannot hold a header.
    pub fn new(config: SessionConfig) -> Result<Self, SessionError> {
        Ok(Self {
            inspector: Inspector::new(config.inspector)?,
            config,
            deflate: None,
            frames: Vec::new(),
            messages: Vec::new(),
            open: [None, None],
            dropped_frames: 0,
            text_kept: 0,
            seq: 0,
            pings: heartbeat::PingMatcher::default(),
        })
    }

    /// The inspector underneath (its [`Inspector::ending`], buffers, ...).
    pub fn inspector(&self) -> &Inspector {
        &self.inspector
    }

    /// Turns on permessage-deflate as the server's answer `answer` agreed.
    pub fn enable_deflate(&mut self, answer: &DeflateParams) {
        self.inspector.enable_deflate(answer);
        self.deflate = Some(*answer);
    }

    /// Reads the server's `101` head and turns on permessage-deflate if it agrees
    /// to it. Returns whether it did.
    pub fn enable_deflate_from_response(&mut self, head: &[u8]) -> Result<bool, SessionError> {
        let answer = super::deflate_answer(head)?;
        if let Some(a) = &answer {
            self.enable_deflate(a);
        }
        Ok(answer.is_some())
    }

    /// The permessage-deflate parameters in force, if any.
    pub fn deflate(&self) -> Option<&DeflateParams> {
        self.deflate.as_ref()
    }

    /// Feeds the bytes seen in `dir` at `time`, returns the inspector's observations
    /// and remembers their summaries.
    pub fn feed(
        &mut self,
        dir: Direction,
        bytes: &[u8],
        time: Option<Duration>,
    ) -> Vec<Observation> {
        let seen = self.inspector.feed(dir, bytes, time);
        for o in &seen {
            self.observe(o);
        }
        seen
    }

    /// Frames seen but not summarised, past [`SessionConfig::max_frames`].
    pub fn dropped_frames(&self) -> u64 {
        self.dropped_frames
    }

    /// Every frame summarised, in the order seen.
    pub fn frames(&self) -> &[FrameSummary] {
        &self.frames
    }

    /// Every data message whose first frame was summarised, in the order their
    /// first frames were seen; messages still open come last, marked incomplete.
    pub fn message_summaries(&self) -> Vec<&MessageSummary> {
        let mut all: Vec<&MessageSummary> = self
            .messages
            .iter()
            .chain(self.open.iter().flatten().map(|(m, _)| m))
            .collect();
        all.sort_by_key(|m| m.seq_range.0);
        all
    }

    fn observe(&mut self, o: &Observation) {
        match o {
            Observation::Frame(f) => {
                if self.frames.len() >= self.config.max_frames {
                    self.dropped_frames += 1;
                    return;
                }
                let seq = self.seq;
                self.seq += 1;
                let control = f.header.opcode & 0x8 != 0;
                let inflated_len = f.inflated.as_ref().map(|b| b.len() as u64);
                let summary = FrameSummary {
                    seq,
                    direction: f.direction,
                    index: f.index,
                    time_ms: ms(f.time),
                    opcode: f.header.opcode,
                    fin: f.header.fin,
                    wire_len: f.declared_len(),
                    payload_len: f.header.payload_len,
                    message: f.message.map(|m| m.message),
                    compressed: f.message.is_some_and(|m| m.compressed),
                    inflated_len,
                    control_payload: if control {
                        f.payload().iter().take(125).copied().collect()
                    } else {
                        Vec::new()
                    },
                    close: f.close.as_ref().map(|c| CloseSummary {
                        code: c.code.map(|c| c.0),
                        reason: c.reason.clone(),
                    }),
                    valid: f.violations.is_empty(),
                };
                if let Some(part) = f.message {
                    let max_text = self.config.max_text;
                    let budget = self.config.max_text_total.saturating_sub(self.text_kept);
                    let slot = &mut self.open[f.direction.index()];
                    let (m, text) = slot.get_or_insert_with(|| {
                        (
                            MessageSummary {
                                direction: f.direction,
                                index: part.message,
                                kind: kind_name(part.kind),
                                frames: Vec::new(),
                                seq_range: (seq, seq),
                                wire_size: 0,
                                payload_size: 0,
                                size: None,
                                compressed: part.compressed,
                                valid: true,
                                first_ms: summary.time_ms,
                                last_ms: summary.time_ms,
                                text: None,
                                text_cut: false,
                                complete: false,
                            },
                            Vec::new(),
                        )
                    });
                    m.frames.push(f.index);
                    m.seq_range.1 = seq;
                    m.wire_size = m.wire_size.saturating_add(summary.wire_len);
                    m.payload_size = m.payload_size.saturating_add(summary.payload_len);
                    m.last_ms = summary.time_ms;
                    m.valid &= summary.valid;
                    if part.kind == Some(DataKind::Text) {
                        let content = f.content();
                        let room = max_text.min(budget).saturating_sub(text.len());
                        let take = content.len().min(room);
                        text.extend_from_slice(&content[..take]);
                        self.text_kept += take;
                        if take < content.len()
                            || f.truncated
                            || (f.message.is_some_and(|m| m.compressed) && f.inflated.is_none())
                        {
                            m.text_cut = true;
                        }
                    }
                }
                self.pings.observe(&self.frames, &summary);
                self.frames.push(summary);
            }
            Observation::Message(rec) => {
                let slot = &mut self.open[rec.direction.index()];
                if let Some((mut m, text)) = slot.take() {
                    m.size = rec.size;
                    m.valid &= rec.valid;
                    m.complete = true;
                    m.time_fix(rec.time);
                    if m.kind == Some("text") {
                        // A kept start may end inside a character: keep its whole characters.
                        let whole = match std::str::from_utf8(&text) {
                            Ok(t) => t,
                            Err(e) => std::str::from_utf8(&text[..e.valid_up_to()]).unwrap_or(""),
                        };
                        m.text = Some(whole.to_owned());
                    }
                    self.messages.push(m);
                }
            }
        }
    }
}

impl MessageSummary {
    fn time_fix(&mut self, t: Option<Duration>) {
        if let Some(t) = ms(t) {
            self.last_ms = Some(t);
        }
    }
}
