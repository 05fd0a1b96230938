//! The filter: frames and messages by direction, kind or opcode, payload text
//! (plain or regex) and size, with counts of what it hides.

use super::{Direction, FrameSummary, MessageSummary, Session};

/// Data frames and messages, or control frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindFilter {
    /// Text, binary and continuation frames; every message.
    Data,
    /// Close, ping and pong frames (no message is a control frame).
    Control,
}

/// What to show. Every criterion set must hold; `Filter::default()` shows everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    /// Only this direction.
    pub direction: Option<Direction>,
    /// Only data or only control.
    pub kind: Option<KindFilter>,
    /// Only these opcodes (a message counts by its first frame's opcode).
    pub opcodes: Vec<u8>,
    /// Only what contains this text (case-insensitive) in its payload text.
    pub text: Option<String>,
    /// Only what matches this regular expression in its payload text
    /// (needs the `regex` feature).
    pub regex: Option<String>,
    /// Smallest size in bytes (a frame's payload, a message's content or wire size).
    pub min_size: Option<u64>,
    /// Largest size in bytes.
    pub max_size: Option<u64>,
}

/// Why a filter cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// The regular expression does not compile.
    #[error("the regular expression {pattern:?} is invalid: {reason}")]
    BadRegex {
        /// The pattern.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// This build has no regular expressions.
    #[error("regular expressions need framewire-core's `regex` feature")]
    NoRegex,
    /// The size range is empty.
    #[error("the size range {min}..={max} is empty")]
    EmptyRange {
        /// The lower bound.
        min: u64,
        /// The upper bound.
        max: u64,
    },
}

/// What the filter shows and how much it hides.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct FilterResult {
    /// `seq` of every frame shown.
    pub frames: Vec<u64>,
    /// Frames hidden.
    pub hidden_frames: u64,
    /// `(direction, index)` of every message shown.
    pub messages: Vec<(Direction, u64)>,
    /// Messages hidden.
    pub hidden_messages: u64,
}

#[cfg(feature = "regex")]
type Regex = regex_lite::Regex;

/// A compiled text matcher.
enum Matcher {
    Any,
    Text(String),
    #[cfg(feature = "regex")]
    Regex(Box<Regex>),
}

impl Matcher {
    fn matches(&self, text: Option<&str>) -> bool {
        match (self, text) {
            (Self::Any, _) => true,
            (_, None) => false,
            (Self::Text(needle), Some(t)) => t.to_lowercase().contains(needle.as_str()),
            #[cfg(feature = "regex")]
            (Self::Regex(r), Some(t)) => r.is_match(t),
        }
    }
}

impl Filter {
    fn matchers(&self) -> Result<Vec<Matcher>, FilterError> {
        if let (Some(min), Some(max)) = (self.min_size, self.max_size) {
            if min > max {
                return Err(FilterError::EmptyRange { min, max });
            }
        }
        let mut out = Vec::new();
        if let Some(t) = &self.text {
            out.push(Matcher::Text(t.to_lowercase()));
        }
        if let Some(pattern) = &self.regex {
            #[cfg(feature = "regex")]
            out.push(Matcher::Regex(Box::new(Regex::new(pattern).map_err(
                |e| FilterError::BadRegex {
                    pattern: pattern.clone(),
                    reason: e.to_string(),
                },
            )?)));
            #[cfg(not(feature = "regex"))]
            {
                let _ = pattern;
                return Err(FilterError::NoRegex);
            }
        }
        if out.is_empty() {
            out.push(Matcher::Any);
        }
        Ok(out)
    }

    fn size_ok(&self, size: u64) -> bool {
        self.min_size.is_none_or(|m| size >= m) && self.max_size.is_none_or(|m| size <= m)
    }

    fn frame_ok(&self, f: &FrameSummary, text: Option<&str>, m: &[Matcher]) -> bool {
        self.direction.is_none_or(|d| d == f.direction)
            && match self.kind {
                Some(KindFilter::Data) => !f.is_control(),
                Some(KindFilter::Control) => f.is_control(),
                None => true,
            }
            && (self.opcodes.is_empty() || self.opcodes.contains(&f.opcode))
            && self.size_ok(f.payload_len)
            && m.iter().all(|m| m.matches(text))
    }

    fn message_ok(&self, msg: &MessageSummary, opcode: u8, m: &[Matcher]) -> bool {
        self.direction.is_none_or(|d| d == msg.direction)
            && self.kind != Some(KindFilter::Control)
            && (self.opcodes.is_empty() || self.opcodes.contains(&opcode))
            && self.size_ok(msg.size.unwrap_or(msg.wire_size))
            && m.iter().all(|m| m.matches(msg.text.as_deref()))
    }
}

impl Session {
    /// The frames and messages `filter` shows. A data frame's text is its
    /// message's kept text; a control frame's is its payload (or close reason).
    pub fn filter(&self, filter: &Filter) -> Result<FilterResult, FilterError> {
        let matchers = filter.matchers()?;
        let messages = self.message_summaries();
        let by_index: std::collections::HashMap<(Direction, u64), &MessageSummary> = messages
            .iter()
            .map(|m| ((m.direction, m.index), *m))
            .collect();
        let find = |d: Direction, i: u64| by_index.get(&(d, i)).copied();
        let mut out = FilterResult::default();
        for f in self.frames() {
            let control_text;
            let text = if f.is_control() {
                control_text = match &f.close {
                    Some(c) => Some(c.reason.clone()),
                    None => std::str::from_utf8(&f.control_payload)
                        .ok()
                        .map(str::to_owned),
                };
                control_text.as_deref()
            } else {
                f.message
                    .and_then(|i| find(f.direction, i))
                    .and_then(|m| m.text.as_deref())
            };
            if filter.frame_ok(f, text, &matchers) {
                out.frames.push(f.seq);
            } else {
                out.hidden_frames += 1;
            }
        }
        let first_opcode = |m: &MessageSummary| {
            let first = m.seq_range.0;
            self.frames()
                .binary_search_by_key(&first, |f| f.seq)
                .map_or(0, |i| self.frames()[i].opcode)
        };
        for m in &messages {
            if filter.message_ok(m, first_opcode(m), &matchers) {
                out.messages.push((m.direction, m.index));
            } else {
                out.hidden_messages += 1;
            }
        }
        Ok(out)
    }
}
