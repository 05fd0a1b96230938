//! The frame inspector in real browsers over WebDriver: headless Firefox ESR through
//! geckodriver, and headless Chromium through chromedriver.
//!
//! Each test starts `framewire serve` on a free loopback port, opens the page,
//! connects, sends `hello`, and checks that the frame table shows the browser's
//! masked frame (mask bit, key, payload unmasked) and the server's unmasked echo;
//! then pastes an RFC 6455 example into the decode pane and checks its fields.
//! Then the same browser opens the page of a `framewire serve --tls-cert --tls-key`
//! (a certificate of a test CA made at run time, which the browser is told to
//! accept: `acceptInsecureCerts`, and `--ignore-certificate-errors` for
//! Chromium) over `https://`, connects with `wss://` and checks the echo.
//! Screenshots go to `target/inspector-e2e.png` (Firefox) and
//! `target/inspector-e2e-chromium.png`.
//!
//! Needs: the `framewire` binary (`cargo build --release -p framewire-cli`), the wasm
//! bundle (`scripts/build-wasm.sh`), geckodriver + firefox-esr and chromium +
//! chromium-driver (`scripts/setup.sh` installs them all). A missing piece fails the
//! test with a message saying what to run.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::Duration;

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use futures_util::FutureExt;
use serde_json::{json, Value};

#[path = "browser_util/mod.rs"]
mod browser_util;
use browser_util::*;

#[path = "../../native-server/tests/support/mod.rs"]
mod pki;

/// The plain server's handshake callback: 404 for `/__wire`, as a server without a wire view.
#[allow(clippy::result_large_err)] // The signature is tungstenite's `Callback`.
fn refuse_wire(
    req: &tokio_tungstenite::tungstenite::handshake::server::Request,
    resp: tokio_tungstenite::tungstenite::handshake::server::Response,
) -> Result<
    tokio_tungstenite::tungstenite::handshake::server::Response,
    tokio_tungstenite::tungstenite::handshake::server::ErrorResponse,
> {
    use tokio_tungstenite::tungstenite::handshake::server::ErrorResponse;
    if req.uri().path() == "/__wire" {
        let mut no = ErrorResponse::new(Some("no wire view here".into()));
        *no.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::NOT_FOUND;
        return Err(no);
    }
    Ok(resp)
}

