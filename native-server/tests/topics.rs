//! Topics over real WebSockets on loopback: one publish reaches every
//! subscriber's connection, with one compressed frame shared by all of them
//! (and one plain frame for those without permessage-deflate).

mod support;

use std::time::Duration;

use framewire_core::deflate::DeflateConfig;
use framewire_core::handshake::ServerHandshakeConfig;
use framewire_server::topics::{Hub, HubConfig};
use framewire_server::{
    accept, connect, AcceptConfig, ClientConfig, CloseCode, Message, PreparedMessage, ProxyConfig,
};
use tokio::net::TcpListener;
use tokio::time::{sleep, timeout};

use support::{finished, serve};

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

/// The most a loopback connection's two sockets may hold, in MiB: the kernel's
/// largest send and receive buffers (`tcp_wmem`, `tcp_rmem`), 32 MiB if unreadable.
fn socket_buffers_mib() -> usize {
    let max = |name: &str| {
        std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}"))
            .ok()
            .and_then(|t| t.split_whitespace().nth(2)?.parse::<usize>().ok())
            .unwrap_or(16 << 20)
    };
    (max("tcp_wmem") + max("tcp_rmem")).div_ceil(1 << 20)
}

/// A `/chat` member that reads nothing is cut off once 16 MiB wait in its
/// mailbox (on top of its connection's output and the sockets), not later, and
/// once it reads it gets what was sent before the cut, then a 1008 close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_member_that_reads_nothing_is_cut_off_past_its_limit_with_1008() {
    let (url, hub, stop_tx, running) = serve("/chat/slow").await;
    let cfg = ClientConfig {
        proxy: ProxyConfig::Direct,
        ..ClientConfig::default()
    };
    let mut ws = connect(&url, &cfg).await.unwrap();
    for _ in 0..500 {
        if hub.subscribers("chat/slow") == 1 {
            break;
        }
        sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(hub.subscribers("chat/slow"), 1);
    let mib = PreparedMessage::binary(vec![7u8; 1 << 20]);
    // In bursts of 4, so the member finds several waiting when it wakes.
    let mut published = 0;
    while hub.stats().cut_off == 0 && published < 200 {
        for _ in 0..4 {
            hub.publish("chat/slow", mib.clone());
            published += 1;
        }
        sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(hub.stats().cut_off, 1, "not cut off after {published} MiB");
    // 16 MiB in the mailbox, one message and 64 KiB with the connection, the
    // sockets, and the burst that passed the limit.
    let most = 16 + 2 + socket_buffers_mib() + 4;
    assert!(
        (17..=most).contains(&published),
        "cut off after {published} MiB (expected 17 to {most})"
    );
    let (mut got, mut close) = (0, None);
    while let Some(msg) = timeout(Duration::from_secs(20), ws.recv())
        .await
        .expect("the member's messages stalled")
    {
        match msg.unwrap() {
            Message::Binary(b) => {
                assert_eq!(b.len(), 1 << 20);
                got += 1;
            }
            Message::Close(code, _) => close = Some(code),
            _ => {}
        }
    }
    assert_eq!(close, Some(Some(CloseCode::POLICY_VIOLATION)));
    assert!(
        got < published,
        "{got} of {published} arrived: the cut dropped none"
    );
    let _ = stop_tx.send(());
    finished(running).await;
}
