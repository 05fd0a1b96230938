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

#![forbid(unsafe_code)]

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
pub mod role;
pub mod rules;
pub mod sender;
pub mod utf8;

pub use close::CloseCode;
pub use config::{Config, Limits};
pub use connection::{Connection, Event, Message};
pub use error::ProtocolError;
pub use opcode::{DataKind, OpCode};
pub use role::Role;
pub use sender::{CloseState, SendError, Sender};
