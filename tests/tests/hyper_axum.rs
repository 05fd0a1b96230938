//! framewire behind hyper 1 and axum 0.8 (`framewire_server::upgrade`, feature
//! `hyper`): the axum echo app of `framewire_tests::axum_echo` with
//! permessage-deflate negotiated, its refusal of a plain GET, and a plain
//! hyper server whose decision hook declines or accepts.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use framewire_core::handshake::{Acceptance, HttpResponse};
use framewire_core::{Bytes, CloseCode, Message};
use framewire_server::upgrade::{upgrade_with, UpgradeResponse};
use framewire_server::{connect, AcceptConfig, ClientConfig, Error};
use futures::StreamExt;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(10);

async fn serve_axum() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, framewire_tests::axum_echo::app())
            .await
            .unwrap();
    });
    addr
}

/// Sends a raw request and returns the whole answer (the server closes after a refusal).
async fn raw(addr: SocketAddr, request: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    // Read until the body promised by Content-Length is in (or the end).
    loop {
        let n = tokio::time::timeout(WAIT, s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        out.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&out).into_owned();
        let done = text.split_once("\r\n\r\n").is_some_and(|(head, body)| {
            head.lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .is_some_and(|len| body.len() >= len)
        });
        if n == 0 || done {
            return text;
        }
    }
}

#[tokio::test]
async fn axum_app_upgrades_with_deflate_and_echoes() {
    let addr = serve_axum().await;
    let cfg = ClientConfig {
        protocols: vec!["echo".into()],
        ..ClientConfig::default() // offers permessage-deflate
    };
    let mut ws = connect(&format!("ws://{addr}/ws"), &cfg).await.unwrap();
    let info = ws.handshake();
    assert!(
        info.deflate.is_some(),
        "permessage-deflate agreed: {info:?}"
    );
    assert_eq!(info.extensions[0].name, "permessage-deflate");
    assert_eq!(info.protocol.as_deref(), Some("echo"));
    assert_eq!(
        info.header_map().unwrap()["sec-websocket-extensions"]
            .to_str()
            .unwrap()
            .split(';')
            .next(),
        Some("permessage-deflate")
    );
    // Compressible, large: sent compressed, inflated by the server's core,
    // handed over without a copy, echoed compressed.
    let big = Bytes::from("framewire ".repeat(100_000));
    ws.send(Message::text("hello")).await.unwrap();
    ws.send(Message::Binary(big.clone())).await.unwrap();
    let mut echoes = Vec::new();
    for _ in 0..2 {
        let m = tokio::time::timeout(WAIT, ws.next()).await.unwrap();
        echoes.push(m.unwrap().unwrap());
    }
    assert_eq!(echoes, [Message::text("hello"), Message::Binary(big)]);
    // A ping is answered by the core and not echoed as a message.
    ws.ping(b"p").await.unwrap();
    let pong = tokio::time::timeout(WAIT, ws.next()).await.unwrap();
    assert_eq!(
        pong.unwrap().unwrap(),
        Message::Pong(Bytes::from_static(b"p"))
    );
    ws.close(CloseCode::NORMAL, "done").await.unwrap();
}

#[tokio::test]
async fn axum_app_answers_a_plain_get_with_the_machines_refusal() {
    let addr = serve_axum().await;
    let answer = raw(
        addr,
        "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.ends_with("missing 'Upgrade: websocket' header\n"),
        "{answer}"
    );
}

/// A plain hyper server (no axum): `/feed` is accepted with a cookie; other
/// paths are declined with 403 by the hook. The server's view of the
/// client's `X-Client` header goes to the returned channel.
async fn serve_hyper() -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen_tx, seen) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let seen_tx = seen_tx.clone();
            let service = hyper::service::service_fn(move |mut req| {
                let seen_tx = seen_tx.clone();
                async move {
                    let decided = upgrade_with(&mut req, &AcceptConfig::default(), |req| {
                        if req.uri().path() != "/feed" {
                            return Err(
                                HttpResponse::text(403, "not here\n").header("X-Why", "path")
                            );
                        }
                        Ok(Acceptance {
                            headers: vec![("Set-Cookie".into(), "seen=1".into())],
                            ..Acceptance::default()
                        })
                    });
                    let response: UpgradeResponse = match decided {
                        Ok((response, ws)) => {
                            tokio::spawn(async move {
                                let mut ws = ws.await.unwrap();
                                let headers = ws.handshake().header_map().unwrap();
                                let client = headers["x-client"].to_str().unwrap().to_owned();
                                let _ = seen_tx.send(client);
                                // Echo with the Sink and Stream of the whole WebSocket.
                                while let Some(Ok(m)) = ws.next().await {
                                    if matches!(m, Message::Text(_)) {
                                        ws.send(m).await.unwrap();
                                    }
                                }
                            });
                            response
                        }
                        Err(declined) => {
                            assert!(declined.error.is_none(), "declined by the hook");
                            declined.into()
                        }
                    };
                    Ok::<_, Infallible>(response)
                }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    (addr, seen)
}

#[tokio::test]
async fn hyper_server_hook_accepts_and_declines() {
    let (addr, mut seen) = serve_hyper().await;
    let cfg = ClientConfig {
        headers: vec![("X-Client".into(), "test-1".into())],
        deflate: None,
        ..ClientConfig::default()
    };
    let mut ws = connect(&format!("ws://{addr}/feed"), &cfg).await.unwrap();
    assert_eq!(ws.handshake().header_map().unwrap()["set-cookie"], "seen=1");
    assert!(ws.handshake().deflate.is_none());
    ws.send(Message::text("over hyper")).await.unwrap();
    let echo = tokio::time::timeout(WAIT, ws.next()).await.unwrap();
    assert_eq!(echo.unwrap().unwrap(), Message::text("over hyper"));
    assert_eq!(seen.recv().await.as_deref(), Some("test-1"));
    ws.close(CloseCode::NORMAL, "").await.unwrap();

    match connect(&format!("ws://{addr}/elsewhere"), &cfg).await {
        Err(Error::Refused(r)) => {
            assert_eq!(r.status, 403);
            assert_eq!(r.body, b"not here\n");
            assert!(r
                .headers
                .iter()
                .any(|(n, v)| n.eq_ignore_ascii_case("x-why") && v == "path"));
        }
        other => panic!("expected a 403 refusal, got {other:?}"),
    }
}
