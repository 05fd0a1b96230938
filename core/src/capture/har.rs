//! HAR (HTTP Archive 1.2) as Chrome DevTools writes it for WebSocket: the upgrade
//! request is an entry with `_resourceType: "websocket"` and its messages under
//! `_webSocketMessages`, each `{"type": "send"|"receive", "time": <seconds since
//! the epoch>, "opcode": 1|2, "data": <text, or base64 for binary>}`.
//!
//! Export decodes each connection's frames (the core's inspector, inflating
//! permessage-deflate) and writes one HAR message per data message, as Chrome
//! does. Import reads those entries back; a HAR holds messages, not frames, so
//! each message becomes one frame (client frames masked with [`IMPORT_MASK`],
//! never compressed) after heads rebuilt from the entry's headers.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::{Capture, CaptureError, CaptureLimits, Chunk, Connection};
use crate::frame::{encode_frame, FrameHeader, LengthEncoding};
use crate::inspect::{Direction, Inspector, InspectorConfig, Observation};
use crate::opcode::DataKind;

/// The mask key of the client frames an import builds.
pub const IMPORT_MASK: [u8; 4] = [0x6d, 0x61, 0x73, 0x6b];

/// A data message decoded for the HAR.
struct HarMessage {
    dir: Direction,
    t: f64,
    opcode: u8,
    data: Vec<u8>,
}

/// Every data message of `c`, whole (inflated), with the time of its last frame.
fn messages(c: &Connection) -> Vec<HarMessage> {
    let Ok(mut insp) = Inspector::new(InspectorConfig::default()) else {
        return Vec::new();
    };
    if !c.response.is_empty() {
        let _ = insp.enable_deflate_from_response(&c.response);
    }
    let mut open: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    let mut out = Vec::new();
    for k in &c.chunks {
        let side = usize::from(k.dir == Direction::ServerToClient);
        for o in insp.feed(k.dir, &k.bytes, None) {
            match o {
                Observation::Frame(f) if f.message.is_some() => {
                    open[side].extend_from_slice(f.content());
                }
                Observation::Message(m) => {
                    out.push(HarMessage {
                        dir: k.dir,
                        t: k.t,
                        opcode: match m.kind {
                            Some(DataKind::Binary) => 2,
                            _ => 1,
                        },
                        data: std::mem::take(&mut open[side]),
                    });
                }
                _ => {}
            }
        }
    }
    out
}

/// The headers of an HTTP head as HAR `{name, value}` objects, and its first line.
fn head_parts(head: &[u8]) -> (String, Vec<Value>) {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| json!({"name": n.trim(), "value": v.trim()}))
        .collect();
    (first, headers)
}

fn header<'a>(headers: &'a [Value], name: &str) -> Option<&'a str> {
    headers.iter().find_map(|h| {
        (h["name"].as_str()?.eq_ignore_ascii_case(name)).then(|| h["value"].as_str())?
    })
}

