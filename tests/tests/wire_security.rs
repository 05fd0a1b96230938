//! The security of the wire views (issue 15): `framewire serve`'s
//! `/__wire?tap=T` and the proxy's inspector socket. A token in use cannot be
//! registered again (409), so its traffic cannot be stolen; a wire view sees
//! only the connection that carries its token; tokens, keys and payloads are
//! not logged at the default level (INFO), checked on captured log output.

#[path = "native_util/mod.rs"]
mod util;

#[path = "proxy_util/mod.rs"]
mod proxy;

use std::io::Write;
use std::sync::{Mutex, Once};
use std::time::Duration;

use framewire_server::{connect, ClientConfig, CloseCode, Message, ProxyConfig};
use proxy::{direct, half_open_upstream, raw_connection, Inspect, TestProxy, KEY};
use tokio::io::AsyncWriteExt;
use util::{raw_exchange, TestServer};

fn cfg() -> ClientConfig {
    ClientConfig {
        proxy: ProxyConfig::Direct,
        ..ClientConfig::default()
    }
}

async fn recv<S>(ws: &mut framewire_server::WebSocket<S>) -> Message
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'static,
{
    tokio::time::timeout(util::WAIT, ws.recv())
        .await
        .expect("a message in time")
        .expect("the connection is open")
        .expect("the connection works")
}

fn upgrade(path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

#[tokio::test]
async fn a_second_wire_view_with_a_token_in_use_is_refused_and_the_first_keeps_the_traffic() {
    let server = TestServer::default().await;
    let mut first = connect(&server.url("/__wire?tap=taken-1"), &cfg())
        .await
        .unwrap();
    let answer = raw_exchange(server.addr, upgrade("/__wire?tap=taken-1").as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 409 "), "{answer}");
    assert!(answer.contains("in use"), "{answer}");
    let mut main = connect(&server.url("/echo?tap=taken-1"), &cfg())
        .await
        .unwrap();
    main.send_text("mine").await.unwrap();
    assert_eq!(recv(&mut main).await, Message::Text("mine".into()));
    let Message::Text(attached) = recv(&mut first).await else {
        panic!("the first wire view is attached")
    };
    assert!(attached.starts_with("{\"type\":\"attached\""), "{attached}");
    main.close(CloseCode::NORMAL, "").await.unwrap();
    drop(first);
    // Once the first is gone, the token can be used again.
    let deadline = tokio::time::Instant::now() + util::WAIT;
    while connect(&server.url("/__wire?tap=taken-1"), &cfg())
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the token is never freed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_wire_view_sees_only_the_connection_with_its_token() {
    let server = TestServer::default().await;
    let mut a = connect(&server.url("/__wire?tap=view-a"), &cfg())
        .await
        .unwrap();
    let mut b = connect(&server.url("/__wire?tap=view-b"), &cfg())
        .await
        .unwrap();
    let mut main = connect(&server.url("/echo?tap=view-a"), &cfg())
        .await
        .unwrap();
    main.send_text("for a only").await.unwrap();
    assert_eq!(recv(&mut main).await, Message::Text("for a only".into()));
    let Message::Text(attached) = recv(&mut a).await else {
        panic!("view a is attached")
    };
    assert!(attached.contains("/echo"), "{attached}");
    let quiet = tokio::time::timeout(Duration::from_millis(300), b.recv()).await;
    assert!(quiet.is_err(), "view b saw {quiet:?}");
}

/// Everything logged in this test binary, at INFO and above.
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber at the default level, INFO, once.
fn capture_info_logs() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(|| Capture)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
}

fn logged() -> String {
    String::from_utf8_lossy(&LOG.lock().unwrap()).into_owned()
}

#[tokio::test]
async fn tokens_keys_and_payloads_are_not_logged_at_info() {
    capture_info_logs();
    let token = "TAPTOKEN-9f8e7d6c5b4a";
    let payload = "PAYLOAD-do-not-log-me";
    let cookie = "COOKIE-s3cr3t";
    // framewire serve: a wire view and its tapped connection on the greeting endpoint.
    let server = TestServer::default().await;
    let mut wire = connect(&server.url(&format!("/__wire?tap={token}")), &cfg())
        .await
        .unwrap();
    let mut main = connect(&server.url(&format!("/?tap={token}")), &cfg())
        .await
        .unwrap();
    let _greeting = recv(&mut main).await;
    main.send_text(payload).await.unwrap();
    assert_eq!(recv(&mut main).await, Message::Text(payload.into()));
    main.close(CloseCode::NORMAL, "").await.unwrap();
    let _ = recv(&mut wire).await;
    // framewire proxy with --log-frames (payload previews off): a connection
    // with a cookie and a tag, the inspector socket with its key.
    let echo = TestServer::default().await;
    let proxy = TestProxy::start(&echo.url("/"), |c| c.log_frames = true).await;
    let (mut inspect, _) = Inspect::open(&proxy).await;
    let client_cfg = framewire_server::ClientConfig {
        headers: vec![("Cookie".into(), cookie.into())],
        ..direct(true)
    };
    let mut ws = connect(
        &proxy.url(&format!("/echo?__framewire_tag={token}")),
        &client_cfg,
    )
    .await
    .unwrap();
    ws.send_text(payload).await.unwrap();
    assert_eq!(recv(&mut ws).await, Message::Text(payload.into()));
    ws.close(CloseCode::NORMAL, "").await.unwrap();
    let _ = inspect.until(|v| v["type"] == "ended").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let log = logged();
    assert!(
        log.contains("websocket open"),
        "the server's log was captured:\n{log}"
    );
    assert!(
        log.contains("frame #0 text"),
        "the proxy's frame log was captured:\n{log}"
    );
    assert!(
        log.contains(
            "the client (1000) sent the first close frame, the upstream (1000) answered; TCP: "
        ),
        "the proxy's log says who closed first and who answered:\n{log}"
    );
    for secret in [token, payload, cookie, KEY] {
        assert!(
            !log.contains(secret),
            "{secret:?} was logged at INFO:\n{log}"
        );
    }
}

#[tokio::test]
async fn a_half_close_timeout_is_logged_with_the_side_left_open() {
    capture_info_logs();
    let upstream = half_open_upstream().await;
    let proxy = TestProxy::start(&upstream.url("/"), |c| {
        c.half_close_timeout = Duration::from_millis(200);
    })
    .await;
    let (mut inspect, _) = Inspect::open(&proxy).await;
    let (mut client, _) = raw_connection(&proxy, &mut inspect).await;
    client.shutdown().await.unwrap();
    let ended = inspect.until(|v| v["type"] == "ended").await;
    assert_eq!(ended["how"], "half-close timeout", "{ended}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let log = logged();
    assert!(
        log.contains("half-close timeout: the upstream did not end its side within 200ms of the client's FIN: ending both sides"),
        "{log}"
    );
    assert!(
        log.contains("TCP: the client sent FIN, then the proxy ended the upstream's side (half-close timeout)"),
        "{log}"
    );
}