/// A WebSocket echo server that is not framewire: tokio-tungstenite, answering 404 on `/__wire`.
async fn plain_echo_server() -> u16 {
    use futures_util::{SinkExt, StreamExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let port = listener.local_addr().expect("its address").port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, refuse_wire).await else {
                    return;
                };
                while let Some(Ok(msg)) = ws.next().await {
                    if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

async fn inspector_flow(c: &Client, port: u16, deflate_port: u16, screenshot: &Path) {
    c.goto(&format!("http://127.0.0.1:{port}/"))
        .await
        .expect("page opens");
    let ready = wait_js(
        c,
        "return document.body.dataset.ready || null",
        "the wasm decoder to load",
    )
    .await;
    if ready != "true" {
        let status = js(
            c,
            "return document.getElementById('load-status').textContent",
        )
        .await;
        panic!("the page could not load the wasm bundle (www/pkg): {status}");
    }
    let url = js(c, "return document.getElementById('url').value").await;
    assert_eq!(url, format!("ws://127.0.0.1:{port}/echo"));

    click(c, "#connect").await;
    wait_js(
        c,
        "return !document.getElementById('send-text').disabled",
        "the connection to open",
    )
    .await;
    wait_js(
        c,
        "return document.getElementById('wire-status').textContent.includes('attached') || null",
        "the wire view to attach",
    )
    .await;
    set_value(c, "#text", "hello").await;
    click(c, "#send-text").await;

    let script = format!(
        "const rows = (() => {{ {ROWS} }})(); \
         return rows.filter(r => r.payload === 'hello').length >= 2 ? rows : null"
    );
    let rows = wait_js(c, &script, "the hello frames in the table").await;
    let sent = find_row(&rows, "c2s", "0x1 text", "hello").expect("the browser's frame");
    let mask = sent["mask"].as_str().unwrap();
    assert!(mask.starts_with("1 · "), "mask bit set: {mask}");
    let key = &mask["1 · ".len()..];
    assert!(
        key.len() == 8 && key.chars().all(|ch| ch.is_ascii_hexdigit()),
        "a 4-byte mask key: {key}"
    );
    assert_eq!(sent["fin"], "1");
    assert_eq!(sent["len"], "5 (7-bit)");
    let echo = find_row(&rows, "s2c", "0x1 text", "hello").expect("the server's echo");
    assert_eq!(echo["mask"], "0", "the server's echo is not masked");

    // The detail pane of the browser's frame: the key, the masked and unmasked payload.
    js(
        c,
        "document.querySelector('#frame-rows tr.frame-row[data-dir=c2s]').click(); return null",
    )
    .await;
    let detail = wait_js(
        c,
        "const d = document.getElementById('frame-detail'); \
         const t = d.querySelector('dd[data-k=text]'); if (!t) return null; \
         return { text: t.textContent, mask: d.querySelector('dd[data-k=mask]').textContent, \
           keyBytes: d.querySelectorAll('.byte.f-key').length, \
           payloadBytes: d.querySelectorAll('.byte.f-payload').length, \
           dds: [...d.querySelectorAll('dt')].map(dt => [dt.textContent, dt.nextElementSibling.textContent]) }",
        "the frame detail",
    )
    .await;
    assert_eq!(detail["text"], "hello");
    assert_eq!(detail["keyBytes"], 4);
    assert_eq!(detail["payloadBytes"], 5);
    let dds = detail["dds"].as_array().unwrap();
    let field = |name: &str| {
        dds.iter()
            .find(|p| p[0] == name)
            .map(|p| p[1].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no {name} in the detail pane: {dds:?}"))
    };
    assert_eq!(field("Payload unmasked"), "68 65 6c 6c 6f");
    assert_ne!(field("Payload on the wire (masked)"), "68 65 6c 6c 6f");
    let spaced: Vec<String> = (0..4).map(|i| key[i * 2..i * 2 + 2].to_owned()).collect();
    assert_eq!(detail["mask"], format!("1, key {}", spaced.join(" ")));

    // A binary message from hex.
    set_value(c, "#binary-hex", "de:ad:be:ef").await;
    click(c, "#send-binary").await;
    let rows = wait_js(
        c,
        &format!(
            "const rows = (() => {{ {ROWS} }})(); \
             return rows.filter(r => r.payload === 'de ad be ef').length >= 2 ? rows : null"
        ),
        "the binary frames",
    )
    .await;
    let bin = find_row(&rows, "c2s", "0x2 binary", "de ad be ef").expect("the binary frame");
    assert!(bin["mask"].as_str().unwrap().starts_with("1 · "));
    assert!(find_row(&rows, "s2c", "0x2 binary", "de ad be ef").is_some());

    // A 2 MiB message, twice the page's decoder limit. Firefox sends it as one frame; Chromium
    // fragments it (frames of 130991 and 9 bytes): either way the browser's frames are
    // masked and add up to 2 MiB.
    js(
        c,
        "document.getElementById('text').value = 'x'.repeat(2 << 20); return null",
    )
    .await;
    click(c, "#send-text").await;
    let rows = wait_js(
        c,
        &format!(
            "const rows = (() => {{ {ROWS} }})(); \
             return rows.some(r => r.dir === 's2c' && r.len === '2097152 (64-bit)') \
               && rows.some(r => r.dir === 'c2s' && r.fin === '1' && r.len !== '5 (7-bit)' && r.op !== '0x2 binary') ? rows : null"
        ),
        "the 2 MiB frames",
    )
    .await;
    let sent: Vec<&Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["dir"] == "c2s" && r["op"] != "0x2 binary" && r["len"] != "5 (7-bit)")
        .collect();
    let total: u64 = sent
        .iter()
        .map(|r| {
            let len = r["len"].as_str().unwrap();
            len.split(' ').next().unwrap().parse::<u64>().unwrap()
        })
        .sum();
    assert_eq!(total, 2 << 20, "the browser's frames carry 2 MiB: {sent:?}");
    assert_eq!(sent[0]["op"], "0x1 text");
    assert!(sent
        .iter()
        .all(|r| r["mask"].as_str().unwrap().starts_with("1 · ")));
    assert!(sent[1..].iter().all(|r| r["op"] == "0x0 continuation"));
    let p = sent[0]["payload"].as_str().unwrap();
    assert!(p.starts_with("xxxxxxxx") && p.ends_with('…'), "{p}");
    // Its detail pane dumps only the first 4 KiB; a frame still arriving in pieces
    // beyond 1 MiB would be kept only in part (and say so).
    let note = js(
        c,
        "const rows = [...document.querySelectorAll('#frame-rows tr.frame-row[data-dir=s2c]')]; \
         rows.find(r => r.querySelector('.c-len').textContent.startsWith('2097152')).click(); \
         return document.getElementById('frame-detail').textContent",
    )
    .await;
    let note = note.as_str().unwrap();
    assert!(
        note.contains("more bytes not shown."),
        "the dump stops at 4 KiB"
    );
    assert!(
        note.contains("2097152 (64-bit)"),
        "the detail gives the full length"
    );
    set_value(c, "#text", "hello").await;

    // The keyboard: from a browser frame drawn just above its echo, ArrowDown then
    // Enter selects the echo. (The table draws only the rows in view, so which rows
    // are drawn first depends on the scroll: the start row is picked, not assumed.)
    let start = js(
        c,
        "const rows = [...document.querySelectorAll('#frame-rows tr.frame-row')]; \
         const i = rows.findIndex((r, k) => r.dataset.dir === 'c2s' && rows[k + 1]?.dataset.dir === 's2c'); \
         if (i >= 0) rows[i].dataset.keyStart = '1'; return i",
    )
    .await;
    assert!(
        start.as_i64().unwrap() >= 0,
        "no browser frame drawn above its echo"
    );
    let first = c
        .find(Locator::Css("#frame-rows tr[data-key-start]"))
        .await
        .expect("the start row");
    js(
        c,
        "document.querySelector('#frame-rows tr[data-key-start]').focus(); return null",
    )
    .await;
    first
        .send_keys(&format!("{}{}", Key::Down, Key::Enter))
        .await
        .expect("keys");
    let current = wait_js(
        c,
        "const r = document.querySelector('#frame-rows tr[aria-current=true]'); \
         return r && r === document.activeElement ? r.dataset.dir : null",
        "the keyboard selection",
    )
    .await;
    assert_eq!(current, "s2c");
    // Moving the selection stopped the table following new frames; End follows again.
    c.find(Locator::Css("#frame-rows tr[aria-current=true]"))
        .await
        .expect("the selected row")
        .send_keys(&Key::End.to_string())
        .await
        .expect("End");

    // The native WebSocket events: open, then the echo.
    let events = js(
        c,
        "return [...document.querySelectorAll('#event-log li')].map(li => li.textContent)",
    )
    .await;
    let events: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(events.iter().any(|e| e.contains("open")), "{events:?}");
    assert!(
        events
            .iter()
            .any(|e| e.contains("message") && e.contains("hello")),
        "{events:?}"
    );

    // The decode pane: an RFC 6455 section 5.7 example in Wireshark's layout.
    set_value(
        c,
        "#decode-input",
        "0000   81 85 37 fa 21 3d 7f 9f 4d 51 58                ..7.!=..MQX",
    )
    .await;
    js(
        c,
        "document.getElementById('decode-role').value = 'client'; return null",
    )
    .await;
    click(c, "#decode-button").await;
    let decoded = wait_js(
        c,
        "const o = document.getElementById('decode-output'); if (!o.querySelector('article')) return null; \
         const k = n => (o.querySelector(`dd[data-k=${n}]`) || {}).textContent; \
         return { summary: o.querySelector('.summary').textContent, fin: k('fin'), rsv: k('rsv'), \
           opcode: k('opcode'), mask: k('mask'), length: k('length'), text: k('text'), \
           ok: !!o.querySelector('.ok'), rules: o.querySelectorAll('.violations li').length }",
        "the decoded RFC example",
    )
    .await;
    assert_eq!(decoded["summary"], "1 frame in 11 bytes.");
    assert_eq!(decoded["fin"], "1");
    assert_eq!(decoded["rsv"], "000");
    assert_eq!(decoded["opcode"], "0x1 text");
    assert_eq!(decoded["mask"], "1, key 37 fa 21 3d");
    assert_eq!(decoded["length"], "5 (7-bit)");
    assert_eq!(decoded["text"], "Hello");
    assert_eq!(decoded["ok"], true);
    assert_eq!(decoded["rules"], 0);

    // The unmasked RFC example, claimed to come from a client, breaks the masking rule.
    set_value(c, "#decode-input", "81 05 48 65 6c 6c 6f").await;
    click(c, "#decode-button").await;
    let rules = wait_js(
        c,
        "const l = [...document.querySelectorAll('#decode-output .violations li')]; \
         return l.length ? l.map(li => li.dataset.rule) : null",
        "the masking rule to be reported",
    )
    .await;
    assert_eq!(rules, json!(["UnmaskedClientFrame"]));

    // The opening handshake as the server saw it, checked by the core (in the analysis
    // module: the check follows once it has loaded).
    let checks = wait_js(
        c,
        "const t = ['hs-request-check', 'hs-response-check'].map(id => document.getElementById(id).textContent); \
         return t.every(Boolean) ? t : null",
        "the handshake checks",
    )
    .await;
    assert!(
        checks[0].as_str().unwrap().contains("Valid request."),
        "{checks}"
    );
    assert!(
        checks[1].as_str().unwrap().contains("Valid response."),
        "{checks}"
    );

    // The frame builder: RFC 6455's masked ping, then a non-minimal length it flags.
    js(
        c,
        "document.getElementById('b-opcode').value = '9'; return null",
    )
    .await;
    set_value(c, "#b-key", "37 fa 21 3d").await;
    set_value(c, "#b-payload", "Hello").await;
    click(c, "#build").await;
    let built = wait_js(
        c,
        "const b = document.querySelector('#builder-output pre'); return b ? b.textContent : null",
        "the built frame",
    )
    .await;
    assert_eq!(built, "89 85 37 fa 21 3d 7f 9f 4d 51 58");
    js(c, "document.getElementById('b-length').value = '16'; document.getElementById('b-mask').click(); return null").await;
    click(c, "#build").await;
    let built = wait_js(
        c,
        "const b = document.querySelector('#builder-output pre'); \
         return b && b.textContent.startsWith('89 7e') ? \
           [b.textContent, [...document.querySelectorAll('#builder-output .violations li')].map(l => l.dataset.rule)] : null",
        "the non-minimal frame",
    )
    .await;
    assert_eq!(built[0], "89 7e 00 05 48 65 6c 6c 6f");
    assert!(
        built[1]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "NonMinimalLength"),
        "{built}"
    );

    // A handshake pasted into the decode pane is checked by the core.
    set_value(
        c,
        "#decode-input",
        "GET /chat HTTP/1.1\nHost: server.example.com\nUpgrade: websocket\nConnection: Upgrade\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n",
    )
    .await;
    click(c, "#decode-button").await;
    let hs = wait_js(
        c,
        "const l = document.querySelector('#decode-output .checks'); return l ? l.textContent : null",
        "the handshake check",
    )
    .await;
    assert!(
        hs.as_str().unwrap().contains("Valid request.")
            && hs
                .as_str()
                .unwrap()
                .contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "{hs}"
    );

    // Back to the browser's frame for the screenshot.
    set_value(
        c,
        "#decode-input",
        "0000   81 85 37 fa 21 3d 7f 9f 4d 51 58",
    )
    .await;
    click(c, "#decode-button").await;
    js(c, "document.querySelector('#frame-rows tr.frame-row[data-dir=c2s]').click(); window.scrollTo(0, 0); return null").await;
    // Focusing the masking key's first byte explains the field and highlights its bytes.
    let explained = wait_js(
        c,
        "const b = document.querySelector('#frame-detail .byte.f-key[tabindex=\"0\"]'); if (!b) return null; \
         b.focus(); const e = document.querySelector('#frame-detail .field-explain').textContent; \
         return e.startsWith('masking key') ? { explain: e, lit: document.querySelectorAll('#frame-detail .byte.f-key.hl').length, \
           label: b.getAttribute('aria-label') } : null",
        "the masking key's explanation",
    )
    .await;
    assert_eq!(explained["lit"], 4, "{explained}");
    assert!(
        explained["label"].as_str().unwrap().contains("XORed"),
        "{explained}"
    );
    js(c, "window.scrollTo(0, 0); return null").await;
    let png = c.screenshot().await.expect("a screenshot");
    std::fs::create_dir_all(screenshot.parent().unwrap()).expect("target dir");
    std::fs::write(screenshot, png).expect("screenshot written");

    // A narrow window: one column, and nothing wider than the window but the scrolling table.
    c.set_window_size(420, 1600).await.expect("resize");
    let overflow = wait_js(
        c,
        "if (document.documentElement.clientWidth > 440) return null; \
         return [...document.querySelectorAll('main > section')].filter(s => s.getBoundingClientRect().right > document.documentElement.clientWidth + 1).map(s => s.id)",
        "the narrow layout",
    )
    .await;
    assert_eq!(overflow, json!([]), "sections wider than a narrow window");
    js(
        c,
        "document.getElementById('wire').scrollIntoView(); return null",
    )
    .await;
    let png = c.screenshot().await.expect("a narrow screenshot");
    std::fs::write(screenshot.with_extension("narrow.png"), png).expect("screenshot written");
    c.set_window_size(1280, 2400).await.expect("resize back");

    // Closing with a code and reason: the close frames both ways and the close event.
    set_value(c, "#close-code", "4000").await;
    set_value(c, "#close-reason", "done").await;
    click(c, "#close").await;
    let close = wait_js(
        c,
        "const l = [...document.querySelectorAll('#event-log li.ev-close')]; return l.length ? l[0].textContent : null",
        "the close event",
    )
    .await;
    assert!(close.as_str().unwrap().contains("code 4000"), "{close}");
    let rows = wait_js(
        c,
        &format!(
            "framewirePage.table.scrollToEnd(); const rows = (() => {{ {ROWS} }})(); \
             return rows.filter(r => r.op === '0x8 close').length >= 2 ? rows : null"
        ),
        "the close frames",
    )
    .await;
    let closing = find_row(&rows, "c2s", "0x8 close", "4000 private use: done");
    assert!(closing.is_some(), "the browser's close frame: {rows}");
    assert!(closing.unwrap()["mask"]
        .as_str()
        .unwrap()
        .starts_with("1 · "));

    // A server that accepts permessage-deflate, which both browsers offer: the frames
    // carry RSV1 and compressed payloads, and the table shows them inflated. (The server
    // compresses messages of 64 bytes or more.)
    let long = "hello ".repeat(12);
    let long = long.trim_end();
    set_value(c, "#url", &format!("ws://127.0.0.1:{deflate_port}/echo")).await;
    click(c, "#connect").await;
    wait_js(
        c,
        "return document.getElementById('wire-status').textContent.includes('permessage-deflate is on') || null",
        "the wire view to report permessage-deflate",
    )
    .await;
    wait_js(
        c,
        "return !document.getElementById('send-text').disabled",
        "the deflate connection to open",
    )
    .await;
    set_value(c, "#text", long).await;
    click(c, "#send-text").await;
    let rows = wait_js(
        c,
        &format!(
            "const rows = (() => {{ {ROWS} }})(); \
             return rows.filter(r => r.payload === '{long}').length >= 2 ? rows : null"
        ),
        "the inflated frames",
    )
    .await;
    for dir in ["c2s", "s2c"] {
        let row = find_row(&rows, dir, "0x1 text", long).expect("an inflated frame");
        assert_eq!(row["rsv"], "100", "RSV1 marks compression: {row}");
        assert_eq!(row["compressed"], true, "{row}");
    }
    let events = js(
        c,
        "return [...document.querySelectorAll('#event-log li.ev-open')].map(li => li.textContent)",
    )
    .await;
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().contains("permessage-deflate")),
        "the browser reports the extension: {events}"
    );
    click(c, "#disconnect").await;

    // A WebSocket server that is not framewire (tokio-tungstenite, refusing /__wire):
    // messages still work, and the page says the wire view is unavailable.
    let plain = plain_echo_server().await;
    set_value(c, "#url", &format!("ws://127.0.0.1:{plain}/echo")).await;
    click(c, "#connect").await;
    wait_js(
        c,
        "return !document.getElementById('send-text').disabled",
        "the plain server's connection to open",
    )
    .await;
    let status = js(
        c,
        "return document.getElementById('wire-status').textContent",
    )
    .await;
    assert!(status.as_str().unwrap().contains("unavailable"), "{status}");
    set_value(c, "#text", "plain hello").await;
    click(c, "#send-text").await;
    wait_js(
        c,
        "return [...document.querySelectorAll('#event-log li.ev-message')].some(li => li.textContent.includes('plain hello')) || null",
        "the plain server's echo",
    )
    .await;
    let notes = js(
        c,
        "return [...document.querySelectorAll('#frame-rows tr')].map(tr => tr.textContent)",
    )
    .await;
    assert_eq!(notes, json!(["Wire view unavailable."]));
    click(c, "#disconnect").await;

    // A server without a wire view (nothing listens): the page says so.
    let dead = free_port();
    set_value(c, "#url", &format!("ws://127.0.0.1:{dead}/echo")).await;
    click(c, "#connect").await;
    wait_js(
        c,
        "return document.getElementById('wire-status').textContent.includes('unavailable') || null",
        "the wire view to be reported unavailable",
    )
    .await;
    wait_js(
        c,
        "return [...document.querySelectorAll('#event-log li.ev-close')].some(li => li.textContent.includes('1006')) || null",
        "the failed connection's close event",
    )
    .await;
}

