//! Interop with tokio-tungstenite: as a client of our server, and as a server for our client.

#[path = "native_util/mod.rs"]
mod util;

use framewire_core::{CloseCode, Message};
use framewire_server::{connect, ClientConfig};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as TCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as TMessage;
use util::{TestServer, WAIT};

async fn next(
    ws: &mut (impl StreamExt<Item = Result<TMessage, tokio_tungstenite::tungstenite::Error>> + Unpin),
) -> TMessage {
    tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("in time")
        .expect("open")
        .expect("no error")
}

async fn tung_connect(
    server: &TestServer,
    path: &str,
) -> (
    tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    tokio_tungstenite::tungstenite::handshake::client::Response,
) {
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tokio_tungstenite::client_async(server.url(path), tcp)
        .await
        .unwrap()
}

#[tokio::test]
async fn tungstenite_client_against_our_server() {
    let server = TestServer::default().await;
    let (mut ws, _) = tung_connect(&server, "/").await;
    assert_eq!(next(&mut ws).await, TMessage::text("socket ok"));
    ws.send(TMessage::text("hello tungstenite")).await.unwrap();
    assert_eq!(next(&mut ws).await, TMessage::text("hello tungstenite"));
    ws.close(None).await.unwrap();

    let (mut ws, _) = tung_connect(&server, "/echo").await;
    let big: Vec<u8> = (0..3_000_000u32).map(|i| i as u8).collect();
    ws.send(TMessage::binary(big.clone())).await.unwrap();
    assert_eq!(next(&mut ws).await, TMessage::binary(big));
    ws.send(TMessage::Ping(b"tung".to_vec().into()))
        .await
        .unwrap();
    assert_eq!(next(&mut ws).await, TMessage::Pong(b"tung".to_vec().into()));
    ws.send(TMessage::Close(Some(CloseFrame {
        code: TCode::from(4002),
        reason: "bye".into(),
    })))
    .await
    .unwrap();
    match next(&mut ws).await {
        TMessage::Close(Some(f)) => assert_eq!(u16::from(f.code), 4002),
        other => panic!("expected close, got {other:?}"),
    }
}

#[tokio::test]
async fn our_client_against_a_tungstenite_server() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        while let Some(msg) = ws.next().await {
            match msg.unwrap() {
                m @ (TMessage::Text(_) | TMessage::Binary(_)) => ws.send(m).await.unwrap(),
                TMessage::Close(_) => break,
                _ => {}
            }
        }
        // tungstenite answers the close by itself; drive it out.
        while ws.next().await.is_some() {}
    });
    let mut ws = connect(&format!("ws://{addr}/any"), &ClientConfig::default())
        .await
        .unwrap();
    ws.send_text("héllo").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::Text("héllo".into())
    );
    let big = vec![0xabu8; 1 << 20];
    ws.send_binary(&big).await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::Binary(big.into())
    );
    ws.ping(b"p").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::Pong(b"p".to_vec().into())
    );
    ws.send(Message::Close(Some(CloseCode(4003)), "done".into()))
        .await
        .unwrap();
    match ws.recv().await {
        Some(Ok(Message::Close(Some(code), _))) => assert_eq!(code.0, 4003),
        other => panic!("expected the close echo, got {other:?}"),
    }
    assert!(ws.recv().await.is_none());
    tokio::time::timeout(WAIT, server).await.unwrap().unwrap();
}
