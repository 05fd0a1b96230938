//! Topics across instances through Redis pub/sub (feature `redis`).
//!
//! [`RedisBridge::start`] makes a [`Hub`]'s topics span every process bridged
//! to the same Redis: each publish goes to this process's subscribers at once
//! and to Redis (`PUBLISH framewire:TOPIC`); every instance holds one
//! `PSUBSCRIBE framewire:*` and delivers what others published to its own
//! subscribers. Messages carry the publishing instance's random id, so an
//! instance ignores its own when Redis brings them back: each subscriber gets a
//! message once. One connection publishes in order, and Redis keeps it, so the
//! messages of one publisher arrive in order everywhere.
//!
//! # When Redis is down
//!
//! Local subscribers are served as before; only the other instances miss what
//! is published here. Both connections (publishing, subscribed) reconnect with
//! backoff (100 ms doubling to 2 s), say so in the log (`warn` when lost,
//! `info` when back), and the subscribed one subscribes again.
//!
//! Redis pub/sub is at-most-once: a message published while this instance is
//! not connected is not sent to the others (it is dropped, counted in
//! [`BridgeStats::unsent`], and the count is logged on reconnection), and a
//! message published elsewhere while this instance's subscription is down never
//! reaches it. Nothing is replayed: after an outage, messages flow again from
//! the moment both ends are back, in order. Messages that need delivery
//! guarantees need a log (Redis streams, a database), not pub/sub.
//!
//! On Redis, a message is `FW1` `t`|`b` (text or binary), the 8-byte instance
//! id, then the payload; anything else on the channels is ignored (logged at
//! `debug`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use framewire_core::{Bytes, DataKind, PreparedMessage, Utf8Bytes};
use futures_util::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubSink, PubSubStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout, Instant};

use super::{Hub, Outbound};

/// Channels are this prefix and the topic.
pub const CHANNEL_PREFIX: &str = "framewire:";

/// The first bytes of every bridged message (format version 1).
const MAGIC: &[u8; 3] = b"FW1";

/// Magic, kind and instance id.
const HEADER_LEN: usize = 3 + 1 + 8;

/// Publishes waiting for the publishing connection; more are dropped.
const QUEUE: usize = 4096;

/// The first reconnection delay; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);

/// The longest reconnection delay.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// How long connecting (and each health-check ping) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How often the subscribed connection is checked with a PING, by default.
pub const HEALTH_CHECK: Duration = Duration::from_secs(5);

/// Publishes sent to Redis in one round trip (a pipeline), at most.
const BATCH: usize = 256;

/// How a bridge checks its subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgeConfig {
    /// How often the subscribed connection is checked with a PING (a dead
    /// one is found within this plus [`CONNECT_TIMEOUT`]). Default [`HEALTH_CHECK`].
    pub health_check: Duration,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        Self {
            health_check: HEALTH_CHECK,
        }
    }
}

/// Why a bridge could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BridgeError {
    /// The URL is not a Redis URL (`redis://HOST:PORT`).
    #[error("invalid Redis URL {url:?}: {source}")]
    Url {
        /// The URL given.
        url: String,
        /// What the client said.
        source: redis::RedisError,
    },
    /// The hub already has a relay.
    #[error("the hub already has a relay")]
    RelaySet,
    /// No random instance id could be drawn.
    #[error("no random instance id: {0}")]
    Random(getrandom::Error),
}

/// Counts of a bridge since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BridgeStats {
    /// Messages published to Redis.
    pub sent: u64,
    /// Local publishes not sent to Redis (not connected, or the queue was full).
    pub unsent: u64,
    /// Messages from other instances delivered to the hub.
    pub received: u64,
    /// Times the subscription was (re)established.
    pub subscriptions: u64,
}

#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    unsent: AtomicU64,
    received: AtomicU64,
    subscriptions: AtomicU64,
    subscribed: AtomicBool,
}

/// A running bridge between a [`Hub`] and Redis; dropping it stops it.
#[derive(Debug)]
pub struct RedisBridge {
    instance: u64,
    counters: Arc<Counters>,
    tasks: [JoinHandle<()>; 2],
}

