//! The inspector page opened from `file://` and in proxy mode, in real browsers
//! over WebDriver (headless Firefox ESR and Chromium, as `browser_e2e.rs`).
//!
//! - `www/index.html` from disk loads the decoder (no ES module, no fetch), decodes
//!   RFC 6455's example offline, then connects to a `framewire serve` and echoes.
//! - The page speaks the inspector protocol (`/work/prompts`' contract, v1) to a
//!   Python stand-in (`tests/interop/fake_inspector.py`): list, attach, decoded rows
//!   with the proxy's times, injected frames marked, and the commands it sends.
//! - Through the real `framewire proxy`: an app page (the browser's own `WebSocket`)
//!   relayed to a Python `websockets` server with permessage-deflate, the inspector
//!   page in another window attached to it, a ping injected towards the upstream
//!   reaching it (the server prints the pings it gets) and its pong in the table;
//!   and Chromium echoing many messages through the proxy, every one intact, to
//!   `framewire serve` and, over `wss://` with a test CA, to a Node `ws` and a
//!   Python `websockets` server (permessage-deflate on).
//!
//! Screenshots: `target/inspector-proxy-chromium.png`, `target/inspector-proxy-ended-chromium.png`
//! (who closed the page's own connection), `target/inspector-file-*.png`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::Client;
use serde_json::{json, Value};

#[path = "browser_util/mod.rs"]
mod browser_util;
use browser_util::*;

#[path = "../../native-server/tests/support/mod.rs"]
mod pki;

/// Longest any one browser flow of this file may take.
const FLOW_LIMIT: Duration = Duration::from_secs(60);

