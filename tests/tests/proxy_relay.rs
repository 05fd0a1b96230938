//! `framewire proxy` (the library's relay, in this process) against raw
//! upstreams that record what they receive, and against framewire's own
//! server: bytes unchanged both ways, the head rewritten, failures passed on
//! the way they happened, backpressure, injection and the inspector key.

#[path = "native_util/mod.rs"]
mod util;

#[path = "proxy_util/mod.rs"]
mod proxy;

use std::io::ErrorKind;
use std::time::Duration;

use framewire_core::frame::{decode_frame, Decoded};
use framewire_core::mask::apply_mask;
use framewire_server::{connect, CloseCode, Message, ServerConfig};
use proxy::{
    direct, half_open_upstream, raw_connection, raw_upgrade, read_all, record_all, switching,
    Inspect, RawUpstream, TestProxy, KEY, WAIT,
};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use util::{client_frame, TestServer};

/// The frames of a byte stream: (first byte, payload unmasked).
fn frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while let Decoded::Frame(f) = decode_frame(bytes) {
        let mut payload = f.payload.to_vec();
        if let Some(key) = f.header.mask {
            apply_mask(&mut payload, key, 0);
        }
        out.push((bytes[0], payload));
        bytes = &bytes[f.len..];
    }
    assert!(
        bytes.is_empty(),
        "{} bytes after the last frame",
        bytes.len()
    );
    out
}

