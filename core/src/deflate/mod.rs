//! permessage-deflate (RFC 7692): negotiation and per-message compression.
//!
//! Compression is flate2 on zlib-rs: pure Rust (so it builds for
//! `wasm32-unknown-unknown`) and it honours window bits, which miniz_oxide does not.

mod codec;
mod params;

pub use codec::{spare, Compressor, Decompressor, InflateError, Step, GROW_AT_ONCE};
pub use params::{
    client_accept, client_offer, server_negotiate, DeflateConfig, DeflateParamError, DeflateParams,
    Negotiated, EXTENSION_NAME,
};
