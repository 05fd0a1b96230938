//! A real session recorded as tcpdump would: `dumpcap` (Wireshark's capture
//! engine, installed by scripts/setup.sh with tshark) captures the loopback
//! traffic of `framewire client` talking to `framewire serve --deflate` on a free
//! port, into a libpcap file; `framewire decode --pcap` then finds the WebSocket
//! connection in it by its HTTP upgrade, reassembles its TCP streams, inflates the
//! messages and must show every message sent and echoed, the client's pings
//! answered and the close. Capturing needs root or CAP_NET_RAW: where the machine
//! refuses it, the test says why on stderr and passes without it.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod dumpcap;
use dumpcap::{start_capture, stop_capture, wait_exit, Proc, WAIT};

const BIN: &str = env!("CARGO_BIN_EXE_framewire");
/// What the client sends, one message a line.
const SENT: [&str; 3] = [
    "hello over a real socket",
    r#"{"id":7,"note":"the quick brown fox jumps over the lazy dog, the quick brown fox again"}"#,
    "third message, é and €",
];

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
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
