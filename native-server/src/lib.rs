//! framewire-server: the tokio host of framewire.
//!
//! - [`Server`]: the `framewire serve` server (`/`, `/echo`, `/chat`, the
//!   `/__wire` view and the inspector's files on one port).
//! - [`accept`]: the server handshake on any `AsyncRead + AsyncWrite`, for
//!   embedding framewire in other tokio programs.
//! - [`connect`]: a `ws://` client.
//! - [`WebSocket`]: an established connection; [`WebSocket::split`] gives
//!   halves for separate tasks, and sending waits when output piles up.
//!
//! All protocol work is done by [`framewire_core`]; this crate moves bytes and time.

mod chat;
pub mod cli;
mod client_cmd;
pub mod clock;
pub mod decode_cmd;
mod error;
mod handshake;
mod http;
mod serve_cmd;
mod server;
mod session;
mod static_files;
mod stream;
mod url;
pub mod wire;

pub use error::{Error, Result};
pub use framewire_core::{CloseCode, Config, Limits, Message};
pub use handshake::{accept, client_handshake, connect, AcceptConfig, ClientConfig};
pub use server::{default_www, Server, ServerConfig, ShutdownReport};
pub use stream::{HandshakeInfo, WebSocket, WsReader, WsWriter, HIGH_WATER};
pub use url::WsUrl;