/// `ms` since the Unix epoch as ISO 8601 (UTC, milliseconds).
fn iso8601(ms: f64) -> String {
    let total_ms = ms.max(0.0) as i64;
    let (days, rem) = (
        total_ms.div_euclid(86_400_000),
        total_ms.rem_euclid(86_400_000),
    );
    // Days to civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// Writes `capture` as a HAR: one entry per connection.
pub fn write(capture: &Capture) -> Vec<u8> {
    let entries: Vec<Value> = capture
        .connections
        .iter()
        .map(|c| {
            let (req_line, req_headers) = head_parts(&c.request);
            let (resp_line, resp_headers) = head_parts(&c.response);
            let mut req_words = req_line.split(' ');
            let method = req_words.next().filter(|m| !m.is_empty()).unwrap_or("GET");
            let path = req_words.next().unwrap_or("/");
            let version = req_words.next().unwrap_or("HTTP/1.1");
            let mut resp_words = resp_line.splitn(3, ' ');
            let _ = resp_words.next();
            let status: u16 = resp_words.next().and_then(|s| s.parse().ok()).unwrap_or(101);
            let status_text = resp_words.next().unwrap_or("Switching Protocols");
            let host = header(&req_headers, "host")
                .map(str::to_owned)
                .or_else(|| c.server.clone())
                .unwrap_or_else(|| "localhost".to_owned());
            let scheme = if c.server.as_deref().is_some_and(|s| s.ends_with(":443")) {
                "wss"
            } else {
                "ws"
            };
            let t0 = c.chunks.first().map_or(0.0, |k| k.t);
            let msgs: Vec<Value> = messages(c)
                .into_iter()
                .map(|m| {
                    let data = if m.opcode == 1 {
                        String::from_utf8_lossy(&m.data).into_owned()
                    } else {
                        STANDARD.encode(&m.data)
                    };
                    json!({
                        "type": if m.dir == Direction::ClientToServer { "send" } else { "receive" },
                        "time": m.t / 1000.0,
                        "opcode": m.opcode,
                        "data": data,
                    })
                })
                .collect();
            let mut entry = Map::new();
            entry.insert("startedDateTime".into(), json!(iso8601(t0)));
            entry.insert("time".into(), json!(0));
            entry.insert(
                "request".into(),
                json!({
                    "method": method,
                    "url": format!("{scheme}://{host}{path}"),
                    "httpVersion": version,
                    "headers": req_headers,
                    "queryString": [],
                    "cookies": [],
                    "headersSize": c.request.len(),
                    "bodySize": 0,
                }),
            );
            entry.insert(
                "response".into(),
                json!({
                    "status": status,
                    "statusText": status_text,
                    "httpVersion": version,
                    "headers": resp_headers,
                    "cookies": [],
                    "content": {"size": 0, "mimeType": "x-unknown"},
                    "redirectURL": "",
                    "headersSize": c.response.len(),
                    "bodySize": 0,
                }),
            );
            entry.insert("cache".into(), json!({}));
            entry.insert(
                "timings".into(),
                json!({"blocked": -1, "dns": -1, "ssl": -1, "connect": -1, "send": 0, "wait": 0, "receive": 0}),
            );
            if let Some(ip) = c.server.as_deref().and_then(|s| s.rsplit_once(':')) {
                entry.insert("serverIPAddress".into(), json!(ip.0.trim_matches(['[', ']'])));
            }
            entry.insert("_resourceType".into(), json!("websocket"));
            entry.insert("_webSocketMessages".into(), Value::Array(msgs));
            Value::Object(entry)
        })
        .collect();
    let har = json!({
        "log": {
            "version": "1.2",
            "creator": {"name": "framewire", "version": env!("CARGO_PKG_VERSION")},
            "pages": [],
            "entries": entries,
        }
    });
    serde_json::to_vec_pretty(&har).unwrap_or_default()
}

fn har_error(path: impl Into<String>, reason: impl Into<String>) -> CaptureError {
    CaptureError::Har {
        path: path.into(),
        reason: reason.into(),
    }
}

/// Rebuilds an HTTP head from a HAR first line and `headers`.
fn head(first: String, headers: Option<&Value>, path: &str) -> Result<Vec<u8>, CaptureError> {
    let mut out = first;
    out.push_str("\r\n");
    for (i, h) in headers
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let (Some(n), Some(v)) = (h["name"].as_str(), h["value"].as_str()) else {
            return Err(har_error(
                format!("{path}.headers[{i}]"),
                "a header needs a string name and value",
            ));
        };
        if n.contains(['\r', '\n', ':']) || v.contains(['\r', '\n']) {
            return Err(har_error(
                format!("{path}.headers[{i}]"),
                "a header has a line break or a colon in its name",
            ));
        }
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    Ok(out.into_bytes())
}

/// The path and query of a `ws://host/path?q` URL.
fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/", |i| &rest[i..])
}

