//! The inspector page's analysis pane and frame table in headless browsers.
//!
//! - Firefox, opened from `file://`: a framewire capture (JSON lines, written here)
//!   imported through the file input and shown offline: the message view, a ping's
//!   round-trip time, the close diagnosis, and the session exported again as pcapng,
//!   HAR and capture by the core (`AnalysisSession.exportAs`).
//! - Firefox: a capture of 100,000 frames imported: the frame table keeps the last N
//!   (the page's cap), draws only the rows in view, scrolls to the last frame, and
//!   says what it keeps and how many it dropped.
//! - Chromium, the page served by `framewire serve --deflate --ping-interval`: its own
//!   connection to /echo exchanges messages, answers the server's pings and closes;
//!   the analysis pane shows the messages (inflated), the heartbeats with their RTT,
//!   the compression and the close. `dumpcap` records that session on loopback (a
//!   libpcap file, as tcpdump writes) and the pcap imported into the page shows the same
//!   (where capturing is refused, the test says why and skips that part).
//! - Firefox: Socket.IO, Engine.IO and STOMP messages imported: each read by its
//!   decoder in the message view; the filter by regex (a bad one named) and by size.
//!
//! Screenshots: `target/inspector-analysis-firefox.png` (analysis of the import),
//! `target/inspector-table-100k-firefox.png` (the 100,000-frame table),
//! `target/inspector-live-messages-chromium.png` (message view of the live session),
//! `target/inspector-live-analysis-chromium.png` (its compression, heartbeats, close).

use std::path::{Path, PathBuf};
use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::{json, Value};

#[path = "../../native-server/cli/tests/dumpcap/mod.rs"]
mod dumpcap;

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
    capture_of(chunks)
}

