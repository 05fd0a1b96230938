//! The inspector page's analysis pane in headless Firefox, opened from `file://`: a
//! framewire capture (JSON lines, written here) imported through the file input and
//! shown offline: the message view, a ping's round-trip time, the close diagnosis, and
//! the session exported again as pcapng, HAR and capture through the page's hook.
//! Screenshot of the analysis section: `target/inspector-analysis-firefox.png`.

use std::path::Path;
use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::{json, Value};

#[path = "browser_util/mod.rs"]
mod browser_util;
use browser_util::*;

/// Longest the flow may take.
const FLOW_LIMIT: Duration = Duration::from_secs(60);

const REQUEST: &str = "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
const RESPONSE: &str = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

/// A client frame masked with the zero key (so its payload reads as is).
fn client(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![first, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    v.extend_from_slice(payload);
    v
}

/// An unmasked server frame.
fn server(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![first, payload.len() as u8];
    v.extend_from_slice(payload);
    v
}

/// Standard base64 with padding, as the capture's `b64` field holds.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= group.len() {
                out.push(ABC[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A session: "hello" in two fragments, a ping from the server answered after 32 ms,
/// a reply, then the server closing with 1001 and the client echoing it 4 ms later.
fn capture() -> String {
    let chunks: [(f64, &str, Vec<u8>); 7] = [
        (1000.0, "c2s", client(0x01, b"hel")),
        (1001.0, "c2s", client(0x80, b"lo")),
        (1010.0, "s2c", server(0x89, b"hb")),
        (1042.0, "c2s", client(0x8a, b"hb")),
        (1050.0, "s2c", server(0x81, b"{\"reply\":1}")),
        (1100.0, "s2c", server(0x88, b"\x03\xe9bye")),
        (1104.0, "c2s", client(0x88, b"\x03\xe9bye")),
    ];
    let mut lines = vec![json!({
        "format": "framewire-capture",
        "version": 1,
        "connections": [{ "conn": 0, "request": REQUEST, "response": RESPONSE, "ended": true }],
    })
    .to_string()];
    for (t, dir, bytes) in chunks {
        lines.push(json!({ "t": t, "dir": dir, "conn": 0, "b64": base64(&bytes) }).to_string());
    }
    lines.join("\n") + "\n"
}

async fn text(c: &Client, id: &str) -> String {
    js(
        c,
        &format!("return document.getElementById('{id}').textContent"),
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

async fn imported_capture_is_analysed(c: Client, file: &Path) {
    c.goto(&file_url(&workspace().join("www").join("index.html")))
        .await
        .expect("the page opens");
    let ready = wait_js(
        &c,
        "return document.body.dataset.ready || null",
        "the decoder",
    )
    .await;
    assert_eq!(ready, "true", "decoder: {}", text(&c, "load-status").await);
    c.find(Locator::Css("#an-import"))
        .await
        .expect("the import input")
        .send_keys(file.to_str().expect("a UTF-8 path"))
        .await
        .expect("the file is chosen");
    wait_js(
        &c,
        "return document.querySelectorAll('#an-message-table tbody tr').length >= 6",
        "the message view",
    )
    .await;

    let rows = js(
        &c,
        "return [...document.querySelectorAll('#an-message-table tbody tr')].map(tr => [...tr.cells].map(td => td.textContent))",
    )
    .await;
    let rows = rows.as_array().expect("rows");
    let hello = &rows[0];
    assert_eq!(hello[0], "client → server", "{rows:?}");
    assert_eq!(hello[2], "2", "hello is two fragments: {rows:?}");
    assert_eq!(hello[3], "5", "{rows:?}");
    assert!(hello[6].as_str().unwrap().contains("hello"), "{rows:?}");
    assert!(rows[1][1].as_str().unwrap().contains("ping"), "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r[6].as_str().unwrap().contains("\"reply\"")),
        "{rows:?}"
    );

    // decoders.js, loaded on first use, shows the reply as collapsible JSON.
    let pretty = wait_js(
        &c,
        "const d = document.querySelector('#an-message-table details.json pre'); return d ? d.textContent : null",
        "the JSON decoder",
    )
    .await;
    assert_eq!(pretty, "{\n  \"reply\": 1\n}");

    let beats = text(&c, "an-heartbeats").await;
    assert!(beats.contains("pong after 32.0 ms"), "{beats}");
    assert!(beats.contains("0 unanswered"), "{beats}");
    let close = text(&c, "an-close").await;
    assert!(close.contains("the server sent close 1001"), "{close}");
    assert!(close.contains("code 1001, wasClean true"), "{close}");
    let lines = js(
        &c,
        "return document.querySelectorAll('#an-traffic svg polyline').length",
    )
    .await;
    assert_eq!(lines, 4, "messages/s and bytes/s, a line per direction");

    let png = c
        .find(Locator::Css("#analysis"))
        .await
        .expect("the analysis section")
        .screenshot()
        .await
        .expect("a screenshot");
    std::fs::write(target_dir().join("inspector-analysis-firefox.png"), png)
        .expect("the screenshot is written");

    // The filter: only control frames from the server.
    c.find(Locator::Css("#an-f-kind"))
        .await
        .expect("kind")
        .select_by_value("control")
        .await
        .expect("select");
    c.find(Locator::Css("#an-f-dir"))
        .await
        .expect("dir")
        .select_by_value("s2c")
        .await
        .expect("select");
    let shown = wait_js(
        &c,
        "const n = document.querySelectorAll('#an-message-table tbody tr').length; return n === 2 ? n : null",
        "the filtered view",
    )
    .await;
    assert_eq!(shown, 2);
    let note = text(&c, "an-filter-note").await;
    assert!(note.contains("2 messages and 5 frames hidden"), "{note}");

    // Export through the page's hook, and the HAR read back by the page.
    let out = js(
        &c,
        "const a = framewirePage.analysis; \
         const ng = a.exportBytes('pcapng'); \
         const har = JSON.parse(new TextDecoder().decode(a.exportBytes('har'))); \
         const cap = new TextDecoder().decode(a.exportBytes('capture')); \
         const back = a.importBytes(a.exportBytes('har'), 'again.har'); \
         return { magic: [...ng.subarray(0, 4)], har: har.log.entries[0]._webSocketMessages.map(m => m.data), \
                  capLines: cap.trim().split('\\n').length, back };",
    )
    .await;
    assert_eq!(
        out["magic"],
        json!([10, 13, 13, 10]),
        "pcapng section header: {out}"
    );
    let har: &Value = &out["har"];
    assert!(
        har.as_array().unwrap().iter().any(|d| d == "hello"),
        "HAR messages: {out}"
    );
    assert_eq!(out["capLines"], 8, "header and seven chunks: {out}");
    assert_eq!(out["back"], 1, "the exported HAR imports again: {out}");
}

#[test]
fn firefox_imports_a_capture_from_file_and_shows_its_analysis() {
    let file = std::env::temp_dir().join(format!(
        "framewire-analysis-{}-{}.jsonl",
        std::process::id(),
        free_port()
    ));
    std::fs::write(&file, capture()).expect("the capture is written");
    in_browser(Browser::Firefox, FLOW_LIMIT, |c| {
        let file = file.clone();
        async move { imported_capture_is_analysed(c, &file).await }
    });
    let _ = std::fs::remove_file(&file);
}
