//! Malformed and hostile opening handshakes: each gets the right HTTP status
//! or a timeout, all at once, while a well-behaved client keeps echoing.

#[path = "native_util/mod.rs"]
mod util;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use framewire_core::{CloseCode, Message};
use framewire_server::{connect, ClientConfig, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use util::{raw_exchange, TestServer};

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(1);

fn upgrade(method: &str, version: &str, extra: &str) -> String {
    format!(
        "{method} /echo {version}\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n{extra}\r\n"
    )
}

const KEY: &str = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

async fn expect_status(
    addr: SocketAddr,
    name: &str,
    request: String,
    status: &str,
    header: Option<&str>,
) {
    let r = raw_exchange(addr, request.as_bytes()).await;
    assert!(r.starts_with(&format!("HTTP/1.1 {status}")), "{name}: {r}");
    if let Some(h) = header {
        assert!(r.contains(h), "{name}: missing {h:?} in {r}");
    }
}

/// Opens a connection that sends its head too slowly (or not at all) and
/// returns how long the server took to answer 408 and close it.
async fn time_until_dropped(addr: SocketAddr, slow_headers: bool) -> Duration {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 256];
    if slow_headers {
        s.write_all(b"GET /echo HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
    }
    let mut i = 0;
    let mut answered = Vec::new();
    loop {
        tokio::select! {
            r = s.read(&mut buf) => {
                match r {
                    Ok(0) | Err(_) => {
                        let answer = String::from_utf8_lossy(&answered);
                        assert!(
                            answer.is_empty() || answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
                            "the server should answer 408 or drop, not {answer:?}"
                        );
                        return start.elapsed();
                    }
                    Ok(n) => answered.extend_from_slice(&buf[..n]),
                }
            }
            () = tokio::time::sleep(Duration::from_millis(100)) => {
                if slow_headers {
                    i += 1;
                    // Writing after the server dropped us may fail; that is the point.
                    let _ = s.write_all(format!("X-Endless-{i}: yes\r\n").as_bytes()).await;
                }
            }
        }
        assert!(start.elapsed() < Duration::from_secs(10), "never dropped");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_handshakes_get_statuses_or_timeouts_and_nobody_else_notices() {
    let server = TestServer::start(ServerConfig {
        ws: framewire_core::Config {
            handshake_timeout: HANDSHAKE_TIMEOUT,
            ..ServerConfig::default().ws
        },
        ..ServerConfig::default()
    })
    .await;
    let addr = server.addr;

    // A well-behaved client echoing the whole time.
    let mut canary = connect(&server.url("/echo"), &ClientConfig::default())
        .await
        .unwrap();
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let canary_task = tokio::spawn(async move {
        let mut n = 0u32;
        loop {
            let text = format!("canary {n}");
            canary.send_text(&text).await.expect("canary send");
            match tokio::time::timeout(Duration::from_secs(5), canary.recv()).await {
                Ok(Some(Ok(Message::Text(t)))) => assert_eq!(t, text),
                other => panic!("canary disturbed: {other:?}"),
            }
            n += 1;
            tokio::select! {
                _ = &mut stop_rx => break,
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
        canary.close(CloseCode::NORMAL, "").await.unwrap();
        n
    });

    let huge = format!("X-Huge: {}\r\n", "a".repeat(20 * 1024));
    let many: String = (0..100).map(|i| format!("X-H{i}: v\r\n")).collect();
    tokio::join!(
        expect_status(
            addr,
            "wrong version",
            upgrade(
                "GET",
                "HTTP/1.1",
                &format!("{KEY}Sec-WebSocket-Version: 8\r\n")
            ),
            "426",
            Some("Sec-WebSocket-Version: 13\r\n")
        ),
        expect_status(
            addr,
            "missing key",
            upgrade("GET", "HTTP/1.1", "Sec-WebSocket-Version: 13\r\n"),
            "400",
            Some("Sec-WebSocket-Key")
        ),
        expect_status(
            addr,
            "bad key",
            upgrade(
                "GET",
                "HTTP/1.1",
                "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n"
            ),
            "400",
            None
        ),
        expect_status(
            addr,
            "non-GET",
            upgrade(
                "POST",
                "HTTP/1.1",
                &format!("{KEY}Sec-WebSocket-Version: 13\r\n")
            ),
            "405",
            Some("Allow: GET")
        ),
        expect_status(
            addr,
            "oversized header",
            upgrade(
                "GET",
                "HTTP/1.1",
                &format!("{KEY}Sec-WebSocket-Version: 13\r\n{huge}")
            ),
            "431",
            None
        ),
        expect_status(
            addr,
            "too many headers",
            upgrade(
                "GET",
                "HTTP/1.1",
                &format!("{KEY}Sec-WebSocket-Version: 13\r\n{many}")
            ),
            "431",
            None
        ),
        expect_status(
            addr,
            "HTTP/1.0",
            upgrade(
                "GET",
                "HTTP/1.0",
                &format!("{KEY}Sec-WebSocket-Version: 13\r\n")
            ),
            "505",
            None
        ),
        expect_status(
            addr,
            "garbage",
            "\u{1}\u{2}GARBAGE \u{7f}\r\n\r\n".to_owned(),
            "400",
            None
        ),
        async {
            let t = time_until_dropped(addr, false).await;
            assert!(
                t >= HANDSHAKE_TIMEOUT - Duration::from_millis(100) && t < HANDSHAKE_TIMEOUT * 5,
                "silent client dropped after {t:?}"
            );
        },
        async {
            let t = time_until_dropped(addr, true).await;
            assert!(
                t >= HANDSHAKE_TIMEOUT - Duration::from_millis(100) && t < HANDSHAKE_TIMEOUT * 5,
                "endless headers dropped after {t:?}"
            );
        },
    );

    let _ = stop_tx.send(());
    let echoes = canary_task.await.expect("canary never disturbed");
    assert!(echoes >= 10, "canary echoed only {echoes} times");
}
