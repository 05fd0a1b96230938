//! Limits and timers of a connection.

use std::time::Duration;

/// Size limits. Going over one fails the connection with close 1009 (or a 4xx
/// during the handshake), never with unbounded memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of an opening-handshake request or response head. Default 16 KiB.
    pub max_handshake_bytes: usize,
    /// Payload bytes of one frame. Default 16 MiB.
    pub max_frame_payload: u64,
    /// Bytes of one (reassembled, decompressed) message. Default 32 MiB.
    pub max_message: u64,
    /// Frames in one fragmented message. Default 131,072 (a 4 MiB message in 32-byte pieces).
    pub max_fragments: u32,
    /// Bytes a compressed message inflates by per poll at most; a poll that stops there
    /// returns with [`crate::Connection::has_pending_work`] true, so the host can let other
    /// connections run before it polls again. Default 256 KiB. (A `u32` beside
    /// `max_fragments`: it takes no room in a `Connection`.)
    pub inflate_step: u32,
    /// Bytes queued for sending before `send_*` refuses more. Default 64 MiB.
    pub max_pending_output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_handshake_bytes: 16 * 1024,
            max_frame_payload: 16 << 20,
            max_message: 32 << 20,
            max_fragments: 131_072,
            inflate_step: 256 << 10,
            max_pending_output: 64 << 20,
        }
    }
}

/// Everything a connection is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Size limits.
    pub limits: Limits,
    /// Send a ping after this long without receiving anything. `None` disables keepalive.
    pub ping_interval: Option<Duration>,
    /// Fail the connection (close 1001) after this long without receiving anything.
    pub idle_timeout: Option<Duration>,
    /// After sending a close, give up waiting for the peer's close after this long.
    pub close_timeout: Duration,
    /// How long the opening handshake may take, from the handshake machine's
    /// first clock reading to a complete head. Default 10 s.
    pub handshake_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            ping_interval: None,
            idle_timeout: None,
            close_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(10),
        }
    }
}
