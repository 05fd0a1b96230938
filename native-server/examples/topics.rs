//! Pub/sub over WebSocket with [`framewire_server::topics`]: a client connects
//! to `/TOPIC`, receives everything published there, and what it sends is
//! published to the others on the topic (all but itself).
//!
//! ```text
//! cargo run -p framewire-server --example topics [127.0.0.1:9100]
//! framewire client ws://127.0.0.1:9100/news      (in two terminals)
//! ```
//!
//! Each publish is one [`PreparedMessage`]: every subscriber's connection
//! queues the same frame (compressed once when permessage-deflate is on). A
//! subscriber that falls 1 MiB behind is cut off and closed with 1008.

use framewire_server::topics::{Hub, HubConfig, Subscriber};
use framewire_server::{accept, AcceptConfig, Message, PreparedMessage, WebSocket};
use tokio::io::{AsyncRead, AsyncWrite};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9100".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("topics on ws://{addr}/TOPIC");
    let hub = Hub::new(HubConfig::default());
    loop {
        let (tcp, _) = listener.accept().await?;
        let hub = hub.clone();
        tokio::spawn(async move {
            let Ok(ws) = accept(tcp, &AcceptConfig::default()).await else {
                return;
            };
            let topic = ws.handshake().path.trim_start_matches('/').to_owned();
            let mut sub = hub.subscriber();
            sub.subscribe(&topic);
            serve(ws, sub, &topic).await;
        });
    }
}

/// Publishes what the client sends; sends it what others publish.
async fn serve<S>(mut ws: WebSocket<S>, sub: Subscriber, topic: &str)
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
{
    loop {
        tokio::select! {
            got = ws.recv() => match got {
                Some(Ok(Message::Text(t))) => {
                    sub.publish(topic, PreparedMessage::text(t));
                }
                Some(Ok(Message::Binary(b))) => {
                    sub.publish(topic, PreparedMessage::binary(b));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
            published = sub.recv() => match published {
                // The frame is shared with every other subscriber: no copy.
                Ok(msg) => {
                    if ws.send_prepared(&msg).await.is_err() {
                        return;
                    }
                }
                Err(slow) => {
                    let _ = ws.close(slow.code, "too slow").await;
                    return;
                }
            },
        }
    }
}
