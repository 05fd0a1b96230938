//! Topics: publish one message to every connection subscribed to a name.
//!
//! A [`Hub`] holds the topics; each connection takes a [`Subscriber`],
//! subscribes it to topics, and forwards what it receives to its
//! [`crate::WebSocket`] with [`crate::WebSocket::send_prepared`]. A publish
//! ([`Hub::publish`], or [`Subscriber::publish`] for all but the publisher)
//! encodes the message once as a [`PreparedMessage`]: every subscriber gets a
//! reference-counted clone of the same frame, and with permessage-deflate it
//! is compressed once per window size, not per connection (see
//! [`framewire_core::prepared`] for why that is valid with context takeover
//! too, and what it costs).
//!
//! # Slow subscribers
//!
//! A publish never waits. Each subscriber has a mailbox bounded by
//! [`HubConfig::max_queued`] bytes of payload (the connection's own output
//! buffer, up to its [`crate::DriverConfig::high_water`], comes on top; one
//! message always fits an empty mailbox). A publish that would pass the limit
//! does what [`HubConfig::overflow`] says:
//!
//! - [`Overflow::Drop`]: the message is dropped for that subscriber only;
//!   counted ([`HubStats::dropped`], [`Subscriber::dropped`]) and logged (the
//!   first drop of a subscriber at `info`, later ones at `debug`);
//! - [`Overflow::Close`] (the default, with 1008 policy violation): the
//!   subscriber is cut off: its mailbox is emptied, it gets nothing more, and
//!   [`Subscriber::recv`] returns [`TooSlow`] with the close code to send.
//!   Counted ([`HubStats::cut_off`]) and logged at `info`. 1008 says "you broke
//!   the server's policy" (reading too slowly); 1013 (try again later) is the
//!   alternative when the cause is more the server's load than the client.
//!
//! # Written by the hub
//!
//! A subscriber attached to its connection's writer half
//! ([`Subscriber::attach`]) is written to by the hub itself: a publish stages
//! the message, and the hub's drain task, which runs once the publishing task
//! yields, hands each subscriber's staged messages to its connection in one
//! write, without waking the subscriber's task. What the transport does not
//! take at once is left to the connection's reader half, and later messages
//! go through the mailbox again (with its limit) until
//! [`Subscriber::resume_direct`].
//!
//! # Across servers
//!
//! [`Hub::set_relay`] hands every publish to a relay as well (the Redis bridge
//! of `framewire serve --redis`, feature `redis`), which brings other
//! instances' messages back with [`Hub::publish_local`].
//!
//! ```
//! use framewire_server::topics::{Hub, HubConfig};
//! use framewire_server::PreparedMessage;
//!
//! # tokio_test_block_on(async {
//! let hub = Hub::new(HubConfig::default());
//! let mut alice = hub.subscriber();
//! let mut bob = hub.subscriber();
//! alice.subscribe("news");
//! bob.subscribe("news");
//! // All but the publisher: bob gets it, alice does not.
//! assert_eq!(alice.publish("news", PreparedMessage::text("hello")), 1);
//! let got = bob.recv().await.unwrap();
//! assert_eq!(&got.payload()[..], b"hello");
//! assert!(alice.try_recv().unwrap().is_none());
//! # });
//! # fn tokio_test_block_on(f: impl std::future::Future<Output = ()>) {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```

mod mailbox;
#[cfg(feature = "redis")]
pub mod redis;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};

use framewire_core::{CloseCode, PreparedMessage};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, Notify};

use crate::stream::WsWriter;
pub(crate) use mailbox::{Gone, Outlet};
use mailbox::{Mailbox, Pushed};

/// Mailboxes the drain hands to their connections before it lets other tasks
/// run. Short turns let a publisher's next batch in while a drain is under
/// way, and the mailboxes not reached yet then take both batches in one write
/// (in the fan-out bench's 2 M deliveries, 73,000 to 86,000 writes with 32,
/// 85,000 to 88,000 with 256, 104,000 to 113,000 with no turns).
const DRAIN_TURN: usize = 32;

/// The default limit of a subscriber's mailbox: 1 MiB of payload.
pub const MAX_QUEUED: usize = 1 << 20;

/// What happens to a subscriber whose mailbox is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Drop the message for that subscriber; it stays subscribed.
    Drop,
    /// Cut the subscriber off: [`Subscriber::recv`] returns [`TooSlow`] with this code
    /// for its connection's close frame.
    Close(CloseCode),
}

impl Default for Overflow {
    fn default() -> Self {
        Overflow::Close(CloseCode::POLICY_VIOLATION)
    }
}