/// The lines a child process printed on stdout so far, read by a thread.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn follow(out: impl std::io::Read + Send + 'static) -> Self {
        let lines = Self::default();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                sink.0.lock().unwrap().push(line);
            }
        });
        lines
    }

    /// The first line `pick` maps to something, waiting up to [`WAIT`].
    fn wait_for<T>(&self, what: &str, pick: impl Fn(&str) -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(found) = self.0.lock().unwrap().iter().find_map(|l| pick(l)) {
                return found;
            }
            assert!(
                start.elapsed() < WAIT,
                "no {what} within {WAIT:?}; lines so far: {:?}",
                self.0.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A helper of `tests/interop/` run by `program` (python3, node) that prints
/// "listening PORT"; its port and stdout.
fn interop_helper(program: &str, script: &str, args: &[&str]) -> (Proc, u16, Lines) {
    let mut child = Command::new(program)
        .arg(workspace().join("tests/interop").join(script))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} starts (run scripts/setup.sh): {e}"));
    let lines = Lines::follow(child.stdout.take().expect("piped stdout"));
    let child = Proc(child);
    let port = lines.wait_for(&format!("\"listening PORT\" from {script}"), |l| {
        l.strip_prefix("listening ")?.parse().ok()
    });
    (child, port, lines)
}

/// A Python helper of `tests/interop/`: see [`interop_helper`].
fn python_helper(script: &str, args: &[&str]) -> (Proc, u16, Lines) {
    interop_helper("python3", script, args)
}

/// `framewire proxy` in front of `upstream` on a free port, with `extra`
/// options; its port, inspector key and log (stderr).
fn start_proxy(upstream: &str, extra: &[&str]) -> (Proc, u16, String, Lines) {
    let port = free_port();
    let mut child = Command::new(framewire_bin())
        .args(["proxy", "--upstream", upstream, "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args(extra)
        .arg("--www")
        .arg(workspace().join("www"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("framewire proxy starts");
    let lines = Lines::follow(child.stdout.take().expect("piped stdout"));
    let log = Lines::follow(child.stderr.take().expect("piped stderr"));
    let mut child = Proc(child);
    let key = lines.wait_for("the proxy's \"inspector: …#key=KEY\" line", |l| {
        let url = l.strip_prefix("inspector: ")?;
        assert!(
            url.starts_with(&format!("http://127.0.0.1:{port}/__framewire/")),
            "{url}"
        );
        Some(url.split_once("#key=")?.1.to_owned())
    });
    wait_for_port(port, "framewire proxy", &mut child.0);
    (child, port, key, log)
}

/// Runs `flow` in a fresh session of `browser`, within [`FLOW_LIMIT`].
fn in_browser<F, Fut>(browser: Browser, flow: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    browser_util::in_browser(browser, FLOW_LIMIT, flow);
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("a screenshot");
    let path = target_dir().join(name);
    std::fs::create_dir_all(path.parent().unwrap()).expect("target dir");
    std::fs::write(&path, png).expect("screenshot written");
}

async fn wait_decoder(c: &Client) {
    let ready = wait_js(
        c,
        "return document.body.dataset.ready || null",
        "the decoder to load",
    )
    .await;
    let status = text_of(c, "load-status").await;
    assert_eq!(ready, "true", "the decoder did not load: {status}");
}

/// The rows of the frame table that belong to the proxy's connection `id`.
async fn conn_rows(c: &Client, id: &str, at_least: usize, what: &str) -> Value {
    wait_js(
        c,
        &format!(
            "const rows = (() => {{ {ROWS} }})().filter(r => r.conn === '{id}'); \
             return rows.length >= {at_least} ? rows : null"
        ),
        what,
    )
    .await
}

/// The first of `rows` that `pred` picks.
fn find_in<'a>(rows: &'a Value, what: &str, pred: impl Fn(&Value) -> bool) -> &'a Value {
    rows.as_array()
        .and_then(|rows| rows.iter().find(|r| pred(r)))
        .unwrap_or_else(|| panic!("no {what} in {rows}"))
}

/// The text of the page's element `id`.
async fn text_of(c: &Client, id: &str) -> String {
    let v = js(
        c,
        &format!("return document.getElementById('{id}').textContent"),
    )
    .await;
    v.as_str().unwrap_or_default().to_owned()
}

/// The text of the page's element `id` once it contains `needle`.
async fn wait_text(c: &Client, id: &str, needle: &str) -> String {
    let v = wait_js(
        c,
        &format!(
            "const t = document.getElementById('{id}').textContent; return t.includes({needle:?}) ? t : null"
        ),
        &format!("#{id} to say {needle:?}"),
    )
    .await;
    v.as_str().unwrap_or_default().to_owned()
}

/// Connects the page's own `WebSocket` to `url` and sends `text` once it is open.
async fn connect_and_send(c: &Client, url: &str, text: &str) {
    set_value(c, "#url", url).await;
    click(c, "#connect").await;
    wait_js(
        c,
        "return !document.getElementById('send-text').disabled",
        &format!("the page's connection to {url} to open"),
    )
    .await;
    set_value(c, "#text", text).await;
    click(c, "#send-text").await;
}

fn row<'a>(rows: &'a Value, dir: &str, op: &str, payload: &str) -> &'a Value {
    find_row(rows, dir, op, payload).unwrap_or_else(|| panic!("no {dir} {op} {payload}: {rows}"))
}

// ---- the page from a file --------------------------------------------------------

async fn page_from_file(c: Client, port: u16, shot: &str) {
    let page = workspace().join("www").join("index.html");
    c.goto(&file_url(&page)).await.expect("the page opens");
    wait_decoder(&c).await;
    let note = js(
        &c,
        "const n = document.getElementById('file-note'); return n.hidden ? null : n.textContent",
    )
    .await;
    assert!(
        note.as_str()
            .is_some_and(|n| n.contains("Opened from a file")),
        "the page says what works from a file: {note}"
    );
    let url = js(&c, "return document.getElementById('url').value").await;
    assert_eq!(url, "ws://127.0.0.1:9090/echo");

    // The decode pane, offline.
    click(&c, "#decode-example").await;
    let decoded = wait_js(
        &c,
        "const o = document.getElementById('decode-output'); const t = o.querySelector('dd[data-k=text]'); \
         return t ? { text: t.textContent, summary: o.querySelector('.summary').textContent, \
           mask: o.querySelector('dd[data-k=mask]').textContent } : null",
        "the decoded RFC example",
    )
    .await;
    assert_eq!(decoded["text"], "Hello");
    assert_eq!(decoded["summary"], "1 frame in 11 bytes.");
    assert_eq!(decoded["mask"], "1, key 37 fa 21 3d");

    // The frame builder and the handshake check, offline.
    set_value(&c, "#b-key", "37 fa 21 3d").await;
    click(&c, "#build").await;
    let built = wait_js(
        &c,
        "const b = document.querySelector('#builder-output pre'); return b ? b.textContent : null",
        "the built frame",
    )
    .await;
    assert_eq!(built, "81 85 37 fa 21 3d 7f 9f 4d 51 58");

    // Then a running server, with its wire view.
    connect_and_send(
        &c,
        &format!("ws://127.0.0.1:{port}/echo"),
        "hello from a file",
    )
    .await;
    wait_js(
        &c,
        "return [...document.querySelectorAll('#event-log li.ev-message')].some(li => li.textContent.includes('hello from a file')) || null",
        "the echo of the file page's message",
    )
    .await;
    let rows = wait_js(
        &c,
        &format!(
            "const rows = (() => {{ {ROWS} }})(); \
             return rows.filter(r => r.payload === 'hello from a file').length >= 2 ? rows : null"
        ),
        "the file page's frames in the table (the server's wire view)",
    )
    .await;
    assert!(row(&rows, "c2s", "0x1 text", "hello from a file")["mask"]
        .as_str()
        .unwrap()
        .starts_with("1 · "));
    // The wire view's tap token: 128 bits from crypto.getRandomValues, as base64url.
    let tapped = js(&c, "return new URL(document.getElementById('conn-status').textContent.replace('Open: ', '')).searchParams.get('tap')").await;
    let token = tapped.as_str().expect("the connection's tap token");
    assert!(
        token.len() == 22
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "a 22-character base64url token (128 bits): {token}"
    );
    screenshot(&c, shot).await;

    // The same page without its decoder (www/pkg/ not built): it says so, with what to run.
    let bare = std::env::temp_dir().join(format!(
        "framewire-bare-www-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&bare).expect("a temp dir");
    for entry in std::fs::read_dir(workspace().join("www")).expect("www/") {
        let path = entry.expect("an entry").path();
        if path.is_file() {
            std::fs::copy(&path, bare.join(path.file_name().unwrap())).expect("copied");
        }
    }
    c.goto(&file_url(&bare.join("index.html")))
        .await
        .expect("the bare page opens");
    let status = wait_text(&c, "load-status", "did not load").await;
    assert!(status.contains("scripts/build-wasm.sh"), "{status}");
    assert_eq!(js(&c, "return document.body.dataset.ready").await, "false");
    let _ = std::fs::remove_dir_all(&bare);
}

fn page_from_file_in(browser: Browser, shot: &str) {
    let (_server, port) = start_server(&deflate_args(false));
    in_browser(browser, |c| page_from_file(c, port, shot));
}

#[test]
fn firefox_page_from_file_decodes_offline_and_echoes() {
    page_from_file_in(Browser::Firefox, "inspector-file-firefox.png");
}

#[test]
fn chromium_page_from_file_decodes_offline_and_echoes() {
    page_from_file_in(Browser::Chromium, "inspector-file-chromium.png");
}

// ---- the inspector protocol against a stand-in -------------------------------------

/// The commands the stand-in got from the page, as JSON.
fn commands(lines: &Lines) -> Vec<Value> {
    lines
        .0
        .lock()
        .unwrap()
        .iter()
        .filter_map(|l| serde_json::from_str(l.strip_prefix("command ")?).ok())
        .collect()
}

fn wait_command(lines: &Lines, expected: &Value) {
    lines.wait_for(&format!("the command {expected}"), |l| {
        let got: Value = serde_json::from_str(l.strip_prefix("command ")?).ok()?;
        (got == *expected).then_some(())
    });
}

async fn choose(c: &Client, id: &str, value: &str) {
    js(
        c,
        &format!(
            "const s = document.getElementById('{id}'); s.value = '{value}'; \
             s.dispatchEvent(new Event('change')); return null"
        ),
    )
    .await;
}

async fn fake_proxy_flow(c: Client, port: u16, key: &str, lines: Lines) {
    let page = workspace().join("www").join("index.html");
    let base = format!("{}?proxy=ws://127.0.0.1:{port}", file_url(&page));
    // A wrong key in the fragment: refused, and the page says why it may be.
    c.goto(&format!("{base}#key=wrong"))
        .await
        .expect("the page opens");
    wait_decoder(&c).await;
    let refused = wait_text(&c, "proxy-status", "Could not open").await;
    assert!(refused.contains("key is wrong"), "{refused}");

    // The right key, pasted.
    let proxy = js(&c, "return document.getElementById('proxy-url').value").await;
    assert_eq!(proxy, format!("ws://127.0.0.1:{port}"));
    set_value(&c, "#proxy-key", key).await;
    click(&c, "#proxy-connect").await;
    let listed = wait_js(
        &c,
        "const r = document.querySelector('#proxy-conn-rows tr[data-id=\"7\"]'); \
         return r ? [...r.cells].map(td => td.textContent) : null",
        "connection #7 in the list",
    )
    .await;
    assert_eq!(listed[1], "7");
    assert_eq!(listed[2], "127.0.0.1:5555");
    assert_eq!(listed[3], "/chat");
    assert_eq!(listed[9], "open");
    let status = text_of(&c, "proxy-status").await;
    assert!(status.contains("Connected to the proxy"), "{status}");

    click(&c, "#proxy-conn-rows tr[data-id=\"7\"] input.attach").await;
    wait_command(&lines, &json!({"type": "attach", "ids": [7]}));
    let checks = wait_text(&c, "hs-response-check", "Valid response.").await;
    assert!(
        checks.contains("Valid response."),
        "#7's heads checked by the core: {checks}"
    );
    let rows = conn_rows(&c, "7", 2, "#7's frames").await;
    let sent = row(&rows, "c2s", "0x1 text", "Hello");
    assert_eq!(sent["mask"], "1 · 37fa213d");
    assert_eq!(row(&rows, "s2c", "0x1 text", "Hello")["mask"], "0");
    let times = js(
        &c,
        "return [...document.querySelectorAll('#frame-rows tr.frame-row[data-conn=\"7\"] .c-time')].map(td => td.textContent)",
    )
    .await;
    assert_eq!(
        times,
        json!(["+1.234568 s", "+1.235000 s"]),
        "the proxy's T, to the microsecond"
    );
    let counters = wait_js(
        &c,
        "const r = document.querySelector('#proxy-conn-rows tr[data-id=\"7\"]'); \
         const up = r && r.querySelector('.c-conn-up').textContent; return up === '11 B, 1' ? up : null",
        "#7's updated counters",
    )
    .await;
    assert_eq!(counters, "11 B, 1");
    wait_js(
        &c,
        "return [...document.querySelectorAll('#frame-rows tr.note.warning')].some(tr => tr.textContent.startsWith('#7: the proxy dropped 4096 bytes')) || null",
        "the page to say what the proxy dropped",
    )
    .await;

    // A ping towards the upstream: the command, the injected frame, the pong answering it.
    choose(&c, "inject-dir", "up").await;
    choose(&c, "inject-what", "ping").await;
    set_value(&c, "#inject-payload", "probe").await;
    click(&c, "#inject").await;
    wait_command(
        &lines,
        &json!({"type": "inject", "id": 7, "dir": "up", "what": "ping", "payload_hex": "70726f6265"}),
    );
    let rows = conn_rows(&c, "7", 4, "the injected ping and its pong").await;
    // Control payloads show as hex.
    let probe = "70 72 6f 62 65";
    assert_eq!(row(&rows, "c2s", "0x9 ping", probe)["injected"], "injected");
    assert_eq!(row(&rows, "s2c", "0xa pong", probe)["injected"], "answer");

    // A close with any code and reason towards the client.
    choose(&c, "inject-dir", "down").await;
    choose(&c, "inject-what", "close").await;
    set_value(&c, "#inject-code", "4001").await;
    set_value(&c, "#inject-reason", "bye").await;
    click(&c, "#inject").await;
    wait_command(
        &lines,
        &json!({"type": "inject", "id": 7, "dir": "down", "what": "close", "code": 4001, "reason": "bye"}),
    );
    let rows = conn_rows(&c, "7", 5, "the injected close").await;
    let close = find_in(&rows, "the close row", |r| r["op"] == "0x8 close");
    assert_eq!(close["dir"], "s2c");
    assert_eq!(close["injected"], "injected");
    assert!(
        close["payload"].as_str().unwrap().starts_with("4001"),
        "{close}"
    );

    // Any frame from the frame builder, here one with RSV2 set (malformed).
    click(&c, "#b-rsv2").await;
    set_value(&c, "#b-key", "37 fa 21 3d").await;
    set_value(&c, "#b-payload", "Hello").await;
    click(&c, "#build").await;
    choose(&c, "inject-dir", "up").await;
    choose(&c, "inject-what", "frame").await;
    click(&c, "#inject-from-builder").await;
    let hex = js(&c, "return document.getElementById('inject-hex').value").await;
    assert_eq!(hex, "a1 85 37 fa 21 3d 7f 9f 4d 51 58");
    click(&c, "#inject").await;
    wait_command(
        &lines,
        &json!({"type": "inject", "id": 7, "dir": "up", "what": "frame", "frame_hex": "a18537fa213d7f9f4d5158"}),
    );
    let rows = conn_rows(&c, "7", 6, "the injected built frame").await;
    let built = find_in(&rows, "the built frame's row", |r| r["rsv"] == "010");
    assert_eq!(built["injected"], "injected");
    assert_eq!(built["dir"], "c2s");
    let status = text_of(&c, "proxy-status").await;
    assert!(status.starts_with("Injected a frame into #7"), "{status}");
    // Every new connection from now on.
    click(&c, "#attach-new").await;
    wait_command(&lines, &json!({"type": "attach_new", "on": true}));
    assert_eq!(
        commands(&lines).len(),
        5,
        "attach, three injections and attach_new, nothing else: {:?}",
        commands(&lines)
    );
}

#[test]
fn firefox_page_speaks_the_inspector_protocol_to_a_stand_in() {
    let key = "0123456789abcdef0123456789abcdef";
    let (_fake, port, lines) = python_helper("fake_inspector.py", &[key]);
    in_browser(Browser::Firefox, |c| fake_proxy_flow(c, port, key, lines));
}

// ---- through the real `framewire proxy` ------------------------------------------------

/// Writes an app page (the browser's own `WebSocket` to `url`) into a temp dir.
fn app_page(url: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "framewire-app-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let html = format!(
        r#"<!doctype html><meta charset="utf-8"><title>app</title><script>
"use strict";
const ws = new WebSocket({url:?});
ws.binaryType = "arraybuffer";
const app = (window.app = {{ open: false, received: [], closed: null }});
ws.onopen = () => (app.open = true);
ws.onclose = (e) => (app.closed = e.code);
ws.onmessage = (e) => app.received.push(typeof e.data === "string" ? e.data : "bin:" + new Uint8Array(e.data).join(","));
window.sendAll = (msgs) => {{
  for (const m of msgs) ws.send(m.startsWith("bin:") ? Uint8Array.from(m.slice(4).split(","), Number) : m);
}};
/** N messages of many sizes, text (some not ASCII) and binary. */
window.messages = (n) => Array.from({{ length: n }}, (_, i) =>
  i % 5 === 4
    ? "bin:" + Array.from({{ length: 1 + ((i * 131) % 3000) }}, (_, j) => (i + j * 7) % 256).join(",")
    : `message ${{i}} ` + "é€".repeat(i % 40) + "x".repeat((i * 37) % 70000));
</script>"#
    );
    let path = dir.join("app.html");
    std::fs::write(&path, html).expect("the app page");
    path
}

/// Opens an app page connecting to `url` and waits for its connection to open.
async fn open_app(c: &Client, url: &str) -> PathBuf {
    let app = app_page(url);
    c.goto(&file_url(&app)).await.expect("the app page opens");
    wait_js(
        c,
        "return window.app.open || null",
        "the app's connection through the proxy",
    )
    .await;
    app
}

/// The analysis pane's element `id` for the proxy's connection `conn`, once it says `needle`.
async fn analysis_text(c: &Client, conn: &str, id: &str, needle: &str) -> Value {
    wait_js(
        c,
        &format!(
            "const s = document.getElementById('an-conn'); s.value = 'proxy:{conn}'; s.dispatchEvent(new Event('change')); \
             const t = document.getElementById('{id}').textContent; return t.includes({needle:?}) ? t : null"
        ),
        &format!("#{id} of proxy:{conn} to say {needle:?}"),
    )
    .await
}

async fn proxy_inspection_flow(
    c: Client,
    proxy: u16,
    key: String,
    upstream: Lines,
    proxy_log: Lines,
) {
    let app = open_app(&c, &format!("ws://127.0.0.1:{proxy}/app?user=1")).await;
    let app_window = c.window().await.expect("the app's window");

    let inspector = c.new_window(false).await.expect("a second window");
    c.switch_to_window(inspector.handle.clone())
        .await
        .expect("to the inspector");
    c.goto(&format!("http://127.0.0.1:{proxy}/__framewire/#key={key}"))
        .await
        .expect("the inspector page opens from the proxy");
    wait_decoder(&c).await;
    let listed = wait_js(
        &c,
        "const r = [...document.querySelectorAll('#proxy-conn-rows tr')].find(r => r.querySelector('.c-conn-path').textContent.startsWith('/app')); \
         return r ? { id: r.dataset.id, ext: r.querySelector('.c-conn-ext').textContent } : null",
        "the app's connection in the inspector's list",
    )
    .await;
    let id = listed["id"].as_str().unwrap().to_owned();
    assert!(
        listed["ext"]
            .as_str()
            .unwrap()
            .contains("permessage-deflate"),
        "the upstream agreed to deflate: {listed}"
    );
    click(
        &c,
        &format!("#proxy-conn-rows tr[data-id=\"{id}\"] input.attach"),
    )
    .await;
    wait_js(
        &c,
        "return [...document.querySelectorAll('#frame-rows tr.note')].some(tr => tr.textContent.startsWith('Attached to #')) || null",
        "the attachment",
    )
    .await;

    c.switch_to_window(app_window.clone())
        .await
        .expect("to the app");
    js(&c, "sendAll(['one', 'two', 'x'.repeat(300)]); return null").await;
    wait_js(
        &c,
        "return window.app.received.length >= 3 || null",
        "the app's echoes",
    )
    .await;

    c.switch_to_window(inspector.handle.clone())
        .await
        .expect("to the inspector");
    let rows = conn_rows(&c, &id, 6, "the app's frames both ways").await;
    for dir in ["c2s", "s2c"] {
        row(&rows, dir, "0x1 text", "one");
        row(&rows, dir, "0x1 text", "two");
    }
    assert!(row(&rows, "c2s", "0x1 text", "one")["mask"]
        .as_str()
        .unwrap()
        .starts_with("1 · "));
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .any(|r| r["compressed"] == true),
        "deflated frames shown inflated: {rows}"
    );

    // A ping injected towards the upstream reaches it; its pong shows, marked.
    choose(&c, "inject-conn", &id).await;
    choose(&c, "inject-dir", "up").await;
    choose(&c, "inject-what", "ping").await;
    set_value(&c, "#inject-payload", "framewire-probe").await;
    click(&c, "#inject").await;
    let probe: Vec<String> = b"framewire-probe"
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let wanted = format!("ping {}", probe.concat());
    upstream.wait_for("the injected ping at the upstream", |l| {
        (l == wanted).then_some(())
    });
    // Control payloads show as hex in the table.
    let probe = probe.join(" ");
    let rows = wait_js(
        &c,
        &format!(
            "const rows = (() => {{ {ROWS} }})().filter(r => r.conn === '{id}'); \
             return rows.some(r => r.op === '0xa pong' && r.payload === '{probe}') ? rows : null"
        ),
        "the upstream's pong in the table",
    )
    .await;
    let ping = row(&rows, "c2s", "0x9 ping", &probe);
    assert_eq!(ping["injected"], "injected");
    assert!(
        ping["mask"].as_str().unwrap().starts_with("1 · "),
        "masked towards the upstream: {ping}"
    );
    // Matched to the injected ping by the core's heartbeat analysis.
    let pong = row(&rows, "s2c", "0xa pong", &probe);
    assert_eq!(pong["injected"], "answer", "the pong is marked: {pong}");
    let beats = analysis_text(&c, &id, "an-heartbeats", "pong after").await;
    assert!(
        beats.as_str().unwrap().contains("1 pings, 0 unanswered"),
        "{beats}"
    );
    js(
        &c,
        "document.getElementById('proxy').scrollIntoView(); return null",
    )
    .await;
    screenshot(&c, "inspector-proxy-chromium.png").await;

    // The inspector page's own connection through the proxy, found by its tag.
    connect_and_send(&c, &format!("ws://127.0.0.1:{proxy}/own"), "own message").await;
    let own = wait_js(
        &c,
        "const s = document.getElementById('wire-status').textContent; \
         const m = s.match(/its connection #(\\d+)/); return m ? m[1] : null",
        "the page's own connection in the proxy's list",
    )
    .await;
    let own_rows = conn_rows(&c, own.as_str().unwrap(), 2, "the page's own frames").await;
    row(&own_rows, "c2s", "0x1 text", "own message");
    row(&own_rows, "s2c", "0x1 text", "own message");
    click(&c, "#disconnect").await;
    let own = own.as_str().unwrap();
    let ended = wait_js(
        &c,
        &format!(
            "const n = [...document.querySelectorAll('#frame-rows tr.note')].find(tr => tr.textContent.startsWith('#{own} ended')); \
             const r = document.querySelector('#proxy-conn-rows tr[data-id=\"{own}\"]'); \
             return n && r && r.dataset.state === 'ended' \
               ? {{ note: n.textContent, state: r.querySelector('.c-conn-state').textContent }} : null"
        ),
        "the page's own connection to end in the list and the table",
    )
    .await;
    let note = ended["note"].as_str().unwrap();
    assert!(
        note.contains("closed, started by the client; the client (1000) sent the first close"),
        "the page closed first, with 1000: {note}"
    );
    assert_eq!(
        ended["state"], "ended: closed by the client (1000)",
        "the list says it too"
    );
    js(
        &c,
        "document.getElementById('proxy').scrollIntoView(); return null",
    )
    .await;
    screenshot(&c, "inspector-proxy-ended-chromium.png").await;
    // Plain HTTP requests (the page's files, any icon) are no WebSocket connections.
    let paths = js(
        &c,
        "return [...document.querySelectorAll('#proxy-conn-rows .c-conn-path')].map(td => td.textContent)",
    )
    .await;
    assert!(
        paths
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p.as_str().unwrap().starts_with("/app")
                || p.as_str().unwrap().starts_with("/own")),
        "only WebSocket connections are listed: {paths}"
    );
    // The page has an icon of its own: the browser asked the proxy for no /favicon.ico
    // (which would have been relayed to the upstream).
    let asked: Vec<String> = proxy_log.0.lock().unwrap().clone();
    assert!(
        !asked.iter().any(|l| l.contains("plain HTTP request")),
        "the inspector page made plain requests outside /__framewire/: {asked:#?}"
    );
    // The analysis of that connection knows it ended (the proxy's "ended" message).
    let status = analysis_text(&c, own, "an-status", ", ended").await;
    assert!(status.as_str().unwrap().contains("frames"), "{status}");

    // The app's connection is unharmed by the injection.
    c.switch_to_window(app_window).await.expect("to the app");
    js(&c, "sendAll(['after the ping']); return null").await;
    wait_js(
        &c,
        "return window.app.received.includes('after the ping') || null",
        "the app's echo after the injection",
    )
    .await;
    let _ = std::fs::remove_dir_all(app.parent().unwrap());
}