/// Bytes of the large text message [`large_frames_stay_in_wasm_memory_until_read`] sends.
const LARGE_TEXT: usize = 200_000;

/// A large frame (64 KiB or more) stays in the decoder's wasm memory until its payload is
/// read (www/loader.js, wasm-client/src/store.rs): the row's preview reads only its start,
/// the detail pane takes it out whole (text, payload and hex view equal to what was sent),
/// and the table lets it go when it drops the row (the frame cap) or is cleared (a new
/// connection); the bound line counts it.
async fn large_frames_stay_in_wasm_memory_until_read(c: &Client, port: u16) {
    open_inspector(c, port).await;
    click(c, "#connect").await;
    wait_js(
        c,
        "return document.getElementById('wire-status').textContent.includes('attached') || null",
        "the wire view to attach",
    )
    .await;
    let len = format!("{LARGE_TEXT} (64-bit)");
    let send_big = format!(
        "window.__big = Array.from({{ length: {LARGE_TEXT} }}, (_, i) => String.fromCharCode(97 + (i * 7 + (i >> 9)) % 26)).join(''); \
         document.getElementById('text').value = window.__big; \
         document.getElementById('send-text').click(); return null"
    );
    js(c, &send_big).await;
    let echo_row = format!(
        "const rows = (() => {{ {ROWS} }})(); \
         return rows.find(r => r.dir === 's2c' && r.len === '{len}') ?? null"
    );
    let echo = wait_js(c, &echo_row, "the large echo in the table").await;
    // The echo (10-byte header) is held, and any of the browser's frames of 64 KiB or more
    // (how Chromium fragments the message varies); the preview read 80 characters, not the
    // frame.
    let held = js(c, "return framewirePage.loader.decoderApi().storedBytes()").await;
    let held = held.as_f64().expect("a byte count") as usize;
    assert!(held >= LARGE_TEXT + 10, "held in wasm memory: {held}");
    let preview = js(c, "return window.__big.slice(0, 80) + '…'").await;
    assert_eq!(echo["payload"], preview);
    let bound = js(
        c,
        "return document.getElementById('table-bound').textContent",
    )
    .await;
    assert!(
        bound
            .as_str()
            .unwrap()
            .contains("MiB of it in the decoder's memory"),
        "{bound}"
    );

    js(
        c,
        "[...document.querySelectorAll('#frame-rows tr.frame-row[data-dir=s2c]')].pop().click(); return null",
    )
    .await;
    let detail = wait_js(
        c,
        "const d = document.getElementById('frame-detail'); \
         const t = d.querySelector('dd[data-k=text]'); if (!t) return null; \
         const hex = (s) => [...s].map((ch) => ch.charCodeAt(0).toString(16).padStart(2, '0')).join(' '); \
         const dd = [...d.querySelectorAll('dt')].find((dt) => dt.textContent === 'Payload').nextElementSibling.textContent; \
         return { same: t.textContent === window.__big, payload: dd === hex(window.__big.slice(0, 4096)) + ` … (${window.__big.length - 4096} more)`, \
           dumped: d.querySelectorAll('.byte.f-payload').length, held: framewirePage.loader.decoderApi().storedBytes() }",
        "the large frame's detail",
    )
    .await;
    assert_eq!(detail["same"], true, "the text read back is the text sent");
    assert_eq!(
        detail["payload"], true,
        "the payload's hex is the text's bytes"
    );
    assert!(detail["dumped"].as_u64().unwrap() > 1000, "{detail}");
    assert_eq!(
        detail["held"].as_f64().unwrap() as usize,
        held - (LARGE_TEXT + 10),
        "the read took the echo out of wasm memory"
    );

    // 60 small messages (120 frames) past a cap of 100 drop the large frames' rows: their
    // bytes are let go.
    js(
        c,
        "const cap = document.getElementById('keep-frames'); cap.value = '100'; cap.dispatchEvent(new Event('change')); \
         const text = document.getElementById('text'); const send = document.getElementById('send-text'); \
         for (let i = 0; i < 60; i++) { text.value = `m${i}`; send.click(); } return null",
    )
    .await;
    wait_js(
        c,
        "return framewirePage.loader.decoderApi().storedBytes() === 0 && Number(document.getElementById('table-bound').dataset.dropped) > 0 || null",
        "the dropped rows' large frames to be let go",
    )
    .await;

    // A new connection clears the table: what it held in wasm memory is let go.
    js(c, &send_big).await;
    wait_js(c, &echo_row, "the second large echo in the table").await;
    let held = js(c, "return framewirePage.loader.decoderApi().storedBytes()").await;
    assert!(
        held.as_f64().unwrap() as usize >= LARGE_TEXT + 10,
        "held: {held}"
    );
    click(c, "#disconnect").await;
    wait_js(
        c,
        "return !document.getElementById('connect').disabled || null",
        "the disconnect",
    )
    .await;
    click(c, "#connect").await;
    wait_js(
        c,
        "return document.getElementById('wire-status').textContent.includes('attached') || null",
        "the wire view to attach again",
    )
    .await;
    assert_eq!(
        js(c, "return framewirePage.loader.decoderApi().storedBytes()").await,
        0
    );
    click(c, "#disconnect").await;
}

