//! Hostile peers after (and around) the opening handshake, against `framewire serve` (the
//! binary, as a user runs it) and against the public library type alone (`accept` and
//! `WebSocket`, in `src/bin/library_echo.rs`), each in its own process so that its peak
//! memory (VmHWM) is its own. All attacks run at once while a well-behaved canary echoes;
//! each attacker must be cut off with the right close code or HTTP status within a bound,
//! the canary served within a bound, and the server's peak memory stay bounded.
//! (Malformed handshakes one by one are `native_hostile.rs`'s.)

#[path = "native_util/mod.rs"]
mod util;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use framewire_core::frame::{encode_frame, FrameHeader};
use framewire_core::{CloseCode, Message, OpCode};
use framewire_server::{connect, ClientConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use util::{client_frame, raw_exchange, RawClient};

/// The servers' handshake timeout (both are started with it).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);

/// How long an attacker that is refused outright may take to get its answer.
const CUT_OFF: Duration = Duration::from_secs(5);

/// How long a peer that stops reading may hold on: the idle timeout (3 s) or the write
/// stall (2 to 3 s), plus slack for a loaded machine.
const STALLED_CUT_OFF: Duration = Duration::from_secs(15);

/// The canary's slowest round trip allowed against the release binary (a loaded, shared
/// 2-core machine).
const CANARY_BOUND: Duration = Duration::from_secs(2);

/// The same against `library_echo`, a debug build (inflating and parsing run many times
/// slower unoptimized).
const CANARY_BOUND_DEBUG: Duration = Duration::from_secs(5);

/// The server's peak resident memory allowed through all the attacks. The message limit
/// is 32 MiB (the bomb fills it), one large echo is pending per stalled peer, and the
/// process starts at about 10 MiB.
const MAX_HWM_KIB: u64 = 120 << 10;

/// A server in a child process, killed when dropped.
struct Served {
    child: Child,
    addr: SocketAddr,
}

impl Served {
    /// Starts `cmd`, which prints its address on its first stdout line after "on ".
    fn start(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split_whitespace()
            .find_map(|w| w.trim_start_matches("ws://").parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Self { child, addr }
    }

    fn status_kib(&self, field: &str) -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = text.lines().find(|l| l.starts_with(field)).unwrap();
        line[field.len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Open descriptors of the server process.
    fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .unwrap()
            .count()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The target directory (CARGO_TARGET_DIR or the workspace's).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// `framewire serve` with short timers: $FRAMEWIRE_BIN, else the newest built binary.
fn framewire_serve(extra: &[&str]) -> Served {
    let bin = std::env::var_os("FRAMEWIRE_BIN")
        .map(PathBuf::from)
        .or_else(|| {
            ["release", "debug"]
                .iter()
                .map(|p| target_dir().join(p).join("framewire"))
                .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
                .max()
                .map(|(_, p)| p)
        })
        .expect("a framewire binary: cargo build --release -p framewire-cli");
    let mut cmd = Command::new(bin);
    cmd.args([
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--handshake-timeout",
        "3s",
        "--idle-timeout",
        "3s",
        "--ping-interval",
        "off",
        "--log-level",
        "error",
    ])
    .args(extra);
    Served::start(cmd)
}

/// The echo server on the library type alone.
fn library_echo() -> Served {
    Served::start(Command::new(env!("CARGO_BIN_EXE_library_echo")))
}

/// Echoes small texts every 20 ms until told to stop; returns (echoes, slowest round trip).
/// (Connected before it returns, so that it holds a slot before any attacker.)
async fn canary(
    addr: SocketAddr,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<(u32, Duration)>,
) {
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mut ws = connect(&format!("ws://{addr}/echo"), &ClientConfig::default())
        .await
        .expect("canary connects");
    let task = tokio::spawn(async move {
        let (mut n, mut worst) = (0u32, Duration::ZERO);
        loop {
            let text = format!("canary {n}");
            let sent = Instant::now();
            ws.send_text(&text).await.expect("canary send");
            match tokio::time::timeout(CANARY_BOUND_DEBUG * 2, ws.recv()).await {
                Ok(Some(Ok(Message::Text(t)))) => assert_eq!(t, text),
                other => panic!("canary disturbed: {other:?}"),
            }
            worst = worst.max(sent.elapsed());
            n += 1;
            tokio::select! {
                _ = &mut stop_rx => break,
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        (n, worst)
    });
    (stop_tx, task)
}

/// Reads the server's messages until its close; returns its code and how long it took.
async fn close_code(c: &mut RawClient, since: Instant) -> (Option<u16>, Duration) {
    loop {
        match c.next().await {
            Some(Message::Close(code, _)) => return (code.map(|c| c.0), since.elapsed()),
            Some(_) => {}
            None => return (None, since.elapsed()),
        }
    }
}

async fn expect_close(name: &str, c: &mut RawClient, since: Instant, code: u16) {
    let (got, took) = close_code(c, since).await;
    assert_eq!(got, Some(code), "{name}: close code");
    assert!(took < CUT_OFF, "{name}: cut off after {took:?}");
}

/// Many connections sending their request head a header every 300 ms: each is answered
/// 408 (or dropped) at the handshake timeout.
async fn slow_heads(addr: SocketAddr, conns: usize) {
    let one = |i: usize| async move {
        // Timed from before the connect: a busy test may poll it well after it is made.
        let start = Instant::now();
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /echo HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let mut buf = [0u8; 512];
        let mut reset = false;
        loop {
            tokio::select! {
                r = s.read(&mut buf) => match r {
                    Ok(0) => break,
                    // A listen backlog overflowing (hundreds of connects at once to a slow
                    // debug build) resets connections the server never saw.
                    Err(_) => {
                        reset = true;
                        break;
                    }
                    Ok(n) => answer.extend_from_slice(&buf[..n]),
                },
                () = tokio::time::sleep(Duration::from_millis(300)) => {
                    let _ = s.write_all(format!("X-Slow-{i}: y\r\n").as_bytes()).await;
                }
            }
            assert!(
                start.elapsed() < HANDSHAKE_TIMEOUT + CUT_OFF,
                "slow head {i} never cut off"
            );
        }
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "slow head {i}: {answer:?}"
        );
        assert!(reset || start.elapsed() >= HANDSHAKE_TIMEOUT - Duration::from_millis(200));
    };
    futures::future::join_all((0..conns).map(one)).await;
}

/// Too many header fields, and too many header bytes: 431.
async fn header_floods(addr: SocketAddr) {
    let head = |extra: String| {
        format!(
            "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
        )
    };
    let count: String = (0..500).map(|i| format!("a{i}: b\r\n")).collect();
    let bytes = format!("X-Big: {}\r\n", "b".repeat(64 << 10));
    for (name, extra) in [("header count", count), ("header bytes", bytes)] {
        let start = Instant::now();
        let answer = raw_exchange(addr, head(extra).as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 431"), "{name}: {answer:?}");
        assert!(start.elapsed() < CUT_OFF, "{name}: {:?}", start.elapsed());
    }
}

/// A frame header declaring a 2^62-byte payload: 1009 at once, nothing allocated for it.
async fn huge_declared_frame(addr: SocketAddr) {
    let mut c = RawClient::connect(addr, "/echo").await;
    let start = Instant::now();
    let mut head = vec![0x82, 0xFF];
    head.extend_from_slice(&(1u64 << 62).to_be_bytes());
    head.extend_from_slice(&[1, 2, 3, 4]);
    c.write_raw(&head).await;
    expect_close("2^62-byte frame", &mut c, start, 1009).await;
}

/// A message in a million one-byte fragments: 1009 once the fragment limit is passed.
async fn million_fragments(addr: SocketAddr) {
    let c = RawClient::connect(addr, "/echo").await;
    let start = Instant::now();
    let (mut rd, mut wr) = c.io.into_split();
    let writer = tokio::spawn(async move {
        let mut batch = client_frame(0x02, b"x");
        let mut sent = 1;
        while sent < 1_000_000 {
            while batch.len() < 70_000 {
                batch.extend_from_slice(&client_frame(0x00, b"x"));
                sent += 1;
            }
            if wr.write_all(&batch).await.is_err() {
                return sent;
            }
            batch.clear();
        }
        sent
    });
    // The server's close frame: 0x88, length, code.
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while got.len() < 4 {
        match tokio::time::timeout(CUT_OFF, rd.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
            other => panic!("million fragments: no close frame ({other:?}, {got:?})"),
        }
    }
    assert_eq!(got[0], 0x88, "a close frame: {got:?}");
    assert_eq!(u16::from_be_bytes([got[2], got[3]]), 1009, "{got:?}");
    assert!(
        start.elapsed() < CUT_OFF,
        "fragments cut off after {:?}",
        start.elapsed()
    );
    // Cut off: the server ends the connection (EOF or reset) after its close.
    // (How many fragments the writer got out is no measure: on loopback the
    // kernel's buffers take several MiB whether the server reads or not.)
    let ended = tokio::time::timeout(CUT_OFF, async {
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "million fragments: the connection was not ended within {CUT_OFF:?} of the close"
    );
    drop(rd);
    let sent = writer.await.unwrap();
    println!("million fragments: {sent} written before the cut-off");
}

/// A peer that writes and never reads: pings (each answered with a pong it never takes),
/// or large messages it wants echoed. The server stops reading it and drops it.
async fn never_reads(addr: SocketAddr, name: &str, frame: Vec<u8>) {
    let c = RawClient::connect(addr, "/echo").await;
    let start = Instant::now();
    let (_rd, mut wr) = c.io.into_split();
    let batch: Vec<u8> = frame.repeat((64 << 10) / frame.len() + 1);
    let cut = tokio::time::timeout(STALLED_CUT_OFF, async {
        while wr.write_all(&batch).await.is_ok() {}
    })
    .await;
    assert!(
        cut.is_ok(),
        "{name}: still connected after {STALLED_CUT_OFF:?}"
    );
    eprintln!("{name}: cut off after {:?}", start.elapsed());
}

/// One large masked binary frame.
fn big_frame(len: usize) -> Vec<u8> {
    let mut f = Vec::new();
    encode_frame(
        &FrameHeader::new(true, OpCode::Binary, Some([9, 8, 7, 6]), 0),
        &vec![b'e'; len],
        &mut f,
    );
    f
}

/// A raw deflate stream of `len` zeros (one fixed-Huffman block: a literal 0, then matches
/// of 258 at distance 1), ending as permessage-deflate wants (an empty stored block's header,
/// byte-aligned, its LEN/NLEN left to the receiver). Built by hand: a debug build's zlib
/// takes minutes to compress hundreds of MiB.
fn zeros_bomb(len: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u64, 0u32);
    let mut put = |value: u64, n: u32, out: &mut Vec<u8>| {
        acc |= value << bits;
        bits += n;
        while bits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    };
    // Huffman codes go most significant bit first.
    let code = |c: u64, n: u32| (0..n).fold(0, |r, i| r | ((c >> (n - 1 - i)) & 1) << i);
    put(0b010, 3, &mut out); // not final, fixed Huffman
    put(code(0x30, 8), 8, &mut out); // literal 0
    for _ in 0..(len - 1) / 258 {
        put(code(0b1100_0101, 8), 8, &mut out); // length 258 (symbol 285)
        put(0, 5, &mut out); // distance 1 (code 0)
    }
    put(0, 7, &mut out); // end of block (symbol 256)
    put(0, 3, &mut out); // a stored block, not final
    if bits > 0 {
        out.push(acc as u8); // the last bits, zero-padded to the byte boundary
    }
    out
}

#[test]
fn the_hand_made_bomb_inflates_to_zeros() {
    let mut d = framewire_core::deflate::Decompressor::new(true);
    let mut out = Vec::new();
    d.inflate(&zeros_bomb(1 << 20), &mut out, 2 << 20).unwrap();
    d.finish(&mut out, 2 << 20).unwrap();
    assert!(out.len() > (1 << 20) - 258 && out.iter().all(|&b| b == 0));
}

/// A permessage-deflate message of 256 MiB of zeros (8 times the limit, about 1.6 MiB on
/// the wire): 1009.
async fn decompression_bomb(addr: SocketAddr) {
    let offer = vec![(
        "Sec-WebSocket-Extensions".to_owned(),
        "permessage-deflate; client_max_window_bits".to_owned(),
    )];
    let mut c = RawClient::connect_with(addr, "/echo", offer).await;
    // Distance 1: the back references fit any window the server asked for.
    let payload = zeros_bomb(256 << 20);
    let mut header = FrameHeader::new(true, OpCode::Binary, Some([5, 6, 7, 8]), 0);
    header.rsv1 = true;
    let mut frame = Vec::new();
    encode_frame(&header, &payload, &mut frame);
    let start = Instant::now();
    c.write_raw(&frame).await;
    expect_close("decompression bomb", &mut c, start, 1009).await;
}

/// Bytes that are no frame after the handshake: 1002.
async fn garbage_after_handshake(addr: SocketAddr) {
    let mut c = RawClient::connect(addr, "/echo").await;
    let start = Instant::now();
    c.write_raw(b"\xde\xad\xbe\xef this is not a frame").await;
    expect_close("garbage", &mut c, start, 1002).await;
}

/// A close, then the write side shut: the server answers the close and ends the TCP
/// connection.
async fn close_then_half_close(addr: SocketAddr) {
    let mut c = RawClient::connect(addr, "/echo").await;
    let start = Instant::now();
    c.write_raw(&client_frame(0x88, &1000u16.to_be_bytes()))
        .await;
    c.io.shutdown().await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(CUT_OFF, c.io.read_to_end(&mut out))
        .await
        .expect("the server ends the connection")
        .unwrap();
    assert_eq!(
        &out[..4],
        &[0x88, 0x02, 0x03, 0xE8],
        "close 1000 echoed: {out:?}"
    );
    assert!(start.elapsed() < CUT_OFF);
}

/// Connections reset (RST) in the middle of a frame: the server lets each go.
async fn resets_mid_frame(addr: SocketAddr, conns: usize) {
    let one = || async move {
        let c = RawClient::connect(addr, "/echo").await;
        let mut io = c.io;
        let mut frame = big_frame(1000);
        frame.truncate(100);
        io.write_all(&frame).await.unwrap();
        // Linger 0: the drop sends a reset at once (it does not block).
        #[allow(deprecated)]
        io.set_linger(Some(Duration::ZERO)).unwrap();
        drop(io);
    };
    futures::future::join_all((0..conns).map(|_| one())).await;
}

/// Runs one attack, which must be over within 30 s; says when it is.
async fn bounded(name: &str, attack: impl std::future::Future<Output = ()>) {
    let start = Instant::now();
    tokio::time::timeout(Duration::from_secs(30), attack)
        .await
        .unwrap_or_else(|_| panic!("{name}: still going after 30 s"));
    eprintln!("{name}: done in {:?}", start.elapsed());
}

/// Every attack at once against `server` while the canary echoes; then the bounds.
async fn every_attack_at_once(server: &Served, canary_bound: Duration) {
    let addr = server.addr;
    let fds_before = server.fds();
    let (stop, canary_task) = canary(addr).await;
    // Boxed: ten attacks side by side overflow a test thread's stack in a debug build.
    let (ping, big) = (client_frame(0x89, &[b'p'; 125]), big_frame(1 << 20));
    tokio::join!(
        bounded("slow heads", Box::pin(slow_heads(addr, 100))),
        bounded("header floods", Box::pin(header_floods(addr))),
        bounded("2^62 frame", Box::pin(huge_declared_frame(addr))),
        bounded("million fragments", Box::pin(million_fragments(addr))),
        bounded(
            "ping flood",
            Box::pin(never_reads(addr, "ping flood", ping))
        ),
        bounded(
            "large echoes",
            Box::pin(never_reads(addr, "large echoes", big))
        ),
        bounded("bomb", Box::pin(decompression_bomb(addr))),
        bounded("garbage", Box::pin(garbage_after_handshake(addr))),
        bounded("close + half-close", Box::pin(close_then_half_close(addr))),
        bounded("resets", Box::pin(resets_mid_frame(addr, 300))),
    );
    let _ = stop.send(());
    let (echoes, worst) = canary_task.await.expect("the canary was served throughout");
    assert!(echoes >= 20, "the canary echoed only {echoes} times");
    assert!(worst < canary_bound, "the canary waited {worst:?}");
    // Every attacker's connection is let go (a few may still be closing).
    let deadline = Instant::now() + CUT_OFF;
    while server.fds() > fds_before + 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        server.fds() <= fds_before + 2,
        "{} descriptors open, {fds_before} before the attacks",
        server.fds()
    );
    let hwm = server.status_kib("VmHWM:");
    eprintln!("server peak memory {hwm} KiB, canary slowest {worst:?} over {echoes} echoes");
    assert!(hwm < MAX_HWM_KIB, "server peak memory {hwm} KiB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framewire_serve_cuts_off_every_hostile_peer_while_a_canary_is_served() {
    let server = framewire_serve(&[]);
    every_attack_at_once(&server, CANARY_BOUND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_websocket_cuts_off_every_hostile_peer_while_a_canary_is_served() {
    let server = library_echo();
    every_attack_at_once(&server, CANARY_BOUND_DEBUG).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framewire_serve_answers_503_beyond_max_connections_and_serves_again_once_below() {
    let server = framewire_serve(&["--max-connections", "20"]);
    let addr = server.addr;
    let (stop, canary_task) = canary(addr).await;
    let mut held = Vec::new();
    for _ in 0..19 {
        held.push(RawClient::connect(addr, "/echo").await);
    }
    let upgrade = "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let refused =
        futures::future::join_all((0..30).map(|_| raw_exchange(addr, upgrade.as_bytes()))).await;
    for answer in &refused {
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
        assert!(
            answer.contains("too many connections"),
            "a clear body: {answer:?}"
        );
    }
    drop(held.pop());
    // The slot is free once the server has seen the connection go.
    let start = Instant::now();
    loop {
        let answer = raw_exchange_head(addr, upgrade).await;
        if answer.starts_with("HTTP/1.1 101") {
            break;
        }
        assert!(start.elapsed() < CUT_OFF, "still refused: {answer:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(());
    let (echoes, worst) = canary_task.await.expect("the canary was served throughout");
    assert!(
        echoes >= 1 && worst < CANARY_BOUND,
        "{echoes} echoes, slowest {worst:?}"
    );
}

/// Sends `request` and returns the response head (the connection is then dropped).
async fn raw_exchange_head(addr: SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && s.read_exact(&mut b).await.is_ok() {
        head.push(b[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}