/// How a [`Hub`] treats its subscribers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubConfig {
    /// Bytes of payload a subscriber's mailbox may hold. Default [`MAX_QUEUED`].
    pub max_queued: usize,
    /// What a publish does to a subscriber whose mailbox would pass `max_queued`.
    pub overflow: Overflow,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            max_queued: MAX_QUEUED,
            overflow: Overflow::default(),
        }
    }
}

/// Counts since the hub was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HubStats {
    /// Messages published (locally, or from a relay).
    pub published: u64,
    /// Messages queued for subscribers (one per subscriber reached).
    pub delivered: u64,
    /// Messages dropped for full mailboxes ([`Overflow::Drop`]).
    pub dropped: u64,
    /// Subscribers cut off for full mailboxes ([`Overflow::Close`]).
    pub cut_off: u64,
    /// Publishes the relay could not take (its queue was full or gone).
    pub relay_dropped: u64,
}

/// A publish handed to the relay: the topic and the message, to send to the other instances.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// The topic.
    pub topic: Arc<str>,
    /// The message.
    pub message: PreparedMessage,
}

/// A subscriber of a topic: its id and mailbox.
#[derive(Debug)]
struct Member {
    id: u64,
    mailbox: Arc<Mailbox>,
}

#[derive(Debug, Default)]
struct Counters {
    published: AtomicU64,
    delivered: AtomicU64,
    dropped: AtomicU64,
    cut_off: AtomicU64,
    relay_dropped: AtomicU64,
}

#[derive(Debug)]
struct Inner {
    cfg: HubConfig,
    topics: RwLock<HashMap<Arc<str>, Vec<Member>>>,
    next_id: AtomicU64,
    counters: Counters,
    relay: OnceLock<mpsc::Sender<Outbound>>,
    /// Mailboxes with staged messages, for the drain task.
    dirty: Mutex<Vec<Arc<Mailbox>>>,
    /// Wakes the drain task (it ends when the hub is gone).
    drain_wake: Arc<Notify>,
    /// The drain task was started.
    drainer: OnceLock<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The drain task finds the hub gone and ends.
        self.drain_wake.notify_one();
    }
}

/// The topics of one process and their subscribers. Cloning shares it.
#[derive(Debug, Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new(HubConfig::default())
    }
}