/// Pseudo-random bytes (not frames at all: the relay does not care).
fn noise(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[tokio::test]
async fn bytes_pass_unchanged_both_ways_and_the_head_is_rewritten_for_the_upstream() {
    let down = noise(300_000, 7);
    let sent_down = down.clone();
    let upstream = RawUpstream::start(switching, move |mut s, record, index| {
        let down = sent_down.clone();
        async move {
            s.write_all(&down).await.unwrap();
            record_all(s, record, index).await;
        }
    })
    .await;
    let proxy = TestProxy::start(&upstream.url("/base"), |_| {}).await;
    let extra = "Origin: http://app.local\r\nCookie: session=s3cr3t\r\nAuthorization: Bearer tok\r\n\
                 Sec-WebSocket-Protocol: chat, v2\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
    let (mut client, answer) =
        raw_upgrade(&proxy, "/a/b?x=1&__framewire_tag=mine&y=2", extra).await;
    assert!(answer.starts_with("HTTP/1.1 101 "), "{answer}");
    let up = noise(500_000, 11);
    client.write_all(&up).await.unwrap();
    let mut got = vec![0u8; down.len()];
    tokio::time::timeout(WAIT, client.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert!(
        got == down,
        "the client received exactly what the upstream sent"
    );
    assert!(
        upstream.wait_for(0, up.len()).await == up,
        "the upstream received exactly what the client sent"
    );
    let head = upstream.head(0);
    let authority = upstream.addr.to_string();
    assert!(
        head.starts_with("GET /base/a/b?x=1&y=2 HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(head.contains(&format!("Host: {authority}\r\n")), "{head}");
    assert!(
        head.contains(&format!("Origin: http://{authority}\r\n")),
        "{head}"
    );
    for kept in [
        "Cookie: session=s3cr3t\r\n",
        "Authorization: Bearer tok\r\n",
        "Sec-WebSocket-Protocol: chat, v2\r\n",
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
    ] {
        assert!(head.contains(kept), "{kept:?} forwarded as sent:\n{head}");
    }
    assert!(!head.contains("__framewire_tag"), "{head}");
}

#[tokio::test]
async fn fixed_path_and_keep_origin_forward_as_configured() {
    let upstream = RawUpstream::recording().await;
    let proxy = TestProxy::start(&upstream.url("/only?k=v"), |c| {
        c.fixed_path = true;
        c.keep_origin = true;
    })
    .await;
    let (_client, answer) =
        raw_upgrade(&proxy, "/ignored?x=1", "Origin: http://app.local\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 101 "), "{answer}");
    let head = upstream.head(0);
    assert!(head.starts_with("GET /only?k=v HTTP/1.1\r\n"), "{head}");
    assert!(head.contains("Origin: http://app.local\r\n"), "{head}");
}

#[tokio::test]
async fn an_unreachable_upstream_is_answered_502_with_a_clear_body() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let proxy = TestProxy::start(&format!("ws://127.0.0.1:{port}/"), |_| {}).await;
    let (mut client, answer) = raw_upgrade(&proxy, "/", "").await;
    assert!(answer.starts_with("HTTP/1.1 502 "), "{answer}");
    let body = String::from_utf8_lossy(&read_all(&mut client).await).into_owned();
    assert!(
        body.contains("cannot reach the upstream") && body.contains(&port.to_string()),
        "{body}"
    );
}

#[tokio::test]
async fn an_upstream_refusal_with_a_body_is_relayed_as_is() {
    const REFUSAL: &[u8] =
        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 11\r\nX-Why: test\r\nConnection: close\r\n\r\nnot allowed";
    let upstream = RawUpstream::start(|_| REFUSAL.to_vec(), |_s, _r, _i| async {}).await;
    let proxy = TestProxy::start(&upstream.url("/"), |_| {}).await;
    let mut client = TcpStream::connect(proxy.addr).await.unwrap();
    client
        .write_all(proxy::upgrade_head("/", "x", "").as_bytes())
        .await
        .unwrap();
    assert_eq!(read_all(&mut client).await, REFUSAL);
}

#[tokio::test]
async fn an_upstream_reset_mid_frame_resets_the_client() {
    let upstream = RawUpstream::start(switching, |mut s, _r, _i| async move {
        // The header of a 100-byte frame and 10 bytes of it, then a reset.
        s.write_all(&[0x82, 100]).await.unwrap();
        s.write_all(&[7u8; 10]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(s);
    })
    .await;
    let proxy = TestProxy::start(&upstream.url("/"), |_| {}).await;
    let (mut client, answer) = raw_upgrade(&proxy, "/", "").await;
    assert!(answer.starts_with("HTTP/1.1 101 "), "{answer}");
    let mut buf = [0u8; 64];
    let end = tokio::time::timeout(WAIT, async {
        loop {
            match client.read(&mut buf).await {
                Ok(0) => return Ok(()),
                Ok(_) => continue,
                Err(e) => return Err(e.kind()),
            }
        }
    })
    .await
    .expect("the client's connection ends in time");
    assert_eq!(end, Err(ErrorKind::ConnectionReset), "a reset, not a FIN");
}

#[tokio::test]
async fn a_client_reset_resets_the_upstream() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let upstream = RawUpstream::start(switching, move |mut s, _r, _i| {
        let tx = tx.lock().unwrap().take();
        async move {
            let mut buf = [0u8; 64];
            let end = loop {
                match s.read(&mut buf).await {
                    Ok(0) => break Ok(()),
                    Ok(_) => continue,
                    Err(e) => break Err(e.kind()),
                }
            };
            let _ = tx.unwrap().send(end);
        }
    })
    .await;
    let proxy = TestProxy::start(&upstream.url("/"), |_| {}).await;
    let (mut client, _) = raw_upgrade(&proxy, "/", "").await;
    // Half a frame first, so the reset lands mid-frame.
    client
        .write_all(&[0x82, 0x80 | 50, 1, 2, 3, 4, 0])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    socket2::SockRef::from(&client)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(client);
    let end = tokio::time::timeout(WAIT, rx).await.unwrap().unwrap();
    assert_eq!(end, Err(ErrorKind::ConnectionReset), "a reset, not a FIN");
}

#[tokio::test]
async fn a_clean_close_passes_through_as_close_frames_and_a_fin() {
    let upstream = RawUpstream::start(switching, |mut s, _r, _i| async move {
        let mut buf = vec![0u8; 64];
        let n = s.read(&mut buf).await.unwrap();
        assert_eq!(buf[0], 0x88, "a close frame from the client");
        assert!(n >= 8);
        s.write_all(&[0x88, 0x02, 0x03, 0xe8]).await.unwrap();
        s.shutdown().await.unwrap();
        let _ = s.read(&mut buf).await;
    })
    .await;
    let proxy = TestProxy::start(&upstream.url("/"), |_| {}).await;
    let (mut client, _) = raw_upgrade(&proxy, "/", "").await;
    client
        .write_all(&client_frame(0x88, &[0x03, 0xe8]))
        .await
        .unwrap();
    let got = read_all(&mut client).await;
    assert_eq!(got, [0x88, 0x02, 0x03, 0xe8], "the close frame, then a FIN");
}

/// Writes `total` bytes of one huge frame in 1 MiB pieces until a write
/// makes no progress for a second; returns how many were written.
async fn write_until_stalled(s: &mut TcpStream, total: usize, masked: bool) -> usize {
    let mut header = vec![0x82, 127];
    header.extend_from_slice(&(total as u64).to_be_bytes());
    if masked {
        header[1] |= 0x80;
        header.extend_from_slice(&[1, 2, 3, 4]);
    }
    s.write_all(&header).await.unwrap();
    let piece = vec![0x55u8; 1 << 20];
    let mut written = 0;
    while written < total {
        match tokio::time::timeout(Duration::from_secs(1), s.write(&piece)).await {
            Ok(Ok(n)) => written += n,
            Ok(Err(e)) => panic!("write failed: {e}"),
            Err(_) => break,
        }
    }
    written
}

/// The peak resident memory of this process (VmHWM), in bytes.
fn peak_rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Over this many bytes written into a side that never reads, the relay is buffering.
const STALL_BOUND: usize = 48 << 20;
const ATTEMPT: usize = 256 << 20;

#[tokio::test]
async fn an_upstream_that_never_reads_stalls_the_client_with_memory_bounded() {
    let upstream = RawUpstream::start(switching, |s, _r, _i| async move {
        tokio::time::sleep(WAIT).await;
        drop(s);
    })
    .await;
    let proxy = TestProxy::start(&upstream.url("/"), |c| c.buffer_bytes = 64 * 1024).await;
    let (mut client, _) = raw_upgrade(&proxy, "/", "").await;
    let before = peak_rss();
    let written = write_until_stalled(&mut client, ATTEMPT, true).await;
    let grew = peak_rss().saturating_sub(before);
    eprintln!("wrote {written} bytes before the stall; peak RSS grew by {grew}");
    assert!(
        written < STALL_BOUND,
        "the client wrote {written} bytes into an upstream that never reads"
    );
    assert!(grew < 32 << 20, "peak RSS grew by {grew} bytes");
}

#[tokio::test]
async fn a_client_that_never_reads_stalls_the_upstream_with_memory_bounded() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let upstream = RawUpstream::start(switching, move |mut s, _r, _i| {
        let tx = tx.lock().unwrap().take();
        async move {
            let written = write_until_stalled(&mut s, ATTEMPT, false).await;
            let _ = tx.unwrap().send(written);
        }
    })
    .await;
    let proxy = TestProxy::start(&upstream.url("/"), |c| c.buffer_bytes = 64 * 1024).await;
    let before = peak_rss();
    let (_client, _) = raw_upgrade(&proxy, "/", "").await;
    let written = tokio::time::timeout(WAIT * 2, rx).await.unwrap().unwrap();
    let grew = peak_rss().saturating_sub(before);
    eprintln!("wrote {written} bytes before the stall; peak RSS grew by {grew}");
    assert!(
        written < STALL_BOUND,
        "the upstream wrote {written} bytes to a client that never reads"
    );
    assert!(grew < 32 << 20, "peak RSS grew by {grew} bytes");
}

#[tokio::test]
async fn a_ping_injected_towards_the_upstream_lands_between_frames() {
    let upstream = RawUpstream::recording().await;
    let proxy = TestProxy::start(&upstream.url("/"), |_| {}).await;
    let (mut inspect, _) = Inspect::open(&proxy).await;
    inspect
        .send(json!({"type": "attach_new", "on": true}))
        .await;
    // attach_new is applied before the next command's answer could come.
    inspect.send(json!({"type": "attach", "ids": []})).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (mut client, _) = raw_upgrade(&proxy, "/", "").await;
    let opened = inspect.until(|v| v["type"] == "opened").await;
    let id = opened["conn"]["id"].as_u64().unwrap();
    let payload: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    let big = {
        let key = [9u8, 8, 7, 6];
        let mut f = vec![0x82, 0x80 | 126, 0x03, 0xe8];
        f.extend_from_slice(&key);
        let mut p = payload.clone();
        apply_mask(&mut p, key, 0);
        f.extend_from_slice(&p);
        f
    };
    client.write_all(&big[..300]).await.unwrap();
    upstream.wait_for(0, 300).await;
    inspect
        .send(
            json!({"type": "inject", "id": id, "dir": "up", "what": "ping", "payload_hex": "6869"}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        upstream.received(0).len(),
        300,
        "nothing is injected inside a frame"
    );
    client.write_all(&big[300..]).await.unwrap();
    client
        .write_all(&client_frame(0x81, b"after"))
        .await
        .unwrap();
    let confirmed = inspect.until(|v| v["type"] == "injected").await;
    assert_eq!(
        (confirmed["id"].as_u64(), confirmed["dir"].as_str()),
        (Some(id), Some("up"))
    );
    let seen = upstream.wait_for(0, big.len() + 8 + 11).await;
    let got = frames(&seen);
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0], (0x82, payload));
    assert_eq!(
        got[1],
        (0x89, b"hi".to_vec()),
        "the ping, masked, between the frames"
    );
    assert_eq!(got[2], (0x81, b"after".to_vec()));
    assert_ne!(seen[big.len() + 1] & 0x80, 0, "the injected ping is masked");
    inspect.send(json!({"type": "detach", "ids": [id]})).await;
    let _ = inspect
        .until(|v| v["type"] == "updated" || v["type"] == "injected")
        .await;
    let kinds: Vec<u8> = inspect
        .chunks
        .iter()
        .filter(|c| u32::from_be_bytes(c[1..5].try_into().unwrap()) == id as u32)
        .map(|c| c[0])
        .collect();
    assert!(
        kinds.contains(&2),
        "the injected ping is a kind-2 chunk: {kinds:?}"
    );
    assert!(
        kinds.contains(&0),
        "relayed client bytes are kind 0: {kinds:?}"
    );
}

