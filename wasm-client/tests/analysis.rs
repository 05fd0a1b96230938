//! The analysis API in a real browser: a live session's report and filter, and a
//! capture analysed and converted, with the JSON shapes the page reads.

#![cfg(feature = "analysis")]

use framewire_core::capture::{jsonl, Capture, Chunk, Connection};
use framewire_core::inspect::Direction;
use framewire_wasm::session_io::read_capture;
use framewire_wasm::{
    analyze_capture, convert_capture, deflate_answer, AnalysisSession, StreamDecoder,
};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[allow(dead_code)]
#[path = "js/mod.rs"]
mod js;

use js::{boolean, bytes, get, len, num, string};

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
    let mut s = AnalysisSession::new(None, None, None).unwrap();
    s.feed("c2s", &client(0x81, b"hello"), Some(0.0)).unwrap();
    s.feed("s2c", &server(0x89, b"hb"), Some(10.0)).unwrap();
    s.feed("c2s", &client(0x8a, b"hb"), Some(42.0)).unwrap();
    s.feed("s2c", &server(0x81, b"bye soon"), Some(50.0))
        .unwrap();
    s.end();
    let r = s.report(Some(100.0), None).unwrap();
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

const REQUEST: &str = "GET /x HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
const RESPONSE: &str = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

#[wasm_bindgen_test]
fn a_session_exports_what_it_was_fed_and_a_capture_reads_back_into_chunks() {
    let mut s = AnalysisSession::new(Some(RESPONSE.into()), Some(REQUEST.into()), None).unwrap();
    s.describe(
        3,
        Some("127.0.0.1:5000".into()),
        Some("127.0.0.1:80".into()),
    );
    s.feed("c2s", &client(0x81, b"first"), Some(1000.0))
        .unwrap();
    s.feed("c2s", &client(0x89, b"p1"), Some(1001.0)).unwrap();
    s.feed("s2c", &server(0x8a, b"p1"), Some(1021.0)).unwrap();
    s.end();
    assert_eq!(s.recorded_bytes(), 23.0);
    assert_eq!(s.unrecorded_bytes(), 0.0);
    // The pong (server frame 0) answers the client's ping (its frame 1).
    assert_eq!(s.ping_answered_by("s2c", 0.0).unwrap(), Some(1.0));
    assert_eq!(s.ping_answered_by("c2s", 0.0).unwrap(), None);
    assert!(s.ping_answered_by("sideways", 0.0).is_err());
    for format in ["capture", "har", "pcapng"] {
        let bytes = s.export_as(format).unwrap();
        let back = read_capture(&bytes).unwrap();
        assert!(
            string(&back, "connections.0.request").starts_with("GET /x HTTP/1.1"),
            "{format}"
        );
        assert_eq!(len(&back, "connections"), 1, "{format}");
    }
    let back = read_capture(&s.export_as("capture").unwrap()).unwrap();
    assert_eq!(string(&back, "format"), "capture");
    assert_eq!(num(&back, "connections.0.id"), 3.0);
    assert_eq!(string(&back, "connections.0.client"), "127.0.0.1:5000");
    assert_eq!(len(&back, "connections.0.chunks"), 3);
    assert_eq!(string(&back, "connections.0.chunks.2.dir"), "s2c");
    assert_eq!(num(&back, "connections.0.chunks.2.t"), 1021.0);
    assert_eq!(string(&back, "connections.0.request"), REQUEST);
    assert_eq!(get(&back, "connections.0.ended").as_bool(), Some(true));
    assert_eq!(
        bytes(&back, "connections.0.chunks.0.bytes"),
        client(0x81, b"first")
    );
    assert!(s.export_as("pcap").is_err());
    assert!(read_capture(b"not a capture").is_err());
}

#[wasm_bindgen_test]
fn a_session_past_its_recording_limit_still_analyses_and_reports_only_the_newest_rows() {
    let mut s = AnalysisSession::new(None, Some(REQUEST.into()), Some(16.0)).unwrap();
    for i in 0..5u8 {
        s.feed("c2s", &client(0x81, &[b'a' + i; 4]), Some(f64::from(i)))
            .unwrap();
    }
    // 10 bytes a frame: one kept, the rest counted.
    assert_eq!(s.recorded_bytes(), 10.0);
    assert_eq!(s.unrecorded_bytes(), 40.0);
    let r = s.report(None, Some(2)).unwrap();
    assert_eq!(num(&r, "frames"), 5.0);
    assert_eq!(num(&r, "viewEntries"), 5.0);
    assert_eq!(len(&r, "messages"), 2);
    assert_eq!(string(&r, "messages.1.text"), "eeee");
    let back = read_capture(&s.export_as("capture").unwrap()).unwrap();
    assert_eq!(len(&back, "connections.0.chunks"), 1);
}

/// The decoder no longer reads the 101 itself: the analysis module's `deflateAnswer` does,
/// and the decoder's `enableDeflateAgreed` takes its object and inflates.
#[wasm_bindgen_test]
fn the_deflate_answer_read_by_the_analysis_module_turns_on_the_decoders_inflate() {
    let head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits\r\n\r\n";
    let answer = deflate_answer(head).unwrap();
    assert!(boolean(&answer, "serverNoContextTakeover"));
    assert!(!boolean(&answer, "clientNoContextTakeover"));
    assert!(get(&answer, "serverMaxWindowBits").is_null());
    assert_eq!(get(&answer, "clientMaxWindowBits").as_bool(), Some(true));

    let plain = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
    assert!(deflate_answer(plain).unwrap().is_null());
    assert!(deflate_answer("HTTP/1.1 200 OK\r\n\r\n").is_err());

    // RFC 7692's compressed "Hello" (section 7.2.3.1), twice: with server_no_context_takeover
    // agreed, each message inflates by itself.
    let hello = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let mut d = StreamDecoder::new("server", None).unwrap();
    d.enable_deflate_agreed(answer).unwrap();
    let frames = d.push(&hello).unwrap();
    assert_eq!(string(&frames, "0.text"), "Hello");
    let frames = d.push(&hello).unwrap();
    assert_eq!(string(&frames, "0.text"), "Hello");
    assert!(StreamDecoder::new("server", None)
        .unwrap()
        .enable_deflate_agreed(wasm_bindgen::JsValue::NULL)
        .is_err());
}
