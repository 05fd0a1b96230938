//! Helpers shared by the core's integration tests.

use framewire_core::{Connection, Message, ProtocolError};

/// Polls `conn` until it needs input or fails: the events (owned) and the failure, if any.
pub fn drain(conn: &mut Connection) -> (Vec<Message>, Option<ProtocolError>) {
    let mut events = Vec::new();
    loop {
        match conn.poll_event() {
            Ok(Some(e)) => events.push(e.to_message()),
            Ok(None) => {
                if !conn.has_pending_work() {
                    return (events, None);
                }
            }
            Err(e) => return (events, Some(e)),
        }
    }
}
