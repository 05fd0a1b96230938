//! A subscriber's mailbox: the prepared messages published to it and not yet
//! handed to its connection, bounded in bytes.
//!
//! A mailbox works in one of two ways. Without an [`Outlet`] (or while its
//! connection has output waiting) messages queue for the subscriber's task,
//! which is woken for the first of a batch. With an outlet and nothing
//! waiting, messages are *staged*: the hub's drain (see [`super`]) hands
//! everything staged to the connection in one go once the publisher's batch
//! is over, and writes it from there, so the subscriber's task is not woken.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use framewire_core::PreparedMessage;
use tokio::sync::Notify;

/// A connection that published messages can be written to without its task:
/// implemented by the shared driver of a split [`crate::WebSocket`].
pub(crate) trait Outlet: Send + Sync {
    /// Queues `msgs` with the connection, in order, and writes what the
    /// transport takes now without waiting; returns the bytes still buffered
    /// (the connection's reader half writes them once the transport takes
    /// more), or `Err` once the connection is over.
    fn put(&self, msgs: &[PreparedMessage]) -> Result<usize, Gone>;
}

/// The connection behind an [`Outlet`] is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gone;

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Queued for the subscriber's task.
    Queued,
    /// Staged for the outlet; `true` when the mailbox must be drained (it was
    /// not waiting for a drain already).
    Staged(bool),
    /// Over the limit: the message was dropped (the `n`th drop for this subscriber).
    Dropped(u64),
    /// Over the limit: the subscriber is cut off (now, or was already).
    CutOff {
        /// True the first time: log and count it once.
        now: bool,
    },
}

/// An attached [`Outlet`] (shown as such: the connection has no `Debug`).
#[derive(Clone)]
struct Attached(Arc<dyn Outlet>);

impl std::fmt::Debug for Attached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Outlet")
    }
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<PreparedMessage>,
    staged: Vec<PreparedMessage>,
    /// Payload bytes queued and staged.
    bytes: usize,
    dropped: u64,
    cut_off: bool,
    outlet: Option<Attached>,
    /// Messages go to `staged` (the outlet is idle) rather than `queue`.
    direct: bool,
    /// In the hub's list of mailboxes to drain.
    dirty: bool,
}

/// Messages waiting for one subscriber's connection, taken by one task: a
/// push wakes the receiver only when the mailbox was empty.
#[derive(Debug, Default)]
pub(crate) struct Mailbox {
    state: Mutex<State>,
    ready: Notify,
    /// Held by a drain while it hands messages to the outlet (the state is
    /// not: the connection's reader half may publish to this very mailbox
    /// with its driver locked), so that [`Self::take_back`] can wait for it.
    putting: Mutex<()>,
}

impl Mailbox {
    /// Queues (or stages) `msg` unless that passes `limit` bytes (one message
    /// always fits an empty mailbox); over it, drops `msg` or, with `cut_off`,
    /// empties the mailbox and marks it cut off.
    pub(crate) fn push(&self, msg: &PreparedMessage, limit: usize, cut_off: bool) -> Pushed {
        let mut s = self.lock();
        if s.cut_off {
            return Pushed::CutOff { now: false };
        }
        let len = msg.len();
        if s.bytes > 0 && s.bytes + len > limit {
            if cut_off {
                s.cut_off = true;
                s.queue = VecDeque::new();
                s.staged = Vec::new();
                s.bytes = 0;
                drop(s);
                self.ready.notify_one();
                return Pushed::CutOff { now: true };
            }
            s.dropped += 1;
            return Pushed::Dropped(s.dropped);
        }
        s.bytes += len;
        if s.direct {
            s.staged.push(msg.clone());
            let first = !s.dirty;
            s.dirty = true;
            return Pushed::Staged(first);
        }
        let was_empty = s.queue.is_empty();
        s.queue.push_back(msg.clone());
        drop(s);
        // The receiver empties the mailbox before it waits again, so only the
        // first message after it did needs to wake it (one wake-up per batch).
        if was_empty {
            self.ready.notify_one();
        }
        Pushed::Queued
    }

    /// Hands what is staged to the outlet. When the connection could not take
    /// all of it now, later messages queue for the subscriber's task until it
    /// has caught up ([`Self::resume_direct`]). Only the hub's one drain task
    /// calls this, so batches reach the connection in order.
    pub(crate) fn drain(&self) {
        let _putting = self.putting.lock().unwrap_or_else(|p| p.into_inner());
        let (staged, outlet) = {
            let mut s = self.lock();
            s.dirty = false;
            if s.staged.is_empty() {
                return;
            }
            let Some(Attached(outlet)) = s.outlet.clone() else {
                drop(s);
                return self.to_task(true);
            };
            let staged = std::mem::take(&mut s.staged);
            s.bytes -= staged.iter().map(PreparedMessage::len).sum::<usize>();
            (staged, outlet)
        };
        match outlet.put(&staged) {
            Ok(0) => {}
            Ok(_) => self.to_task(false),
            Err(Gone) => self.to_task(true),
        }
    }

    /// Stops staging (and forgets the outlet when its connection is `gone`):
    /// what was staged since moves to the queue, ahead of anything later.
    fn to_task(&self, gone: bool) {
        let mut s = self.lock();
        if gone {
            s.outlet = None;
        }
        s.direct = false;
        if s.staged.is_empty() {
            return;
        }
        let staged = std::mem::take(&mut s.staged);
        let was_empty = s.queue.is_empty();
        s.queue.extend(staged);
        drop(s);
        if was_empty {
            self.ready.notify_one();
        }
    }

    /// Lets the hub write to `outlet` from now on (while nothing is queued).
    pub(crate) fn attach(&self, outlet: Arc<dyn Outlet>) {
        let mut s = self.lock();
        s.direct = s.queue.is_empty() && !s.cut_off;
        s.outlet = Some(Attached(outlet));
    }

    /// Forgets the outlet once a drain in progress is done with it: what
    /// was staged, and all later messages, queue for the task (to send
    /// before a close, say).
    pub(crate) fn take_back(&self) {
        let _putting = self.putting.lock().unwrap_or_else(|p| p.into_inner());
        self.to_task(true);
    }

    /// Forgets the outlet: messages queue for the task again.
    pub(crate) fn detach(&self) {
        let mut s = self.lock();
        s.outlet = None;
        s.direct = false;
    }

    /// Back to staging for the outlet, when one is attached and nothing is
    /// queued (the task handed everything to its connection); true if so.
    pub(crate) fn resume_direct(&self) -> bool {
        let mut s = self.lock();
        if s.outlet.is_some() && s.queue.is_empty() && !s.cut_off {
            s.direct = true;
        }
        s.direct
    }

    /// The next message, `Err(CutOff)` once cut off; `None` when empty.
    pub(crate) fn try_pop(&self) -> Result<Option<PreparedMessage>, CutOff> {
        let mut s = self.lock();
        if s.cut_off {
            return Err(CutOff);
        }
        let msg = s.queue.pop_front();
        if let Some(m) = &msg {
            s.bytes -= m.len();
        }
        Ok(msg)
    }

    /// Waits for a message (or the cut-off). Cancel-safe.
    pub(crate) async fn pop(&self) -> Result<PreparedMessage, CutOff> {
        loop {
            if let Some(msg) = self.try_pop()? {
                return Ok(msg);
            }
            self.ready.notified().await;
        }
    }

    /// Bytes of payload waiting.
    pub(crate) fn queued_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Messages dropped for being over the limit.
    pub(crate) fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The mailbox was cut off for being over its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CutOff;
