//! Echo on tokio-websockets.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_websockets::{Limits, ServerBuilder};

use super::MAX_MESSAGE;

/// Upgrades `stream` and echoes text and binary messages until the peer closes.
pub async fn handle(stream: TcpStream) {
    let builder = ServerBuilder::new().limits(Limits::default().max_payload_len(Some(MAX_MESSAGE)));
    let Ok((_request, mut ws)) = builder.accept(stream).await else {
        return;
    };
    while let Some(Ok(msg)) = ws.next().await {
        if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
            return;
        }
    }
}
