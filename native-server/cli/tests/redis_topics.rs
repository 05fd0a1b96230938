//! `framewire serve --redis`: /chat rooms spanning two instances through a
//! real redis-server (Debian's, started here on a free loopback port): messages
//! cross both ways once each and in order; Redis restarted under them; an
//! instance killed and started again.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use framewire_server::{connect, ClientConfig, ClientStream, Message, WebSocket};

#[path = "../../tests/support/mod.rs"]
mod support;

use support::RedisServer;

const BIN: &str = env!("CARGO_BIN_EXE_framewire");

/// Longest wait for one message or log line.
const WAIT: Duration = Duration::from_secs(15);

/// A `framewire serve --redis URL` process; killed on drop.
struct Instance {
    child: Child,
    addr: String,
    log: mpsc::Receiver<String>,
}

impl Instance {
    /// Starts one and waits until its Redis subscription is up.
    fn start(redis: &str) -> Self {
        let mut child = Command::new(BIN)
            .args(["serve", "--addr", "127.0.0.1:0", "--log-level", "info"])
            .args(["--redis", redis])
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn framewire");
        let mut banner = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut banner)
            .unwrap();
        let addr = banner
            .split("ws://")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in the banner {banner:?}"))
            .to_owned();
        let (tx, log) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let me = Self { child, addr, log };
        me.wait_for_log("redis: subscribed to framewire:*");
        me
    }

    /// Waits (at most [`WAIT`]) until a log line contains `needle`; returns it.
    fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("no log line containing {needle:?} within {WAIT:?}");
    }

    async fn join(&self, room: &str) -> Ws {
        let url = format!("ws://{}/chat/{room}", self.addr);
        connect(&url, &ClientConfig::default())
            .await
            .unwrap_or_else(|e| panic!("cannot join {url}: {e}"))
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

type Ws = WebSocket<ClientStream>;

/// The next text message (pings and pongs skipped), within [`WAIT`].
async fn next_text(ws: &mut Ws) -> String {
    let got = tokio::time::timeout(WAIT, async {
        loop {
            match ws.recv().await {
                Some(Ok(Message::Text(t))) => return t.to_string(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => panic!("expected text, got {other:?}"),
            }
        }
    })
    .await;
    got.unwrap_or_else(|_| panic!("no message within {WAIT:?}"))
}

/// Nothing arrives within `d` (a duplicate, or one's own message back, would).
async fn quiet_for(ws: &mut Ws, d: Duration) {
    if let Ok(got) = tokio::time::timeout(d, ws.recv()).await {
        panic!("expected nothing, got {got:?}");
    }
}

/// `from` sends `n` messages tagged `tag`; each of `to` gets all of them, in order, once.
async fn crosses_in_order(from: &mut Ws, to: &mut [&mut Ws], tag: &str, n: usize) {
    for i in 0..n {
        from.send_text(&format!("{tag}-{i}")).await.unwrap();
    }
    for ws in to {
        for i in 0..n {
            assert_eq!(next_text(ws).await, format!("{tag}-{i}"));
        }
    }
}

/// After an outage, `from` sends probes until `to` hears one (pub/sub drops
/// what was published before both ends were back); returns the last probe,
/// which `to` has read up to.
async fn until_heard(from: &mut Ws, to: &mut Ws, tag: &str) -> String {
    let deadline = Instant::now() + WAIT;
    let mut i = 0;
    loop {
        assert!(
            Instant::now() < deadline,
            "{tag}: nothing crossed within {WAIT:?}"
        );
        from.send_text(&format!("{tag}-probe-{i}")).await.unwrap();
        if let Ok(got) = tokio::time::timeout(Duration::from_millis(200), next_text(to)).await {
            assert!(got.starts_with(&format!("{tag}-probe-")), "{got}");
            // Probes sent before this one may still come: wait for the last.
            let last = format!("{tag}-probe-{i}");
            let mut seen = got;
            while seen != last {
                seen = next_text(to).await;
            }
            return last;
        }
        i += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_rooms_span_two_instances_through_redis() {
    let mut redis = RedisServer::start();
    let a = Instance::start(&redis.url());
    let mut b = Instance::start(&redis.url());
    let mut a1 = a.join("room").await;
    let mut a2 = a.join("room").await;
    let mut b1 = b.join("room").await;
    let mut elsewhere = b.join("other").await;

    // Both ways, in order, once each; the sender never gets its own back.
    crosses_in_order(&mut a1, &mut [&mut a2, &mut b1], "a1", 50).await;
    crosses_in_order(&mut b1, &mut [&mut a1, &mut a2], "b1", 50).await;
    quiet_for(&mut a1, Duration::from_millis(300)).await;
    quiet_for(&mut b1, Duration::from_millis(1)).await;
    quiet_for(&mut elsewhere, Duration::from_millis(1)).await;

    // Redis restarted: local members are served meanwhile; both instances
    // resubscribe, and messages cross again.
    redis.kill();
    a.wait_for_log("redis: subscription lost");
    b.wait_for_log("redis: subscription lost");
    crosses_in_order(&mut a1, &mut [&mut a2], "outage", 5).await;
    redis.restart();
    a.wait_for_log("redis: reconnected and resubscribed");
    b.wait_for_log("redis: reconnected and resubscribed");
    until_heard(&mut a1, &mut b1, "a-after-restart").await;
    let last = until_heard(&mut b1, &mut a1, "b-after-restart").await;
    // a2 heard a1's probes (locally) and the same messages from b1 as a1.
    while next_text(&mut a2).await != last {}
    crosses_in_order(&mut a1, &mut [&mut b1, &mut a2], "a1-again", 20).await;
    crosses_in_order(&mut b1, &mut [&mut a1, &mut a2], "b1-again", 20).await;

    // Instance B killed: A's members go on; B started again rejoins the room.
    b.kill();
    assert!(
        tokio::time::timeout(WAIT, b1.recv())
            .await
            .expect("b1 sees its server go")
            .is_none_or(|r| r.is_err()),
        "b1's connection ended"
    );
    crosses_in_order(&mut a1, &mut [&mut a2], "without-b", 5).await;
    let b = Instance::start(&redis.url());
    let mut b2 = b.join("room").await;
    crosses_in_order(&mut a2, &mut [&mut b2, &mut a1], "to-new-b", 20).await;
    crosses_in_order(&mut b2, &mut [&mut a1, &mut a2], "from-new-b", 20).await;
}
