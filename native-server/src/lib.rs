//! framewire-server: the tokio host of framewire.
//!
//! - [`Server`]: the `framewire serve` server (`/`, `/echo`, `/chat`, the
//!   `/__wire` view and the inspector's files on one port), over plain TCP or
//!   TLS ([`ServerConfig::tls`], made by [`tls_server_config_from_pem`]).
//! - [`accept`]: the server handshake on any `AsyncRead + AsyncWrite`, for
//!   embedding framewire in other tokio programs.
//! - [`connect`]: a `ws://` and `wss://` client (TLS by rustls with the
//!   webpki-roots trust anchors, HTTP CONNECT proxies, Basic credentials from
//!   the URL); [`client_handshake`] runs the client handshake on any transport.
//! - [`WebSocket`]: an established connection, and the only driver there is:
//!   `framewire serve` runs its endpoints on it too. [`WebSocket::recv_with`]
//!   lends each event with the core's [`Sender`] (an echo copies nothing the
//!   core does not); every operation drives the keepalive, idle and close
//!   timers and the pending output; a peer that stops reading meets the
//!   write-stall limit; sends wait above the high-water mark ([`DriverConfig`]).
//!   [`WebSocket::split`] gives halves for separate tasks.
//! - [`relay`]: `framewire proxy`, a relay in front of one WebSocket server
//!   that streams every connection's bytes to the inspector page (its
//!   inspector-socket protocol is documented in [`relay::inspector_socket`])
//!   and injects frames at frame boundaries.
//! - `futures` traits: [`WebSocket`] and [`WsReader`] are `Stream`s of
//!   `Result<Message>`, [`WebSocket`] and [`WsWriter`] are `Sink<Message>`s,
//!   so `reader.forward(writer)` is an echo and `select`, `send_all` and
//!   `StreamExt::split` work (call that one by name: the inherent
//!   [`WebSocket::split`] shadows it, as the inherent `close(code, reason)`
//!   shadows `SinkExt::close`).
//!
//! - [`topics`]: a [`topics::Hub`] of named topics that connections subscribe
//!   to; a publish encodes (and compresses) the frame once and shares it
//!   ([`PreparedMessage`], [`WebSocket::send_prepared`]); slow subscribers are
//!   bounded; with feature `redis`, topics span every instance on one Redis.
//!
//! - `upgrade` (feature `hyper`, off by default): `upgrade::upgrade` and
//!   `upgrade::upgrade_with` answer an upgrade request of a hyper or axum
//!   server and give the [`WebSocket`] once hyper hands the connection over.
//!
//! All protocol work is done by [`framewire_core`]; this crate moves bytes and time.
//! What it may not do: parse or check a WebSocket header, decide a close code,
//! frame, mask, or time a keepalive. Handshakes are short read and write loops
//! around the core's machines ([`framewire_core::handshake::ServerHandshake`],
//! [`framewire_core::handshake::ClientHandshake`]); a rule written here would
//! drift from the one the browser's inspector and `framewire decode` apply.
//!
//! The `framewire` command line is the crate `framewire-cli` (`native-server/cli/`),
//! not a feature of this one, so that depending on this library brings no clap,
//! tracing-subscriber or global allocator into your tree: a default feature would
//! still bring them unless every user opted out, and `cargo run` at the workspace
//! root cannot turn on a non-default feature. Logging goes through the `tracing`
//! facade; install whatever subscriber you like.
//!
//! Embedding a server in your own tokio program:
//!
//! ```no_run
//! use framewire_server::{accept, AcceptConfig, Message};
//!
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9000").await?;
//! loop {
//!     let (tcp, _) = listener.accept().await?;
//!     tokio::spawn(async move {
//!         let Ok(mut ws) = accept(tcp, &AcceptConfig::default()).await else {
//!             return; // refused: the HTTP error response was already sent
//!         };
//!         while let Some(Ok(msg)) = ws.recv().await {
//!             if let Message::Text(text) = msg {
//!                 let _ = ws.send_text(&text).await;
//!             }
//!         }
//!     });
//! }
//! # }
//! ```
//!
//! A client:
//!
//! ```no_run
//! use framewire_server::{connect, ClientConfig, CloseCode, Message};
//!
//! # async fn run() -> framewire_server::Result<()> {
//! let mut ws = connect("ws://127.0.0.1:9090/echo", &ClientConfig::default()).await?;
//! ws.send_text("hello").await?;
//! if let Some(Ok(Message::Text(echo))) = ws.recv().await {
//!     assert_eq!(echo, "hello");
//! }
//! ws.close(CloseCode::NORMAL, "bye").await?;
//! # Ok(())
//! # }
//! ```

mod chat;
mod client_stream;
mod clock;
mod error;
mod exposure;
mod handshake;
mod http;
pub mod pem;
mod proxy;
pub mod relay;
mod server;
mod session;
mod static_files;
mod stream;
mod tcp;
mod ticker;
mod tls_client;
mod tls_server;
pub mod topics;
#[cfg(feature = "hyper")]
pub mod upgrade;
mod url;
mod wire;

/// The rustls this crate is built with, for naming its types
/// ([`rustls::ServerConfig`] for [`ServerConfig::tls`]).
pub use rustls;

pub use client_stream::ClientStream;
pub use error::{Error, Result};
pub use exposure::{exposure_warning, is_loopback};
pub use framewire_core::handshake::Headers;
pub use framewire_core::{
    CloseCode, CloseState, Config, Event, Limits, Message, PreparedMessage, Sender,
};
pub use handshake::{accept, accept_with, client_handshake, connect, AcceptConfig, ClientConfig};
pub use proxy::{NoProxy, ProxyConfig, ProxyError, ProxyUrl};
pub use server::{default_www, Server, ServerConfig, ShutdownReport};
pub use stream::{is_tcp, DriverConfig, HandshakeInfo, WebSocket, WsReader, WsWriter, HIGH_WATER};
pub use tls_client::TlsError;
pub use tls_server::{tls_server_config, tls_server_config_from_pem, ServerTlsError};
pub use url::{Credentials, WsUrl};
