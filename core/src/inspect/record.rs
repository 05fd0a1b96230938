//! What the inspector reports: frames, messages and the frame the bytes end in.

use std::borrow::Cow;
use std::time::Duration;

use crate::close::CloseCode;
use crate::frame::{FrameHeader, HeaderLayout};
use crate::mask::apply_mask;
use crate::opcode::DataKind;

use super::direction::Direction;
use super::violation::Violation;

/// Something the inspector saw, in the order it completed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Observation {
    /// A frame (complete, or cut short by the buffer limit).
    Frame(Box<FrameRecord>),
    /// A data message whose last frame was just reported.
    Message(MessageRecord),
}

/// Where a data frame belongs in its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessagePart {
    /// The message's index in its direction, from 0.
    pub message: u64,
    /// Text or binary; `None` when the message began before the inspected bytes.
    pub kind: Option<DataKind>,
    /// The frame's position in the message, from 1.
    pub fragment: u32,
    /// The message is permessage-deflate compressed.
    pub compressed: bool,
}

/// A close frame's code and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    /// The status code, absent for an empty payload.
    pub code: Option<CloseCode>,
    /// The reason (invalid UTF-8 is replaced with U+FFFD).
    pub reason: String,
}

/// Everything known about one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameRecord {
    /// Who sent it.
    pub direction: Direction,
    /// Its index among the frames of its direction, from 0.
    pub index: u64,
    /// Absolute offset of its first byte in the direction's byte stream.
    pub offset: u64,
    /// The time given with the bytes that completed it.
    pub time: Option<Duration>,
    /// The decoded header.
    pub header: FrameHeader,
    /// Byte ranges of the header fields, relative to `offset`.
    pub layout: HeaderLayout,
    /// The frame with its payload unmasked in place: the header's bytes as on the wire,
    /// then the payload (only the frame's start when `truncated`). One buffer serves both
    /// [`FrameRecord::payload`] and, re-masked with the header's key, [`FrameRecord::bytes`].
    pub(super) unmasked: Vec<u8>,
    /// Only the first bytes were kept: the frame is longer than the buffer limit.
    pub truncated: bool,
    /// For data frames: the message it belongs to.
    pub message: Option<MessagePart>,
    /// What the payload inflated to, for a compressed message (the last frame
    /// includes the implied trailer); `None` when not compressed or inflating failed.
    pub inflated: Option<Vec<u8>>,
    /// For a close frame whose payload parses: its code and reason.
    pub close: Option<CloseInfo>,
    /// Every rule this frame breaks, header rules first, in the order `Connection` checks them.
    pub violations: Vec<Violation>,
}

impl FrameRecord {
    /// The header's length in the kept bytes (all of them if the header is cut short).
    fn kept_header_len(&self) -> usize {
        self.header.header_len().min(self.unmasked.len())
    }

    /// The payload unmasked (only its start when `truncated`).
    pub fn payload(&self) -> &[u8] {
        &self.unmasked[self.kept_header_len()..]
    }

    /// The frame as on the wire (only its start when `truncated`): borrowed when the frame
    /// is not masked, else built by masking the payload again.
    pub fn bytes(&self) -> Cow<'_, [u8]> {
        match self.header.mask {
            None => Cow::Borrowed(&self.unmasked),
            Some(key) => {
                let mut wire = self.unmasked.clone();
                let at = self.kept_header_len();
                apply_mask(&mut wire[at..], key, 0);
                Cow::Owned(wire)
            }
        }
    }

    /// How many of the frame's bytes were kept: the length of [`FrameRecord::bytes`].
    pub fn kept_len(&self) -> usize {
        self.unmasked.len()
    }

    /// The header's bytes, then the payload unmasked: the frame as kept, without a copy.
    pub fn unmasked_frame(&self) -> &[u8] {
        &self.unmasked
    }

    /// The record's [`FrameRecord::unmasked_frame`], moved out.
    pub fn into_unmasked_frame(self) -> Vec<u8> {
        self.unmasked
    }

    /// Total length as declared: header plus payload.
    pub fn declared_len(&self) -> u64 {
        (self.header.header_len() as u64).saturating_add(self.header.payload_len)
    }

    /// Absolute offset of the payload's first byte.
    pub fn payload_offset(&self) -> u64 {
        self.offset + self.header.header_len() as u64
    }

    /// The message content this frame carries: inflated when compressed, else the payload.
    pub fn content(&self) -> &[u8] {
        self.inflated.as_deref().unwrap_or(self.payload())
    }

    /// The content as text, for a text message's frame whose content is valid UTF-8
    /// by itself (for a truncated frame, its valid start).
    pub fn text(&self) -> Option<String> {
        let n = self.text_len()?;
        Some(String::from_utf8_lossy(&self.content()[..n]).into_owned())
    }

    /// The length in bytes of [`FrameRecord::text`], found without building the
    /// string: the content's UTF-8 is checked, nothing is allocated.
    pub fn text_len(&self) -> Option<usize> {
        let part = self.message?;
        if part.kind != Some(DataKind::Text) || (part.compressed && self.inflated.is_none()) {
            return None;
        }
        let content = self.content();
        match simdutf8::compat::from_utf8(content) {
            Ok(_) => Some(content.len()),
            Err(e) if self.truncated => Some(e.valid_up_to()),
            Err(_) => None,
        }
    }
}

/// A data message whose last frame was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    /// Who sent it.
    pub direction: Direction,
    /// Its index among the messages of its direction, from 0.
    pub index: u64,
    /// Text or binary; `None` when it began before the inspected bytes.
    pub kind: Option<DataKind>,
    /// Index of its first frame in the direction.
    pub first_frame: u64,
    /// Absolute offset of its first frame.
    pub offset: u64,
    /// Data frames in it (control frames between them not counted).
    pub frames: u32,
    /// Payload bytes on the wire, summed over its frames.
    pub wire_size: u64,
    /// Its size after reassembly (and inflation); `None` when unknown (a frame was
    /// truncated or did not inflate).
    pub size: Option<u64>,
    /// It was permessage-deflate compressed.
    pub compressed: bool,
    /// None of its frames broke a rule.
    pub valid: bool,
    /// The time given with the bytes that completed it.
    pub time: Option<Duration>,
}

/// The frame a direction's bytes end inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    /// Who sent it.
    pub direction: Direction,
    /// Absolute offset of its first byte.
    pub offset: u64,
    /// Bytes of it that arrived.
    pub available: u64,
    /// Bytes still missing (a lower bound while the header is incomplete).
    pub needed: u64,
    /// Its header, once complete.
    pub header: Option<FrameHeader>,
    /// Rules the arrived part already breaks (as `Connection` finds them before the frame ends).
    pub violations: Vec<Violation>,
}
