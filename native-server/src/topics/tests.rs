use super::*;

fn text(t: &'static str) -> PreparedMessage {
    PreparedMessage::text(t)
}

fn payload(m: &PreparedMessage) -> &[u8] {
    &m.payload()[..]
}

#[tokio::test]
async fn publish_reaches_every_subscriber_of_the_topic_only() {
    let hub = Hub::default();
    let mut subs: Vec<Subscriber> = (0..5).map(|_| hub.subscriber()).collect();
    for s in &mut subs[..4] {
        assert!(s.subscribe("a"));
        assert!(!s.subscribe("a"), "twice is once");
    }
    subs[4].subscribe("b");
    let msg = text("to a");
    assert_eq!(hub.publish("a", msg.clone()), 4);
    for s in &mut subs[..4] {
        let got = s.recv().await.unwrap();
        assert_eq!(
            got.frame().as_ptr(),
            msg.frame().as_ptr(),
            "one shared frame"
        );
    }
    assert!(subs[4].try_recv().unwrap().is_none());
    assert_eq!(hub.publish("nobody", text("x")), 0);
}

#[tokio::test]
async fn a_subscriber_publishes_to_all_but_itself() {
    let hub = Hub::default();
    let mut a = hub.subscriber();
    let mut b = hub.subscriber();
    a.subscribe("room");
    b.subscribe("room");
    assert_eq!(a.publish("room", text("from a")), 1);
    assert_eq!(payload(&b.recv().await.unwrap()), b"from a");
    assert!(a.try_recv().unwrap().is_none());
    // Through the hub itself, the publisher's own subscriber gets it too.
    hub.publish("room", text("from the hub"));
    assert_eq!(payload(&a.recv().await.unwrap()), b"from the hub");
}

#[tokio::test]
async fn messages_arrive_in_publish_order() {
    let hub = Hub::default();
    let mut s = hub.subscriber();
    s.subscribe("t");
    for i in 0..100 {
        hub.publish("t", PreparedMessage::text(i.to_string()));
    }
    for i in 0..100 {
        assert_eq!(payload(&s.recv().await.unwrap()), i.to_string().as_bytes());
    }
}

#[test]
fn unsubscribe_and_drop_leave_the_topic() {
    let hub = Hub::default();
    let mut a = hub.subscriber();
    let mut b = hub.subscriber();
    a.subscribe("t");
    b.subscribe("t");
    b.subscribe("u");
    assert_eq!(hub.subscribers("t"), 2);
    assert!(a.unsubscribe("t"));
    assert!(!a.unsubscribe("t"));
    assert_eq!(hub.subscribers("t"), 1);
    drop(b);
    assert_eq!(hub.subscribers("t"), 0);
    assert_eq!(hub.subscribers("u"), 0);
    assert!(hub.read().is_empty(), "empty topics are removed");
}

#[tokio::test]
async fn a_full_mailbox_drops_for_the_slow_subscriber_only() {
    let hub = Hub::new(HubConfig {
        max_queued: 100,
        overflow: Overflow::Drop,
    });
    let mut slow = hub.subscriber();
    let mut fast = hub.subscriber();
    slow.subscribe("t");
    fast.subscribe("t");
    let forty = PreparedMessage::binary(vec![1u8; 40]);
    for _ in 0..5 {
        hub.publish("t", forty.clone());
        assert!(fast.recv().await.is_ok(), "the fast one keeps up");
    }
    assert_eq!(slow.queued_bytes(), 80, "two fit in 100 bytes");
    assert_eq!(slow.dropped(), 3);
    assert_eq!(hub.stats().dropped, 3);
    assert_eq!(hub.stats().delivered, 7);
    // Still subscribed: once it read, it gets messages again.
    while slow.try_recv().unwrap().is_some() {}
    hub.publish("t", forty);
    assert!(slow.recv().await.is_ok());
}

#[tokio::test]
async fn a_full_mailbox_cuts_the_slow_subscriber_off_with_the_close_code() {
    let hub = Hub::new(HubConfig {
        max_queued: 100,
        overflow: Overflow::Close(CloseCode(1013)),
    });
    let mut slow = hub.subscriber();
    let mut fast = hub.subscriber();
    slow.subscribe("t");
    fast.subscribe("t");
    for _ in 0..3 {
        hub.publish("t", PreparedMessage::binary(vec![0u8; 40]));
        assert!(fast.recv().await.is_ok());
    }
    assert_eq!(
        slow.recv().await.unwrap_err(),
        TooSlow {
            code: CloseCode(1013),
            limit: 100
        }
    );
    assert_eq!(slow.queued_bytes(), 0, "its mailbox was emptied");
    assert_eq!(hub.stats().cut_off, 1);
    hub.publish("t", text("after"));
    assert!(slow.try_recv().is_err(), "nothing more for it");
    assert_eq!(hub.stats().cut_off, 1, "cut off once");
    assert_eq!(payload(&fast.recv().await.unwrap()), b"after");
}

