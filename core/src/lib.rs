//! framewire-core: a sans-IO WebSocket (RFC 6455) protocol core.
//!
//! Bytes in, events out, bytes to send out; time is an input too. No sockets,
//! no async runtime: the same code runs in the tokio host and in the browser.
//!
//! What it holds, the whole protocol:
//! - [`handshake`]: the opening handshake as two machines,
//!   [`handshake::ServerHandshake`] (shows the host the request before anything
//!   is answered, then takes its accept or decline) and
//!   [`handshake::ClientHandshake`], each owning its head buffer, limit and deadline;
//! - [`Connection`]: one connection after the handshake, for either role:
//!   framing, masking, fragmentation, control frames, the close handshake,
//!   UTF-8, limits, keepalive, idle and close timers; its [`Sender`] queues
//!   frames and owns the close state;
//! - [`deflate`]: permessage-deflate negotiation and compression;
//! - [`prepared`]: [`PreparedMessage`], a frame encoded (and compressed) once
//!   and queued on many connections without copying (a broadcast);
//! - [`frame`], [`rules`], [`close`], [`utf8`], [`mask`], [`hex`]: the pieces,
//!   public for the inspector and tools.
//!
//! What it may not do: open sockets, read a clock, spawn, block, or depend on
//! an async runtime (a CI step checks its dependency tree), and it has no
//! `unsafe`. Hosts move bytes and time in and out; every protocol rule lives here.
//!
//! A host's loop, in short: feed what the transport read
//! ([`Connection::input_buffer`] and [`Connection::commit_input`]), take events
//! ([`Connection::poll_event`]) until `Ok(None)`, write
//! [`Connection::pending_output`] and [`Connection::consume_output`] what was
//! written, and call [`Connection::handle_timeout`] when
//! [`Connection::poll_timeout`] comes.
//!
//! A server's whole handshake and first message, without any I/O (the README's example):
//!
//! ```
//! use framewire_core::handshake::{Acceptance, ServerHandshake, ServerHandshakeConfig, ServerStep};
//! use framewire_core::{Config, Event};
//!
//! let mut hs = ServerHandshake::new(Config::default(), ServerHandshakeConfig::default());
//! hs.feed(b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
//!           Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n\
//!           \x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
//! let ServerStep::Request(pending) = hs.step() else { panic!("the head is complete") };
//! // The host sees the request before anything is answered: route, authenticate, pick a
//! // subprotocol, or `pending.decline(HttpResponse::text(403, "..."))`.
//! assert_eq!(pending.request().path, "/chat");
//! let mut up = pending.accept(Acceptance::default()).expect("a valid upgrade");
//! let answer_101 = up.response; // write this first
//! while let Ok(Some((event, tx))) = up.connection.poll_event_and_sender() {
//!     if let Event::Text(text) = event {
//!         tx.send_text(text).unwrap(); // echo without copying the event out
//!     }
//! }
//! let bytes_to_write = up.connection.pending_output();
//! assert_eq!(bytes_to_write, b"\x81\x05Hello");
//! ```

#![forbid(unsafe_code)]

#[cfg(feature = "capture")]
pub mod capture;
pub mod close;
pub mod config;
pub mod connection;
pub mod deflate;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod hex;
pub mod inspect;
pub mod mask;
pub mod opcode;
pub mod payload;
pub mod prepared;
pub mod role;
pub mod rules;
pub mod sender;
pub mod utf8;

pub use bytes::Bytes;
pub use close::CloseCode;
pub use config::{Config, Limits};
pub use connection::{Connection, DeflateFootprint, Event, Message, Parked};
pub use error::ProtocolError;
pub use opcode::{DataKind, OpCode};
pub use payload::Utf8Bytes;
pub use prepared::PreparedMessage;
pub use role::Role;
pub use sender::{CloseState, SendError, Sender};