#[test]
fn chromium_inspector_attaches_through_the_proxy_and_injects_a_ping() {
    let (_upstream, up_port, pings) = python_helper("ping_recorder.py", &[]);
    let (_proxy, proxy, key, log) = start_proxy(&format!("ws://127.0.0.1:{up_port}"), &[]);
    in_browser(Browser::Chromium, |c| {
        proxy_inspection_flow(c, proxy, key, pings, log)
    });
}

/// Messages the app echoes through the proxy.
const MESSAGES: usize = 300;

async fn messages_intact_flow(c: Client, proxy: u16) {
    let app = open_app(&c, &format!("ws://127.0.0.1:{proxy}/echo")).await;
    js(
        &c,
        &format!("window.sent = messages({MESSAGES}); sendAll(window.sent); return null"),
    )
    .await;
    let outcome = wait_js(
        &c,
        &format!(
            "if (window.app.received.length < {MESSAGES}) return null; \
             const bad = window.sent.map((m, i) => m === window.app.received[i] ? -1 : i).filter(i => i >= 0); \
             return {{ got: window.app.received.length, bad: bad.slice(0, 5), closed: window.app.closed }}"
        ),
        "every echo",
    )
    .await;
    assert_eq!(
        outcome,
        json!({"got": MESSAGES, "bad": [], "closed": null}),
        "every message through the proxy intact, in order"
    );
    let _ = std::fs::remove_dir_all(app.parent().unwrap());
}

#[test]
fn chromium_through_the_proxy_every_message_intact() {
    let (_upstream, up_port) = start_server(&deflate_args(true));
    let (_proxy, proxy, _key, _log) = start_proxy(&format!("ws://127.0.0.1:{up_port}"), &[]);
    in_browser(Browser::Chromium, |c| messages_intact_flow(c, proxy));
}

#[test]
fn chromium_through_the_proxy_to_node_ws_and_python_websockets_wss_every_message_intact() {
    let pki = pki::Pki::new();
    let ca = pki.ca_pem.to_str().expect("a UTF-8 temp path").to_owned();
    for (program, script) in [("node", "node/server.mjs"), ("python3", "ws_server.py")] {
        let (cert, key) = pki.leaf_files(pki::Leaf::Good);
        let tls = [
            "--cert",
            cert.to_str().expect("a UTF-8 temp path"),
            "--key",
            key.to_str().expect("a UTF-8 temp path"),
        ];
        let (_upstream, port, _) = interop_helper(program, script, &tls);
        let (_proxy, proxy, _key, _log) =
            start_proxy(&format!("wss://127.0.0.1:{port}"), &["--ca", &ca]);
        in_browser(Browser::Chromium, |c| messages_intact_flow(c, proxy));
    }
}
