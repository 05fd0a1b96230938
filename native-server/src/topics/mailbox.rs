//! A subscriber's mailbox: the prepared messages published to it and not yet
//! taken by its connection, bounded in bytes.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use framewire_core::PreparedMessage;
use tokio::sync::Notify;

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Queued.
    Queued,
    /// Over the limit: the message was dropped (the `n`th drop for this subscriber).
    Dropped(u64),
    /// Over the limit: the subscriber is cut off (now, or was already).
    CutOff {
        /// True the first time: log and count it once.
        now: bool,
    },
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<PreparedMessage>,
    bytes: usize,
    dropped: u64,
    cut_off: bool,
}

/// Messages waiting for one subscriber's connection, taken by one task: a
/// push wakes the receiver only when the mailbox was empty.
#[derive(Debug, Default)]
pub(crate) struct Mailbox {
    state: Mutex<State>,
    ready: Notify,
}

impl Mailbox {
    /// Queues `msg` unless that passes `limit` bytes (one message always fits
    /// an empty mailbox); over it, drops `msg` or, with `cut_off`, empties the
    /// mailbox and marks it cut off.
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
                s.bytes = 0;
                drop(s);
                self.ready.notify_one();
                return Pushed::CutOff { now: true };
            }
            s.dropped += 1;
            return Pushed::Dropped(s.dropped);
        }
        let was_empty = s.queue.is_empty();
        s.bytes += len;
        s.queue.push_back(msg.clone());
        drop(s);
        // The receiver empties the mailbox before it waits again, so only the
        // first message after it did needs to wake it (one wake-up per batch).
        if was_empty {
            self.ready.notify_one();
        }
        Pushed::Queued
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