/// The framewire server's /echo behind a proxy, a framewire client through it,
/// and an inspector socket; the connection's id.
async fn echo_through_proxy() -> (
    TestServer,
    TestProxy,
    framewire_server::WebSocket<framewire_server::ClientStream>,
    Inspect,
    u64,
) {
    let server = TestServer::start(ServerConfig {
        www: util::www_fixture(),
        ..ServerConfig::default()
    })
    .await;
    let proxy = TestProxy::start(&server.url("/"), |_| {}).await;
    let mut ws = connect(&proxy.url("/echo"), &direct(true)).await.unwrap();
    ws.send_text("warm").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::Text("warm".into())
    );
    let (inspect, before) = Inspect::open(&proxy).await;
    let id = before
        .iter()
        .find(|v| v["type"] == "opened")
        .and_then(|v| v["conn"]["id"].as_u64())
        .expect("the live connection is listed");
    (server, proxy, ws, inspect, id)
}

/// The next message on `ws`, within [`WAIT`].
async fn next_message(
    ws: &mut framewire_server::WebSocket<framewire_server::ClientStream>,
) -> Message {
    tokio::time::timeout(WAIT, ws.recv())
        .await
        .expect("a message within the wait")
        .expect("the connection is open")
        .expect("no error")
}

#[tokio::test]
async fn a_ping_injected_towards_a_framewire_server_gets_its_pong_back() {
    let (_server, _proxy, mut ws, mut inspect, id) = echo_through_proxy().await;
    inspect
        .send(
            json!({"type": "inject", "id": id, "dir": "up", "what": "ping", "payload_hex": "6869"}),
        )
        .await;
    let got = next_message(&mut ws).await;
    assert_eq!(got, Message::Pong(b"hi".to_vec().into()));
}

