//! A real session recorded as tcpdump would: `dumpcap` (Wireshark's capture
//! engine, installed by scripts/setup.sh with tshark) captures the loopback
//! traffic of `framewire client` talking to `framewire serve --deflate` on a free
//! port, into a libpcap file; `framewire decode --pcap` then finds the WebSocket
//! connection in it by its HTTP upgrade, reassembles its TCP streams, inflates the
//! messages and must show every message sent and echoed, the client's pings
//! answered and the close. Capturing needs root or CAP_NET_RAW: where the machine
//! refuses it, the test says why on stderr and passes without it.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_framewire");
/// Longest wait for a process to start, capture, or end.
const WAIT: Duration = Duration::from_secs(20);
/// What the client sends, one message a line.
const SENT: [&str; 3] = [
    "hello over a real socket",
    r#"{"id":7,"note":"the quick brown fox jumps over the lazy dog, the quick brown fox again"}"#,
    "third message, é and €",
];

/// A child killed when the test ends, pass or fail.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Waits for `child` to exit, killing it after [`WAIT`].
fn wait_exit(child: &mut Child, what: &str) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > WAIT {
            let _ = child.kill();
            panic!("{what} did not end within {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `dumpcap` capturing loopback traffic of `port` into `file` (libpcap format,
/// as tcpdump writes), once it says it is capturing; or why it cannot.
fn start_capture(port: u16, file: &Path) -> Result<Proc, String> {
    let dumpcap = on_path("dumpcap")
        .ok_or("dumpcap is not on PATH: scripts/setup.sh installs it (Debian's tshark package)")?;
    let mut child = Command::new(dumpcap)
        .args(["-i", "lo", "-P", "-f", &format!("tcp port {port}")])
        // A bound on the capture, should the test never stop it.
        .args(["-a", "duration:60", "-w"])
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("dumpcap does not start: {e}"))?;
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().expect("piped stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut said = Vec::new();
    loop {
        match rx.recv_timeout(WAIT) {
            Ok(line) if line.starts_with("Capturing on") => break,
            Ok(line) => said.push(line),
            Err(_) => {
                let status = child.try_wait().ok().flatten();
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "dumpcap did not start capturing on lo ({}): {}",
                    status.map_or("still running".to_owned(), |s| s.to_string()),
                    said.join(" / ")
                ));
            }
        }
    }
    // Keep draining its stderr so that it never blocks on a full pipe.
    std::thread::spawn(move || while rx.recv().is_ok() {});
    // "Capturing on" comes as the capture starts: give the filter a moment.
    std::thread::sleep(Duration::from_millis(300));
    Ok(Proc(child))
}

/// Stops dumpcap as Ctrl-C would: it writes out what it holds and exits.
fn stop_capture(mut cap: Proc) {
    let pid = cap.0.id().to_string();
    let _ = Command::new("kill").args(["-INT", &pid]).status();
    let status = wait_exit(&mut cap.0, "dumpcap");
    assert!(
        status.success() || status.code().is_none(),
        "dumpcap: {status}"
    );
}

#[test]
fn a_dumpcap_recording_of_a_real_session_decodes_to_the_messages_sent() {
    let port = free_port();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&dir).expect("the target tmp dir");
    let file = dir.join(format!("real-session-{}-{port}.pcap", std::process::id()));

    let mut server = Proc(
        Command::new(BIN)
            .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--deflate"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("framewire serve starts"),
    );
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            server.0.try_wait().expect("try_wait").is_none(),
            "framewire serve exited"
        );
        assert!(start.elapsed() < WAIT, "framewire serve did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }

    let capture = match start_capture(port, &file) {
        Ok(c) => c,
        Err(why) => {
            eprintln!("NOT RUN: cannot capture loopback traffic on this machine: {why}");
            return;
        }
    };

    // The client: three lines, pings every 150 ms while it waits, then stdin
    // ends and it closes with 1000.
    let mut client = Command::new(BIN)
        .args(["client", "--ping-interval", "150ms", "--show-control"])
        .arg(format!("ws://127.0.0.1:{port}/echo"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("framewire client starts");
    {
        let mut stdin = client.stdin.take().expect("piped stdin");
        for line in SENT {
            writeln!(stdin, "{line}").expect("a line to the client");
        }
        std::thread::sleep(Duration::from_millis(700));
    }
    let status = wait_exit(&mut client, "framewire client");
    let out = client.wait_with_output().expect("the client's output");
    let echoed = String::from_utf8_lossy(&out.stdout);
    let control = String::from_utf8_lossy(&out.stderr);
    assert!(status.success(), "client: {status}: {control}");
    for line in SENT {
        assert!(echoed.contains(line), "the echo of {line:?}: {echoed}");
    }
    let pings = control.matches("> ping").count();
    assert!(pings >= 2, "the client pinged: {control}");
    // Let the last packets (the FINs) reach the capture.
    std::thread::sleep(Duration::from_millis(300));
    stop_capture(capture);
    drop(server);

    let decoded = Command::new(BIN)
        .args(["decode", "--pcap"])
        .arg(&file)
        .output()
        .expect("framewire decode runs");
    let text = String::from_utf8_lossy(&decoded.stdout).into_owned()
        + &String::from_utf8_lossy(&decoded.stderr);
    assert!(decoded.status.success(), "{text}");
    assert!(text.contains("GET /echo HTTP/1.1"), "{text}");
    assert!(text.contains("permessage-deflate"), "{text}");
    for line in SENT {
        // Each message both ways, inflated, quoted (its start: long ones are cut).
        let quoted: String = format!("{line:?}").chars().take(40).collect();
        assert_eq!(
            text.matches(&quoted).count(),
            2,
            "{line:?} sent and echoed: {text}"
        );
    }
    // The JSON is long enough to be compressed both ways; the short lines are not.
    assert_eq!(text.matches("(deflate)").count(), 2, "{text}");
    assert!(text.contains("c2s: 3 messages (1 compressed)"), "{text}");
    assert!(text.contains("s2c: 3 messages (1 compressed)"), "{text}");
    assert!(
        text.contains(&format!("heartbeats: {pings} pings, 0 unanswered")),
        "{text}"
    );
    assert!(text.contains("the client sent close 1000"), "{text}");
    let _ = std::fs::remove_file(&file);
}