impl Hub {
    /// An empty hub.
    pub fn new(cfg: HubConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                cfg,
                topics: RwLock::default(),
                next_id: AtomicU64::new(1),
                counters: Counters::default(),
                relay: OnceLock::new(),
                dirty: Mutex::default(),
                drain_wake: Arc::new(Notify::new()),
                drainer: OnceLock::new(),
            }),
        }
    }

    /// Its settings.
    pub fn config(&self) -> &HubConfig {
        &self.inner.cfg
    }

    /// A new subscriber, subscribed to nothing yet (one per connection).
    pub fn subscriber(&self) -> Subscriber {
        Subscriber {
            hub: self.clone(),
            id: self.inner.next_id.fetch_add(1, Ordering::Relaxed),
            mailbox: Arc::new(Mailbox::default()),
            topics: Vec::new(),
        }
    }

    /// Sends `msg` to every subscriber of `topic` (and to the relay, when one is
    /// set); returns how many local subscribers it was queued for.
    pub fn publish(&self, topic: &str, msg: PreparedMessage) -> usize {
        self.publish_except(topic, msg, 0)
    }

    /// Sends `msg` to this process's subscribers of `topic` only: what a relay
    /// calls with messages from other instances.
    pub fn publish_local(&self, topic: &str, msg: &PreparedMessage) -> usize {
        self.deliver(topic, msg, 0)
    }

    /// Hands every later publish to `relay` too (at most one relay; false if
    /// one was set). A full relay queue drops the message for the other
    /// instances only, counted in [`HubStats::relay_dropped`].
    pub fn set_relay(&self, relay: mpsc::Sender<Outbound>) -> bool {
        self.inner.relay.set(relay).is_ok()
    }

    /// Subscribers of `topic` in this process.
    pub fn subscribers(&self, topic: &str) -> usize {
        self.read().get(topic).map_or(0, Vec::len)
    }

    /// Counts since the hub was made.
    pub fn stats(&self) -> HubStats {
        let c = &self.inner.counters;
        HubStats {
            published: c.published.load(Ordering::Relaxed),
            delivered: c.delivered.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            cut_off: c.cut_off.load(Ordering::Relaxed),
            relay_dropped: c.relay_dropped.load(Ordering::Relaxed),
        }
    }

    fn publish_except(&self, topic: &str, msg: PreparedMessage, except: u64) -> usize {
        let delivered = self.deliver(topic, &msg, except);
        if let Some(relay) = self.inner.relay.get() {
            let out = Outbound {
                topic: topic.into(),
                message: msg,
            };
            if relay.try_send(out).is_err() {
                let n = self
                    .inner
                    .counters
                    .relay_dropped
                    .fetch_add(1, Ordering::Relaxed);
                if n == 0 {
                    tracing::warn!(%topic, "relay queue full or closed: a message was not sent to the other instances");
                } else {
                    tracing::debug!(%topic, "relay queue full or closed: message not relayed");
                }
            }
        }
        delivered
    }

    /// Queues `msg` for the subscribers of `topic` but `except` (0: none).
    fn deliver(&self, topic: &str, msg: &PreparedMessage, except: u64) -> usize {
        let cfg = &self.inner.cfg;
        let c = &self.inner.counters;
        c.published.fetch_add(1, Ordering::Relaxed);
        let cut_off = matches!(cfg.overflow, Overflow::Close(_));
        let mut delivered = 0;
        let mut staged = Vec::new();
        let topics = self.read();
        for m in topics.get(topic).into_iter().flatten() {
            if m.id == except {
                continue;
            }
            match m.mailbox.push(msg, cfg.max_queued, cut_off) {
                Pushed::Queued => delivered += 1,
                Pushed::Staged(first) => {
                    delivered += 1;
                    if first {
                        staged.push(m.mailbox.clone());
                    }
                }
                Pushed::Dropped(n) => {
                    c.dropped.fetch_add(1, Ordering::Relaxed);
                    if n == 1 {
                        tracing::info!(subscriber = m.id, %topic, limit = cfg.max_queued, "subscriber too slow: dropping messages");
                    } else {
                        tracing::debug!(subscriber = m.id, %topic, dropped = n, "subscriber too slow: message dropped");
                    }
                }
                Pushed::CutOff { now: true } => {
                    c.cut_off.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(subscriber = m.id, %topic, limit = cfg.max_queued, "subscriber too slow: cut off");
                }
                Pushed::CutOff { now: false } => {}
            }
        }
        drop(topics);
        if !staged.is_empty() {
            lock(&self.inner.dirty).append(&mut staged);
            self.inner.drain_wake.notify_one();
        }
        c.delivered.fetch_add(delivered as u64, Ordering::Relaxed);
        delivered
    }

    /// Starts the task that hands staged messages to their connections, once,
    /// on the current tokio runtime; false when there is none.
    fn start_drainer(&self) -> bool {
        if self.inner.drainer.get().is_some() {
            return true;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        if self.inner.drainer.set(()).is_ok() {
            let hub = Arc::downgrade(&self.inner);
            let wake = self.inner.drain_wake.clone();
            runtime.spawn(drain(hub, wake));
        }
        true
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<Arc<str>, Vec<Member>>> {
        self.inner.topics.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<Arc<str>, Vec<Member>>> {
        self.inner.topics.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// A subscriber fell more than [`HubConfig::max_queued`] bytes behind and was
/// cut off ([`Overflow::Close`]): close its connection with `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("subscriber cut off: more than {limit} bytes of messages were waiting for it")]
pub struct TooSlow {
    /// The close code to send (from [`Overflow::Close`]).
    pub code: CloseCode,
    /// The limit it passed.
    pub limit: usize,
}

/// One connection's place in a [`Hub`]: the topics it is subscribed to and
/// its mailbox. Dropping it unsubscribes it from all of them.
#[derive(Debug)]
pub struct Subscriber {
    hub: Hub,
    id: u64,
    mailbox: Arc<Mailbox>,
    topics: Vec<Arc<str>>,
}

impl Subscriber {
    /// Subscribes to `topic`; false if it already was.
    pub fn subscribe(&mut self, topic: &str) -> bool {
        if self.topics.iter().any(|t| &**t == topic) {
            return false;
        }
        let topic: Arc<str> = topic.into();
        self.hub
            .write()
            .entry(topic.clone())
            .or_default()
            .push(Member {
                id: self.id,
                mailbox: self.mailbox.clone(),
            });
        self.topics.push(topic);
        true
    }

    /// Unsubscribes from `topic`; false if it was not subscribed.
    pub fn unsubscribe(&mut self, topic: &str) -> bool {
        let Some(at) = self.topics.iter().position(|t| &**t == topic) else {
            return false;
        };
        self.topics.swap_remove(at);
        self.hub.leave(topic, self.id);
        true
    }

    /// The topics it is subscribed to.
    pub fn topics(&self) -> impl Iterator<Item = &str> {
        self.topics.iter().map(|t| &**t)
    }

    /// Publishes to every subscriber of `topic` but this one (subscribers of
    /// other instances included, through the relay); returns how many local
    /// subscribers it was queued for.
    pub fn publish(&self, topic: &str, msg: PreparedMessage) -> usize {
        self.hub.publish_except(topic, msg, self.id)
    }

    /// The next message published to its topics, or [`TooSlow`] once it was
    /// cut off. Cancel-safe. One task receives: a publish wakes it only when its
    /// mailbox was empty, so it takes what waits before it waits again (as
    /// `recv` and [`Self::try_recv`] used in turn do).
    pub async fn recv(&self) -> Result<PreparedMessage, TooSlow> {
        self.mailbox.pop().await.map_err(|_| self.too_slow())
    }

    /// The next message if one is waiting (to send a batch before flushing).
    pub fn try_recv(&self) -> Result<Option<PreparedMessage>, TooSlow> {
        self.mailbox.try_pop().map_err(|_| self.too_slow())
    }

    /// Lets the hub write published messages straight to `writer`'s
    /// connection: while the connection has taken everything so far, a
    /// publish stages the message, and the hub hands each subscriber's staged
    /// messages to its connection in one go once the publishing task yields
    /// (one write per subscriber and batch; no wake-up of the subscriber's
    /// task). When the transport cannot take them all at once, the rest is
    /// written by the reader half (keep it in `recv`) and later messages come
    /// through [`Self::recv`] again, until [`Self::resume_direct`].
    ///
    /// Order is kept: everything goes through the one connection. The limit
    /// counts staged and queued messages; the connection may hold up to one
    /// batch more than its high-water mark. False (and nothing changes) when
    /// not called on a tokio runtime, which the hub's drain task needs.
    pub fn attach<S>(&self, writer: &WsWriter<S>) -> bool
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        if !self.hub.start_drainer() {
            return false;
        }
        self.mailbox.attach(writer.outlet());
        true
    }

    /// Undoes [`Self::attach`] (waiting for a write in progress to the
    /// connection): messages staged and not yet written, and all later ones,
    /// come through [`Self::recv`]. Call it before closing the connection,
    /// so that what was published before the close is sent before it.
    pub fn detach(&self) {
        self.mailbox.take_back();
    }

    /// After an [`Self::attach`]: call once every message [`Self::recv`] and
    /// [`Self::try_recv`] gave was queued with the connection, so that the
    /// hub writes straight to it again. True when it does (nothing was
    /// waiting in the mailbox and the subscriber was not cut off).
    pub fn resume_direct(&self) -> bool {
        self.mailbox.resume_direct()
    }

    /// Bytes of payload waiting in its mailbox.
    pub fn queued_bytes(&self) -> usize {
        self.mailbox.queued_bytes()
    }

    /// Messages dropped for it ([`Overflow::Drop`]).
    pub fn dropped(&self) -> u64 {
        self.mailbox.dropped()
    }

    /// The hub it belongs to.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    fn too_slow(&self) -> TooSlow {
        let cfg = self.hub.config();
        let code = match cfg.overflow {
            Overflow::Close(code) => code,
            Overflow::Drop => CloseCode::POLICY_VIOLATION,
        };
        TooSlow {
            code,
            limit: cfg.max_queued,
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.mailbox.detach();
        let mut topics = self.hub.write();
        for topic in self.topics.drain(..) {
            remove_member(&mut topics, &topic, self.id);
        }
    }
}

impl Hub {
    fn leave(&self, topic: &str, id: u64) {
        remove_member(&mut self.write(), topic, id);
    }
}

/// The drain task: after each publisher's batch (it runs once the publishing
/// task yields), hands every mailbox's staged messages to its connection,
/// which writes them in one go: one write per subscriber and batch, and no
/// task of the subscribers woken. Ends when the hub is dropped.
async fn drain(hub: Weak<Inner>, wake: Arc<Notify>) {
    loop {
        wake.notified().await;
        let Some(inner) = hub.upgrade() else {
            return;
        };
        let dirty = std::mem::take(&mut *lock(&inner.dirty));
        drop(inner);
        for (i, mailbox) in dirty.iter().enumerate() {
            if i > 0 && i % DRAIN_TURN == 0 {
                tokio::task::yield_now().await;
            }
            mailbox.drain();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Removes subscriber `id` from `topic`, and the topic once it has none.
fn remove_member(topics: &mut HashMap<Arc<str>, Vec<Member>>, topic: &str, id: u64) {
    if let Some(members) = topics.get_mut(topic) {
        members.retain(|m| m.id != id);
        if members.is_empty() {
            topics.remove(topic);
        }
    }
}

#[cfg(test)]
mod tests;
