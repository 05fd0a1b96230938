//! Helpers shared by the browser tests (`browser_e2e.rs`, `browser_proxy.rs`): the
//! `framewire` binary and its servers on free loopback ports, headless Firefox
//! (geckodriver) and Chromium (chromedriver) sessions, and waiting on the page.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Map, Value};
use std::panic::AssertUnwindSafe;

/// Longest wait for any one thing in the page.
pub const WAIT: Duration = Duration::from_secs(30);
/// One browser at a time: the machine is small and both tests are heavy.
pub static ONE_BROWSER: Mutex<()> = Mutex::new(());

/// The workspace's root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Cargo's target directory.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

/// The first of `names` found on PATH.
pub fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// The first of `names` on PATH, or a panic saying what to install.
pub fn require(names: &[&str], what: &str) -> PathBuf {
    on_path(names).unwrap_or_else(|| {
        panic!(
            "{what} not found on PATH (looked for {names:?}): run scripts/setup.sh, which installs \
             geckodriver, firefox-esr, chromium and chromium-driver"
        )
    })
}

/// The `framewire` binary: $FRAMEWIRE_BIN, else the newest of target/{release,debug}.
pub fn framewire_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("FRAMEWIRE_BIN") {
        return PathBuf::from(p);
    }
    ["release", "debug"]
        .iter()
        .map(|profile| target_dir().join(profile).join("framewire"))
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .max()
        .map(|(_, p)| p)
        .unwrap_or_else(|| {
            panic!(
                "no framewire binary in {}/{{release,debug}}: run \
                 `cargo build --release -p framewire-cli` (scripts/test.sh does) or set FRAMEWIRE_BIN",
                target_dir().display()
            )
        })
}

/// A loopback port free right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Waits until something listens on `port`, failing if `child` exits first.
pub fn wait_for_port(port: u16, what: &str, child: &mut Child) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let start = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited ({status}) before listening on {addr}");
        }
        assert!(
            start.elapsed() < WAIT,
            "{what} did not listen on {addr} within {WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A child process killed when the test ends, pass or fail.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Every file below `dir`.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// `framewire serve` arguments for permessage-deflate on or off, whichever its default.
pub fn deflate_args(on: bool) -> Vec<&'static str> {
    if on {
        return vec!["--deflate"];
    }
    let help = Command::new(framewire_bin())
        .args(["serve", "--help"])
        .output()
        .expect("framewire serve --help runs");
    if String::from_utf8_lossy(&help.stdout).contains("--no-deflate") {
        vec!["--no-deflate"]
    } else {
        Vec::new()
    }
}

/// `framewire serve` of `www/` on a free port with `extra` arguments, once the wasm bundle is fresh.
pub fn start_server(extra: &[&str]) -> (Proc, u16) {
    let www = workspace().join("www");
    let bundle = www.join("pkg").join("framewire_wasm_bg.wasm");
    assert!(
        bundle.is_file(),
        "the wasm bundle {} is missing: run scripts/build-wasm.sh (scripts/test.sh does)",
        bundle.display()
    );
    let built = bundle
        .metadata()
        .and_then(|m| m.modified())
        .expect("bundle time");
    let ws = workspace();
    let newer = ["core/src", "wasm-client/src"]
        .iter()
        .flat_map(|dir| files_under(&ws.join(dir)))
        .find(|f| {
            f.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t > built)
        });
    if let Some(source) = newer {
        panic!(
            "the wasm bundle {} is older than {}: run scripts/build-wasm.sh",
            bundle.display(),
            source.display()
        );
    }
    let port = free_port();
    let mut child = Command::new(framewire_bin())
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--www"])
        .arg(&www)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("framewire starts");
    wait_for_port(port, "framewire serve", &mut child);
    (Proc(child), port)
}

/// Which browser a test drives.
pub enum Browser {
    Firefox,
    Chromium,
}