#[tokio::test]
async fn a_close_injected_towards_the_client_reaches_it() {
    let (_server, _proxy, mut ws, mut inspect, id) = echo_through_proxy().await;
    inspect
        .send(json!({"type": "inject", "id": id, "dir": "down", "what": "close", "code": 4000, "reason": "test over"}))
        .await;
    let got = next_message(&mut ws).await;
    assert_eq!(
        got,
        Message::Close(Some(CloseCode(4000)), "test over".into())
    );
    while let Ok(Some(Ok(_))) = tokio::time::timeout(WAIT, ws.recv()).await {}
    drop(ws);
    let end = ended(&mut inspect, id).await;
    assert_eq!(end["by"], "proxy", "the proxy sent the first close: {end}");
    assert_eq!(
        (&end["close"]["to"], &end["close"]["code"]),
        (&json!("client"), &json!(4000)),
        "{end}"
    );
    assert_eq!(end["close_answer"]["by"], "client", "{end}");
}

#[tokio::test]
async fn a_malformed_frame_injected_towards_the_upstream_fails_it_with_1002() {
    let (_server, _proxy, mut ws, mut inspect, id) = echo_through_proxy().await;
    // Reserved opcode 3, unmasked as given: the proxy masks it.
    inspect
        .send(
            json!({"type": "inject", "id": id, "dir": "up", "what": "frame", "frame_hex": "83 00"}),
        )
        .await;
    let got = next_message(&mut ws).await;
    let Message::Close(code, _) = got else {
        panic!("expected the server's close, got {got:?}")
    };
    assert_eq!(code, Some(CloseCode::PROTOCOL_ERROR));
    let bad = json!({"type": "inject", "id": 999, "dir": "up", "what": "ping"});
    inspect.send(bad).await;
    let e = inspect.until(|v| v["type"] == "error").await;
    assert_eq!(e["message"], "no live connection 999");
}

