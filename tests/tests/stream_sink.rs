//! `futures::Stream` and `futures::Sink` on `WebSocket` and its halves, used
//! through the `futures` combinators: `forward` (an echo from the reader half
//! into the writer half), `StreamExt::split` of a whole WebSocket, `select`
//! of two connections' streams, and `SinkExt::send_all`.

use std::net::SocketAddr;
use std::time::Duration;

use framewire_core::{Bytes, CloseCode, Message};
use framewire_server::{accept, connect, AcceptConfig, ClientConfig, ClientStream, WebSocket};
use futures::{stream, SinkExt, StreamExt, TryStreamExt};

const WAIT: Duration = Duration::from_secs(10);

/// A server whose connections echo with `reader.forward(writer)`; each
/// connection's `forward` result goes to the returned channel.
async fn forward_echo_server() -> (
    SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<framewire_server::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (done, results) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let done = done.clone();
            tokio::spawn(async move {
                let ws = accept(tcp, &AcceptConfig::default()).await.unwrap();
                let (reader, writer) = ws.split();
                let _ = done.send(reader.forward(writer).await);
            });
        }
    });
    (addr, results)
}

async fn client(addr: SocketAddr) -> WebSocket<ClientStream> {
    connect(&format!("ws://{addr}/"), &ClientConfig::default())
        .await
        .unwrap()
}

async fn next<St>(s: &mut St) -> Message
where
    St: futures::Stream<Item = framewire_server::Result<Message>> + Unpin,
{
    tokio::time::timeout(WAIT, s.next())
        .await
        .expect("a message in time")
        .expect("the stream goes on")
        .expect("no error")
}

#[tokio::test]
async fn forward_from_reader_into_writer_echoes_until_the_close() {
    let (addr, mut results) = forward_echo_server().await;
    let mut ws = client(addr).await;
    let big = Bytes::from(vec![7u8; 300_000]);
    ws.send(Message::text("hello")).await.unwrap();
    ws.send(Message::Binary(big.clone())).await.unwrap();
    assert_eq!(next(&mut ws).await, Message::text("hello"));
    assert_eq!(next(&mut ws).await, Message::Binary(big));
    ws.close(CloseCode::NORMAL, "bye").await.unwrap();
    let forwarded = tokio::time::timeout(WAIT, results.recv()).await.unwrap();
    forwarded
        .expect("one result")
        .expect("forward ends cleanly: the peer's close is not sent twice");
}

#[tokio::test]
async fn stream_ext_split_of_a_whole_websocket() {
    let (addr, _results) = forward_echo_server().await;
    // The inherent `WebSocket::split` (reader and writer halves sharing the
    // driver) shadows the combinator: call `StreamExt::split` by name.
    let (mut tx, mut rx) = StreamExt::split(client(addr).await);
    for i in 0..10 {
        tx.send(Message::text(format!("m{i}"))).await.unwrap();
    }
    for i in 0..10 {
        assert_eq!(next(&mut rx).await, Message::text(format!("m{i}")));
    }
    // The sink's close sends a close frame; the stream then sees the echo and ends.
    tx.close().await.unwrap();
    let rest: Vec<Message> = tokio::time::timeout(WAIT, rx.try_collect())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        rest,
        [Message::Close(Some(CloseCode::NORMAL), String::new())]
    );
}

#[tokio::test]
async fn select_merges_the_streams_of_two_connections() {
    let (addr, _results) = forward_echo_server().await;
    let (mut a, mut b) = (client(addr).await, client(addr).await);
    a.send(Message::text("from a")).await.unwrap();
    b.send(Message::binary(&b"from b"[..])).await.unwrap();
    let (a_rx, a_tx) = a.split();
    let (b_rx, b_tx) = b.split();
    let mut merged = stream::select(a_rx, b_rx);
    let mut got = vec![next(&mut merged).await, next(&mut merged).await];
    got.sort_by_key(|m| matches!(m, Message::Binary(_)));
    assert_eq!(
        got,
        [Message::text("from a"), Message::binary(&b"from b"[..])]
    );
    let (mut a_tx, mut b_tx) = (a_tx, b_tx);
    // The inherent `close(code, reason)` shadows `SinkExt::close`.
    SinkExt::close(&mut a_tx).await.unwrap();
    SinkExt::close(&mut b_tx).await.unwrap();
    let closes: Vec<Message> = tokio::time::timeout(WAIT, merged.try_collect())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(closes.len(), 2, "both echoes of the close, then the end");
}

#[tokio::test]
async fn send_all_on_the_writer_half_then_read_back() {
    let (addr, _results) = forward_echo_server().await;
    let (mut reader, mut writer) = client(addr).await.split();
    let messages: Vec<Message> = (0..100)
        .map(|i| Message::Binary(Bytes::from(vec![i as u8; 1000 + i])))
        .collect();
    let mut source = stream::iter(messages.clone()).map(Ok);
    writer.send_all(&mut source).await.unwrap();
    for m in &messages {
        assert_eq!(&next(&mut reader).await, m);
    }
    writer
        .send(Message::Close(Some(CloseCode::NORMAL), "done".into()))
        .await
        .unwrap();
    // The peer's core answered the close (its code, no reason); the
    // forwarded copy of ours was dropped by its sink.
    assert_eq!(
        next(&mut reader).await,
        Message::Close(Some(CloseCode::NORMAL), String::new())
    );
    assert!(tokio::time::timeout(WAIT, reader.next())
        .await
        .unwrap()
        .is_none());
}
