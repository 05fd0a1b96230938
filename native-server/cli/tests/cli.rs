//! The real `framewire` binary: serve (banner, logging, SIGTERM shutdown),
//! client in a pipe, decode, and --help.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use framewire_server::{connect, ClientConfig, CloseCode, Message};

#[path = "../../tests/support/mod.rs"]
mod support;

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
        let tls = extra.contains(&"--tls-cert");
        let (ws, http) = if tls {
            ("wss", "https")
        } else {
            ("ws", "http")
        };
        assert!(
            banner.starts_with(&format!("framewire listening on {ws}://127.0.0.1:")),
            "{banner}"
        );
        assert!(
            banner.contains(&format!("inspector at {http}://127.0.0.1:")),
            "{banner}"
        );
        let addr = banner
            .trim()
            .strip_prefix(&format!("framewire listening on {ws}://"))
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
    // Logged with its size; the text itself only at debug level (payloads may hold secrets).
    let line = served.wait_for_log("received text");
    assert!(line.contains("(23 bytes)"), "{line}");
    assert!(!line.contains("hello from the tutorial"), "{line}");
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
        .args(["client", "http://127.0.0.1:1/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("must start with ws:// or wss://"), "{err}");
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
    for word in [
        "serve",
        "client",
        "decode",
        "proxy",
        "inject",
        "--addr",
        "127.0.0.1:9090",
    ] {
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

/// Runs `framewire client ARGS` with `stdin` as its input (closed at the end,
/// or after `hold` when given) and `env` added; returns (exit code, stdout, stderr).
fn client(
    args: &[&str],
    stdin: &[u8],
    hold: Option<Duration>,
    env: &[(&str, &str)],
) -> (i32, Vec<u8>, String) {
    let mut cmd = Command::new(BIN);
    cmd.arg("client").args(args);
    for var in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "no_proxy",
        "NO_PROXY",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    // Holds stdin open (detached: the client may exit first, which is what some tests check).
    std::thread::spawn(move || {
        if let Some(d) = hold {
            std::thread::sleep(d);
        }
        drop(input);
    });
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A server on its own thread: it greets with the request's Authorization and
/// X-Trace headers, then echoes; without Authorization it refuses with 401,
/// a WWW-Authenticate header and a body.
fn header_server() -> String {
    use framewire_core::handshake::{Acceptance, HttpResponse};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut greeting = String::new();
                    let ws = framewire_server::accept_with(tcp, &Default::default(), |req| {
                        let header =
                            |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
                        match header("authorization") {
                            Some(auth) => {
                                greeting = format!(
                                    "auth={auth} trace={}",
                                    header("x-trace").unwrap_or("-")
                                );
                                Ok(Acceptance::default())
                            }
                            None => {
                                let mut resp = HttpResponse::new(401);
                                resp.headers
                                    .push(("WWW-Authenticate".into(), "Basic realm=\"fw\"".into()));
                                resp.body = b"who are you?\n".to_vec();
                                Err(resp)
                            }
                        }
                    })
                    .await;
                    let Ok(mut ws) = ws else { return };
                    let _ = ws.send_text(&greeting).await;
                    while let Some(Ok(msg)) = ws.recv().await {
                        if let Message::Text(t) = msg {
                            let _ = ws.send_text(&t).await;
                        }
                    }
                });
            }
        });
    });
    addr
}

#[test]
fn client_sends_headers_and_url_credentials() {
    let addr = header_server();
    let (code, out, err) = client(
        &[
            "-H",
            "X-Trace: t1",
            "-n",
            "1",
            &format!("ws://Aladdin:open%20sesame@{addr}/"),
        ],
        b"",
        None,
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        String::from_utf8_lossy(&out),
        "auth=Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ== trace=t1\n",
        "{err}"
    );
    assert!(!err.contains("sesame"), "the password was printed: {err}");
    let (code, _, err) = client(&["-H", "X-Trace", &format!("ws://{addr}/")], b"", None, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("\"Name: value\""), "{err}");
}

#[test]
fn client_prints_a_refusal_and_exits_3() {
    let addr = header_server();
    let (code, _, err) = client(&[&format!("ws://{addr}/")], b"", None, &[]);
    assert_eq!(code, 3, "{err}");
    for want in [
        "401 Unauthorized",
        "WWW-Authenticate: Basic realm=\"fw\"",
        "who are you?",
    ] {
        assert!(err.contains(want), "no {want:?} in:\n{err}");
    }
}