/// The inspector from `framewire serve` over TLS: the page loads from
/// `https://`, offers a `wss://` URL, and its connection shows the browser's
/// masked `hello` and the server's echo, over the wire view (`/__wire`, wss too).
async fn tls_flow(c: &Client, port: u16) {
    c.goto(&format!("https://127.0.0.1:{port}/"))
        .await
        .expect("the page opens over https");
    let ready = wait_js(
        c,
        "return document.body.dataset.ready || null",
        "the wasm decoder to load over https",
    )
    .await;
    assert_eq!(ready, "true", "the page loaded the wasm bundle over https");
    let protocol = js(c, "return location.protocol").await;
    assert_eq!(protocol, "https:");
    let url = js(c, "return document.getElementById('url').value").await;
    assert_eq!(url, format!("wss://127.0.0.1:{port}/echo"));
    click(c, "#connect").await;
    wait_js(
        c,
        "return !document.getElementById('send-text').disabled",
        "the wss connection to open",
    )
    .await;
    wait_js(
        c,
        "return document.getElementById('wire-status').textContent.includes('attached') || null",
        "the wire view to attach over wss",
    )
    .await;
    set_value(c, "#text", "hello over tls").await;
    click(c, "#send-text").await;
    let script = format!(
        "const rows = (() => {{ {ROWS} }})(); \
         return rows.filter(r => r.payload === 'hello over tls').length >= 2 ? rows : null"
    );
    let rows = wait_js(c, &script, "the hello frames over wss in the table").await;
    let sent = find_row(&rows, "c2s", "0x1 text", "hello over tls").expect("the browser's frame");
    assert!(sent["mask"].as_str().unwrap().starts_with("1 · "), "{sent}");
    let echo = find_row(&rows, "s2c", "0x1 text", "hello over tls").expect("the server's echo");
    assert_eq!(echo["mask"], "0", "the server's echo is not masked");
    let echoed = js(
        c,
        "return [...document.querySelectorAll('#event-log li.ev-message')].some(li => li.textContent.includes('hello over tls'))",
    )
    .await;
    assert_eq!(echoed, true, "the page's WebSocket got the echo");
    click(c, "#disconnect").await;
}

