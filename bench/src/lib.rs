//! framewire-bench: a load generator for WebSocket echo servers and reference
//! echo servers on other Rust stacks, to compare them with `framewire serve`.
//!
//! The load generator speaks through framewire-core's sans-IO client
//! [`framewire_core::Connection`] over plain tokio sockets, on one thread.

pub mod bomb;
pub mod client;
pub mod deflate_mem;
pub mod echo;
pub mod error;
pub mod fanout;
pub mod handshake;
pub mod idle;
pub mod json_feed;
pub mod procstat;
pub mod servers;
pub mod soak;
pub mod summary;

pub use error::BenchError;
