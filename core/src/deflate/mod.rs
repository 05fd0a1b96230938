//! permessage-deflate (RFC 7692): negotiation and per-message compression.
//!
//! Compression is flate2 on zlib-rs: pure Rust (so it builds for
//! `wasm32-unknown-unknown`) and it honours window bits, which miniz_oxide does not.
//! With the feature `small-inflate`, inflating runs on miniz_oxide's core instead
//! ([`small_inflate`]): a fraction of zlib-rs's inflate in size, for the browser's decoder
//! module, which never compresses (LTO then drops zlib-rs altogether).

mod codec;
mod params;
#[cfg(feature = "small-inflate")]
pub mod small_inflate;

pub use codec::{spare, Compressor, Decompressor, InflateError, Step, GROW_AT_ONCE};
pub use params::{
    client_accept, client_offer, server_negotiate, DeflateConfig, DeflateParamError, DeflateParams,
    Negotiated, EXTENSION_NAME,
};