impl RedisBridge {
    /// Bridges `hub` to the Redis at `url` (`redis://HOST:PORT`). Returns at
    /// once: connecting happens in the background, and goes on until it works.
    /// Must be called within a tokio runtime.
    pub fn start(hub: &Hub, url: &str) -> Result<Self, BridgeError> {
        Self::start_with(hub, url, BridgeConfig::default())
    }

    /// [`Self::start`] with settings.
    pub fn start_with(hub: &Hub, url: &str, cfg: BridgeConfig) -> Result<Self, BridgeError> {
        let client = redis::Client::open(url).map_err(|source| BridgeError::Url {
            url: url.to_owned(),
            source,
        })?;
        let mut id = [0u8; 8];
        getrandom::getrandom(&mut id).map_err(BridgeError::Random)?;
        let instance = u64::from_be_bytes(id);
        let (tx, rx) = mpsc::channel(QUEUE);
        if !hub.set_relay(tx) {
            return Err(BridgeError::RelaySet);
        }
        let counters = Arc::new(Counters::default());
        let where_ = redact(url);
        let publishing = tokio::spawn(publish_loop(
            client.clone(),
            rx,
            instance,
            counters.clone(),
            where_.clone(),
        ));
        let subscribed = tokio::spawn(subscribe_loop(
            client,
            hub.clone(),
            Bridged {
                instance,
                counters: counters.clone(),
                url: where_,
                cfg,
            },
        ));
        tracing::info!(instance = %format!("{instance:016x}"), "redis bridge started");
        Ok(Self {
            instance,
            counters,
            tasks: [publishing, subscribed],
        })
    }

    /// This instance's id, as carried by its messages.
    pub fn instance(&self) -> u64 {
        self.instance
    }

    /// True while the subscription is up (messages of other instances arrive).
    pub fn is_subscribed(&self) -> bool {
        self.counters.subscribed.load(Ordering::Relaxed)
    }

    /// Counts since it started.
    pub fn stats(&self) -> BridgeStats {
        let c = &self.counters;
        BridgeStats {
            sent: c.sent.load(Ordering::Relaxed),
            unsent: c.unsent.load(Ordering::Relaxed),
            received: c.received.load(Ordering::Relaxed),
            subscriptions: c.subscriptions.load(Ordering::Relaxed),
        }
    }
}

