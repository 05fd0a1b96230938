//! The native server over loopback: the tutorial flow, fragments, ping/pong,
//! close codes, a 16 MiB message, 1,000 clients, the wire view, chat, files,
//! and the library API (accept on any transport, split halves).

#[path = "native_util/mod.rs"]
mod util;

use std::time::Duration;

use framewire_core::frame::{decode_frame, Decoded};
use framewire_core::mask::apply_mask;
use framewire_core::{CloseCode, DataKind, Limits, Message};
use framewire_server::{
    accept, client_handshake, connect, AcceptConfig, ClientConfig, ServerConfig, WsUrl,
};
use util::{client_frame, raw_exchange, RawClient, TestServer, WAIT};

async fn recv<S>(ws: &mut framewire_server::WebSocket<S>) -> Message
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'static,
{
    tokio::time::timeout(WAIT, ws.recv())
        .await
        .expect("message in time")
        .expect("connection open")
        .expect("no error")
}

#[tokio::test]
async fn tutorial_flow_greets_and_echoes() {
    let server = TestServer::default().await;
    let mut ws = connect(&server.url("/"), &ClientConfig::default())
        .await
        .unwrap();
    assert_eq!(recv(&mut ws).await, Message::Text("socket ok".into()));
    ws.send_text("hello").await.unwrap();
    assert_eq!(recv(&mut ws).await, Message::Text("hello".into()));
    ws.send_binary(&[1, 2, 3]).await.unwrap();
    assert_eq!(recv(&mut ws).await, Message::Binary(vec![1, 2, 3].into()));
    ws.close(CloseCode::NORMAL, "done").await.unwrap();
    assert!(ws.recv().await.is_none());
}

