//! framewire-core: a sans-IO WebSocket (RFC 6455) protocol core.
//!
//! Bytes in, events out, bytes to send out; time is an input too. No sockets,
//! no async runtime: the same code runs in the tokio host and in the browser.

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
