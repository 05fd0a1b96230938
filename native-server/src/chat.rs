//! The `/chat` room: every message goes to every other member.
//!
//! Each member has a bounded queue (256 messages and 16 MiB, or one message
//! of any allowed size when it is empty). A member whose
//! queue is full is removed from the room; its connection is then closed with
//! 1008 (policy violation, "too slow for the chat") once it drained what it had.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use framewire_core::{Bytes, Utf8Bytes};
use tokio::sync::mpsc;

/// Messages queued per member.
const QUEUE: usize = 256;

/// Bytes queued per member.
const BUDGET: usize = 16 << 20;

/// A relayed message, shared by every member it goes to: its payload is
/// copied once out of the sender's input, and each member's queue holds a
/// reference-counted clone.
#[derive(Debug, Clone)]
pub(crate) enum Relay {
    /// Text.
    Text(Utf8Bytes),
    /// Binary.
    Binary(Bytes),
}

impl Relay {
    fn len(&self) -> usize {
        match self {
            Relay::Text(t) => t.len(),
            Relay::Binary(b) => b.len(),
        }
    }
}

#[derive(Debug)]
struct Member {
    tx: mpsc::Sender<Relay>,
    queued: Arc<AtomicUsize>,
}

/// The members of `/chat`.
#[derive(Debug, Default)]
pub(crate) struct ChatRoom {
    members: Mutex<HashMap<u64, Member>>,
    next_id: AtomicU64,
}

impl ChatRoom {
    /// Adds a member.
    pub(crate) fn join(self: &Arc<Self>) -> (Seat, ChatInbox) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let queued = Arc::new(AtomicUsize::new(0));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(
            id,
            Member {
                tx,
                queued: queued.clone(),
            },
        );
        (
            Seat {
                room: self.clone(),
                id,
            },
            ChatInbox { rx, queued },
        )
    }

    /// Members now in the room.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Member>> {
        self.members.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A member's place in the room; leaving happens on drop.
#[derive(Debug)]
pub(crate) struct Seat {
    room: Arc<ChatRoom>,
    id: u64,
}

impl Seat {
    /// Queues `relay` for every other member; members that are full are removed.
    pub(crate) fn broadcast(&self, relay: Relay) {
        let len = relay.len();
        let mut members = self.room.lock();
        let mut slow = Vec::new();
        for (&id, m) in members.iter() {
            if id == self.id {
                continue;
            }
            let queued = m.queued.fetch_add(len, Ordering::Relaxed);
            // One message always fits an empty queue, however large.
            let over = queued > 0 && queued + len > BUDGET;
            if over || m.tx.try_send(relay.clone()).is_err() {
                slow.push(id);
            }
        }
        for id in slow {
            tracing::info!(member = id, "chat member too slow: removed from the room");
            members.remove(&id);
        }
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.room.lock().remove(&self.id);
    }
}

/// What a member receives.
#[derive(Debug)]
pub(crate) struct ChatInbox {
    rx: mpsc::Receiver<Relay>,
    queued: Arc<AtomicUsize>,
}

impl ChatInbox {
    /// The next message, or `None` once the member was removed for being slow.
    pub(crate) async fn next(&mut self) -> Option<Relay> {
        let relay = self.rx.recv().await?;
        self.queued.fetch_sub(relay.len(), Ordering::Relaxed);
        Some(relay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn relays_to_others_only() {
        let room = Arc::new(ChatRoom::default());
        let (a, mut a_in) = room.join();
        let (_b, mut b_in) = room.join();
        a.broadcast(Relay::Text("hi".into()));
        let Some(Relay::Text(t)) = b_in.next().await else {
            panic!()
        };
        assert_eq!(t, "hi");
        assert!(a_in.rx.try_recv().is_err());
        drop(a);
        assert_eq!(room.len(), 1);
    }

    #[tokio::test]
    async fn a_large_message_fits_an_empty_queue_only() {
        let room = Arc::new(ChatRoom::default());
        let (a, _a_in) = room.join();
        let (_b, mut b_in) = room.join();
        let big = Bytes::from(vec![0u8; BUDGET + 1]);
        a.broadcast(Relay::Binary(big.clone()));
        assert_eq!(
            room.len(),
            2,
            "an empty queue takes one message of any size"
        );
        a.broadcast(Relay::Binary(big));
        assert_eq!(room.len(), 1, "a second one overflows the budget");
        assert!(b_in.next().await.is_some());
        assert!(b_in.next().await.is_none());
    }

    #[tokio::test]
    async fn slow_member_is_removed() {
        let room = Arc::new(ChatRoom::default());
        let (a, _a_in) = room.join();
        let (_b, mut b_in) = room.join();
        for i in 0..QUEUE + 1 {
            a.broadcast(Relay::Text(i.to_string().into()));
        }
        assert_eq!(room.len(), 1);
        let mut got = 0;
        while b_in.next().await.is_some() {
            got += 1;
        }
        assert_eq!(got, QUEUE, "the queued messages drain, then the inbox ends");
    }
}