#[tokio::test]
async fn the_inspector_socket_needs_the_key() {
    let upstream = RawUpstream::recording().await;
    let proxy = TestProxy::start(&upstream.url("/"), |c| c.www = util::www_fixture()).await;
    for path in [
        "/__framewire/inspect".to_owned(),
        "/__framewire/inspect?key=".to_owned(),
        "/__framewire/inspect?key=0123456789abcdef0123456789abcdee".to_owned(),
        format!("/__framewire/inspect?key={KEY}0"),
    ] {
        let (_, answer) = raw_upgrade(&proxy, &path, "").await;
        assert!(answer.starts_with("HTTP/1.1 403 "), "{path}: {answer}");
    }
    let (_, answer) = raw_upgrade(&proxy, &format!("/__framewire/inspect?key={KEY}"), "").await;
    assert!(answer.starts_with("HTTP/1.1 101 "), "{answer}");
    assert!(
        upstream.seen.lock().unwrap().is_empty(),
        "nothing was relayed"
    );
    let page =
        util::raw_exchange(proxy.addr, b"GET /__framewire/ HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(
        page.starts_with("HTTP/1.1 200 ") && page.contains("<title>inspector</title>"),
        "{page}"
    );
}

/// The `ended` notice of connection `id`.
async fn ended(inspect: &mut Inspect, id: u64) -> serde_json::Value {
    inspect
        .until(|v| v["type"] == "ended" && v["id"].as_u64() == Some(id))
        .await
}

