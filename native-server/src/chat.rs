//! `/chat`: rooms as topics of the server's [`Hub`]. Every message goes to
//! every other member of the room (on this instance, and on the others when the
//! hub has a relay: `framewire serve --redis`).
//!
//! The room comes from the path (`/chat/NAME`) or the query (`/chat?room=NAME`),
//! 1 to 128 letters, digits, `-` or `_`; plain `/chat` is the room `lobby`.
//! Its topic is `chat/NAME`.
//!
//! Each member's mailbox holds at most 16 MiB of messages (one message of any
//! allowed size when it is empty); a member that falls further behind is cut
//! off and its connection closed with 1008 (policy violation, "too slow for the
//! chat") once the frames already queued with its connection are written.

use std::sync::Arc;

use framewire_core::{Bytes, CloseCode, PreparedMessage, Utf8Bytes};

use crate::topics::{Hub, HubConfig, Overflow, Subscriber};
use crate::wire::valid_token;

/// The room of plain `/chat`.
pub(crate) const LOBBY: &str = "lobby";

/// Bytes of messages queued per member.
const BUDGET: usize = 16 << 20;

/// The hub of a server's chat rooms.
pub(crate) fn hub() -> Hub {
    Hub::new(HubConfig {
        max_queued: BUDGET,
        overflow: Overflow::Close(CloseCode::POLICY_VIOLATION),
    })
}

/// The room a `/chat` request asks for: `rest` is the path after `/chat`, `room`
/// the query's `room`. `None` when the name is not a valid room name.
pub(crate) fn room_of(rest: &str, room: Option<&str>) -> Option<String> {
    let name = match (rest.strip_prefix('/'), room) {
        (Some(path), _) if !path.is_empty() => path,
        (_, Some(query)) => query,
        _ => LOBBY,
    };
    valid_token(name).then(|| name.to_owned())
}

/// A member of one room: its subscriber, subscribed to the room's topic.
#[derive(Debug)]
pub(crate) struct Member {
    sub: Subscriber,
    topic: Arc<str>,
}

impl Member {
    /// Joins `room` on `hub`.
    pub(crate) fn join(hub: &Hub, room: &str) -> Self {
        let topic: Arc<str> = format!("chat/{room}").into();
        let mut sub = hub.subscriber();
        sub.subscribe(&topic);
        Self { sub, topic }
    }

    /// Relays text to the other members (copied once out of the input buffer).
    pub(crate) fn say_text(&self, text: &str) {
        let msg = PreparedMessage::text(Utf8Bytes::from(text));
        self.sub.publish(&self.topic, msg);
    }

    /// Relays binary data to the other members (copied once).
    pub(crate) fn say_binary(&self, data: &[u8]) {
        let msg = PreparedMessage::binary(Bytes::copy_from_slice(data));
        self.sub.publish(&self.topic, msg);
    }

    /// What the other members said; see [`Subscriber::recv`].
    pub(crate) fn inbox(&self) -> &Subscriber {
        &self.sub
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_room_comes_from_the_path_then_the_query_else_the_lobby() {
        assert_eq!(room_of("", None).as_deref(), Some(LOBBY));
        assert_eq!(room_of("/", None).as_deref(), Some(LOBBY));
        assert_eq!(room_of("/rust", Some("go")).as_deref(), Some("rust"));
        assert_eq!(room_of("", Some("go")).as_deref(), Some("go"));
        assert_eq!(room_of("/a/b", None), None, "one path segment");
        assert_eq!(room_of("", Some("")), None);
        assert_eq!(room_of("", Some(&"x".repeat(129))), None);
    }

    #[tokio::test]
    async fn members_of_one_room_hear_each_other_and_not_other_rooms() {
        let hub = hub();
        let a = Member::join(&hub, "r1");
        let b = Member::join(&hub, "r1");
        let c = Member::join(&hub, "r2");
        a.say_text("hi");
        assert_eq!(&b.inbox().recv().await.unwrap().payload()[..], b"hi");
        assert!(a.inbox().try_recv().unwrap().is_none(), "not to itself");
        assert!(
            c.inbox().try_recv().unwrap().is_none(),
            "not to another room"
        );
    }
}