/// Reads the WebSocket entries of a HAR (those with `_webSocketMessages`).
pub fn read(bytes: &[u8], limits: &CaptureLimits) -> Result<Capture, CaptureError> {
    let har: Value =
        serde_json::from_slice(bytes).map_err(|e| har_error("(file)", format!("not JSON: {e}")))?;
    let entries = har["log"]["entries"]
        .as_array()
        .ok_or_else(|| har_error("log.entries", "missing, or not an array"))?;
    let mut capture = Capture::default();
    let mut total = 0u64;
    for (i, entry) in entries.iter().enumerate() {
        let Some(msgs) = entry.get("_webSocketMessages") else {
            continue;
        };
        let path = format!("log.entries[{i}]");
        let msgs = msgs
            .as_array()
            .ok_or_else(|| har_error(format!("{path}._webSocketMessages"), "not an array"))?;
        if capture.connections.len() >= limits.max_connections {
            return Err(CaptureError::Limit {
                what: "the number of connections",
                limit: limits.max_connections as u64,
                at: Some(path),
            });
        }
        let req = &entry["request"];
        let resp = &entry["response"];
        let version = req["httpVersion"].as_str().unwrap_or("HTTP/1.1");
        let version = if version.starts_with("HTTP/") {
            version
        } else {
            "HTTP/1.1"
        };
        let request = head(
            format!(
                "{} {} {version}",
                req["method"].as_str().unwrap_or("GET"),
                url_path(req["url"].as_str().unwrap_or("/"))
            ),
            req.get("headers"),
            &format!("{path}.request"),
        )?;
        let response = head(
            format!(
                "{version} {} {}",
                resp["status"].as_u64().unwrap_or(101),
                resp["statusText"].as_str().unwrap_or("Switching Protocols")
            ),
            resp.get("headers"),
            &format!("{path}.response"),
        )?;
        let mut chunks = Vec::with_capacity(msgs.len());
        for (j, m) in msgs.iter().enumerate() {
            let at = || format!("{path}._webSocketMessages[{j}]");
            let dir = match m["type"].as_str() {
                Some("send") => Direction::ClientToServer,
                Some("receive") => Direction::ServerToClient,
                other => {
                    return Err(har_error(
                        at(),
                        format!("type is {other:?}, not \"send\" or \"receive\""),
                    ))
                }
            };
            let time = m["time"]
                .as_f64()
                .filter(|t| t.is_finite())
                .ok_or_else(|| har_error(at(), "time is not a number"))?;
            let opcode = m["opcode"]
                .as_u64()
                .filter(|o| *o < 16)
                .ok_or_else(|| har_error(at(), "opcode is not a number from 0 to 15"))?
                as u8;
            let data = m["data"]
                .as_str()
                .ok_or_else(|| har_error(at(), "data is not a string"))?;
            let payload = if opcode == 2 {
                STANDARD
                    .decode(data)
                    .map_err(|e| har_error(at(), format!("binary data is not base64: {e}")))?
            } else {
                data.as_bytes().to_vec()
            };
            total += payload.len() as u64;
            if total > limits.max_bytes {
                return Err(CaptureError::Limit {
                    what: "the message bytes",
                    limit: limits.max_bytes,
                    at: Some(at()),
                });
            }
            let mask = (dir == Direction::ClientToServer).then_some(IMPORT_MASK);
            let mut frame = Vec::with_capacity(payload.len() + 14);
            let header = FrameHeader {
                fin: true,
                rsv1: false,
                rsv2: false,
                rsv3: false,
                opcode,
                mask,
                payload_len: 0,
                length_encoding: LengthEncoding::Bits7,
            };
            encode_frame(&header, &payload, &mut frame);
            chunks.push(Chunk {
                t: time * 1000.0,
                dir,
                bytes: frame,
            });
        }
        let id = capture.connections.len() as u32;
        capture.connections.push(Connection {
            id,
            request,
            response,
            client: None,
            server: entry["serverIPAddress"].as_str().map(str::to_owned),
            ended: false,
            chunks,
        });
    }
    Ok(capture)
}