#[tokio::test]
async fn echo_sends_nothing_else_and_keeps_kinds() {
    let server = TestServer::default().await;
    let mut ws = connect(&server.url("/echo"), &ClientConfig::default())
        .await
        .unwrap();
    ws.send_binary(b"bin").await.unwrap();
    ws.send_text("txt").await.unwrap();
    assert_eq!(recv(&mut ws).await, Message::Binary(b"bin".to_vec().into()));
    assert_eq!(recv(&mut ws).await, Message::Text("txt".into()));
    ws.close(CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test]
async fn fragmented_messages_with_a_ping_between() {
    let server = TestServer::default().await;
    let mut c = RawClient::connect(server.addr, "/echo").await;
    c.conn
        .send_fragment(DataKind::Text, "frag".as_bytes(), false)
        .unwrap();
    c.conn.send_ping(b"mid").unwrap();
    c.conn
        .send_fragment(DataKind::Text, "mented ✓".as_bytes(), true)
        .unwrap();
    c.conn.send_fragment(DataKind::Binary, &[1], false).unwrap();
    c.conn.send_fragment(DataKind::Binary, &[], false).unwrap();
    c.conn
        .send_fragment(DataKind::Binary, &[2, 3], true)
        .unwrap();
    c.flush().await;
    assert_eq!(c.next().await, Some(Message::Pong(b"mid".to_vec().into())));
    assert_eq!(c.next().await, Some(Message::Text("fragmented ✓".into())));
    assert_eq!(c.next().await, Some(Message::Binary(vec![1, 2, 3].into())));
}

#[tokio::test]
async fn ping_gets_pong() {
    let server = TestServer::default().await;
    let mut ws = connect(&server.url("/echo"), &ClientConfig::default())
        .await
        .unwrap();
    ws.ping(b"are you there").await.unwrap();
    assert_eq!(
        recv(&mut ws).await,
        Message::Pong(b"are you there".to_vec().into())
    );
}

#[tokio::test]
async fn close_handshake_echoes_codes() {
    let server = TestServer::default().await;
    for (code, reason) in [(1000, ""), (1001, "leaving"), (4001, "custom")] {
        let mut ws = connect(&server.url("/echo"), &ClientConfig::default())
            .await
            .unwrap();
        ws.send(Message::Close(Some(CloseCode(code)), reason.into()))
            .await
            .unwrap();
        match recv(&mut ws).await {
            Message::Close(Some(c), _) => assert_eq!(c.0, code),
            other => panic!("expected close, got {other:?}"),
        }
        assert!(
            ws.recv().await.is_none(),
            "connection ends after the close handshake"
        );
    }
}

#[tokio::test]
async fn violations_close_with_the_right_code() {
    let server = TestServer::default().await;
    let cases: [(&str, Vec<u8>, u16); 4] = [
        ("unmasked frame", vec![0x81, 0x02, b'h', b'i'], 1002),
        ("invalid UTF-8", client_frame(0x81, &[0xc3, 0x28]), 1007),
        ("reserved opcode", client_frame(0x83, b""), 1002),
        ("bad close code", client_frame(0x88, &[0x03, 0xed]), 1002),
    ];
    for (name, bytes, want) in cases {
        let mut c = RawClient::connect(server.addr, "/echo").await;
        c.write_raw(&bytes).await;
        let raw = c.read_to_end().await;
        let Decoded::Frame(f) = decode_frame(&raw) else {
            panic!("{name}: no close frame in {raw:?}")
        };
        assert_eq!(f.header.opcode, 0x8, "{name}");
        assert_eq!(
            u16::from_be_bytes([f.payload[0], f.payload[1]]),
            want,
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_connection_failed_while_the_client_still_sends_lingers_instead_of_resetting() {
    // The server failed the connection on a bad frame and closed its socket
    // at once: the client's frames sent after that were answered with a reset,
    // which can erase what the client has not read yet (RFC 9112, 9.6) and which
    // a proxy passes on. It lingers now, reading and dropping, until the
    // client's FIN.
    let server = TestServer::default().await;
    for i in 0..10 {
        let mut c = RawClient::connect(server.addr, "/echo").await;
        let mut sent = client_frame(0x81, b"Hello, world!");
        sent.extend(client_frame(0xC1, b"Hello, world!"));
        c.write_raw(&sent).await;
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let frames = |got: &[u8]| {
            let Decoded::Frame(echo) = decode_frame(got) else {
                return None;
            };
            let Decoded::Frame(close) = decode_frame(&got[echo.len..]) else {
                return None;
            };
            Some((echo.payload.to_vec(), close.payload.to_vec()))
        };
        while frames(&got).is_none() {
            let n = tokio::time::timeout(WAIT, tokio::io::AsyncReadExt::read(&mut c.io, &mut buf))
                .await
                .expect("the echo and the close in time")
                .unwrap();
            assert!(n > 0, "connection {i}: ended after {got:?}");
            got.extend_from_slice(&buf[..n]);
        }
        let (echo, close) = frames(&got).unwrap();
        assert_eq!(echo, b"Hello, world!");
        assert_eq!(close[..2], 1002u16.to_be_bytes(), "connection {i}");
        // Frames the client sends on, not having read the close yet: without
        // the linger the first was answered with a reset, which the second met.
        for n in 0..2 {
            let ping = client_frame(0x89, b"after the failure");
            let wrote = tokio::io::AsyncWriteExt::write_all(&mut c.io, &ping).await;
            assert!(wrote.is_ok(), "connection {i}, write {n}: {wrote:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let end = tokio::time::timeout(WAIT, tokio::io::AsyncReadExt::read(&mut c.io, &mut buf))
            .await
            .expect("the server ends its side in time")
            .map_err(|e| e.kind());
        assert_eq!(end, Ok(0), "connection {i}: a FIN, not a reset");
    }
}

#[tokio::test]
async fn a_client_flooding_after_the_close_is_reset_once_the_linger_bytes_are_read() {
    // The linger is bounded: a client that sends on and on after the close
    // does not keep the server reading for it.
    let server = TestServer::default().await;
    let mut c = RawClient::connect(server.addr, "/echo").await;
    c.write_raw(&client_frame(0xC1, b"bad")).await;
    let frame = client_frame(0x82, &[7; 100]);
    let mut sent = 0usize;
    let failed = tokio::time::timeout(WAIT, async {
        while sent < 16 << 20 {
            if tokio::io::AsyncWriteExt::write_all(&mut c.io, &frame)
                .await
                .is_err()
            {
                return true;
            }
            sent += frame.len();
        }
        false
    })
    .await
    .expect("the flood ends in time");
    assert!(failed, "16 MiB sent after the close and never reset");
}

#[tokio::test]
async fn too_big_message_gets_1009() {
    let server = TestServer::start(ServerConfig {
        ws: framewire_core::Config {
            limits: Limits {
                max_message: 1000,
                ..Limits::default()
            },
            ..framewire_core::Config::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let mut ws = connect(&server.url("/echo"), &ClientConfig::default())
        .await
        .unwrap();
    ws.send_binary(&[0u8; 1001]).await.unwrap();
    match recv(&mut ws).await {
        Message::Close(Some(c), _) => assert_eq!(c, CloseCode::TOO_BIG),
        other => panic!("expected close 1009, got {other:?}"),
    }
}

#[tokio::test]
async fn sixteen_mib_message_round_trips() {
    let server = TestServer::default().await;
    let mut ws = connect(&server.url("/echo"), &ClientConfig::default())
        .await
        .unwrap();
    let big: Vec<u8> = (0..16u32 << 20).map(|i| (i % 251) as u8).collect();
    ws.send_binary(&big).await.unwrap();
    match recv(&mut ws).await {
        Message::Binary(b) => {
            assert_eq!(b.len(), big.len());
            assert!(b == big, "16 MiB echo differs");
        }
        other => panic!("expected binary, got {other:?}"),
    }
    ws.close(CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_clients_echo() {
    let server = TestServer::default().await;
    let url = server.url("/echo");
    let start = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..1000 {
        let url = url.clone();
        tasks.spawn(async move {
            let mut ws = connect(&url, &ClientConfig::default()).await?;
            for j in 0..5 {
                let text = format!("client {i} message {j}");
                ws.send_text(&text).await?;
                match ws.recv().await {
                    Some(Ok(Message::Text(t))) if t == text => {}
                    other => panic!("client {i}: unexpected {other:?}"),
                }
            }
            ws.close(CloseCode::NORMAL, "").await?;
            Ok::<_, framewire_server::Error>(())
        });
    }
    let all = async {
        let mut ok = 0;
        while let Some(r) = tasks.join_next().await {
            r.unwrap().unwrap();
            ok += 1;
        }
        ok
    };
    let ok = tokio::time::timeout(Duration::from_secs(120), all)
        .await
        .expect("1,000 clients within 120 s");
    assert_eq!(ok, 1000);
    eprintln!("1,000 clients x 5 echoes in {:?}", start.elapsed());
}

#[tokio::test]
async fn chat_relays_to_every_other_client() {
    let server = TestServer::default().await;
    let cfg = ClientConfig::default();
    let mut a = connect(&server.url("/chat"), &cfg).await.unwrap();
    let mut b = connect(&server.url("/chat"), &cfg).await.unwrap();
    let mut c = connect(&server.url("/chat"), &cfg).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    a.send_text("from a").await.unwrap();
    assert_eq!(recv(&mut b).await, Message::Text("from a".into()));
    assert_eq!(recv(&mut c).await, Message::Text("from a".into()));
    c.send_binary(b"from c").await.unwrap();
    assert_eq!(
        recv(&mut a).await,
        Message::Binary(b"from c".to_vec().into())
    );
    assert_eq!(
        recv(&mut b).await,
        Message::Binary(b"from c".to_vec().into())
    );
    // a never gets its own message back: the next thing it sees is b's.
    b.send_text("from b").await.unwrap();
    assert_eq!(recv(&mut a).await, Message::Text("from b".into()));
}

#[tokio::test]
async fn wire_view_streams_the_raw_bytes() {
    let server = TestServer::default().await;
    let cfg = ClientConfig::default();
    let mut wire = connect(&server.url("/__wire?tap=tok-1"), &cfg)
        .await
        .unwrap();
    let mut main = connect(&server.url("/echo?tap=tok-1&x=2"), &cfg)
        .await
        .unwrap();
    main.send_text("hi").await.unwrap();
    assert_eq!(recv(&mut main).await, Message::Text("hi".into()));
    main.close(CloseCode::NORMAL, "bye").await.unwrap();

    let Message::Text(attached) = recv(&mut wire).await else {
        panic!("attached first")
    };
    assert!(
        attached.starts_with("{\"type\":\"attached\",\"path\":\"/echo\""),
        "{attached}"
    );
    assert!(
        attached.contains("\"request\":\"GET /echo?tap=tok-1&x=2 HTTP/1.1\\r\\n"),
        "{attached}"
    );
    assert!(
        attached.contains("\"response\":\"HTTP/1.1 101 Switching Protocols\\r\\n"),
        "{attached}"
    );
    assert!(attached.contains("\"peer\":\"127.0.0.1:"), "{attached}");

    let mut from_client = Vec::new();
    let mut from_server = Vec::new();
    let closed = loop {
        match recv(&mut wire).await {
            Message::Binary(b) => {
                assert!(b.len() > 9);
                let ms = f64::from_be_bytes(b[1..9].try_into().unwrap());
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap();
                assert!(
                    (now.as_millis() as f64 - ms).abs() < 60_000.0,
                    "timestamp {ms}"
                );
                match b[0] {
                    0 => from_client.extend_from_slice(&b[9..]),
                    1 => from_server.extend_from_slice(&b[9..]),
                    d => panic!("direction {d}"),
                }
            }
            Message::Text(t) => break t,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(
        closed.starts_with("{\"type\":\"closed\",\"reason\":"),
        "{closed}"
    );
    // Client bytes: a masked text frame "hi", then a masked close.
    let Decoded::Frame(f) = decode_frame(&from_client) else {
        panic!("no client frame")
    };
    let key = f.header.mask.expect("client frames are masked on the wire");
    let mut payload = f.payload.to_vec();
    apply_mask(&mut payload, key, 0);
    assert_eq!((f.header.opcode, payload.as_slice()), (1, b"hi".as_slice()));
    let Decoded::Frame(close) = decode_frame(&from_client[f.len..]) else {
        panic!("no client close")
    };
    assert_eq!(close.header.opcode, 8);
    // Server bytes: the unmasked echo, then the close echo.
    assert_eq!(&from_server[..4], b"\x81\x02hi");
    assert_eq!(from_server[4], 0x88);
}

#[tokio::test]
async fn connections_without_a_subscriber_are_not_tapped() {
    let server = TestServer::default().await;
    let cfg = ClientConfig::default();
    let mut wire = connect(&server.url("/__wire?tap=mine"), &cfg)
        .await
        .unwrap();
    let mut other = connect(&server.url("/echo?tap=someone-else"), &cfg)
        .await
        .unwrap();
    other.send_text("x").await.unwrap();
    assert_eq!(recv(&mut other).await, Message::Text("x".into()));
    let quiet = tokio::time::timeout(Duration::from_millis(300), wire.recv()).await;
    assert!(quiet.is_err(), "the wire socket got {quiet:?}");
}

#[tokio::test]
async fn http_endpoints_and_files() {
    let server = TestServer::default().await;
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = raw_exchange(server.addr, get("/").as_bytes()).await;
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
    assert!(
        r.contains("Content-Type: text/html; charset=utf-8\r\n"),
        "{r}"
    );
    assert!(r.ends_with("<title>inspector</title>"), "{r}");
    let r = raw_exchange(server.addr, get("/pkg/framewire_bg.wasm").as_bytes()).await;
    assert!(r.contains("Content-Type: application/wasm\r\n"), "{r}");
    let r = raw_exchange(server.addr, get("/app.mjs").as_bytes()).await;
    assert!(
        r.contains("Content-Type: text/javascript; charset=utf-8\r\n"),
        "{r}"
    );
    for escape in [
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/pkg/%2E%2E/%2E%2E/Cargo.toml",
        "/.secret",
        "/nope.html",
    ] {
        let r = raw_exchange(server.addr, get(escape).as_bytes()).await;
        assert!(r.starts_with("HTTP/1.1 404 Not Found\r\n"), "{escape}: {r}");
    }
    let r = raw_exchange(server.addr, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(
        r.starts_with("HTTP/1.1 200 OK\r\n") && r.ends_with("\r\n\r\n"),
        "{r}"
    );
    let ws_head = |path: &str| {
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    };
    let r = raw_exchange(server.addr, ws_head("/nowhere").as_bytes()).await;
    assert!(r.starts_with("HTTP/1.1 404 Not Found\r\n"), "{r}");
    let r = raw_exchange(server.addr, ws_head("/__wire").as_bytes()).await;
    assert!(
        r.starts_with("HTTP/1.1 400 Bad Request\r\n") && r.contains("tap=TOKEN"),
        "{r}"
    );
    let r = raw_exchange(server.addr, ws_head("/__wire?tap=has%20space").as_bytes()).await;
    assert!(r.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{r}");
}

#[tokio::test]
async fn subprotocols_and_origins() {
    let server = TestServer::start(ServerConfig {
        handshake: framewire_core::handshake::ServerHandshakeConfig {
            protocols: vec!["chat.v2".into(), "chat.v1".into()],
            allowed_origins: Some(vec!["http://good.example".into()]),
            ..Default::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let cfg = ClientConfig {
        protocols: vec!["chat.v1".into(), "chat.v2".into()],
        origin: Some("http://good.example".into()),
        ..ClientConfig::default()
    };
    let ws = connect(&server.url("/echo"), &cfg).await.unwrap();
    assert_eq!(ws.handshake().protocol.as_deref(), Some("chat.v2"));
    let bad = ClientConfig {
        origin: Some("http://evil.example".into()),
        ..ClientConfig::default()
    };
    let err = connect(&server.url("/echo"), &bad)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("403"), "{err}");
}

#[tokio::test]
async fn max_connections_answers_503() {
    let server = TestServer::start(ServerConfig {
        max_connections: 2,
        ..ServerConfig::default()
    })
    .await;
    let cfg = ClientConfig::default();
    let _a = connect(&server.url("/echo"), &cfg).await.unwrap();
    let _b = connect(&server.url("/echo"), &cfg).await.unwrap();
    let err = connect(&server.url("/echo"), &cfg)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("503"), "{err}");
}

#[tokio::test]
async fn in_process_shutdown_sends_1001() {
    let server = TestServer::default().await;
    let cfg = ClientConfig::default();
    let mut clients = Vec::new();
    for path in ["/", "/echo", "/chat"] {
        clients.push(connect(&server.url(path), &cfg).await.unwrap());
    }
    let mut greeter = clients.remove(0);
    assert_eq!(recv(&mut greeter).await, Message::Text("socket ok".into()));
    clients.push(greeter);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let readers: Vec<_> = clients
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                loop {
                    match ws.recv().await {
                        Some(Ok(Message::Close(code, _))) => return code,
                        Some(Ok(_)) => {}
                        other => panic!("expected a close frame, got {other:?}"),
                    }
                }
            })
        })
        .collect();
    let report = server.shutdown().await;
    assert_eq!(report.open, 3);
    assert_eq!(report.unfinished, 0);
    for r in readers {
        assert_eq!(r.await.unwrap(), Some(CloseCode::GOING_AWAY));
    }
}

#[tokio::test]
async fn library_accept_on_any_transport() {
    let (client_io, server_io) = tokio::io::duplex(4096);
    let server = tokio::spawn(async move {
        let mut ws = accept(server_io, &AcceptConfig::default()).await.unwrap();
        assert_eq!(ws.handshake().path, "/embedded?x=1");
        while let Some(msg) = ws.recv().await {
            match msg.unwrap() {
                Message::Text(t) => ws.send_text(&t.to_uppercase()).await.unwrap(),
                Message::Close(..) => {}
                _ => {}
            }
        }
    });
    let url = WsUrl::parse("ws://embedded.test/embedded?x=1").unwrap();
    let ws = client_handshake(client_io, &url, &ClientConfig::default())
        .await
        .unwrap();
    let (mut rd, mut wr) = ws.split();
    wr.send_text("shout").await.unwrap();
    assert_eq!(
        rd.recv().await.unwrap().unwrap(),
        Message::Text("SHOUT".into())
    );
    wr.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(matches!(
        rd.recv().await,
        Some(Ok(Message::Close(Some(CloseCode::NORMAL), _)))
    ));
    assert!(rd.recv().await.is_none());
    tokio::time::timeout(WAIT, server).await.unwrap().unwrap();
}

#[tokio::test]
async fn split_halves_stream_with_backpressure() {
    let server = TestServer::default().await;
    let ws = connect(&server.url("/echo"), &ClientConfig::default())
        .await
        .unwrap();
    let (mut rd, mut wr) = ws.split();
    const N: usize = 200;
    let chunk = vec![7u8; 64 * 1024];
    let writer = tokio::spawn(async move {
        for i in 0..N {
            let mut m = chunk.clone();
            m[0] = i as u8;
            wr.feed(Message::Binary(m.into())).await.unwrap();
        }
        wr.flush().await.unwrap();
        wr
    });
    for i in 0..N {
        match tokio::time::timeout(WAIT, rd.recv()).await.unwrap() {
            Some(Ok(Message::Binary(b))) => assert_eq!((b.len(), b[0]), (64 * 1024, i as u8)),
            other => panic!("message {i}: {other:?}"),
        }
    }
    let mut wr = writer.await.unwrap();
    wr.close(CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test]
async fn keepalive_pings_and_idle_timeout() {
    let server = TestServer::start(ServerConfig {
        ws: framewire_core::Config {
            ping_interval: Some(Duration::from_millis(150)),
            idle_timeout: Some(Duration::from_millis(600)),
            close_timeout: Duration::from_millis(300),
            ..framewire_core::Config::default()
        },
        ..ServerConfig::default()
    })
    .await;
    // A live client answers the pings while it waits, and outlives the idle timeout.
    let mut live = connect(&server.url("/echo"), &ClientConfig::default())
        .await
        .unwrap();
    let mut pings = 0;
    let until = tokio::time::Instant::now() + Duration::from_millis(2500);
    while let Ok(msg) = tokio::time::timeout_at(until, live.recv()).await {
        match msg {
            Some(Ok(Message::Ping(_))) => pings += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(pings >= 3, "only {pings} keepalive pings in 2.5 s");
    live.send_text("still here").await.unwrap();
    assert_eq!(recv(&mut live).await, Message::Text("still here".into()));

    // A client that never answers is pinged, then closed with 1001, then dropped.
    let mut mute = RawClient::connect(server.addr, "/echo").await;
    let start = std::time::Instant::now();
    let raw = mute.read_to_end().await;
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(500),
        "dropped after {elapsed:?}"
    );
    let mut frames = Vec::new();
    let mut at = 0;
    while let Decoded::Frame(f) = decode_frame(&raw[at..]) {
        frames.push((f.header.opcode, f.payload.to_vec()));
        at += f.len;
    }
    assert_eq!(
        frames.first().map(|f| f.0),
        Some(0x9),
        "a ping first: {frames:?}"
    );
    let (op, payload) = frames.last().unwrap();
    assert_eq!(*op, 0x8);
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_chat_member_is_closed_with_1008() {
    let server = TestServer::default().await;
    let cfg = ClientConfig::default();
    let mut fast = connect(&server.url("/chat"), &cfg).await.unwrap();
    let mut slow = connect(&server.url("/chat"), &cfg).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Incompressible bytes, so permessage-deflate (on by default) cannot shrink the backlog.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let chunk: Vec<u8> = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    for _ in 0..48 {
        fast.send_binary(&chunk).await.unwrap();
    }
    // Now the slow member reads: what was queued, then the policy close.
    let mut received = 0;
    let code = loop {
        match recv(&mut slow).await {
            Message::Binary(b) => {
                assert_eq!(b.len(), 1 << 20);
                received += 1;
            }
            Message::Close(code, reason) => {
                assert!(reason.contains("too slow"), "{reason}");
                break code;
            }
            // The server's keepalive pings when this runs slowly (a busy machine).
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(code, Some(CloseCode::POLICY_VIOLATION));
    assert!(
        received < 48,
        "every message arrived: the queue was not bounded"
    );
    // The fast member is unaffected.
    let mut other = connect(&server.url("/chat"), &cfg).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    fast.send_text("still chatting").await.unwrap();
    assert_eq!(
        recv(&mut other).await,
        Message::Text("still chatting".into())
    );
}

#[tokio::test]
async fn permessage_deflate_between_our_client_and_server() {
    let mut cfg = ServerConfig::default();
    cfg.handshake.deflate = Some(Default::default());
    let server = TestServer::start(cfg).await;
    let client = ClientConfig {
        deflate: Some(Default::default()),
        ..ClientConfig::default()
    };
    let mut wire = connect(&server.url("/__wire?tap=z"), &ClientConfig::default())
        .await
        .unwrap();
    let mut ws = connect(&server.url("/echo?tap=z"), &client).await.unwrap();
    let ext = ws.handshake().headers.get("sec-websocket-extensions");
    assert!(ext.is_some_and(|v| v.starts_with("permessage-deflate")));
    let text = "all work and no play makes jack a dull boy. ".repeat(5000);
    ws.send_text(&text).await.unwrap();
    assert_eq!(recv(&mut ws).await, Message::Text(text.clone().into()));
    ws.close(CloseCode::NORMAL, "").await.unwrap();
    let mut on_wire = 0;
    loop {
        match recv(&mut wire).await {
            Message::Binary(b) => on_wire += b.len() - 9,
            Message::Text(t) if t.contains("\"closed\"") => break,
            Message::Text(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        on_wire < text.len() / 20,
        "{on_wire} bytes on the wire for 2 x {} of text",
        text.len()
    );
}