impl Drop for RedisBridge {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The URL without its password, for the log.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// The next delay after `d`.
fn next_backoff(d: Duration) -> Duration {
    (d * 2).min(MAX_BACKOFF)
}

/// Sends the hub's publishes to Redis, in order, over one connection;
/// reconnects with backoff and drops (counts) what comes while it is down.
async fn publish_loop(
    client: redis::Client,
    mut rx: mpsc::Receiver<Outbound>,
    instance: u64,
    counters: Arc<Counters>,
    url: String,
) {
    let mut conn: Option<MultiplexedConnection> = None;
    let mut backoff = MIN_BACKOFF;
    let mut retry_at = Instant::now();
    let mut lost_since: Option<Instant> = None;
    let mut unsent_at_loss = 0;
    loop {
        if conn.is_none() {
            tokio::select! {
                () = tokio::time::sleep_until(retry_at) => {
                    match timeout(CONNECT_TIMEOUT, client.get_multiplexed_async_connection()).await {
                        Ok(Ok(c)) => {
                            conn = Some(c);
                            backoff = MIN_BACKOFF;
                            match lost_since.take() {
                                Some(t) => {
                                    let unsent = counters.unsent.load(Ordering::Relaxed) - unsent_at_loss;
                                    tracing::info!(%url, outage = ?t.elapsed(), unsent, "redis: publishing again; messages published here during the outage were not sent to other instances");
                                }
                                None => tracing::info!(%url, "redis: publishing connection up"),
                            }
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%url, "redis: publishing connection failed: {e}; retrying in {backoff:?}");
                            retry_at = Instant::now() + backoff;
                            backoff = next_backoff(backoff);
                        }
                        Err(_) => {
                            tracing::debug!(%url, "redis: publishing connection timed out; retrying in {backoff:?}");
                            retry_at = Instant::now() + backoff;
                            backoff = next_backoff(backoff);
                        }
                    }
                    if conn.is_none() && lost_since.is_none() {
                        lost_since = Some(Instant::now());
                        unsent_at_loss = counters.unsent.load(Ordering::Relaxed);
                        tracing::warn!(%url, "redis: cannot connect to publish; local subscribers are still served; retrying with backoff");
                    }
                    continue;
                }
                out = rx.recv() => {
                    if out.is_none() {
                        return;
                    }
                    counters.unsent.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            }
        }
        let Some(out) = rx.recv().await else {
            return;
        };
        let Some(c) = conn.as_mut() else {
            continue;
        };
        // What else is waiting goes in the same round trip, in order.
        let mut pipe = redis::pipe();
        let mut batch: u64 = 0;
        let mut next = Some(out);
        while let Some(out) = next.take() {
            let channel = format!("{CHANNEL_PREFIX}{}", out.topic);
            pipe.cmd("PUBLISH")
                .arg(channel)
                .arg(encode(instance, &out.message))
                .ignore();
            batch += 1;
            if batch < BATCH as u64 {
                next = rx.try_recv().ok();
            }
        }
        match pipe.query_async::<()>(c).await {
            Ok(()) => {
                counters.sent.fetch_add(batch, Ordering::Relaxed);
            }
            Err(e) => {
                counters.unsent.fetch_add(batch, Ordering::Relaxed);
                conn = None;
                lost_since = Some(Instant::now());
                unsent_at_loss = counters.unsent.load(Ordering::Relaxed) - batch;
                retry_at = Instant::now() + backoff;
                tracing::warn!(%url, "redis: publishing connection lost ({e}); local subscribers are still served; reconnecting with backoff");
            }
        }
    }
}

/// What the subscribing side knows of its bridge.
struct Bridged {
    instance: u64,
    counters: Arc<Counters>,
    url: String,
    cfg: BridgeConfig,
}

/// Holds the subscription to every topic's channel and delivers what other
/// instances publish; reconnects and resubscribes with backoff.
async fn subscribe_loop(client: redis::Client, hub: Hub, bridged: Bridged) {
    let Bridged { counters, url, .. } = &bridged;
    let mut backoff = MIN_BACKOFF;
    let mut lost_since: Option<Instant> = None;
    loop {
        match subscribe(&client).await {
            Ok((sink, stream)) => {
                backoff = MIN_BACKOFF;
                counters.subscribed.store(true, Ordering::Relaxed);
                counters.subscriptions.fetch_add(1, Ordering::Relaxed);
                match lost_since.take() {
                    Some(t) => {
                        tracing::info!(%url, outage = ?t.elapsed(), "redis: reconnected and resubscribed to {CHANNEL_PREFIX}*; messages published elsewhere during the outage were missed")
                    }
                    None => tracing::info!(%url, "redis: subscribed to {CHANNEL_PREFIX}*"),
                }
                let why = deliver(sink, stream, &hub, &bridged).await;
                counters.subscribed.store(false, Ordering::Relaxed);
                lost_since = Some(Instant::now());
                tracing::warn!(%url, "redis: subscription lost ({why}); local subscribers are still served; resubscribing with backoff");
            }
            Err(why) => {
                if lost_since.is_none() {
                    lost_since = Some(Instant::now());
                    tracing::warn!(%url, "redis: cannot subscribe ({why}); local subscribers are still served; retrying with backoff");
                } else {
                    tracing::debug!(%url, "redis: cannot subscribe ({why}); retrying in {backoff:?}");
                }
            }
        }
        sleep(backoff).await;
        backoff = next_backoff(backoff);
    }
}

/// A subscribed connection, split.
async fn subscribe(client: &redis::Client) -> Result<(PubSubSink, PubSubStream), String> {
    let setup = async {
        let (mut sink, stream) = client.get_async_pubsub().await?.split();
        sink.psubscribe(format!("{CHANNEL_PREFIX}*")).await?;
        Ok::<_, redis::RedisError>((sink, stream))
    };
    match timeout(CONNECT_TIMEOUT, setup).await {
        Ok(Ok(split)) => Ok(split),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {CONNECT_TIMEOUT:?}")),
    }
}

/// Delivers messages until the subscription ends; says why it ended.
async fn deliver(
    mut sink: PubSubSink,
    mut stream: PubSubStream,
    hub: &Hub,
    bridged: &Bridged,
) -> String {
    let (instance, counters) = (bridged.instance, &bridged.counters);
    let mut check = tokio::time::interval(bridged.cfg.health_check);
    check.reset();
    loop {
        tokio::select! {
            msg = stream.next() => {
                let Some(msg) = msg else {
                    return "connection closed".into();
                };
                let Some(topic) = msg.get_channel_name().strip_prefix(CHANNEL_PREFIX) else {
                    continue;
                };
                match decode(msg.get_payload_bytes()) {
                    Ok((from, _)) if from == instance => {}
                    Ok((_, message)) => {
                        counters.received.fetch_add(1, Ordering::Relaxed);
                        hub.publish_local(topic, &message);
                    }
                    Err(e) => tracing::debug!(%topic, "redis: message ignored: {e}"),
                }
            }
            _ = check.tick() => {
                // A subscribed connection answers PING with ["pong", ""], not +PONG.
                match timeout(CONNECT_TIMEOUT, sink.ping::<redis::Value>()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return format!("health check failed: {e}"),
                    Err(_) => return format!("no answer to a PING within {CONNECT_TIMEOUT:?}"),
                }
            }
        }
    }
}

/// A message as it goes on Redis.
fn encode(instance: u64, msg: &PreparedMessage) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + msg.len());
    out.extend_from_slice(MAGIC);
    out.push(match msg.kind() {
        DataKind::Text => b't',
        DataKind::Binary => b'b',
    });
    out.extend_from_slice(&instance.to_be_bytes());
    out.extend_from_slice(msg.payload());
    out
}