fn run(browser: Browser, screenshot: &str) {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let (_server, port) = start_server(&deflate_args(false));
    let (_deflate_server, deflate_port) = start_server(&deflate_args(true));
    let ca = pki::Pki::new();
    let (cert, key) = ca.leaf_files(pki::Leaf::Good);
    let (_tls_server, tls_port) = start_server(&[
        "--tls-cert",
        cert.to_str().expect("a UTF-8 temp path"),
        "--tls-key",
        key.to_str().expect("a UTF-8 temp path"),
    ]);
    let profile = std::env::temp_dir().join(format!(
        "framewire-e2e-profile-{}-{}",
        std::process::id(),
        free_port()
    ));
    let screenshot = target_dir().join(screenshot);
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    rt.block_on(async {
        let (_driver, client) = open_browser(&browser, &profile).await;
        let flow = tokio::time::timeout(Duration::from_secs(240), async {
            inspector_flow(&client, port, deflate_port, &screenshot).await;
            large_frames_stay_in_wasm_memory_until_read(&client, port).await;
            tls_flow(&client, tls_port).await;
        });
        let outcome = AssertUnwindSafe(flow).catch_unwind().await;
        // End the session (and so the browser) before the driver is killed, even on failure.
        let _ = client.close().await;
        match outcome {
            Ok(done) => done.expect("the whole browser flow within 240 s"),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    let _ = std::fs::remove_dir_all(&profile);
    assert!(screenshot.is_file());
}

#[test]
fn firefox_inspector_end_to_end() {
    run(Browser::Firefox, "inspector-e2e.png");
}

#[test]
fn chromium_inspector_end_to_end() {
    run(Browser::Chromium, "inspector-e2e-chromium.png");
}
