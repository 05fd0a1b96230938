//! Topics over real WebSockets on loopback: one publish reaches every
//! subscriber's connection, with one compressed frame shared by all of them
//! (and one plain frame for those without permessage-deflate).

use std::time::Duration;

use framewire_core::deflate::DeflateConfig;
use framewire_core::handshake::ServerHandshakeConfig;
use framewire_server::topics::{Hub, HubConfig};
use framewire_server::{accept, connect, AcceptConfig, ClientConfig, Message, PreparedMessage};
use tokio::net::TcpListener;

/// Subscribers with permessage-deflate, and without.
const DEFLATE: usize = 12;
const PLAIN: usize = 4;

/// Text that compresses well, over the deflate minimum size.
fn news(i: usize) -> String {
    format!(
        "{{\"seq\":{i},\"body\":\"{}\"}}",
        "all the news that fits ".repeat(100)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_publish_reaches_every_websocket_with_one_compressed_frame() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hub = Hub::new(HubConfig::default());
    let server_hub = hub.clone();
    tokio::spawn(async move {
        let cfg = AcceptConfig {
            handshake: ServerHandshakeConfig {
                deflate: Some(DeflateConfig::default()),
                ..ServerHandshakeConfig::default()
            },
            ..AcceptConfig::default()
        };
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut sub = server_hub.subscriber();
            sub.subscribe("news");
            let cfg = cfg.clone();
            tokio::spawn(async move {
                let mut ws = accept(tcp, &cfg).await.unwrap();
                while let Ok(msg) = sub.recv().await {
                    if ws.send_prepared(&msg).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let url = format!("ws://{addr}/");
    let mut clients = Vec::new();
    for i in 0..DEFLATE + PLAIN {
        let cfg = ClientConfig {
            deflate: (i < DEFLATE).then(DeflateConfig::client),
            ..ClientConfig::default()
        };
        let ws = connect(&url, &cfg).await.unwrap();
        assert_eq!(ws.handshake().deflate.is_some(), i < DEFLATE);
        clients.push(ws);
    }
    // The accept tasks subscribe before the handshake; wait until all did.
    tokio::time::timeout(Duration::from_secs(10), async {
        while hub.subscribers("news") < clients.len() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("every connection subscribed");

    let mut sent = Vec::new();
    for i in 0..5 {
        let msg = PreparedMessage::text(news(i));
        assert_eq!(hub.publish("news", msg.clone()), clients.len());
        sent.push(msg);
    }
    for ws in &mut clients {
        for i in 0..5 {
            let got = tokio::time::timeout(Duration::from_secs(10), ws.recv())
                .await
                .expect("the message within 10 s");
            assert_eq!(got.unwrap().unwrap(), Message::text(news(i)));
        }
    }
    for msg in &sent {
        assert_eq!(
            msg.compressions(),
            1,
            "compressed once for {DEFLATE} connections"
        );
    }
    let stats = hub.stats();
    assert_eq!(stats.delivered, 5 * clients.len() as u64);
    assert_eq!((stats.dropped, stats.cut_off), (0, 0));
}
