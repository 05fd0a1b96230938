//! The analysis and capture formats of the core for the page: a live
//! [`AnalysisSession`], and whole captures (pcap, pcapng, HAR, framewire JSON
//! lines) analysed or converted. Conversions only: every answer is the core's.

use std::time::Duration;

use framewire_core::capture::recording::{self, WriteFormat};
use framewire_core::capture::{self, CaptureLimits, Format};
use framewire_core::inspect::analysis::{
    CloseDiagnosis, Compression, Filter, FilterResult, Heartbeats, KindFilter, Session,
    SessionConfig, Traffic, ViewEntry,
};
use framewire_core::inspect::Direction;
use serde::{Deserialize, Serialize};

/// Everything the analysis says about one connection.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Frames summarised.
    pub frames: usize,
    /// Frames seen past the session's limit (counted, not kept).
    pub dropped_frames: u64,
    /// The message view (its newest entries when the report was asked for fewer).
    pub messages: Vec<ViewEntry>,
    /// Entries of the whole message view.
    pub view_entries: usize,
    /// Compression truth.
    pub compression: Compression,
    /// Pings, pongs and silences.
    pub heartbeats: Heartbeats,
    /// The close diagnosis.
    pub close: CloseDiagnosis,
    /// Traffic over time.
    pub traffic: Traffic,
}

/// The report of `s`; `ended` tells whether the connection is over. With
/// `max_entries`, the message view and the per-message compression list hold
/// only their newest `max_entries` (what a page draws, not the whole session).
pub fn report(s: &Session, ended: bool, bucket_ms: f64, max_entries: Option<usize>) -> Report {
    let mut messages = s.message_view();
    let view_entries = messages.len();
    let mut compression = s.compression();
    if let Some(max) = max_entries {
        messages.drain(..view_entries.saturating_sub(max));
        let n = compression.messages.len();
        compression.messages.drain(..n.saturating_sub(max));
    }
    Report {
        frames: s.frames().len(),
        dropped_frames: s.dropped_frames(),
        messages,
        view_entries,
        compression,
        heartbeats: s.heartbeats(),
        close: s.close_diagnosis(ended),
        traffic: s.traffic(bucket_ms),
    }
}

/// A filter as the page writes it: every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FilterSpec {
    /// `"c2s"` or `"s2c"`.
    pub direction: Option<Direction>,
    /// `"data"` or `"control"`.
    pub kind: Option<String>,
    /// Opcodes to keep.
    #[serde(default)]
    pub opcodes: Vec<u8>,
    /// Text to find (case-insensitive).
    pub text: Option<String>,
    /// A regular expression.
    pub regex: Option<String>,
    /// Smallest size.
    pub min_size: Option<u64>,
    /// Largest size.
    pub max_size: Option<u64>,
}

impl FilterSpec {
    /// The core's filter, or what is wrong with the spec.
    pub fn to_filter(self) -> Result<Filter, String> {
        let kind = match self.kind.as_deref() {
            None => None,
            Some("data") => Some(KindFilter::Data),
            Some("control") => Some(KindFilter::Control),
            Some(other) => return Err(format!("kind {other:?} is not \"data\" or \"control\"")),
        };
        Ok(Filter {
            direction: self.direction,
            kind,
            opcodes: self.opcodes,
            text: self.text,
            regex: self.regex,
            min_size: self.min_size,
            max_size: self.max_size,
        })
    }
}

/// The filter's answer for `s`.
pub fn filter(s: &Session, spec: FilterSpec) -> Result<FilterResult, String> {
    let f = spec.to_filter()?;
    s.filter(&f).map_err(|e| e.to_string())
}

/// One connection of an analysed capture.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionReport {
    /// Its number.
    pub id: u32,
    /// The client's address, when known.
    pub client: Option<String>,
    /// The server's address, when known.
    pub server: Option<String>,
    /// The request head.
    pub request: String,
    /// The response head.
    pub response: String,
    /// The TCP connection ended within the capture.
    pub ended: bool,
    /// The analysis.
    pub report: Report,
}

/// An analysed capture.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureReport {
    /// `pcap`, `pcapng`, `capture` or `har`.
    pub format: &'static str,
    /// Its connections.
    pub connections: Vec<ConnectionReport>,
}

/// The page's name of a capture format.
pub fn format_name(f: Format) -> &'static str {
    match f {
        Format::Pcap => "pcap",
        Format::PcapNg => "pcapng",
        Format::Capture => "capture",
        Format::Har => "har",
    }
}

/// Reads a capture in any format and analyses each connection.
pub fn analyze_capture(bytes: &[u8], bucket_ms: f64) -> Result<CaptureReport, String> {
    let (format, cap) =
        capture::import(bytes, &CaptureLimits::default()).map_err(|e| e.to_string())?;
    let mut connections = Vec::with_capacity(cap.connections.len());
    for c in &cap.connections {
        let s = capture::analyze(c, SessionConfig::default()).map_err(|e| e.to_string())?;
        connections.push(ConnectionReport {
            id: c.id,
            client: c.client.clone(),
            server: c.server.clone(),
            request: String::from_utf8_lossy(&c.request).into_owned(),
            response: String::from_utf8_lossy(&c.response).into_owned(),
            ended: c.ended,
            report: report(&s, c.ended, bucket_ms, None),
        });
    }
    Ok(CaptureReport {
        format: format_name(format),
        connections,
    })
}

/// Reads a capture in any format and writes it as `to`: `pcapng`, `har` or `capture`.
pub fn convert_capture(bytes: &[u8], to: &str) -> Result<Vec<u8>, String> {
    let format = WriteFormat::from_name(to)
        .ok_or_else(|| format!("cannot write {to:?}: use \"pcapng\", \"har\" or \"capture\""))?;
    let (_, cap) = capture::import(bytes, &CaptureLimits::default()).map_err(|e| e.to_string())?;
    recording::write(&cap, format).map_err(|e| e.to_string())
}

/// Parses `"c2s"` or `"s2c"`.
pub fn direction(name: &str) -> Result<Direction, String> {
    match name {
        "c2s" => Ok(Direction::ClientToServer),
        "s2c" => Ok(Direction::ServerToClient),
        other => Err(format!("direction {other:?} is not \"c2s\" or \"s2c\"")),
    }
}

/// A time in milliseconds as the core's `Duration`, if valid.
pub fn time(ms: Option<f64>) -> Option<Duration> {
    ms.filter(|t| t.is_finite() && *t >= 0.0)
        .and_then(|t| Duration::try_from_secs_f64(t / 1000.0).ok())
}
