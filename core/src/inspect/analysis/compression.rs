//! Compression truth: each message's bytes on the wire and inflated, totals per
//! direction, and the negotiated permessage-deflate parameters in words with what
//! they cost in memory (zlib's own formulas).

use crate::deflate::DeflateParams;

use super::{Direction, Session};

/// zlib's default `memLevel`, which deflate's hash tables are sized by.
const MEM_LEVEL: u32 = 8;

/// zlib's fixed overhead of a stream beside its window and tables (about 7 KiB).
const STREAM_OVERHEAD: u64 = 7 * 1024;

/// Bytes zlib's deflate holds for `window_bits`: `(1 << (windowBits+2)) +
/// (1 << (memLevel+9))` (memLevel 8) plus about 7 KiB.
pub fn deflate_memory(window_bits: u8) -> u64 {
    (1u64 << (u32::from(window_bits) + 2)) + (1u64 << (MEM_LEVEL + 9)) + STREAM_OVERHEAD
}

/// Bytes zlib's inflate holds for `window_bits`: `1 << windowBits` plus about 7 KiB.
pub fn window_memory(window_bits: u8) -> u64 {
    (1u64 << window_bits) + STREAM_OVERHEAD
}

/// One message's compression.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct MessageCompression {
    /// Who sent it.
    pub direction: Direction,
    /// Its index among its direction's messages.
    pub index: u64,
    /// It was compressed.
    pub compressed: bool,
    /// Payload bytes on the wire.
    pub wire: u64,
    /// Bytes after inflation (the same as `wire` when not compressed); `None` when unknown.
    pub inflated: Option<u64>,
    /// `inflated / wire`: how many times smaller the wire was.
    pub ratio: Option<f64>,
}

/// One direction's totals.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct DirectionCompression {
    /// Complete messages.
    pub messages: u64,
    /// Of them, compressed.
    pub compressed: u64,
    /// Payload bytes on the wire of the messages whose size is known.
    pub wire: u64,
    /// Their content bytes after inflation.
    pub inflated: u64,
    /// `inflated / wire` over the direction.
    pub ratio: Option<f64>,
    /// Bytes saved on the wire (`inflated - wire`, negative when compression grew them).
    pub saved: i64,
}

/// What one end holds for permessage-deflate.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct SideMemory {
    /// `client` or `server`.
    pub side: &'static str,
    /// The window it compresses with (its own `*_max_window_bits`).
    pub deflate_window_bits: u8,
    /// Bytes its compressor holds (zlib's formula).
    pub deflate_bytes: u64,
    /// The window it inflates with (the peer's `*_max_window_bits`).
    pub inflate_window_bits: u8,
    /// Bytes its decompressor holds.
    pub inflate_bytes: u64,
    /// The compressor is reset after each message (freed between messages).
    pub compress_no_context_takeover: bool,
    /// The peer resets its compressor, so this end may free its decompressor between messages.
    pub inflate_no_context_takeover: bool,
}

/// The negotiated parameters, in numbers and in words.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct DeflateSetup {
    /// The server's answer as it reads in the extension header.
    pub answer: String,
    /// Memory each end holds: client first.
    pub sides: [SideMemory; 2],
    /// One sentence per parameter.
    pub words: Vec<String>,
}

/// The compression report.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct Compression {
    /// The parameters, when permessage-deflate was negotiated.
    pub deflate: Option<DeflateSetup>,
    /// Every complete message.
    pub messages: Vec<MessageCompression>,
    /// Totals: client to server, then server to client.
    pub totals: [DirectionCompression; 2],
}

impl DeflateSetup {
    /// The setup `answer` (the server's agreed parameters) makes.
    pub fn new(answer: &DeflateParams) -> Self {
        let server_bits = answer.server_max_window_bits.unwrap_or(15);
        let client_bits = answer.client_max_window_bits.flatten().unwrap_or(15);
        let mut text = String::from("permessage-deflate");
        if answer.server_no_context_takeover {
            text.push_str("; server_no_context_takeover");
        }
        if answer.client_no_context_takeover {
            text.push_str("; client_no_context_takeover");
        }
        if let Some(b) = answer.server_max_window_bits {
            text.push_str(&format!("; server_max_window_bits={b}"));
        }
        match answer.client_max_window_bits {
            Some(Some(b)) => text.push_str(&format!("; client_max_window_bits={b}")),
            Some(None) => text.push_str("; client_max_window_bits"),
            None => {}
        }
        let side = |side, own: u8, peer: u8, own_nct: bool, peer_nct: bool| SideMemory {
            side,
            deflate_window_bits: own,
            deflate_bytes: deflate_memory(own),
            inflate_window_bits: peer,
            inflate_bytes: window_memory(peer),
            compress_no_context_takeover: own_nct,
            inflate_no_context_takeover: peer_nct,
        };
        let sides = [
            side(
                "client",
                client_bits,
                server_bits,
                answer.client_no_context_takeover,
                answer.server_no_context_takeover,
            ),
            side(
                "server",
                server_bits,
                client_bits,
                answer.server_no_context_takeover,
                answer.client_no_context_takeover,
            ),
        ];
        let kib = |b: u64| format!("{:.1} KiB", b as f64 / 1024.0);
        let mut words = Vec::new();
        for (name, bits, s) in [
            ("server", server_bits, &sides[1]),
            ("client", client_bits, &sides[0]),
        ] {
            words.push(format!(
                "the {name} compresses with a {} window ({bits} bits): its deflate holds {}, the peer's inflate {}",
                kib(1 << bits),
                kib(s.deflate_bytes),
                kib(window_memory(bits)),
            ));
        }
        for (name, nct) in [
            ("server", answer.server_no_context_takeover),
            ("client", answer.client_no_context_takeover),
        ] {
            words.push(if nct {
                format!(
                    "{name}_no_context_takeover: the {name} starts each message with an empty window; \
                     repeated content between messages is not reused (worse ratio), and both ends \
                     may free that direction's zlib state between messages"
                )
            } else {
                format!(
                    "context takeover from the {name}: each message may refer to earlier ones (better \
                     ratio on repetitive traffic), so both ends keep that direction's window for the \
                     connection's life"
                )
            });
        }
        Self {
            answer: text,
            sides,
            words,
        }
    }
}

impl Session {
    /// Bytes on the wire and inflated, per message and per direction, and the
    /// negotiated parameters.
    pub fn compression(&self) -> Compression {
        let mut totals = [DirectionCompression::default(); 2];
        let mut messages = Vec::new();
        for m in self.message_summaries().into_iter().filter(|m| m.complete) {
            let t = &mut totals[m.direction.index()];
            t.messages += 1;
            t.compressed += u64::from(m.compressed);
            if let Some(size) = m.size {
                t.wire += m.payload_size;
                t.inflated += size;
            }
            messages.push(MessageCompression {
                direction: m.direction,
                index: m.index,
                compressed: m.compressed,
                wire: m.payload_size,
                inflated: m.size,
                ratio: m
                    .size
                    .filter(|_| m.payload_size > 0)
                    .map(|s| s as f64 / m.payload_size as f64),
            });
        }
        for t in &mut totals {
            t.ratio = (t.wire > 0).then(|| t.inflated as f64 / t.wire as f64);
            t.saved = i64::try_from(t.inflated).unwrap_or(i64::MAX)
                - i64::try_from(t.wire).unwrap_or(i64::MAX);
        }
        Compression {
            deflate: self.deflate().map(DeflateSetup::new),
            messages,
            totals,
        }
    }
}
