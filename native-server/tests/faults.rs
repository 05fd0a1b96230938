//! Faults in the host: the public `WebSocket` (both roles, with and without
//! permessage-deflate) over a transport that gives short reads and writes,
//! `Pending` at random points, and, in a second mode, an error or a reset at a
//! seeded random point; and the server's graceful shutdown while messages are
//! in flight. Every loop is bounded in count, every seed in time.

#[path = "support/faulty.rs"]
mod faulty;
mod support;

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use framewire_core::deflate::DeflateConfig;
use framewire_server::{
    accept, client_handshake, connect, AcceptConfig, ClientConfig, CloseCode, Error, Message,
    ProxyConfig, WsUrl,
};
use tokio::task::JoinHandle;
use tokio::time::timeout;

use faulty::{messages, Failure, Faulty, Rng};
use support::{finished, serve};

/// The longest one seed may take before it counts as a hang.
const SEED_LIMIT: Duration = Duration::from_secs(10);

/// What one side saw.
#[derive(Debug, Default)]
struct Outcome {
    received: Vec<Message>,
    /// The receive stream ended with `None` (a close handshake), not an error.
    clean_end: bool,
    errors: Vec<String>,
    /// The errors were the injected one (an `Error::Io` of its kind).
    io_kinds: Vec<io::ErrorKind>,
    /// Every message of ours was accepted by `send` and the close went out.
    sent_all: bool,
}

impl Outcome {
    fn note(&mut self, e: &Error) {
        if let Error::Io(io) = e {
            self.io_kinds.push(io.kind());
        }
        self.errors.push(e.to_string());
    }
}

/// One seed: a server and a client over two faulty ends of one pipe; each sends
/// its messages while receiving the other's; the client closes once it has all.
async fn run_seed(
    seed: u64,
    deflate: bool,
    fail: Option<Failure>,
    fail_server: bool,
) -> [Outcome; 2] {
    let mut rng = Rng::new(seed);
    let (a, b) = tokio::io::duplex(256 + rng.below(64 * 1024) as usize);
    let (server_fail, client_fail) = if fail_server {
        (fail, None)
    } else {
        (None, fail)
    };
    let server_io = Faulty::new(a, rng.next(), server_fail);
    let client_io = Faulty::new(b, rng.next(), client_fail);
    let to_server = messages(&mut rng, 50, 1);
    let to_client = messages(&mut rng, 50, 2);

    let mut accept_cfg = AcceptConfig::default();
    accept_cfg.handshake.deflate = deflate.then(DeflateConfig::default);
    let client_cfg = ClientConfig {
        deflate: deflate.then(DeflateConfig::client),
        proxy: ProxyConfig::Direct,
        ..ClientConfig::default()
    };
    let url = WsUrl::parse("ws://localhost/faults").unwrap();

    let server = async {
        let mut out = Outcome::default();
        let ws = match accept(server_io, &accept_cfg).await {
            Ok(ws) => ws,
            Err(e) => {
                out.note(&e);
                return out;
            }
        };
        let (mut rx, mut tx) = ws.split();
        let sending = async {
            for m in &to_client {
                tx.send(m.clone()).await?;
            }
            Ok::<_, Error>(())
        };
        let receiving = async {
            let mut got = Vec::new();
            let end = loop {
                match rx.recv().await {
                    Some(Ok(Message::Close(..))) => {}
                    Some(Ok(m)) => got.push(m),
                    Some(Err(e)) => break Err(e),
                    None => break Ok(()),
                }
            };
            (got, end)
        };
        let (sent, (got, end)) = tokio::join!(sending, receiving);
        out.received = got;
        out.sent_all = sent.is_ok();
        if let Err(e) = &sent {
            out.note(e);
        }
        match end {
            Ok(()) => out.clean_end = true,
            Err(e) => out.note(&e),
        }
        out
    };

    let client = async {
        let mut out = Outcome::default();
        let ws = match client_handshake(client_io, &url, &client_cfg).await {
            Ok(ws) => ws,
            Err(e) => {
                out.note(&e);
                return out;
            }
        };
        let (mut rx, mut tx) = ws.split();
        let sending = async {
            for m in &to_server {
                tx.send(m.clone()).await?;
            }
            Ok::<_, Error>(())
        };
        let expected = to_client.len();
        let receiving = async {
            let mut got = Vec::new();
            while got.len() < expected {
                match rx.recv().await {
                    Some(Ok(Message::Close(..))) => {}
                    Some(Ok(m)) => got.push(m),
                    Some(Err(e)) => return (got, Some(Err(e))),
                    None => return (got, Some(Ok(()))),
                }
            }
            (got, None)
        };
        let (sent, (got, early_end)) = tokio::join!(sending, receiving);
        out.received = got;
        if let Err(e) = &sent {
            out.note(e);
        }
        match early_end {
            Some(Ok(())) => out.clean_end = true,
            Some(Err(e)) => out.note(&e),
            None => {
                // Everything arrived: close, and read on to the end of the handshake.
                let closed = match sent {
                    Ok(()) => tx.close(CloseCode::NORMAL, "done").await,
                    Err(e) => Err(e),
                };
                out.sent_all = closed.is_ok();
                if let Err(e) = &closed {
                    out.note(e);
                }
                loop {
                    match rx.recv().await {
                        Some(Ok(Message::Close(..))) => {}
                        Some(Ok(m)) => out.received.push(m),
                        Some(Err(e)) => {
                            out.note(&e);
                            break;
                        }
                        None => {
                            out.clean_end = true;
                            break;
                        }
                    }
                }
            }
        }
        out
    };
    let (s, c) = timeout(SEED_LIMIT, async { tokio::join!(server, client) })
        .await
        .unwrap_or_else(|_| panic!("seed {seed} (deflate {deflate}, {fail:?}) hung"));
    check_prefix(seed, "server", &s.received, &to_server);
    check_prefix(seed, "client", &c.received, &to_client);
    [s, c]
}

