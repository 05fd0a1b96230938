//! The Redis bridge of topics (feature `redis`) against a real redis-server:
//! the subscription stays up across health checks, and messages cross hubs.
#![cfg(feature = "redis")]

use std::time::Duration;

use framewire_server::topics::redis::{BridgeConfig, RedisBridge};
use framewire_server::topics::Hub;
use framewire_server::PreparedMessage;

mod support;

use support::RedisServer;

/// Waits (at most 10 s) until `done`.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "not within 10 s: {what}");
}

#[tokio::test]
async fn the_subscription_survives_its_health_checks() {
    // The bug: a subscribed connection answers PING with ["pong", ""], which
    // was read as an error, so every health check dropped the subscription.
    let redis = RedisServer::start();
    let cfg = BridgeConfig {
        health_check: Duration::from_millis(50),
    };
    let (a, b) = (Hub::default(), Hub::default());
    let bridge_a = RedisBridge::start_with(&a, &redis.url(), cfg).unwrap();
    let bridge_b = RedisBridge::start_with(&b, &redis.url(), cfg).unwrap();
    eventually("both subscribed", || {
        bridge_a.is_subscribed() && bridge_b.is_subscribed()
    })
    .await;
    let mut sub = b.subscriber();
    sub.subscribe("t");
    tokio::time::sleep(Duration::from_millis(500)).await; // about 10 health checks
    for i in 0..20 {
        a.publish("t", PreparedMessage::text(format!("m{i}")));
    }
    for i in 0..20 {
        let got = tokio::time::timeout(Duration::from_secs(10), sub.recv())
            .await
            .expect("a message within 10 s")
            .unwrap();
        assert_eq!(&got.payload()[..], format!("m{i}").as_bytes());
    }
    assert_eq!(bridge_a.stats().subscriptions, 1, "never resubscribed");
    assert_eq!(bridge_b.stats().subscriptions, 1, "never resubscribed");
    assert_eq!(bridge_a.stats().sent, 20);
    assert_eq!(bridge_b.stats().received, 20);
}