/// The `by` and `how` of each TCP end in an `ended` notice.
fn tcp_ends(ended: &serde_json::Value) -> Vec<(String, String)> {
    ended["tcp"]
        .as_array()
        .expect("the TCP ends are listed")
        .iter()
        .map(|t| {
            (
                t["by"].as_str().unwrap().into(),
                t["how"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_close_started_by_the_client_is_reported_as_the_clients_not_the_upstreams() {
    let (_server, _proxy, mut ws, mut inspect, id) = echo_through_proxy().await;
    ws.close(CloseCode(4321), "done").await.unwrap();
    drop(ws);
    let end = ended(&mut inspect, id).await;
    assert_eq!(end["by"], "client", "{end}");
    assert_eq!(end["how"], "closed", "{end}");
    assert_eq!(
        (
            &end["close"]["by"],
            &end["close"]["to"],
            &end["close"]["code"]
        ),
        (&json!("client"), &json!("upstream"), &json!(4321)),
        "the client sent the first close: {end}"
    );
    assert_eq!(
        (&end["close_answer"]["by"], &end["close_answer"]["code"]),
        (&json!("upstream"), &json!(4321)),
        "the upstream answered: {end}"
    );
    let mut tcp = tcp_ends(&end);
    tcp.sort();
    assert_eq!(
        tcp,
        [
            ("client".into(), "FIN".into()),
            ("upstream".into(), "FIN".into())
        ],
        "{end}"
    );
}

#[tokio::test]
async fn a_close_started_by_the_upstream_is_reported_as_the_upstreams() {
    let upstream = RawUpstream::start(switching, |mut s, _r, _i| async move {
        s.write_all(&[0x88, 0x02, 0x0f, 0xa2]).await.unwrap();
        let mut buf = vec![0u8; 64];
        let _ = s.read(&mut buf).await;
        s.shutdown().await.unwrap();
        let _ = s.read(&mut buf).await;
    })
    .await;
    let proxy = TestProxy::start(&upstream.url("/"), |_| {}).await;
    let (mut inspect, _) = Inspect::open(&proxy).await;
    let (mut client, id) = raw_connection(&proxy, &mut inspect).await;
    let mut close = [0u8; 4];
    tokio::time::timeout(WAIT, client.read_exact(&mut close))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(close, [0x88, 0x02, 0x0f, 0xa2]);
    client
        .write_all(&client_frame(0x88, &[0x0f, 0xa2]))
        .await
        .unwrap();
    assert!(read_all(&mut client).await.is_empty(), "then a FIN");
    drop(client);
    let end = ended(&mut inspect, id).await;
    assert_eq!(end["by"], "upstream", "{end}");
    assert_eq!(
        (&end["close"]["by"], &end["close"]["code"]),
        (&json!("upstream"), &json!(4002)),
        "{end}"
    );
    assert_eq!(end["close_answer"]["by"], "client", "{end}");
    assert_eq!(
        tcp_ends(&end)[0],
        ("upstream".into(), "FIN".into()),
        "the upstream ended TCP first: {end}"
    );
}

#[tokio::test]
async fn a_reset_without_a_close_is_reported_as_the_resetting_sides() {
    let upstream = RawUpstream::recording().await;
    let proxy = TestProxy::start(&upstream.url("/"), |_| {}).await;
    let (mut inspect, _) = Inspect::open(&proxy).await;
    let (client, id) = raw_connection(&proxy, &mut inspect).await;
    socket2::SockRef::from(&client)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(client);
    let end = ended(&mut inspect, id).await;
    assert_eq!(
        (&end["by"], &end["how"]),
        (&json!("client"), &json!("reset")),
        "{end}"
    );
    assert!(end["close"].is_null(), "no close frame was sent: {end}");
    assert_eq!(tcp_ends(&end), [("client".into(), "reset".into())], "{end}");
}

#[tokio::test]
async fn a_plain_http_request_is_relayed_with_connection_close_but_not_listed() {
    const NOT_FOUND: &[u8] =
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found";
    let upstream = RawUpstream::start(
        |head| {
            if head.to_ascii_lowercase().contains("upgrade: websocket") {
                switching(head)
            } else {
                NOT_FOUND.to_vec()
            }
        },
        record_all,
    )
    .await;
    let proxy = TestProxy::start(&upstream.url("/"), |_| {}).await;
    let (mut inspect, _) = Inspect::open(&proxy).await;
    let mut plain = TcpStream::connect(proxy.addr).await.unwrap();
    plain
        .write_all(b"GET /favicon.ico HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_all(&mut plain).await, NOT_FOUND, "relayed as is");
    let head = upstream.head(0);
    assert!(
        head.starts_with("GET /favicon.ico HTTP/1.1\r\n") && head.contains("Connection: close\r\n"),
        "{head}"
    );
    let (_ws, answer) = raw_upgrade(&proxy, "/ws", "").await;
    assert!(answer.starts_with("HTTP/1.1 101 "), "{answer}");
    let first = inspect
        .until(|v| v["type"] == "opened" || v["type"] == "ended" || v["type"] == "updated")
        .await;
    assert_eq!(
        (&first["type"], &first["conn"]["path"]),
        (&json!("opened"), &json!("/ws")),
        "the plain request is no WebSocket connection: {first}"
    );
}

#[tokio::test]
async fn a_half_closed_connection_is_ended_after_the_half_close_timeout() {
    let upstream = half_open_upstream().await;
    let proxy = TestProxy::start(&upstream.url("/"), |c| {
        c.half_close_timeout = Duration::from_millis(300);
    })
    .await;
    let (mut inspect, _) = Inspect::open(&proxy).await;
    let (mut client, id) = raw_connection(&proxy, &mut inspect).await;
    let fin = tokio::time::Instant::now();
    client.shutdown().await.unwrap();
    let end = ended(&mut inspect, id).await;
    let waited = fin.elapsed();
    assert_eq!(end["how"], "half-close timeout", "{end}");
    assert_eq!(
        tcp_ends(&end),
        [
            ("client".into(), "FIN".into()),
            ("upstream".into(), "half-close timeout".into())
        ],
        "{end}"
    );
    assert!(
        waited >= Duration::from_millis(250),
        "ended after {waited:?}, before the timeout"
    );
    let mut buf = [0u8; 16];
    let gone = tokio::time::timeout(WAIT, client.read(&mut buf))
        .await
        .expect("the client's side is ended too");
    assert!(matches!(gone, Ok(0) | Err(_)), "{gone:?}");
}

/// The close frame [`an_upstream_that_answers_then_resets`] sends.
const CLOSE_1002: [u8; 4] = [0x88, 2, 0x03, 0xEA];

/// An upstream that, like a server failing a connection, answers the
/// client's first bytes with a close frame and resets at once, unread bytes
/// still arriving.
async fn an_upstream_that_answers_then_resets() -> RawUpstream {
    RawUpstream::start(switching, |mut s, _r, _i| async move {
        let mut buf = [0u8; 1024];
        if let Ok(1..) = s.read(&mut buf).await {
            s.write_all(&CLOSE_1002).await.unwrap();
            socket2::SockRef::from(&s)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_an_upstream_sent_before_its_reset_reaches_the_client_still_sending() {
    // Autobahn 3.4 through the proxy: the server failed the connection, sent
    // its close and reset it while the client was still sending. The proxy's
    // write of the client's bytes failed, and it reset the client at once,
    // before relaying the close frame it had already received.
    let upstream = an_upstream_that_answers_then_resets().await;
    let proxy = TestProxy::start(&upstream.url("/"), |_| {}).await;
    for i in 0..100 {
        let (client, answer) = raw_upgrade(&proxy, "/", "").await;
        assert!(answer.starts_with("HTTP/1.1 101 "), "{answer}");
        let (mut rd, mut wr) = client.into_split();
        let writer = tokio::spawn(async move {
            let chunk = client_frame(0x82, &[5u8; 100]);
            for _ in 0..100_000 {
                if wr.write_all(&chunk).await.is_err() {
                    return;
                }
            }
        });
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        let end = tokio::time::timeout(WAIT, async {
            loop {
                match rd.read(&mut buf).await {
                    Ok(0) => return Ok(()),
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) => return Err(e.kind()),
                }
            }
        })
        .await
        .expect("the connection ends in time");
        writer.abort();
        // The kernel reports the upstream's reset once, to the failed write;
        // the read after the close then sees an end of stream: the client's
        // connection ends with a FIN or the reset that follows it.
        assert_eq!(got, CLOSE_1002, "connection {i}: the close, then {end:?}");
        assert!(
            matches!(end, Ok(()) | Err(ErrorKind::ConnectionReset)),
            "connection {i}: {end:?}"
        );
    }
}