/// Why a message on the channels is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum DecodeError {
    #[error("{0} bytes, not a framewire message (FW1 header expected)")]
    NotOurs(usize),
    #[error("unknown kind byte {0:#04x}")]
    Kind(u8),
    #[error("text that is not UTF-8")]
    Utf8,
}

/// The instance id and message of a bridged message.
fn decode(raw: &[u8]) -> Result<(u64, PreparedMessage), DecodeError> {
    if raw.len() < HEADER_LEN || !raw.starts_with(MAGIC) {
        return Err(DecodeError::NotOurs(raw.len()));
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&raw[4..HEADER_LEN]);
    let payload = Bytes::copy_from_slice(&raw[HEADER_LEN..]);
    let msg = match raw[3] {
        b't' => PreparedMessage::text(Utf8Bytes::try_from(payload).map_err(|_| DecodeError::Utf8)?),
        b'b' => PreparedMessage::binary(payload),
        other => return Err(DecodeError::Kind(other)),
    };
    Ok((u64::from_be_bytes(id), msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_survives_the_trip_through_its_redis_form() {
        for msg in [
            PreparedMessage::text("héllo"),
            PreparedMessage::binary(vec![0u8, 255, 7]),
        ] {
            let (id, back) = decode(&encode(0xABCD, &msg)).unwrap();
            assert_eq!(id, 0xABCD);
            assert_eq!(back.kind(), msg.kind());
            assert_eq!(back.payload(), msg.payload());
        }
    }

    #[test]
    fn foreign_or_broken_messages_are_refused_with_a_reason() {
        assert_eq!(decode(b"hello").unwrap_err(), DecodeError::NotOurs(5));
        let mut bad = encode(1, &PreparedMessage::binary(vec![0xFF]));
        bad[3] = b't';
        assert_eq!(decode(&bad).unwrap_err(), DecodeError::Utf8);
        bad[3] = b'x';
        assert_eq!(decode(&bad).unwrap_err(), DecodeError::Kind(b'x'));
    }

    #[test]
    fn passwords_stay_out_of_the_log() {
        assert_eq!(
            redact("redis://user:secret@h:6379/0"),
            "redis://***@h:6379/0"
        );
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}
