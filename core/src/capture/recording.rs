//! A connection recorded as it is seen (a live page, a relay), bounded in bytes, and
//! written out in any of the capture formats.

use super::{har, jsonl, pcapng_export, Capture, CaptureError, Chunk, Connection};
use crate::inspect::Direction;

/// Bytes a [`Recording`] keeps by default: 32 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 32 << 20;

/// The formats a capture can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteFormat {
    /// framewire's JSON lines ([`jsonl`]).
    Capture,
    /// HTTP Archive, as Chrome DevTools writes it ([`har`]).
    Har,
    /// pcapng that Wireshark decodes as WebSocket ([`pcapng_export`]).
    PcapNg,
}

impl WriteFormat {
    /// `"capture"`, `"har"` or `"pcapng"`; `None` for any other name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "capture" => Some(Self::Capture),
            "har" => Some(Self::Har),
            "pcapng" => Some(Self::PcapNg),
            _ => None,
        }
    }
}

/// Writes `capture` as `format`.
pub fn write(capture: &Capture, format: WriteFormat) -> Result<Vec<u8>, CaptureError> {
    match format {
        WriteFormat::Capture => Ok(jsonl::write(capture)),
        WriteFormat::Har => Ok(har::write(capture)),
        WriteFormat::PcapNg => pcapng_export::write(capture),
    }
}

/// One connection's bytes as they were seen, up to a byte limit: chunks past it
/// are counted, not kept (a connection written out stops where the limit was met).
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    capture: Capture,
    max_bytes: u64,
    kept: u64,
    dropped: u64,
}

impl Recording {
    /// An empty recording of a connection with these handshake heads, keeping at
    /// most `max_bytes` bytes of chunks.
    pub fn new(request: &[u8], response: &[u8], max_bytes: u64) -> Self {
        Self {
            capture: Capture {
                connections: vec![Connection {
                    request: request.to_vec(),
                    response: response.to_vec(),
                    ..Connection::default()
                }],
            },
            max_bytes,
            kept: 0,
            dropped: 0,
        }
    }

    fn conn(&mut self) -> &mut Connection {
        &mut self.capture.connections[0]
    }

    /// The connection recorded so far.
    pub fn connection(&self) -> &Connection {
        &self.capture.connections[0]
    }

    /// Sets what a capture says of the connection: its number and addresses.
    pub fn describe(&mut self, id: u32, client: Option<String>, server: Option<String>) {
        let c = self.conn();
        c.id = id;
        c.client = client;
        c.server = server;
    }

    /// Records `bytes` seen in `dir` at `t` milliseconds; returns false when they
    /// were past the limit (counted in [`Recording::dropped_bytes`], not kept).
    /// Once a chunk is dropped every later one is too: a recording with a hole
    /// would decode wrongly.
    pub fn push(&mut self, dir: Direction, bytes: &[u8], t: f64) -> bool {
        let len = bytes.len() as u64;
        if self.dropped > 0 || self.kept.saturating_add(len) > self.max_bytes {
            self.dropped = self.dropped.saturating_add(len);
            return false;
        }
        self.kept += len;
        self.conn().chunks.push(Chunk {
            t,
            dir,
            bytes: bytes.to_vec(),
        });
        true
    }

    /// The TCP connection ended.
    pub fn end(&mut self) {
        self.conn().ended = true;
    }

    /// Bytes of chunks kept.
    pub fn kept_bytes(&self) -> u64 {
        self.kept
    }

    /// Bytes seen past the limit.
    pub fn dropped_bytes(&self) -> u64 {
        self.dropped
    }

    /// The recording written as `format`.
    pub fn write(&self, format: WriteFormat) -> Result<Vec<u8>, CaptureError> {
        write(&self.capture, format)
    }
}