/// A framewire capture of one connection to `/chat` with `chunks` (time in ms,
/// direction, frame bytes).
fn capture_of(chunks: impl IntoIterator<Item = (f64, &'static str, Vec<u8>)>) -> String {
    capture_with(REQUEST, RESPONSE, chunks)
}

/// [`capture_of`] with this handshake.
fn capture_with(
    request: &str,
    response: &str,
    chunks: impl IntoIterator<Item = (f64, &'static str, Vec<u8>)>,
) -> String {
    let mut lines = vec![json!({
        "format": "framewire-capture",
        "version": 1,
        "connections": [{ "conn": 0, "request": request, "response": response, "ended": true }],
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

/// Opens the page at `url` and waits for its decoder.
async fn open_page(c: &Client, url: &str) {
    c.goto(url).await.expect("the page opens");
    let ready = wait_js(
        c,
        "return document.body.dataset.ready || null",
        "the decoder",
    )
    .await;
    assert_eq!(ready, "true", "decoder: {}", text(c, "load-status").await);
}

/// Chooses `file` in the analysis pane's import input.
async fn import(c: &Client, file: &Path) {
    c.find(Locator::Css("#an-import"))
        .await
        .expect("the import input")
        .send_keys(file.to_str().expect("a UTF-8 path"))
        .await
        .expect("the file is chosen");
}

/// Writes a screenshot of the element `css` to `target/NAME`.
async fn shoot(c: &Client, css: &str, name: &str) {
    let png = c
        .find(Locator::Css(css))
        .await
        .expect(css)
        .screenshot()
        .await
        .expect("a screenshot");
    std::fs::write(target_dir().join(name), png).expect("the screenshot is written");
}

/// Writes `contents` to a temp file named after `stem` and runs `flow` on it in Firefox.
fn in_firefox_with_file<F, Fut>(stem: &str, contents: String, flow: F)
where
    F: FnOnce(Client, PathBuf) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let file = std::env::temp_dir().join(format!(
        "framewire-{stem}-{}-{}.jsonl",
        std::process::id(),
        free_port()
    ));
    std::fs::write(&file, contents).expect("the capture is written");
    let path = file.clone();
    in_browser(Browser::Firefox, FLOW_LIMIT, |c| flow(c, path));
    let _ = std::fs::remove_file(&file);
}

async fn imported_capture_is_analysed(c: Client, file: &Path) {
    open_page(&c, &file_url(&workspace().join("www").join("index.html"))).await;
    import(&c, file).await;
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

    shoot(&c, "#analysis", "inspector-analysis-firefox.png").await;

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
    // The imported frames are in the frame table too: the capture's seven, and the HAR's
    // two data messages hidden by the filter still set (control frames only) on its connection.
    let bound = wait_js(
        &c,
        "const b = document.getElementById('table-bound').textContent; \
         return document.querySelectorAll('#frame-rows tr.frame-row').length === 7 && b.includes('9 rows held') ? b : null",
        "the imported frames in the frame table",
    )
    .await;
    assert!(
        bound
            .as_str()
            .unwrap()
            .ends_with("0 frames dropped, 2 hidden by the filter."),
        "{bound}"
    );
}

#[test]
fn firefox_imports_a_capture_from_file_and_shows_its_analysis() {
    in_firefox_with_file("analysis", capture(), |c, file| async move {
        imported_capture_is_analysed(c, &file).await
    });
}

/// A Socket.IO event as a client sends it.
const SOCKET_IO_EVENT: &[u8] = b"42[\"chat\",{\"text\":\"hi\"}]";
/// A Socket.IO acknowledgement (id 0).
const SOCKET_IO_ACK: &[u8] = b"430[{\"ok\":true}]";

/// Socket.IO, Engine.IO and STOMP messages, each read by its decoder in the message view.
fn protocols_capture() -> String {
    capture_of([
        (1000.0, "c2s", client(0x81, SOCKET_IO_EVENT)),
        (1001.0, "s2c", server(0x81, SOCKET_IO_ACK)),
        (1002.0, "s2c", server(0x81, b"2")),
        (
            1003.0,
            "c2s",
            client(
                0x81,
                b"SEND\ndestination:/queue/a\ncontent-type:text/plain\n\nhello\0",
            ),
        ),
        (
            1004.0,
            "s2c",
            server(
                0x81,
                b"MESSAGE\ndestination:/queue/a\nmessage-id:7\n\nhello\0",
            ),
        ),
    ])
}

async fn protocol_payloads_are_decoded(c: Client, file: &Path) {
    open_page(&c, &file_url(&workspace().join("www").join("index.html"))).await;
    import(&c, file).await;
    // decoders.js loads on the first message that may need it, then redraws the view.
    let rows = wait_js(
        &c,
        "const rows = [...document.querySelectorAll('#an-message-table tbody tr')]; \
         if (rows.length < 5 || !rows[0].querySelector('details')) return null; \
         return rows.map(tr => { const d = tr.cells[6]; \
           const s = d.querySelector('summary, span.decoded'); const pre = d.querySelector('pre'); \
           return [s ? s.textContent : null, pre ? pre.textContent : null]; })",
        "the decoded messages",
    )
    .await;
    let rows: Vec<(Option<String>, Option<String>)> =
        serde_json::from_value(rows).expect("rows of label and body");
    assert_eq!(
        rows[0],
        (
            Some("Socket.IO EVENT".into()),
            Some("[\n  \"chat\",\n  {\n    \"text\": \"hi\"\n  }\n]".into())
        ),
        "{rows:?}"
    );
    assert_eq!(
        rows[1].0.as_deref(),
        Some("Socket.IO ACK ack 0"),
        "{rows:?}"
    );
    assert_eq!(rows[2], (Some("Engine.IO ping".into()), None), "{rows:?}");
    assert_eq!(
        rows[3],
        (
            Some("STOMP SEND".into()),
            Some("destination:/queue/a\ncontent-type:text/plain\n\nhello".into())
        ),
        "{rows:?}"
    );
    assert_eq!(rows[4].0.as_deref(), Some("STOMP MESSAGE"), "{rows:?}");
    assert!(
        rows[4]
            .1
            .as_deref()
            .unwrap_or_default()
            .contains("message-id:7"),
        "{rows:?}"
    );

    // The filter's regex, its error for a bad one, then a size range.
    set_filter(&c, "#an-f-regex", "queue/a").await;
    assert_eq!(
        filtered(&c, 2).await,
        "Filter: 3 messages and 3 frames hidden."
    );
    set_filter(&c, "#an-f-regex", "(").await;
    let note = wait_js(
        &c,
        "const t = document.getElementById('an-filter-note').textContent; \
         return t.startsWith('Filter not applied') ? t : null",
        "the bad regex named",
    )
    .await;
    assert!(
        note.as_str()
            .unwrap()
            .contains("regular expression \"(\" is invalid"),
        "{note}"
    );
    set_filter(&c, "#an-f-regex", "").await;
    set_filter(&c, "#an-f-min", "10").await;
    set_filter(&c, "#an-f-max", "30").await;
    assert_eq!(
        filtered(&c, 2).await,
        "Filter: 3 messages and 3 frames hidden."
    );
    let sizes = js(
        &c,
        "return [...document.querySelectorAll('#an-message-table tbody tr')].map(tr => tr.cells[3].textContent)",
    )
    .await;
    let want = [SOCKET_IO_EVENT.len(), SOCKET_IO_ACK.len()].map(|n| n.to_string());
    assert_eq!(sizes, json!(want), "the two messages of 10 to 30 bytes");
}

/// Replaces the value of the filter input `css` with `value` (the form redraws on input).
async fn set_filter(c: &Client, css: &str, value: &str) {
    let input = c.find(Locator::Css(css)).await.expect(css);
    input.clear().await.expect("cleared");
    if !value.is_empty() {
        input.send_keys(value).await.expect("typed");
    }
    js(
        c,
        &format!("document.querySelector('{css}').dispatchEvent(new Event('input', {{ bubbles: true }})); return null"),
    )
    .await;
}

/// Waits for the message view to show `rows` rows; the filter's note then.
async fn filtered(c: &Client, rows: usize) -> String {
    wait_js(
        c,
        &format!("return document.querySelectorAll('#an-message-table tbody tr').length === {rows} || null"),
        "the filtered view",
    )
    .await;
    text(c, "an-filter-note").await
}

#[test]
fn firefox_decodes_socket_io_engine_io_and_stomp_payloads() {
    in_firefox_with_file("protocols", protocols_capture(), |c, file| async move {
        protocol_payloads_are_decoded(c, &file).await
    });
}

async fn the_subprotocol_chooses_the_decoder(c: Client, file: &Path) {
    open_page(&c, &file_url(&workspace().join("www").join("index.html"))).await;
    import(&c, file).await;
    let labels = wait_js(
        &c,
        "const rows = [...document.querySelectorAll('#an-message-table tbody tr')]; \
         if (rows.length < 2 || !rows[0].querySelector('details')) return null; \
         return rows.map(tr => tr.cells[6].querySelector('summary')?.textContent ?? tr.cells[6].textContent)",
        "the decoded messages",
    )
    .await;
    // Sniffed, "2" would be an Engine.IO ping: the agreed `json` makes it a JSON number.
    assert_eq!(
        labels,
        json!([
            "JSON number (subprotocol json)",
            "JSON object, 1 keys (subprotocol json)"
        ])
    );
}

#[test]
fn firefox_decodes_by_the_agreed_subprotocol_before_sniffing() {
    let request = REQUEST.replace("\r\n\r\n", "\r\nSec-WebSocket-Protocol: json\r\n\r\n");
    let response = RESPONSE.replace("\r\n\r\n", "\r\nSec-WebSocket-Protocol: json\r\n\r\n");
    let capture = capture_with(
        &request,
        &response,
        [
            (1000.0, "c2s", client(0x81, b"2")),
            (1001.0, "s2c", server(0x81, b"{\"a\":1}")),
        ],
    );
    in_firefox_with_file("subprotocol", capture, |c, file| async move {
        the_subprotocol_chooses_the_decoder(c, &file).await
    });
}

// ---- 100,000 frames ----------------------------------------------------------------

/// Frames of the big capture, and how many go in one chunk.
const BIG_FRAMES: usize = 100_000;
const PER_CHUNK: usize = 100;
/// The table's cap set in the page for the test.
const KEEP: usize = 20_000;

/// A capture of [`BIG_FRAMES`] text frames "frame N", in chunks alternating direction.
fn big_capture() -> String {
    let mut lines = vec![json!({
        "format": "framewire-capture",
        "version": 1,
        "connections": [{ "conn": 0, "request": REQUEST, "response": RESPONSE, "ended": false }],
    })
    .to_string()];
    for chunk in 0..BIG_FRAMES / PER_CHUNK {
        let c2s = chunk % 2 == 0;
        let mut bytes = Vec::new();
        for j in 0..PER_CHUNK {
            let text = format!("frame {}", chunk * PER_CHUNK + j);
            bytes.extend(if c2s {
                client(0x81, text.as_bytes())
            } else {
                server(0x81, text.as_bytes())
            });
        }
        lines.push(
            json!({ "t": 1000.0 + chunk as f64, "dir": if c2s { "c2s" } else { "s2c" }, "conn": 0, "b64": base64(&bytes) })
                .to_string(),
        );
    }
    lines.join("\n") + "\n"
}

/// The payloads of the frame rows in the DOM, and how many rows (of any kind) there are.
const DRAWN: &str = "const rows = [...document.querySelectorAll('#frame-rows tr.frame-row')]; \
    return { rows: document.querySelectorAll('#frame-rows tr').length, \
             first: rows.length ? rows[0].querySelector('.c-payload span').textContent : null, \
             last: rows.length ? rows[rows.length - 1].querySelector('.c-payload span').textContent : null };";

async fn big_table_stays_small(c: Client, file: &Path) {
    open_page(&c, &file_url(&workspace().join("www").join("index.html"))).await;
    js(
        &c,
        &format!("const i = document.getElementById('keep-frames'); i.value = '{KEEP}'; i.dispatchEvent(new Event('change')); return null"),
    )
    .await;
    let started = std::time::Instant::now();
    import(&c, file).await;
    let dropped = (BIG_FRAMES - KEEP).to_string();
    wait_js(
        &c,
        &format!(
            "return document.getElementById('table-bound').dataset.dropped === '{dropped}' || null"
        ),
        "the table to drop the oldest frames",
    )
    .await;
    let status = wait_js(
        &c,
        "const s = document.getElementById('an-status').textContent; return s.includes('100000 frames') ? s : null",
        "the analysis of every frame",
    )
    .await;
    eprintln!(
        "100,000 frames imported, tabled and analysed in {:?}: {status}",
        started.elapsed()
    );

    let bound = text(&c, "table-bound").await;
    assert!(
        bound.contains(&format!("Keeping the last {KEEP} frames / 64.0 MiB")),
        "{bound}"
    );
    assert!(bound.contains(&format!("{KEEP} rows held")), "{bound}");
    assert!(
        bound.contains(&format!("{dropped} frames dropped")),
        "{bound}"
    );

    // Following the end: the last frame is drawn, and only a screenful of rows.
    let drawn = wait_js(
        &c,
        &format!(
            "const d = (() => {{ {DRAWN} }})(); return d.last === 'frame {}' ? d : null",
            BIG_FRAMES - 1
        ),
        "the last frame drawn",
    )
    .await;
    assert!(
        drawn["rows"].as_u64().unwrap() < 100,
        "rows in the DOM: {drawn}"
    );

    // To the top: the oldest frame kept, the last one no longer in the DOM.
    js(
        &c,
        "document.getElementById('frames-wrap').scrollTop = 0; return null",
    )
    .await;
    let top = wait_js(
        &c,
        &format!(
            "const d = (() => {{ {DRAWN} }})(); return d.first === 'frame {}' ? d : null",
            BIG_FRAMES - KEEP
        ),
        "the oldest kept frame at the top",
    )
    .await;
    assert!(
        top["rows"].as_u64().unwrap() < 100,
        "rows in the DOM: {top}"
    );
    assert_ne!(top["last"], format!("frame {}", BIG_FRAMES - 1), "{top}");
    let first_number = js(
        &c,
        "return document.querySelector('#frame-rows tr.frame-row .c-index').textContent",
    )
    .await;
    assert_eq!(
        first_number,
        (BIG_FRAMES - KEEP + 1).to_string(),
        "rows keep their numbers"
    );

    // The middle, as a scroll bar drag would: the rows there.
    js(&c, "const w = document.getElementById('frames-wrap'); w.scrollTop = w.scrollHeight / 2; return null").await;
    let middle = wait_js(
        &c,
        "const d = (() => { const rows = [...document.querySelectorAll('#frame-rows tr.frame-row')]; \
           return rows.map(r => Number(r.querySelector('.c-payload span').textContent.split(' ')[1])); })(); \
         return d.length && d[0] > 85000 && d[0] < 95000 ? d : null",
        "the rows in the middle",
    )
    .await;
    let numbers: Vec<u64> = middle
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[1] == w[0] + 1),
        "consecutive rows: {numbers:?}"
    );

    // Scrolled to the end again: the last frame, visible inside the table's box.
    let t = js(
        &c,
        "const w = document.getElementById('frames-wrap'); const t0 = performance.now(); \
         w.scrollTop = w.scrollHeight; w.dispatchEvent(new Event('scroll')); \
         framewirePage.table.scrollToEnd(); return performance.now() - t0",
    )
    .await;
    eprintln!("scrolling 20,000 kept frames to the end drew in {t} ms");
    let end = wait_js(
        &c,
        &format!(
            "const w = document.getElementById('frames-wrap').getBoundingClientRect(); \
             const r = [...document.querySelectorAll('#frame-rows tr.frame-row')].find(r => r.querySelector('.c-payload span').textContent === 'frame {}'); \
             if (!r) return null; const b = r.getBoundingClientRect(); \
             return b.top >= w.top - 1 && b.bottom <= w.bottom + 1 ? document.querySelectorAll('#frame-rows tr').length : null",
            BIG_FRAMES - 1
        ),
        "the last frame in view",
    )
    .await;
    assert!(end.as_u64().unwrap() < 100, "rows in the DOM: {end}");

    // The keyboard still works on the drawn rows: Home goes to the oldest frame kept.
    js(
        &c,
        "const rows = document.querySelectorAll('#frame-rows tr.frame-row'); const r = rows[rows.length - 1]; r.focus(); \
         r.dispatchEvent(new KeyboardEvent('keydown', { key: 'Home', bubbles: true })); return null",
    )
    .await;
    let home = wait_js(
        &c,
        "const a = document.activeElement; return a && a.matches('#frame-rows tr.frame-row') ? a.querySelector('.c-payload span').textContent : null",
        "the focus on the first row",
    )
    .await;
    assert_eq!(home, format!("frame {}", BIG_FRAMES - KEEP));

    js(&c, "framewirePage.table.scrollToEnd(); document.getElementById('wire').scrollIntoView(); return null").await;
    shoot(&c, "#wire", "inspector-table-100k-firefox.png").await;
}

#[test]
fn firefox_table_of_100000_frames_draws_only_the_rows_in_view() {
    in_firefox_with_file("100k", big_capture(), |c, file| async move {
        big_table_stays_small(c, &file).await
    });
}

// ---- the page's own live connection ----------------------------------------------------

async fn live_session_is_analysed(c: Client, port: u16, capture: Option<(dumpcap::Proc, PathBuf)>) {
    open_page(&c, &format!("http://127.0.0.1:{port}/")).await;
    click(&c, "#connect").await;
    wait_js(
        &c,
        "return document.getElementById('wire-status').textContent.includes('permessage-deflate is on') || null",
        "the wire view with deflate",
    )
    .await;
    let sent = [
        "hello live",
        r#"{"live":true,"n":2,"note":"compress me compress me compress me"}"#,
    ];
    for m in sent {
        set_value(&c, "#text", m).await;
        click(&c, "#send-text").await;
    }
    // Idle past the server's ping interval: it pings, the browser answers.
    wait_js(
        &c,
        "const t = document.getElementById('an-heartbeats').textContent; return t.includes('pong after') ? t : null",
        "a ping answered",
    )
    .await;
    set_value(&c, "#close-code", "4000").await;
    set_value(&c, "#close-reason", "done here").await;
    click(&c, "#close").await;
    let close = wait_js(
        &c,
        "const t = document.getElementById('an-close').textContent; return t.includes('the close handshake took') ? t : null",
        "the close diagnosis",
    )
    .await;
    let close = close.as_str().unwrap();
    assert!(close.contains("the client sent close 4000"), "{close}");
    assert!(close.contains("with reason \"done here\""), "{close}");
    assert!(
        close.contains("the server sent close 4000"),
        "the server echoes the code: {close}"
    );

    let rows = js(
        &c,
        "return [...document.querySelectorAll('#an-message-table tbody tr')].map(tr => [...tr.cells].map(td => td.textContent))",
    )
    .await;
    let rows = rows.as_array().expect("rows");
    // The browser compresses every message; the server only those worth it.
    for (m, dir, kind) in [
        ("hello live", "client → server", "text (deflate)"),
        ("hello live", "server → client", "text"),
        ("compress me", "client → server", "text (deflate)"),
        ("compress me", "server → client", "text (deflate)"),
    ] {
        assert!(
            rows.iter()
                .any(|r| r[0] == dir && r[1] == kind && r[6].as_str().unwrap().contains(m)),
            "{dir} {m:?} as {kind} in the message view: {rows:?}"
        );
    }
    assert!(
        rows.iter().any(|r| r[1] == "ping"),
        "the server's ping: {rows:?}"
    );
    assert!(
        rows.iter().any(|r| r[1] == "pong"),
        "the browser's pong: {rows:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r[1].as_str().unwrap().starts_with("close 4000")),
        "{rows:?}"
    );

    let beats = text(&c, "an-heartbeats").await;
    assert!(beats.contains("0 unanswered"), "{beats}");
    assert!(beats.contains("ping server → client"), "{beats}");
    assert!(beats.contains("RTT min/mean/max"), "{beats}");
    let comp = text(&c, "an-compression").await;
    assert!(comp.contains("Negotiated: permessage-deflate"), "{comp}");
    assert!(
        comp.contains("client → server: 2 messages (2 compressed)"),
        "{comp}"
    );
    assert!(
        comp.contains("server → client: 2 messages (1 compressed)"),
        "{comp}"
    );
    let status = wait_js(
        &c,
        "const s = document.getElementById('an-status').textContent; return s.includes('ended') ? s : null",
        "the connection's end in the analysis",
    )
    .await;
    assert!(
        status
            .as_str()
            .unwrap()
            .starts_with("this page's connection (/echo)"),
        "{status}"
    );

    for (css, name) in [
        ("#an-messages", "inspector-live-messages-chromium.png"),
        (".an-panels", "inspector-live-analysis-chromium.png"),
    ] {
        js(
            &c,
            &format!("document.querySelector('{css}').scrollIntoView(); return null"),
        )
        .await;
        shoot(&c, css, name).await;
    }

    // The same session as dumpcap recorded it on loopback (a libpcap file, as tcpdump
    // writes), imported into the page: its /echo connection (beside the wire view's)
    // shows the same messages, the ping answered and the close.
    let Some((cap, file)) = capture else { return };
    tokio::time::sleep(Duration::from_millis(300)).await;
    dumpcap::stop_capture(cap);
    import(&c, &file).await;
    let rows = wait_js(
        &c,
        "for (const o of document.getElementById('an-conn').options) { \
           if (!o.value.startsWith('file:')) continue; \
           const s = document.getElementById('an-conn'); s.value = o.value; s.dispatchEvent(new Event('change')); \
           const rows = [...document.querySelectorAll('#an-message-table tbody tr')].map(tr => [...tr.cells].map(td => td.textContent)); \
           if (rows.filter(r => r[6].includes('hello live')).length === 2) return rows; } return null",
        "the /echo connection of the recorded pcap",
    )
    .await;
    let rows = rows.as_array().expect("rows");
    for dir in ["client → server", "server → client"] {
        assert!(
            rows.iter()
                .any(|r| r[0] == dir && r[6].as_str().unwrap().contains("compress me")),
            "{dir} JSON in the pcap: {rows:?}"
        );
    }
    assert!(rows.iter().any(|r| r[1] == "pong"), "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r[1].as_str().unwrap().starts_with("close 4000")),
        "{rows:?}"
    );
    let beats = text(&c, "an-heartbeats").await;
    assert!(
        beats.contains("0 unanswered") && beats.contains("pong after"),
        "{beats}"
    );
    let _ = std::fs::remove_file(&file);
}

#[test]
fn chromium_live_connection_feeds_messages_heartbeats_compression_and_close() {
    let (_server, port) = start_server(&["--deflate", "--ping-interval", "400ms"]);
    let file =
        std::env::temp_dir().join(format!("framewire-live-{}-{port}.pcap", std::process::id()));
    let capture = match dumpcap::start_capture(port, &file) {
        Ok(cap) => Some((cap, file)),
        Err(why) => {
            eprintln!("NOT RUN: the pcap import of the live session: cannot capture on loopback here: {why}");
            None
        }
    };
    in_browser(Browser::Chromium, FLOW_LIMIT, |c| {
        live_session_is_analysed(c, port, capture)
    });
}