/// `got` is `sent` or a prefix of it: nothing lost in the middle, duplicated,
/// reordered or altered.
fn check_prefix(seed: u64, who: &str, got: &[Message], sent: &[Message]) {
    assert!(
        got.len() <= sent.len(),
        "seed {seed}: the {who} received {} messages, {} were sent",
        got.len(),
        sent.len()
    );
    for (i, (g, s)) in got.iter().zip(sent).enumerate() {
        assert!(
            g == s,
            "seed {seed}: the {who}'s message {i} differs from the one sent"
        );
    }
}

/// Seeds per test: enough to hit every piece size at every frame boundary.
const SEEDS: u64 = 150;

#[tokio::test(flavor = "current_thread")]
async fn short_reads_short_writes_and_pending_lose_duplicate_reorder_nothing() {
    for seed in 0..SEEDS {
        let deflate = seed % 2 == 0;
        let [s, c] = run_seed(seed, deflate, None, false).await;
        for (who, o) in [("server", &s), ("client", &c)] {
            assert!(
                o.errors.is_empty(),
                "seed {seed}: the {who} failed: {:?}",
                o.errors
            );
            assert!(
                o.clean_end,
                "seed {seed}: the {who}'s stream did not end with the close"
            );
        }
        assert_eq!(
            s.received.len(),
            50,
            "seed {seed}: the server missed messages"
        );
        assert_eq!(
            c.received.len(),
            50,
            "seed {seed}: the client missed messages"
        );
        assert!(c.sent_all, "seed {seed}: the client's close did not go out");
        assert!(
            s.sent_all,
            "seed {seed}: the server's sends did not all go out"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn injected_errors_and_resets_surface_as_errors_that_name_them_never_as_a_clean_truncated_end(
) {
    let mut fired_seeds = 0;
    for seed in 0..SEEDS {
        let mut rng = Rng::new(seed ^ 0xFA17);
        // Early (in the handshake) to late (past the last message).
        let span = if rng.below(4) == 0 { 40 } else { 900 };
        let fail = Failure::seeded(&mut rng, span);
        let fail_server = rng.below(2) == 0;
        let deflate = seed % 2 == 1;
        let [s, c] = run_seed(seed, deflate, Some(fail), fail_server).await;
        let (failing, other) = if fail_server { (&s, &c) } else { (&c, &s) };
        let complete = s.received.len() == 50 && c.received.len() == 50;
        // A stream that ended cleanly carried every message: never a silent truncation.
        for (who, o, all) in [("server", &s, 50), ("client", &c, 50)] {
            if o.clean_end {
                assert_eq!(
                    o.received.len(),
                    all,
                    "seed {seed}: the {who}'s stream ended cleanly after {} of {all} messages",
                    o.received.len()
                );
            }
        }
        if !complete {
            fired_seeds += 1;
            // The side whose transport failed says so, by the injected kind.
            assert!(
                failing.io_kinds.contains(&fail.kind),
                "seed {seed}: the failing side did not report {:?}: {:?}",
                fail.kind,
                failing.errors
            );
            let named = format!("{:?}", fail.kind);
            assert!(
                failing.errors.iter().any(|e| e.contains(&named)),
                "seed {seed}: no error names the {named}: {:?}",
                failing.errors
            );
            // The other side sees an error too, not a clean end.
            assert!(
                !other.errors.is_empty(),
                "seed {seed}: the peer of the failed side saw no error"
            );
        }
    }
    assert!(
        fired_seeds > SEEDS / 4,
        "only {fired_seeds} seeds cut a run short: the faults are not reaching the runs"
    );
}

/// What a client of the shutdown tests saw: its texts and the close.
type Seen = (Vec<String>, Option<(Option<CloseCode>, String)>);

/// Checks that a client got `{prefix}0`, `{prefix}1`... with none missing or
/// out of order, then the 1001 close; returns how many it got.
async fn numbered_then_going_away(client: JoinHandle<Seen>, prefix: &str) -> usize {
    let (got, close) = timeout(Duration::from_secs(10), client)
        .await
        .expect("a client hung")
        .unwrap();
    for (i, g) in got.iter().enumerate() {
        assert_eq!(
            g,
            &format!("{prefix}{i}"),
            "message {i} lost or out of order"
        );
    }
    let (code, _) = close.expect("the client saw no close frame");
    assert_eq!(code, Some(CloseCode::GOING_AWAY));
    got.len()
}

/// A `/echo` client of the shutdown test: sends `count` numbered messages as
/// fast as it can and records every echo, then the close.
async fn echo_client(url: String, count: usize) -> Seen {
    let cfg = ClientConfig {
        proxy: ProxyConfig::Direct,
        ..ClientConfig::default()
    };
    let ws = connect(&url, &cfg).await.expect("connect");
    let (mut rx, mut tx) = ws.split();
    let sending = async {
        for i in 0..count {
            if tx
                .send(Message::Text(format!("m{i}").into()))
                .await
                .is_err()
            {
                break;
            }
        }
    };
    let receiving = async {
        let mut echoes = Vec::new();
        let mut close = None;
        while let Some(got) = rx.recv().await {
            match got {
                Ok(Message::Text(t)) => echoes.push(t.to_string()),
                Ok(Message::Close(code, reason)) => close = Some((code, reason)),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        (echoes, close)
    };
    let ((), out) = tokio::join!(sending, receiving);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_under_load_delivers_every_echo_before_the_1001_close() {
    let (url, _, stop_tx, running) = serve("/echo").await;
    const CLIENTS: usize = 6;
    const COUNT: usize = 200_000;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(echo_client(url.clone(), COUNT)))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop_tx.send(()).unwrap();
    finished(running).await;
    for c in clients {
        let echoes = numbered_then_going_away(c, "m").await;
        assert!(
            echoes < COUNT,
            "the shutdown came after the load: raise COUNT"
        );
    }
}

/// A `/chat` member of the shutdown test: records every message, then the close.
async fn chat_member(url: String, counted: Arc<AtomicUsize>) -> Seen {
    let cfg = ClientConfig {
        proxy: ProxyConfig::Direct,
        ..ClientConfig::default()
    };
    let mut ws = connect(&url, &cfg).await.expect("connect");
    let mut got = Vec::new();
    let mut close = None;
    while let Some(Ok(msg)) = ws.recv().await {
        match msg {
            Message::Text(t) => {
                counted.fetch_add(1, Ordering::Relaxed);
                got.push(t.to_string());
            }
            Message::Close(code, reason) => close = Some((code, reason)),
            _ => {}
        }
    }
    (got, close)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_under_load_delivers_every_published_chat_message_before_the_1001_close() {
    let (url, hub, stop_tx, running) = serve("/chat/shutdown").await;
    const MEMBERS: usize = 5;
    let counted = Arc::new(AtomicUsize::new(0));
    let members: Vec<_> = (0..MEMBERS)
        .map(|_| tokio::spawn(chat_member(url.clone(), counted.clone())))
        .collect();
    for _ in 0..500 {
        if hub.subscribers("chat/shutdown") == MEMBERS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(hub.subscribers("chat/shutdown"), MEMBERS);
    // Publish in bursts for a while, then shut down right after the last burst:
    // everything published was accepted for sending and must arrive first.
    let mut published = 0;
    let until = tokio::time::Instant::now() + Duration::from_millis(300);
    while tokio::time::Instant::now() < until && published < 50_000 {
        for _ in 0..100 {
            let msg = framewire_core::PreparedMessage::text(format!("p{published}"));
            assert_eq!(hub.publish("chat/shutdown", msg), MEMBERS);
            published += 1;
        }
        tokio::task::yield_now().await;
    }
    stop_tx.send(()).unwrap();
    let arrived_before_stop = counted.load(Ordering::Relaxed);
    assert!(
        arrived_before_stop < published * MEMBERS,
        "every message had arrived before the shutdown: nothing was in flight"
    );
    finished(running).await;
    for m in members {
        let got = numbered_then_going_away(m, "p").await;
        assert_eq!(got, published, "published messages lost at the shutdown");
    }
}
