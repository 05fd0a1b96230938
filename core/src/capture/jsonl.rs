//! framewire's lossless capture: JSON lines.
//!
//! The first line is the header: the format's name and version, and each
//! connection's handshake heads (as text, or base64 under `request_b64` /
//! `response_b64` when not UTF-8), addresses and whether its TCP ended:
//!
//! ```text
//! {"format":"framewire-capture","version":1,"connections":[{"conn":0,"request":"GET / HTTP/1.1\r\n...\r\n\r\n","response":"HTTP/1.1 101 Switching Protocols\r\n...\r\n\r\n","client":"10.0.0.1:50000","server":"10.0.0.2:80","ended":true}]}
//! ```
//!
//! Every other line is one chunk of bytes as it was seen after the heads:
//! `t` in milliseconds (f64; since the Unix epoch when known), `dir` `"c2s"` or
//! `"s2c"`, `conn` the connection's number, `b64` the bytes (standard base64):
//!
//! ```text
//! {"t":1733456789012.5,"dir":"c2s","conn":0,"b64":"gYU3+iE9f59NUVg="}
//! ```
//!
//! Blank lines are skipped. Readers must ignore unknown fields; a new version
//! number means an incompatible change.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::{Capture, CaptureError, CaptureLimits, Chunk, Connection};
use crate::inspect::Direction;

/// The header's `format` value.
pub const FORMAT_NAME: &str = "framewire-capture";

/// The version this module writes and reads.
pub const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    #[serde(default)]
    connections: Vec<ConnHeader>,
}

#[derive(Serialize, Deserialize, Default)]
struct ConnHeader {
    conn: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_b64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response_b64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    server: Option<String>,
    #[serde(default)]
    ended: bool,
}

#[derive(Serialize, Deserialize)]
struct Line {
    t: f64,
    dir: Direction,
    conn: u32,
    b64: String,
}

fn head_out(bytes: &[u8]) -> (Option<String>, Option<String>) {
    if bytes.is_empty() {
        return (None, None);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (Some(s.to_owned()), None),
        Err(_) => (None, Some(STANDARD.encode(bytes))),
    }
}

fn head_in(
    text: Option<String>,
    b64: Option<String>,
    line: usize,
    name: &str,
) -> Result<Vec<u8>, CaptureError> {
    match (text, b64) {
        (_, Some(b)) => STANDARD.decode(b).map_err(|e| CaptureError::Line {
            line,
            reason: format!("{name}_b64 is not base64: {e}"),
        }),
        (Some(t), None) => Ok(t.into_bytes()),
        (None, None) => Ok(Vec::new()),
    }
}

/// The next chunk of connection `.1`, ordered by its time `.0`, then by connection.
struct Head(f64, usize);

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// Writes `capture` as JSON lines: connections interleaved by time, each
/// connection's chunks in their recorded order.
pub fn write(capture: &Capture) -> Vec<u8> {
    let header = Header {
        format: FORMAT_NAME.to_owned(),
        version: VERSION,
        connections: capture
            .connections
            .iter()
            .map(|c| {
                let (request, request_b64) = head_out(&c.request);
                let (response, response_b64) = head_out(&c.response);
                ConnHeader {
                    conn: c.id,
                    request,
                    request_b64,
                    response,
                    response_b64,
                    client: c.client.clone(),
                    server: c.server.clone(),
                    ended: c.ended,
                }
            })
            .collect(),
    };
    let mut out = serde_json::to_vec(&header).unwrap_or_default();
    out.push(b'\n');
    // Connections interleaved by time; each keeps its recorded order, even
    // where its times go back (the order is what the inspector was fed).
    let mut next = vec![0usize; capture.connections.len()];
    let mut heads: BinaryHeap<Reverse<Head>> = capture
        .connections
        .iter()
        .enumerate()
        .filter_map(|(i, c)| Some(Reverse(Head(c.chunks.first()?.t, i))))
        .collect();
    while let Some(Reverse(Head(_, i))) = heads.pop() {
        let c = &capture.connections[i];
        let k = &c.chunks[next[i]];
        next[i] += 1;
        if let Some(n) = c.chunks.get(next[i]) {
            heads.push(Reverse(Head(n.t, i)));
        }
        let line = Line {
            t: k.t,
            dir: k.dir,
            conn: c.id,
            b64: STANDARD.encode(&k.bytes),
        };
        if let Ok(v) = serde_json::to_vec(&line) {
            out.extend_from_slice(&v);
            out.push(b'\n');
        }
    }
    out
}

/// Reads a framewire capture. Errors name the line and what is wrong in it.
pub fn read(bytes: &[u8], limits: &CaptureLimits) -> Result<Capture, CaptureError> {
    let mut lines = bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix(b"\r").unwrap_or(l)))
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace));
    let (n, first) = lines.next().ok_or(CaptureError::Line {
        line: 1,
        reason: "empty: no header line".to_owned(),
    })?;
    let header: Header = serde_json::from_slice(first).map_err(|e| CaptureError::Line {
        line: n,
        reason: format!("the header does not parse: {e}"),
    })?;
    if header.format != FORMAT_NAME {
        return Err(CaptureError::Line {
            line: n,
            reason: format!("format is {:?}, not {FORMAT_NAME:?}", header.format),
        });
    }
    if header.version != VERSION {
        return Err(CaptureError::Line {
            line: n,
            reason: format!(
                "version {} is not supported (this reader knows {VERSION})",
                header.version
            ),
        });
    }
    if header.connections.len() > limits.max_connections {
        return Err(CaptureError::Limit {
            what: "the number of connections",
            limit: limits.max_connections as u64,
            at: Some(format!("line {n}")),
        });
    }
    let mut capture = Capture::default();
    let mut index = std::collections::HashMap::new();
    for h in header.connections {
        if index.insert(h.conn, capture.connections.len()).is_some() {
            return Err(CaptureError::Line {
                line: n,
                reason: format!("connection {} is declared twice", h.conn),
            });
        }
        capture.connections.push(Connection {
            id: h.conn,
            request: head_in(h.request, h.request_b64, n, "request")?,
            response: head_in(h.response, h.response_b64, n, "response")?,
            client: h.client,
            server: h.server,
            ended: h.ended,
            chunks: Vec::new(),
        });
    }
    let mut total = 0u64;
    for (n, text) in lines {
        let line: Line = serde_json::from_slice(text).map_err(|e| CaptureError::Line {
            line: n,
            reason: format!("not a chunk: {e}"),
        })?;
        if !line.t.is_finite() {
            return Err(CaptureError::Line {
                line: n,
                reason: "t is not a finite number".to_owned(),
            });
        }
        let bytes = STANDARD.decode(&line.b64).map_err(|e| CaptureError::Line {
            line: n,
            reason: format!("b64 is not base64: {e}"),
        })?;
        total += bytes.len() as u64;
        if total > limits.max_bytes {
            return Err(CaptureError::Limit {
                what: "the captured bytes",
                limit: limits.max_bytes,
                at: Some(format!("line {n}")),
            });
        }
        let conn = index
            .get(&line.conn)
            .map(|i| &mut capture.connections[*i])
            .ok_or_else(|| CaptureError::Line {
                line: n,
                reason: format!("connection {} is not in the header", line.conn),
            })?;
        conn.chunks.push(Chunk {
            t: line.t,
            dir: line.dir,
            bytes,
        });
    }
    Ok(capture)
}
