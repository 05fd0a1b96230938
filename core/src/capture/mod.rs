//! Recorded WebSocket connections, in and out of the formats people share them in
//! (feature `capture`). No IO: bytes in, records out, and back.
//!
//! - [`jsonl`]: framewire's own lossless capture, JSON lines: a header line with the
//!   format version and each connection's handshake heads, then one line per chunk
//!   of bytes as it was seen (time, direction, connection, base64). See the module.
//! - [`pcap`]: pcap and pcapng import, with TCP reassembly of every WebSocket
//!   connection in the file (found by its HTTP Upgrade, on any port).
//! - [`pcapng_export`]: pcapng that Wireshark decodes as the same WebSocket frames
//!   (synthesised Ethernet/IPv4/TCP packets around the recorded bytes).
//! - [`har`]: HAR as Chrome DevTools writes it (`_webSocketMessages` on the upgrade
//!   entry), both ways. A HAR holds messages, not frames: importing one builds a
//!   frame per message.
//!
//! - [`recording`]: one connection recorded as it is seen, bounded in bytes, written
//!   out in any of the formats above.
//!
//! [`analyze`] runs a connection through an analysis [`Session`].

pub mod har;
pub mod jsonl;
pub mod pcap;
pub mod pcapng_export;
pub mod recording;

mod reassembly;

#[cfg(test)]
mod tests;

use std::time::Duration;

use crate::inspect::analysis::{Session, SessionConfig, SessionError};
use crate::inspect::Direction;

/// Bytes seen in one direction of one connection at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// When they were seen, in milliseconds (since the Unix epoch when the source
    /// knew the wall clock, else since the capture began).
    pub t: f64,
    /// Who sent them.
    pub dir: Direction,
    /// The bytes, exactly as on the wire after the opening handshake.
    pub bytes: Vec<u8>,
}

/// One recorded WebSocket connection.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Connection {
    /// Its number in the capture.
    pub id: u32,
    /// The client's HTTP request head, blank line included (empty when unknown).
    pub request: Vec<u8>,
    /// The server's `101` response head, blank line included (empty when unknown).
    pub response: Vec<u8>,
    /// The client's address, such as `10.0.0.1:50000`, when known.
    pub client: Option<String>,
    /// The server's address, when known.
    pub server: Option<String>,
    /// The TCP connection is known to have ended (FIN or RST) within the capture.
    pub ended: bool,
    /// The bytes after the handshake heads, in the order seen.
    pub chunks: Vec<Chunk>,
}

impl Connection {
    /// Bytes recorded in `dir`.
    pub fn bytes(&self, dir: Direction) -> u64 {
        self.chunks
            .iter()
            .filter(|c| c.dir == dir)
            .map(|c| c.bytes.len() as u64)
            .sum()
    }
}

/// A set of recorded connections.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Capture {
    /// The connections, by id.
    pub connections: Vec<Connection>,
}

/// How much an import may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureLimits {
    /// Most WebSocket bytes kept over all connections.
    pub max_bytes: u64,
    /// Most connections.
    pub max_connections: usize,
    /// Most out-of-order bytes held per TCP direction, waiting for a gap to fill.
    pub max_reorder: usize,
    /// Most bytes of an HTTP head.
    pub max_head: usize,
}

impl Default for CaptureLimits {
    /// 256 MiB of WebSocket bytes, 4096 connections, 4 MiB out of order per direction,
    /// 64 KiB heads.
    fn default() -> Self {
        Self {
            max_bytes: 256 << 20,
            max_connections: 4096,
            max_reorder: 4 << 20,
            max_head: 64 << 10,
        }
    }
}

/// The capture formats this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap.
    Pcap,
    /// pcapng.
    PcapNg,
    /// framewire's JSON lines.
    Capture,
    /// HTTP Archive.
    Har,
}

impl Format {
    /// Guesses the format from the first bytes: the pcap and pcapng magic numbers,
    /// else JSON (a HAR has a `"log"` object, a capture's first line `"format"`).
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        match bytes.get(..4)? {
            [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d] => return Some(Self::Pcap),
            [0x0a, 0x0d, 0x0d, 0x0a] => return Some(Self::PcapNg),
            _ => {}
        }
        let head = &bytes[..bytes.len().min(4096)];
        let first_line = head.split(|b| *b == b'\n').next().unwrap_or(head);
        let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        if contains(first_line, jsonl::FORMAT_NAME.as_bytes()) {
            Some(Self::Capture)
        } else if contains(head, b"\"log\"") {
            Some(Self::Har)
        } else {
            None
        }
    }
}

/// Why a capture could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The format is not one of [`Format`].
    #[error("not a pcap, pcapng, HAR or framewire capture (the first bytes match none)")]
    UnknownFormat,
    /// A line of a framewire capture is wrong.
    #[error("capture line {line}: {reason}")]
    Line {
        /// The line number, from 1.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A pcap or pcapng record is wrong.
    #[error("{format} record {record} at byte {offset}: {reason}")]
    Record {
        /// `pcap` or `pcapng`.
        format: &'static str,
        /// The record's number, from 1 (the file header is record 0).
        record: u64,
        /// Its offset in the file.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A HAR is wrong.
    #[error("HAR {path}: {reason}")]
    Har {
        /// Where in the HAR, such as `log.entries[2]._webSocketMessages[5]`.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A limit of [`CaptureLimits`] was reached.
    #[error("{what} is over the limit of {limit}{}", at.as_ref().map(|a| format!(" (at {a})")).unwrap_or_default())]
    Limit {
        /// What grew too big.
        what: &'static str,
        /// The limit.
        limit: u64,
        /// Where it happened.
        at: Option<String>,
    },
    /// A connection cannot be written in the asked format.
    #[error("connection {conn}: {reason}")]
    Unwritable {
        /// The connection's id.
        conn: u32,
        /// Why.
        reason: String,
    },
}

/// Reads any of the formats, sniffed by [`Format::sniff`].
pub fn import(bytes: &[u8], limits: &CaptureLimits) -> Result<(Format, Capture), CaptureError> {
    let format = Format::sniff(bytes).ok_or(CaptureError::UnknownFormat)?;
    let capture = match format {
        Format::Pcap | Format::PcapNg => pcap::read(bytes, limits)?,
        Format::Capture => jsonl::read(bytes, limits)?,
        Format::Har => har::read(bytes, limits)?,
    };
    Ok((format, capture))
}

/// Runs `conn` through a new analysis [`Session`] (permessage-deflate as its
/// response head agreed). A response head that does not parse is ignored: the
/// frames are still analysed, uncompressed.
pub fn analyze(conn: &Connection, config: SessionConfig) -> Result<Session, SessionError> {
    let mut s = Session::new(config)?;
    if !conn.response.is_empty() {
        let _ = s.enable_deflate_from_response(&conn.response);
    }
    for c in &conn.chunks {
        let t = Duration::try_from_secs_f64(c.t.max(0.0) / 1000.0).ok();
        s.feed(c.dir, &c.bytes, t);
    }
    Ok(s)
}
