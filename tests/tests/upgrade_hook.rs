//! The upgrade hook: `accept_with` shows the request as an `http::Request<()>`
//! before anything is answered, and answers with the host's decision.

use framewire_core::handshake::{Acceptance, HttpResponse};
use framewire_core::{CloseCode, Message};
use framewire_server::{accept_with, client_handshake, AcceptConfig, ClientConfig, Error, WsUrl};

/// A hook that routes `/feed`, wants `?token=s3cret`, checks the Origin, and
/// sets a cookie and the subprotocol `v2` when it accepts.
fn hook(req: &http::Request<()>) -> Result<Acceptance, HttpResponse> {
    if req.uri().path() != "/feed" {
        return Err(HttpResponse::text(404, "no such feed\n"));
    }
    if req
        .headers()
        .get("origin")
        .is_some_and(|o| o != "https://app.example")
    {
        return Err(HttpResponse::text(403, "origin not allowed\n"));
    }
    if !req.uri().query().unwrap_or("").contains("token=s3cret") {
        return Err(HttpResponse::text(401, "a token is needed\n")
            .header("WWW-Authenticate", "Bearer realm=\"feed\""));
    }
    Ok(Acceptance {
        protocol: Some("v2".into()),
        headers: vec![("Set-Cookie".into(), "seen=1; HttpOnly".into())],
    })
}

/// Runs `accept_with(hook)` against `client_handshake` over an in-memory pipe.
async fn attempt(
    url: &str,
    cfg: ClientConfig,
) -> (
    framewire_server::Result<framewire_server::WebSocket<tokio::io::DuplexStream>>,
    framewire_server::Result<framewire_server::WebSocket<tokio::io::DuplexStream>>,
) {
    let (client_io, server_io) = tokio::io::duplex(8192);
    let server = tokio::spawn(async move {
        let mut ws = accept_with(server_io, &AcceptConfig::default(), hook).await?;
        // Echo until the client's close.
        while let Some(Ok(msg)) = ws.recv().await {
            if let Message::Text(t) = msg {
                ws.send_text(&t).await?;
            }
        }
        Ok(ws)
    });
    let url = WsUrl::parse(url).unwrap();
    let client = client_handshake(client_io, &url, &cfg).await;
    let client = match client {
        Ok(mut ws) => {
            ws.send_text("hello").await.unwrap();
            assert_eq!(
                ws.recv().await.unwrap().unwrap(),
                Message::Text("hello".into())
            );
            ws.close(CloseCode::NORMAL, "").await.unwrap();
            Ok(ws)
        }
        Err(e) => Err(e),
    };
    (client, server.await.unwrap())
}

#[tokio::test]
async fn the_hook_accepts_with_its_subprotocol_and_cookie() {
    let cfg = ClientConfig {
        protocols: vec!["v1".into(), "v2".into()],
        origin: Some("https://app.example".into()),
        ..ClientConfig::default()
    };
    let (client, server) = attempt("ws://feed.test/feed?token=s3cret", cfg).await;
    let client = client.expect("accepted");
    assert_eq!(client.handshake().protocol.as_deref(), Some("v2"));
    assert_eq!(
        client.handshake().headers.get("set-cookie"),
        Some("seen=1; HttpOnly")
    );
    let server = server.expect("accepted");
    assert_eq!(server.handshake().path, "/feed?token=s3cret");
}

#[tokio::test]
async fn the_hooks_refusal_arrives_with_status_headers_and_body() {
    let (client, server) = attempt("ws://feed.test/feed", ClientConfig::default()).await;
    let Err(Error::Refused(refusal)) = client else {
        panic!("expected a refusal, got {client:?}")
    };
    assert_eq!(refusal.status, 401);
    assert_eq!(
        refusal.headers.get("www-authenticate"),
        Some("Bearer realm=\"feed\"")
    );
    assert_eq!(refusal.body, b"a token is needed\n");
    assert!(matches!(server, Err(Error::Declined { status: 401 })));
}

#[tokio::test]
async fn routing_and_origin_checks_are_done_by_the_hook() {
    let (client, _) = attempt("ws://feed.test/other?token=s3cret", ClientConfig::default()).await;
    assert!(
        matches!(&client, Err(Error::Refused(r)) if r.status == 404),
        "{client:?}"
    );
    let cfg = ClientConfig {
        origin: Some("https://evil.example".into()),
        ..ClientConfig::default()
    };
    let (client, _) = attempt("ws://feed.test/feed?token=s3cret", cfg).await;
    assert!(
        matches!(&client, Err(Error::Refused(r)) if r.status == 403 && r.body == b"origin not allowed\n"),
        "{client:?}"
    );
}

#[tokio::test]
async fn a_subprotocol_the_client_did_not_offer_is_the_servers_own_500() {
    let (client, server) =
        attempt("ws://feed.test/feed?token=s3cret", ClientConfig::default()).await;
    assert!(
        matches!(&client, Err(Error::Refused(r)) if r.status == 500),
        "{client:?}"
    );
    assert!(matches!(server, Err(Error::Handshake(_))), "{server:?}");
}