/// Starts the browser's WebDriver on a free port and opens a session.
pub async fn open_browser(browser: &Browser, profile: &Path) -> (Proc, Client) {
    let port = free_port();
    let (driver, caps) = match browser {
        Browser::Firefox => {
            let driver = require(&["geckodriver"], "geckodriver");
            let firefox = require(&["firefox-esr", "firefox"], "Firefox (firefox-esr)");
            let child = Command::new(driver)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("geckodriver starts");
            let caps = json!({
                "acceptInsecureCerts": true,
                "moz:firefoxOptions": {
                    "binary": firefox,
                    "args": ["-headless", "-width=1280", "-height=2400"],
                    "prefs": { "browser.shell.checkDefaultBrowser": false }
                }
            });
            (child, caps)
        }
        Browser::Chromium => {
            let driver = require(&["chromedriver"], "chromedriver (chromium-driver)");
            let chromium = require(&["chromium", "chromium-browser"], "Chromium");
            let child = Command::new(driver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver starts");
            let caps = json!({
                "acceptInsecureCerts": true,
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--ignore-certificate-errors",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--window-size=1280,2400",
                        format!("--user-data-dir={}", profile.display()),
                    ]
                }
            });
            (child, caps)
        }
    };
    let mut driver = Proc(driver);
    wait_for_port(port, "the WebDriver", &mut driver.0);
    let caps: Map<String, Value> = match caps {
        Value::Object(m) => m,
        _ => unreachable!("capabilities are an object"),
    };
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session");
    (driver, client)
}

/// Runs a script in the page and returns its result.
pub async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.expect("script runs")
}

/// Runs `script` until it returns something other than null/false, or fails after [`WAIT`].
pub async fn wait_js(c: &Client, script: &str, what: &str) -> Value {
    let start = Instant::now();
    loop {
        let v = js(c, script).await;
        if !(v.is_null() || v == Value::Bool(false)) {
            return v;
        }
        if start.elapsed() > WAIT {
            let status = js(
                c,
                "return ['load-status','conn-status','wire-status','proxy-status'].map(i => (document.getElementById(i) || {}).textContent).join(' | ')",
            )
            .await;
            panic!("timed out waiting for {what}; page status: {status}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Opens the inspector page served on `port` and waits until it says its decoder can load
/// (the wasm itself loads on first use).
pub async fn open_inspector(c: &Client, port: u16) {
    c.goto(&format!("http://127.0.0.1:{port}/"))
        .await
        .expect("the page opens");
    let ready = wait_js(
        c,
        "return document.body.dataset.ready || null",
        "the page to start",
    )
    .await;
    if ready != "true" {
        let status = js(
            c,
            "return document.getElementById('load-status').textContent",
        )
        .await;
        panic!("the page says its decoder cannot load: {status}");
    }
}

/// Types `text` into the element `css` after clearing it.
pub async fn set_value(c: &Client, css: &str, text: &str) {
    let e = c.find(Locator::Css(css)).await.expect(css);
    e.clear().await.expect("clear");
    e.send_keys(text).await.expect("type");
}

/// Clicks the element `css`.
pub async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .expect(css)
        .click()
        .await
        .expect("click");
}

/// A script returning the frame table's rows as objects.
pub const ROWS: &str =
    "return [...document.querySelectorAll('#frame-rows tr.frame-row')].map(tr => ({ \
    dir: tr.dataset.dir, fin: tr.querySelector('.c-fin').textContent, \
    op: tr.querySelector('.c-op').textContent, mask: tr.querySelector('.c-mask').textContent, \
    len: tr.querySelector('.c-len').textContent, rsv: tr.querySelector('.c-rsv').textContent, \
    compressed: !!tr.querySelector('.c-payload .tag'), \
    payload: tr.querySelector('.c-payload span').textContent, \
    conn: tr.dataset.conn ?? null, injected: tr.dataset.injected ?? null }))";

/// The row of `rows` with that direction, opcode and payload.
pub fn find_row<'a>(rows: &'a Value, dir: &str, op: &str, payload: &str) -> Option<&'a Value> {
    rows.as_array()?
        .iter()
        .find(|r| r["dir"] == dir && r["op"] == op && r["payload"] == payload)
}

/// The `file://` address of `path`.
pub fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// Runs `flow` in a fresh session of `browser`, within `limit`; the session ends
/// whatever happens.
pub fn in_browser<F, Fut>(browser: Browser, limit: Duration, flow: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let profile = std::env::temp_dir().join(format!(
        "framewire-proxy-profile-{}-{}",
        std::process::id(),
        free_port()
    ));
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    rt.block_on(async {
        let (_driver, client) = open_browser(&browser, &profile).await;
        let run = tokio::time::timeout(limit, flow(client.clone()));
        let outcome = AssertUnwindSafe(run).catch_unwind().await;
        let _ = client.close().await;
        match outcome {
            Ok(done) => done.unwrap_or_else(|_| panic!("the browser flow took over {limit:?}")),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    let _ = std::fs::remove_dir_all(&profile);
}
