//! The message view: data frames grouped into their message, control frames
//! between them, in the order they were seen.

use super::{Direction, FrameSummary, MessageSummary, Session};

/// A control frame, named by its direction and index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct ControlRef {
    /// Who sent it.
    pub direction: Direction,
    /// Its frame index in the direction.
    pub index: u64,
    /// Its opcode (0x8 close, 0x9 ping, 0xA pong, or a reserved one).
    pub opcode: u8,
}

/// One data message of the view.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct MessageView {
    /// The message.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub message: MessageSummary,
    /// Control frames (either direction) seen between its first and last frame.
    pub interleaved: Vec<ControlRef>,
    /// Milliseconds from its first frame to its last.
    pub duration_ms: Option<f64>,
}

/// A row of the message view.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "type", rename_all = "camelCase"))]
pub enum ViewEntry {
    /// A data message, at the place of its first frame.
    Message(MessageView),
    /// A control frame.
    Control(FrameSummary),
}

impl ViewEntry {
    /// The kept text of a text message row.
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Message(m) => m.message.text.as_deref(),
            Self::Control(_) => None,
        }
    }
}

impl Session {
    /// The message view: every data message (at its first frame) and every control
    /// frame, in the order seen.
    pub fn message_view(&self) -> Vec<ViewEntry> {
        let frames = self.frames();
        let mut out: Vec<(u64, ViewEntry)> = Vec::new();
        for m in self.message_summaries() {
            let (first, last) = m.seq_range;
            let lo = frames.partition_point(|f| f.seq <= first);
            let hi = frames.partition_point(|f| f.seq < last);
            let interleaved = frames[lo..hi.max(lo)]
                .iter()
                .filter(|f| f.is_control())
                .map(|f| ControlRef {
                    direction: f.direction,
                    index: f.index,
                    opcode: f.opcode,
                })
                .collect();
            let duration_ms = match (m.first_ms, m.last_ms) {
                (Some(a), Some(b)) => Some(b - a),
                _ => None,
            };
            out.push((
                first,
                ViewEntry::Message(MessageView {
                    message: m.clone(),
                    interleaved,
                    duration_ms,
                }),
            ));
        }
        for f in frames.iter().filter(|f| f.is_control()) {
            out.push((f.seq, ViewEntry::Control(f.clone())));
        }
        out.sort_by_key(|(seq, _)| *seq);
        out.into_iter().map(|(_, e)| e).collect()
    }
}
