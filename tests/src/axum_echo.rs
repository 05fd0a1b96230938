//! An axum 0.8 app whose `/ws` route upgrades with framewire (permessage-deflate
//! offered to clients that ask for it) and echoes text and binary
//! messages. Run it with `cargo run -p framewire-tests --example axum_echo`;
//! `tests/tests/hyper_axum.rs` tests it end to end.
//!
//! Compared with axum's own `ws` module, the handler takes the whole request
//! (`axum::extract::Request`) instead of the `WebSocketUpgrade` extractor,
//! calls `framewire_server::upgrade::upgrade` instead of `on_upgrade`, and
//! spawns the returned future itself.

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use framewire_core::deflate::DeflateConfig;
use framewire_server::upgrade::{upgrade_with, HyperWebSocket};
use framewire_server::{AcceptConfig, Message};
use futures_util::StreamExt;

/// The app: `GET /ws` upgrades and echoes.
pub fn app() -> Router {
    Router::new().route("/ws", any(ws_handler))
}

/// Upgrades the request, or returns the core's refusal (426 for a plain GET,
/// 400 for a bad key, ...) with the body that says why. The hook only shows
/// where a decision goes: it takes the subprotocol `echo` when offered.
async fn ws_handler(mut req: Request) -> Response {
    // Built per request here for brevity; a real app keeps it in its state.
    let mut cfg = AcceptConfig::default();
    cfg.handshake.deflate = Some(DeflateConfig::default());
    let upgraded = upgrade_with(&mut req, &cfg, |req| {
        let offered = req
            .headers()
            .get_all("sec-websocket-protocol")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|p| p.trim() == "echo");
        Ok(framewire_core::handshake::Acceptance {
            protocol: offered.then(|| "echo".to_owned()),
            ..Default::default()
        })
    });
    match upgraded {
        Ok((response, ws)) => {
            tokio::spawn(async move {
                if let Ok(ws) = ws.await {
                    echo(ws).await;
                }
            });
            response.into_response()
        }
        Err(declined) => declined.response.into_response(),
    }
}

/// Echoes text and binary messages until the connection ends: the reader
/// half's stream, filtered, forwarded into the writer half.
async fn echo(ws: HyperWebSocket) {
    let (reader, writer) = ws.split();
    let data = reader.filter(|m| {
        std::future::ready(matches!(
            m,
            Ok(Message::Text(_) | Message::Binary(_)) | Err(_)
        ))
    });
    if let Err(e) = data.forward(writer).await {
        eprintln!("echo ended: {e}");
    }
}
