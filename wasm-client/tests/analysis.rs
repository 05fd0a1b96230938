//! The analysis API in a real browser: a live session's report and filter, and a
//! capture analysed and converted, with the JSON shapes the page reads.

#![cfg(feature = "analysis")]

use framewire_core::capture::{jsonl, Capture, Chunk, Connection};
use framewire_core::inspect::Direction;
use framewire_wasm::{analyze_capture, convert_capture, AnalysisSession};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[allow(dead_code)]
#[path = "js/mod.rs"]
mod js;

use js::{get, len, num, string};

/// A masked client frame (zero key) and an unmasked server frame.
fn client(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![first, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    v.extend_from_slice(payload);
    v
}

fn server(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![first, payload.len() as u8];
    v.extend_from_slice(payload);
    v
}

#[wasm_bindgen_test]
fn session_reports_heartbeats_close_and_filters() {
    let mut s = AnalysisSession::new(None).unwrap();
    s.feed("c2s", &client(0x81, b"hello"), Some(0.0)).unwrap();
    s.feed("s2c", &server(0x89, b"hb"), Some(10.0)).unwrap();
    s.feed("c2s", &client(0x8a, b"hb"), Some(42.0)).unwrap();
    s.feed("s2c", &server(0x81, b"bye soon"), Some(50.0))
        .unwrap();
    s.end();
    let r = s.report(Some(100.0)).unwrap();
    assert_eq!(num(&r, "frames"), 4.0);
    assert_eq!(len(&r, "messages"), 4);
    assert_eq!(string(&r, "messages.0.type"), "message");
    assert_eq!(string(&r, "messages.0.text"), "hello");
    assert_eq!(string(&r, "messages.0.direction"), "c2s");
    assert_eq!(string(&r, "messages.1.type"), "control");
    assert_eq!(num(&r, "heartbeats.pings.0.rttMs"), 32.0);
    assert_eq!(num(&r, "heartbeats.unanswered"), 0.0);
    assert_eq!(string(&r, "close.outcome"), "no-close");
    assert_eq!(num(&r, "close.closeEvent.code"), 1006.0);
    assert_eq!(get(&r, "close.closeEvent.wasClean").as_bool(), Some(false));
    assert_eq!(num(&r, "traffic.bucketMs"), 100.0);
    assert_eq!(num(&r, "compression.totals.1.messages"), 1.0);

    let spec = js_sys::JSON::parse(r#"{"direction":"s2c","regex":"bye\\s"}"#).unwrap();
    let f = s.filter(spec).unwrap();
    assert_eq!(len(&f, "frames"), 1);
    assert_eq!(num(&f, "hiddenFrames"), 3.0);
    assert_eq!(string(&f, "messages.0.0"), "s2c");
    let bad = js_sys::JSON::parse(r#"{"kind":"everything"}"#).unwrap();
    assert!(s.filter(bad).is_err());
    assert!(s.feed("up", &[], None).is_err());
}

#[wasm_bindgen_test]
fn capture_is_analysed_and_converted_in_the_browser() {
    let cap = Capture {
        connections: vec![Connection {
            id: 0,
            request: b"GET /x HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".to_vec(),
            response: b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n".to_vec(),
            client: None,
            server: None,
            ended: true,
            chunks: vec![
                Chunk { t: 1000.0, dir: Direction::ClientToServer, bytes: client(0x81, b"ping me") },
                Chunk { t: 1500.0, dir: Direction::ServerToClient, bytes: server(0x88, &[0x03, 0xe9]) },
                Chunk { t: 1501.0, dir: Direction::ClientToServer, bytes: client(0x88, &[0x03, 0xe9]) },
            ],
        }],
    };
    let lines = jsonl::write(&cap);
    let r = analyze_capture(&lines, None).unwrap();
    assert_eq!(string(&r, "format"), "capture");
    assert_eq!(
        num(&r, "connections.0.report.close.closeEvent.code"),
        1001.0
    );
    assert_eq!(num(&r, "connections.0.report.close.handshakeMs"), 1.0);
    assert_eq!(string(&r, "connections.0.report.close.firstCloser"), "s2c");

    let pcapng = convert_capture(&lines, "pcapng").unwrap();
    let again = analyze_capture(&pcapng, None).unwrap();
    assert_eq!(string(&again, "format"), "pcapng");
    assert_eq!(
        string(&again, "connections.0.report.messages.0.text"),
        "ping me"
    );
    let har = convert_capture(&pcapng, "har").unwrap();
    assert_eq!(
        string(&analyze_capture(&har, None).unwrap(), "format"),
        "har"
    );
    assert!(convert_capture(&lines, "xml").is_err());
    assert!(analyze_capture(b"garbage", None).is_err());
}
