//! An [`AnalysisSession`]'s bytes in and out of the capture formats: a capture file
//! read into structured connections for the page to feed, a session written as a
//! framewire capture, HAR or pcapng, and which ping a pong answered. Conversions
//! only: reading, writing and matching are the core's.

use framewire_core::capture::recording::{Recording, WriteFormat, DEFAULT_MAX_BYTES};
use framewire_core::capture::{self, CaptureLimits};
use framewire_core::inspect::Direction;
use serde::{Serialize, Serializer};
use wasm_bindgen::prelude::*;

use crate::{analysis, to_js, AnalysisSession};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** A capture file read: each connection's heads and its chunks of bytes in the order seen. */
export interface CaptureRead {
  format: "pcap" | "pcapng" | "capture" | "har";
  connections: {
    id: number; client: string | null; server: string | null;
    request: string; response: string; ended: boolean;
    /** `t` in milliseconds (since the Unix epoch when known). */
    chunks: { t: number; dir: Dir; bytes: Uint8Array }[];
  }[];
}
"#;

/// The recording an [`AnalysisSession`] keeps: its heads as given, at most
/// `max_bytes` (default [`DEFAULT_MAX_BYTES`]) of chunks.
pub fn recording(
    request: Option<String>,
    response: Option<String>,
    max_bytes: Option<f64>,
) -> Recording {
    let max = max_bytes
        .filter(|m| m.is_finite() && *m >= 0.0)
        .map_or(DEFAULT_MAX_BYTES, |m| m as u64);
    Recording::new(
        request.unwrap_or_default().as_bytes(),
        response.unwrap_or_default().as_bytes(),
        max,
    )
}

/// Bytes that cross to JavaScript as a `Uint8Array`.
struct Bytes<'a>(&'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

#[derive(Serialize)]
struct ChunkOut<'a> {
    t: f64,
    dir: Direction,
    bytes: Bytes<'a>,
}

#[derive(Serialize)]
struct ConnectionOut<'a> {
    id: u32,
    client: Option<&'a str>,
    server: Option<&'a str>,
    request: String,
    response: String,
    ended: bool,
    chunks: Vec<ChunkOut<'a>>,
}

#[derive(Serialize)]
struct CaptureOut<'a> {
    format: &'static str,
    connections: Vec<ConnectionOut<'a>>,
}

/// Reads a pcap, pcapng, HAR or framewire capture (sniffed) into its connections,
/// each with its heads and chunks, for the page to feed to an [`AnalysisSession`]
/// and its frame table.
#[wasm_bindgen(js_name = readCapture, unchecked_return_type = "CaptureRead")]
pub fn read_capture(bytes: &[u8]) -> Result<JsValue, JsError> {
    let (format, cap) = capture::import(bytes, &CaptureLimits::default())
        .map_err(|e| JsError::new(&e.to_string()))?;
    let connections = cap
        .connections
        .iter()
        .map(|c| ConnectionOut {
            id: c.id,
            client: c.client.as_deref(),
            server: c.server.as_deref(),
            request: String::from_utf8_lossy(&c.request).into_owned(),
            response: String::from_utf8_lossy(&c.response).into_owned(),
            ended: c.ended,
            chunks: c
                .chunks
                .iter()
                .map(|k| ChunkOut {
                    t: k.t,
                    dir: k.dir,
                    bytes: Bytes(&k.bytes),
                })
                .collect(),
        })
        .collect();
    to_js(&CaptureOut {
        format: analysis::format_name(format),
        connections,
    })
}

#[wasm_bindgen]
impl AnalysisSession {
    /// Names the connection in what `exportAs` writes: its number and addresses.
    pub fn describe(&mut self, id: u32, client: Option<String>, server: Option<String>) {
        self.record.describe(id, client, server);
    }

    /// The bytes fed so far (up to the recording's limit) written as `format`:
    /// `"capture"` (framewire JSON lines), `"har"` or `"pcapng"`.
    #[wasm_bindgen(js_name = exportAs)]
    pub fn export_as(
        &self,
        #[wasm_bindgen(unchecked_param_type = "\"pcapng\" | \"har\" | \"capture\"")] format: &str,
    ) -> Result<Vec<u8>, JsError> {
        let f = WriteFormat::from_name(format).ok_or_else(|| {
            JsError::new(&format!(
                "cannot write {format:?}: use \"pcapng\", \"har\" or \"capture\""
            ))
        })?;
        self.record
            .write(f)
            .map_err(|e| JsError::new(&e.to_string()))
    }

    /// Bytes kept for `exportAs`.
    #[wasm_bindgen(getter, js_name = recordedBytes)]
    pub fn recorded_bytes(&self) -> f64 {
        self.record.kept_bytes() as f64
    }

    /// Bytes fed past the recording's limit: analysed, not kept for `exportAs`.
    #[wasm_bindgen(getter, js_name = unrecordedBytes)]
    pub fn unrecorded_bytes(&self) -> f64 {
        self.record.dropped_bytes() as f64
    }

    /// The frame index (in the other direction) of the ping that the pong
    /// `pongFrame` of `dir` answered, as the core's heartbeat analysis matched them.
    #[wasm_bindgen(js_name = pingAnsweredBy)]
    pub fn ping_answered_by(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Dir")] dir: &str,
        #[wasm_bindgen(js_name = pongFrame)] pong_frame: f64,
    ) -> Result<Option<f64>, JsError> {
        let dir = analysis::direction(dir).map_err(|e| JsError::new(&e))?;
        Ok(self
            .inner
            .ping_answered_by(dir, pong_frame as u64)
            .map(|ping| ping as f64))
    }
}