#[test]
fn client_protocol_error_exits_5() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((mut tcp, _)) = listener.accept() {
            let mut buf = [0u8; 2048];
            let _ = tcp.read(&mut buf);
            let _ = tcp.write_all(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: d3Jvbmc=\r\n\r\n",
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    let (code, _, err) = client(&[&format!("ws://{addr}/")], b"", None, &[]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("Sec-WebSocket-Accept"), "{err}");
}

#[test]
fn client_binary_mode_sends_and_prints_raw_bytes() {
    let served = Served::start(&[]);
    let data: Vec<u8> = (0..=255u8).collect();
    let (code, out, err) = client(
        &["--binary", &format!("ws://{}/echo", served.addr)],
        &data,
        None,
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, data, "{err}");
}

#[test]
fn client_max_messages_then_close_code_and_reason() {
    let served = Served::start(&[]);
    // "/" greets, then echoes: two messages, then the client closes with 4000 "bye",
    // though stdin stays open.
    let (code, out, err) = client(
        &[
            "-n",
            "2",
            "--close-code",
            "4000",
            "--close-reason",
            "bye",
            "--show-control",
            &format!("ws://{}/", served.addr),
        ],
        b"one\n",
        Some(Duration::from_secs(30)),
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(String::from_utf8_lossy(&out), "socket ok\none\n", "{err}");
    assert!(err.contains("framewire: > close 4000 \"bye\""), "{err}");
    assert!(err.contains("framewire: < close 4000"), "{err}");
    let (code, _, err) = client(
        &["--close-code", "1006", "ws://127.0.0.1:1/"],
        b"",
        None,
        &[],
    );
    assert_eq!(code, 2);
    assert!(err.contains("cannot be sent"), "{err}");
}

#[test]
fn client_show_control_prints_pings_and_pongs() {
    let served = Served::start(&[]);
    let (code, _, err) = client(
        &[
            "--ping-interval",
            "100ms",
            "--ping-timeout",
            "5s",
            "--show-control",
            &format!("ws://{}/echo", served.addr),
        ],
        b"x\n",
        Some(Duration::from_millis(600)),
        &[],
    );
    assert_eq!(code, 0, "{err}");
    for want in [
        "framewire: > ping \"framewire 1\"",
        "framewire: < pong \"framewire 1\"",
        "framewire: > close 1000 \"\"",
        "framewire: < close 1000",
    ] {
        assert!(err.contains(want), "no {want:?} in:\n{err}");
    }
}

#[test]
fn client_ping_timeout_exits_4() {
    // A server that completes the handshake and then never reads: no pong.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let (tcp, _) = listener.accept().await.unwrap();
            let _ws = framewire_server::accept(tcp, &Default::default())
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
    });
    let started = Instant::now();
    let (code, _, err) = client(
        &[
            "--ping-interval",
            "100ms",
            "--ping-timeout",
            "300ms",
            &format!("ws://{addr}/"),
        ],
        b"",
        Some(Duration::from_secs(30)),
        &[],
    );
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("no pong within 300ms"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn client_wss_with_ca_and_tls_failures() {
    let pki = support::Pki::new();
    let good = support::TlsEcho::start(pki.server_config(support::Leaf::Good));
    let url = format!("wss://localhost:{}/", good.addr.port());
    let ca = pki.ca_pem.to_string_lossy().into_owned();
    let (code, out, err) = client(&["--ca", &ca, &url], b"secure\n", None, &[]);
    assert_eq!(
        (code, String::from_utf8_lossy(&out).as_ref()),
        (0, "secure\n"),
        "{err}"
    );

    let (code, _, err) = client(&[&url], b"", None, &[]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("unknown CA") && err.contains("--ca FILE"),
        "{err}"
    );

    let expired = support::TlsEcho::start(pki.server_config(support::Leaf::Expired));
    let (code, _, err) = client(
        &[
            "--ca",
            &ca,
            &format!("wss://localhost:{}/", expired.addr.port()),
        ],
        b"",
        None,
        &[],
    );
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("expired"), "{err}");

    let served = Served::start(&[]);
    let (code, _, err) = client(&[&format!("wss://{}/", served.addr)], b"", None, &[]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("not TLS"), "{err}");

    let (code, _, err) = client(&["--ca", "/nonexistent/ca.pem", &url], b"", None, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("/nonexistent/ca.pem"), "{err}");
}

#[test]
fn client_insecure_connects_and_warns() {
    let pki = support::Pki::new();
    let wrong = support::TlsEcho::start(pki.server_config(support::Leaf::WrongName));
    let (code, out, err) = client(
        &[
            "--insecure",
            &format!("wss://127.0.0.1:{}/", wrong.addr.port()),
        ],
        b"anyway\n",
        None,
        &[],
    );
    assert_eq!(
        (code, String::from_utf8_lossy(&out).as_ref()),
        (0, "anyway\n"),
        "{err}"
    );
    assert!(err.contains("warning: --insecure"), "{err}");
}

#[test]
fn client_proxy_flags_and_environment() {
    let served = Served::start(&[]);
    let port: u16 = served.addr.rsplit(':').next().unwrap().parse().unwrap();
    let url = format!("ws://{}/echo", served.addr);
    let proxy = support::Tinyproxy::start(&[port], None);
    let dead = format!("http://127.0.0.1:{}", support::free_port());
    let tunnels = || {
        proxy
            .log()
            .iter()
            .filter(|l| l.contains(&format!("127.0.0.1:{port}")))
            .count()
    };

    let (code, out, err) = client(&["--proxy", &proxy.url(), &url], b"p1\n", None, &[]);
    assert_eq!(
        (code, String::from_utf8_lossy(&out).as_ref()),
        (0, "p1\n"),
        "{err}"
    );
    let after_flag = tunnels();
    assert!(
        after_flag > 0,
        "tinyproxy saw no CONNECT: {:?}",
        proxy.log()
    );

    let (code, out, err) = client(&[&url], b"p2\n", None, &[("HTTP_PROXY", &proxy.url())]);
    assert_eq!(
        (code, String::from_utf8_lossy(&out).as_ref()),
        (0, "p2\n"),
        "{err}"
    );
    assert!(
        tunnels() > after_flag,
        "HTTP_PROXY was not used: {:?}",
        proxy.log()
    );

    // NO_PROXY and --no-proxy bypass a proxy that is not there.
    let (code, _, err) = client(
        &[&url],
        b"",
        None,
        &[("HTTP_PROXY", &dead), ("NO_PROXY", "example.com,127.0.0.1")],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = client(&["--no-proxy", &url], b"", None, &[("http_proxy", &dead)]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = client(&[&url], b"", None, &[("http_proxy", &dead)]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("cannot connect to the proxy"), "{err}");

    // A CONNECT tinyproxy may not make: its status is in the message.
    let other = support::Tinyproxy::start(&[1], None);
    let (code, _, err) = client(&["--proxy", &other.url(), &url], b"", None, &[]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("refused CONNECT") && err.contains("403"),
        "{err}"
    );

    let (code, _, err) = client(&["--proxy", "socks5://127.0.0.1:1", &url], b"", None, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("SOCKS"), "{err}");
}

#[test]
fn client_help_shows_examples_flags_and_exit_codes() {
    let out = Command::new(BIN)
        .args(["client", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for word in [
        "--header",
        "--binary",
        "--ca",
        "--insecure",
        "--proxy",
        "--no-proxy",
        "--ping-interval",
        "--ping-timeout",
        "--show-control",
        "--max-messages",
        "--close-code",
        "--close-reason",
        "Examples:",
        "wss://",
        "Exit codes:",
        "3  the server refused",
        "4  network, TLS or proxy",
        "5  protocol error",
    ] {
        assert!(text.contains(word), "client --help lacks {word}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_over_tls_with_a_certificate_and_key() {
    let pki = support::Pki::new();
    let (cert, key) = pki.leaf_files(support::Leaf::Good);
    let served = Served::start(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    let port = served.addr.rsplit(':').next().unwrap();
    let cfg = ClientConfig {
        ca_files: vec![pki.ca_pem.clone()],
        proxy: framewire_server::ProxyConfig::Direct,
        ..ClientConfig::default()
    };
    let mut ws = connect(&format!("wss://localhost:{port}/echo"), &cfg)
        .await
        .unwrap();
    ws.send_text("over wss").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::Text("over wss".into())
    );
    ws.close(CloseCode::NORMAL, "").await.unwrap();
    // The client command, trusting the test CA with --ca.
    let mut child = Command::new(BIN)
        .args(["client", "--ca"])
        .arg(&pki.ca_pem)
        .args(["-n", "1", &format!("wss://localhost:{port}/echo")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"cli over tls\n")
        .unwrap();
    let out = tokio::task::block_in_place(|| child.wait_with_output()).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "cli over tls\n");
}

#[test]
fn tls_flags_come_in_pairs_and_bad_files_are_named() {
    let pki = support::Pki::new();
    let (cert, key) = pki.leaf_files(support::Leaf::Good);
    let serve = |args: &[&std::ffi::OsStr]| {
        Command::new(BIN)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .output()
            .unwrap()
    };
    let out = serve(&["--tls-cert".as_ref(), cert.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--tls-key"), "{err}");
    let out = serve(&["--tls-key".as_ref(), key.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-cert"));

    let missing = pki.dir.path("missing.key");
    let out = serve(&[
        "--tls-cert".as_ref(),
        cert.as_os_str(),
        "--tls-key".as_ref(),
        missing.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("private key") && err.contains(&*missing.to_string_lossy()),
        "{err}"
    );
    // The two files swapped.
    let out = serve(&[
        "--tls-cert".as_ref(),
        key.as_os_str(),
        "--tls-key".as_ref(),
        cert.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("holds no certificate"), "{err}");
}

/// A `framewire proxy` process on an ephemeral port in front of `upstream`,
/// its inspector key written to `key_file`; (child, listening address).
fn start_proxy(upstream: &str, key_file: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["proxy", "--upstream", upstream, "--listen", "127.0.0.1:0"])
        .arg("--inspector-key-file")
        .arg(key_file)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn framewire proxy");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let key = std::fs::read_to_string(key_file).expect("the proxy wrote a new key");
    let rest = line
        .trim()
        .strip_prefix("inspector: http://")
        .unwrap_or_else(|| panic!("the one stdout line: {line}"));
    let (addr, fragment) = rest.split_once("/__framewire/#key=").unwrap();
    assert_eq!(fragment, key.trim(), "the printed key is the file's");
    assert_eq!(key.trim().len(), 32, "128 bits as hex");
    (child, addr.to_owned())
}

#[tokio::test]
async fn inject_lists_the_proxys_connections_and_injects_a_close() {
    let served = Served::start(&[]);
    let dir = support::TempDir::new("inject");
    let key_file = dir.path("key.txt");
    let (mut proxy, addr) = start_proxy(&format!("ws://{}/", served.addr), &key_file);
    let cfg = ClientConfig {
        proxy: framewire_server::ProxyConfig::Direct,
        ..ClientConfig::default()
    };
    let mut ws = connect(&format!("ws://{addr}/echo"), &cfg).await.unwrap();
    ws.send_text("through").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::Text("through".into())
    );
    let inject = |args: &[&str]| {
        Command::new(BIN)
            .args(["inject", "--proxy", &addr, "--key-file"])
            .arg(&key_file)
            .args(args)
            .output()
            .unwrap()
    };
    let list = inject(&["--list"]);
    let text = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(list.status.success(), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("/echo"))
        .unwrap_or_else(|| panic!("{text}"));
    let id = line.split('\t').next().unwrap();
    assert!(line.contains("status 101"), "{line}");
    let done = inject(&["--id", id, "--dir", "down", "close", "4000", "test", "over"]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::Close(Some(CloseCode(4000)), "test over".into())
    );
    let refused = inject(&["--id", "999", "--dir", "up", "ping"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no live connection 999"));
    let _ = proxy.kill();
    let _ = proxy.wait();
}

#[test]
fn proxy_refuses_a_remote_listen_address_without_allow_remote() {
    let out = Command::new(BIN)
        .args([
            "proxy",
            "--upstream",
            "ws://127.0.0.1:9/",
            "--listen",
            "0.0.0.0:0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a loopback address") && err.contains("--allow-remote"),
        "{err}"
    );
}
