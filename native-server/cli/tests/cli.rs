//! The real `framewire` binary: serve (banner, logging, SIGTERM shutdown),
//! client in a pipe, decode, and --help.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use framewire_server::{connect, ClientConfig, CloseCode, Message};

const BIN: &str = env!("CARGO_BIN_EXE_framewire");

/// A `framewire serve` process on an ephemeral port.
struct Served {
    child: Child,
    addr: String,
    stderr: std::sync::mpsc::Receiver<String>,
}

impl Served {
    fn start(extra: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(["serve", "--addr", "127.0.0.1:0", "--log-level", "info"])
            .args(extra)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn framewire");
        let mut banner = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut banner)
            .unwrap();
        assert!(
            banner.starts_with("framewire listening on ws://127.0.0.1:"),
            "{banner}"
        );
        assert!(
            banner.contains("inspector at http://127.0.0.1:"),
            "{banner}"
        );
        let addr = banner
            .trim()
            .strip_prefix("framewire listening on ws://")
            .and_then(|r| r.split(' ').next())
            .unwrap()
            .to_owned();
        let (tx, rx) = std::sync::mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Self {
            child,
            addr,
            stderr: rx,
        }
    }

    /// Waits until a stderr line contains `needle`.
    fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.stderr.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("no log line containing {needle:?}");
    }

    fn sigterm(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "framewire did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn tutorial_messages_are_logged() {
    let served = Served::start(&[]);
    let mut ws = connect(&format!("ws://{}/", served.addr), &ClientConfig::default())
        .await
        .unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::Text("socket ok".into())
    );
    ws.send_text("hello from the tutorial").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::Text("hello from the tutorial".into())
    );
    let line = served.wait_for_log("received text");
    assert!(line.contains("\"hello from the tutorial\""), "{line}");
    ws.close(CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_every_client_with_1001_and_exits_0() {
    let mut served = Served::start(&["--shutdown-timeout", "5s"]);
    let cfg = ClientConfig::default();
    let mut readers = Vec::new();
    for path in ["/", "/echo", "/chat", "/echo"] {
        let mut ws = connect(&format!("ws://{}{path}", served.addr), &cfg)
            .await
            .unwrap();
        ws.send_text("x").await.unwrap();
        readers.push(tokio::spawn(async move {
            loop {
                match ws.recv().await {
                    Some(Ok(Message::Close(code, reason))) => return (code, reason),
                    Some(Ok(_)) => {}
                    other => panic!("expected a close frame, got {other:?}"),
                }
            }
        }));
    }
    served.wait_for_log("websocket open");
    tokio::time::sleep(Duration::from_millis(200)).await;
    served.sigterm();
    for r in readers {
        let (code, reason) = tokio::time::timeout(Duration::from_secs(20), r)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(code, Some(CloseCode::GOING_AWAY), "{reason}");
    }
    let status = tokio::task::block_in_place(|| served.wait_exit());
    assert_eq!(status.code(), Some(0));
    assert!(
        std::net::TcpStream::connect(&served.addr).is_err(),
        "still accepting after shutdown"
    );
}

#[test]
fn client_command_works_in_a_pipe() {
    let served = Served::start(&[]);
    let mut child = Command::new(BIN)
        .args(["client", &format!("ws://{}/echo", served.addr)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all("one\ntwo ✓\nthree\n".as_bytes())
        .unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(out, "one\ntwo ✓\nthree\n", "{err}");
    assert!(status.success(), "{err}");
    assert!(err.contains("connection closed: 1000"), "{err}");
}

#[test]
fn client_command_reports_bad_urls() {
    let out = Command::new(BIN)
        .args(["client", "wss://127.0.0.1:1/"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("wss:// (TLS) is not supported"), "{err}");
}

#[test]
fn decode_command_explains_frames() {
    let out = Command::new(BIN)
        .args([
            "decode",
            "--role",
            "client",
            "0x81 0x85 0x37 0xfa 0x21 0x3d 0x7f 0x9f 0x4d 0x51 0x58",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("opcode   0x1 text"), "{text}");
    assert!(text.contains("key 37 fa 21 3d"), "{text}");
    assert!(text.contains("\"Hello\""), "{text}");
    assert!(text.contains("11 bytes, 1 frame, 0 problems"), "{text}");

    let mut child = Command::new(BIN)
        .args(["decode", "--role", "client"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"0000   81 05 48 65 6c 6c 6f                              .Hello\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("client frames must be masked"), "{text}");

    let out = Command::new(BIN)
        .args(["decode", "81 0g"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("'g' is not a hex digit"), "{err}");

    let raw = std::env::temp_dir().join(format!("framewire-raw-{}", std::process::id()));
    std::fs::write(&raw, [0x88u8, 0x02, 0x03, 0xe8]).unwrap();
    let out = Command::new(BIN)
        .args(["decode", "--raw", "--file"])
        .arg(&raw)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("code 1000 (normal closure)"), "{text}");
    let _ = std::fs::remove_file(raw);
}

#[test]
fn help_describes_every_command() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["serve", "client", "decode", "--addr", "127.0.0.1:9090"] {
        assert!(text.contains(word), "--help lacks {word}:\n{text}");
    }
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for word in [
        "--max-frame",
        "--max-message",
        "--max-fragments",
        "--max-handshake-bytes",
        "--handshake-timeout",
        "--idle-timeout",
        "--ping-interval",
        "--max-connections",
        "--allowed-origin",
        "--protocol",
        "--log-level",
        "--threads",
        "--shutdown-timeout",
        "/echo",
        "/chat",
        "/__wire",
    ] {
        assert!(text.contains(word), "serve --help lacks {word}:\n{text}");
    }
    let out = Command::new(BIN)
        .args(["serve", "--max-frame", "lots"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a size"));
}

#[tokio::test]
async fn multi_thread_runtime_serves_too() {
    let served = Served::start(&["--threads", "2"]);
    let mut ws = connect(
        &format!("ws://{}/echo", served.addr),
        &ClientConfig::default(),
    )
    .await
    .unwrap();
    ws.send_text("threads").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::Text("threads".into())
    );
    ws.close(CloseCode::NORMAL, "").await.unwrap();
}

#[test]
fn client_negotiates_a_subprotocol_with_pings_on() {
    let served = Served::start(&["--protocol", "chat.v1"]);
    let mut child = Command::new(BIN)
        .args([
            "client",
            "--protocol",
            "x",
            "--protocol",
            "chat.v1",
            "--ping",
            "1s",
        ])
        .arg(format!("ws://{}/", served.addr))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"first\n").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout, "socket ok\nfirst\n", "{stderr}");
    assert!(stderr.contains("(subprotocol chat.v1)"), "{stderr}");
}