#[test]
fn one_message_of_any_size_fits_an_empty_mailbox() {
    let hub = Hub::new(HubConfig {
        max_queued: 10,
        overflow: Overflow::Drop,
    });
    let mut s = hub.subscriber();
    s.subscribe("t");
    assert_eq!(
        hub.publish("t", PreparedMessage::binary(vec![0u8; 1000])),
        1
    );
    assert_eq!(hub.publish("t", text("x")), 0);
}

#[tokio::test]
async fn the_relay_gets_publishes_but_not_what_it_brings_back() {
    let hub = Hub::default();
    let (tx, mut rx) = mpsc::channel(1);
    assert!(hub.set_relay(tx.clone()));
    assert!(!hub.set_relay(tx), "one relay");
    let mut s = hub.subscriber();
    s.subscribe("t");
    s.publish("t", text("mine"));
    let out = rx.recv().await.unwrap();
    assert_eq!((&*out.topic, payload(&out.message)), ("t", &b"mine"[..]));
    hub.publish_local("t", &text("from elsewhere"));
    assert!(rx.try_recv().is_err(), "not relayed again");
    assert_eq!(payload(&s.recv().await.unwrap()), b"from elsewhere");
    // The relay's queue (1) is full after one more: the next is counted, not relayed.
    hub.publish("t", text("1"));
    hub.publish("t", text("2"));
    assert_eq!(hub.stats().relay_dropped, 1);
}

/// A publish wakes the receiver only when its mailbox was empty: the messages
/// queued behind the one that woke it are taken before it waits, and the next
/// publish after it emptied the mailbox wakes it again.
#[tokio::test]
async fn a_receiver_woken_once_for_a_batch_gets_all_of_it_and_the_next() {
    let hub = Hub::default();
    let mut s = hub.subscriber();
    s.subscribe("t");
    let receiver = tokio::spawn(async move {
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(s.recv().await.unwrap().payload().to_vec());
        }
        got
    });
    tokio::task::yield_now().await;
    for t in ["a", "b", "c"] {
        hub.publish("t", text(t));
    }
    // One thread (tokio::test): the receiver takes all three and waits again
    // while this task yields; then a publish to its empty mailbox.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(!receiver.is_finished());
    hub.publish("t", text("d"));
    let got = tokio::time::timeout(std::time::Duration::from_secs(5), receiver)
        .await
        .expect("the receiver was not woken")
        .unwrap();
    assert_eq!(got, [b"a", b"b", b"c", b"d"].map(|t| t.to_vec()));
}

/// A server-side WebSocket on one end of an in-memory pipe of `capacity`
/// bytes, and a client WebSocket on the other.
fn piped(
    capacity: usize,
) -> (
    crate::WebSocket<tokio::io::DuplexStream>,
    crate::WebSocket<tokio::io::DuplexStream>,
) {
    use framewire_core::{Config, Connection};
    let (server, client) = tokio::io::duplex(capacity);
    let info = crate::HandshakeInfo::default;
    (
        crate::WebSocket::from_connection(server, Connection::server(Config::default()), info()),
        crate::WebSocket::from_connection(
            client,
            Connection::client_with_seed(Config::default(), [7; 32]),
            info(),
        ),
    )
}

/// The connection's task of an attached subscriber: the reader half, and what
/// the mailbox brings (the hub's writes that the transport did not take at once
/// sent the rest there); returns the subscriber once the connection is over.
fn run_attached(
    ws: crate::WebSocket<tokio::io::DuplexStream>,
    sub: Subscriber,
) -> tokio::task::JoinHandle<Subscriber> {
    let (mut rx, mut tx) = ws.split();
    assert!(sub.attach(&tx));
    tokio::spawn(async move {
        loop {
            tokio::select! {
                got = rx.recv() => if !matches!(got, Some(Ok(_))) {
                    return sub;
                },
                got = sub.recv() => {
                    let Ok(first) = got else { return sub };
                    let mut fed = tx.feed_prepared(&first).await;
                    while let (Ok(()), Ok(Some(m))) = (&fed, sub.try_recv()) {
                        fed = tx.feed_prepared(&m).await;
                    }
                    if fed.is_err() || tx.flush().await.is_err() {
                        return sub;
                    }
                    sub.resume_direct();
                }
            }
        }
    })
}

/// Publishes batches `from..to` of 20 numbered 40-byte messages to `topic`,
/// letting other tasks (the hub's drain) run after each batch.
async fn publish_numbered(hub: &Hub, topic: &str, from: usize, to: usize) {
    for b in from..to {
        for i in 0..20 {
            hub.publish(topic, PreparedMessage::text(format!("{:040}", b * 20 + i)));
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn an_attached_subscriber_whose_transport_blocks_mid_batch_gets_every_message_once_in_order()
{
    let hub = Hub::default();
    // 300 bytes: every batch of 20 frames (840 bytes) stops the hub's write midway.
    let (server, mut client) = piped(300);
    let mut sub = hub.subscriber();
    sub.subscribe("t");
    let task = run_attached(server, sub);
    let reading = async {
        let mut got = Vec::new();
        while got.len() < 1000 {
            match client.recv().await {
                Some(Ok(crate::Message::Text(t))) => got.push(t.to_string()),
                other => panic!("after {} messages: {other:?}", got.len()),
            }
        }
        got
    };
    let (got, ()) = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        futures_join(reading, publish_numbered(&hub, "t", 0, 50)),
    )
    .await
    .expect("every message within 20 s");
    let expected: Vec<String> = (0..1000).map(|i| format!("{i:040}")).collect();
    assert_eq!(got, expected, "each message once, in publish order");
    let stats = hub.stats();
    assert_eq!(
        (stats.delivered, stats.dropped, stats.cut_off),
        (1000, 0, 0)
    );
    drop(client);
    let sub = tokio::time::timeout(std::time::Duration::from_secs(5), task)
        .await
        .expect("the task ends with its connection")
        .unwrap();
    assert_eq!(sub.queued_bytes(), 0);
}

#[tokio::test]
async fn an_attached_subscriber_whose_peer_goes_away_while_written_to_is_let_go_and_the_others_get_everything(
) {
    let hub = Hub::default();
    let (gone_server, gone_client) = piped(300);
    let (server, mut client) = piped(64 * 1024);
    let mut tasks = Vec::new();
    for ws in [gone_server, server] {
        let mut sub = hub.subscriber();
        sub.subscribe("t");
        tasks.push(run_attached(ws, sub));
    }
    let reading = async {
        let mut got = 0;
        while got < 1000 {
            match client.recv().await {
                Some(Ok(crate::Message::Text(t))) => {
                    assert_eq!(t.as_str(), format!("{got:040}"));
                    got += 1;
                }
                other => panic!("after {got} messages: {other:?}"),
            }
        }
    };
    let publishing = async {
        publish_numbered(&hub, "t", 0, 10).await;
        // Mid-stream, with the hub's writes to it blocked: the peer goes away.
        drop(gone_client);
        publish_numbered(&hub, "t", 10, 50).await;
    };
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        futures_join(reading, publishing),
    )
    .await
    .expect("every message within 20 s");
    let gone = tasks.remove(0);
    let sub = tokio::time::timeout(std::time::Duration::from_secs(5), gone)
        .await
        .expect("the task of the connection that went away ends")
        .unwrap();
    drop(sub);
    assert_eq!(hub.subscribers("t"), 1);
}

/// The hub's drain, the publisher and each connection's task on different
/// threads: staging, the drain's writes and `resume_direct` race for real, and
/// still every subscriber gets every message once, in publish order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attached_subscribers_on_a_multi_thread_runtime_get_every_message_once_in_order() {
    const SUBSCRIBERS: usize = 8;
    let hub = Hub::default();
    let mut readers = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..SUBSCRIBERS {
        // From 300 bytes (every batch blocks midway) to 38 KiB (none does).
        let (server, mut client) = piped(300 << i);
        let mut sub = hub.subscriber();
        sub.subscribe("t");
        tasks.push(run_attached(server, sub));
        readers.push(tokio::spawn(async move {
            for n in 0..1000 {
                match client.recv().await {
                    Some(Ok(crate::Message::Text(t))) => assert_eq!(t.as_str(), format!("{n:040}")),
                    other => panic!("after {n} messages: {other:?}"),
                }
            }
            client
        }));
    }
    let publisher = {
        let hub = hub.clone();
        tokio::spawn(async move { publish_numbered(&hub, "t", 0, 50).await })
    };
    let within = std::time::Duration::from_secs(20);
    tokio::time::timeout(within, publisher)
        .await
        .expect("published within 20 s")
        .unwrap();
    let mut clients = Vec::new();
    for reader in readers {
        let client = tokio::time::timeout(within, reader)
            .await
            .expect("every message within 20 s");
        clients.push(client.expect("each message once, in publish order"));
    }
    let stats = hub.stats();
    assert_eq!(
        (stats.delivered, stats.dropped, stats.cut_off),
        (1000 * SUBSCRIBERS as u64, 0, 0)
    );
    drop(clients);
    for task in tasks {
        let sub = tokio::time::timeout(std::time::Duration::from_secs(5), task)
            .await
            .expect("each task ends with its connection")
            .unwrap();
        assert_eq!(sub.queued_bytes(), 0);
    }
}

/// Both futures to completion, on this task.
async fn futures_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    tokio::join!(a, b)
}
