//! The opening handshake (RFC 6455 section 4), for both roles.
//!
//! Hosts drive [`ServerHandshake`] and [`ClientHandshake`], sans-IO machines
//! that own the head buffer, its limit and the deadline and hand over a
//! [`crate::Connection`]. The functions below them (`parse_request`,
//! `validate_request`, `accept`, `parse_response`, `validate_response`) are
//! the machines' parts, public for tools that check heads on their own (the
//! inspector's handshake check).

mod client;
mod client_machine;
mod connect;
mod error;
mod extensions;
mod forward;
mod head;
mod headers;
mod http;
#[cfg(feature = "http")]
mod http_types;
mod outcome;
mod problems;
mod response;
mod server;
mod server_machine;

pub use client::{
    generate_key, parse_response, validate_response, Accepted, ClientRequest, Response,
};
pub use client_machine::{ClientHandshake, ClientStep, Refusal};
pub use connect::{
    connect_authority, connect_request, read_connect_answer, ConnectAnswer, ConnectError,
};
pub use error::HandshakeError;
pub use extensions::{format_extensions, parse_extensions, ExtensionOffer};
pub use forward::{
    forward_request, read_answer, valid_tag, ForwardOptions, ForwardTarget, Forwarded,
    RelayedAnswer, MAX_TAG, TAG_PARAM,
};
pub use headers::Headers;
pub use http::header_tokens;
#[cfg(feature = "http")]
pub use http_types::HttpConversionError;
pub use outcome::{Established, HandshakeInfo, Upgraded};
pub use problems::request_problems;
pub use response::{reason, HttpResponse};
pub use server::{
    accept, parse_request, rejection, rejection_response, validate_request, Accept, Request,
    ServerHandshakeConfig, UpgradeOffer, UpgradeRequest,
};
pub use server_machine::{Acceptance, Declined, PendingRequest, ServerHandshake, ServerStep};

use base64::Engine;
use sha1::{Digest, Sha1};

/// The GUID RFC 6455 appends to the key.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)).
pub fn accept_key(key: &str) -> String {
    let mut out = String::with_capacity(28);
    push_accept_key(key, &mut out);
    out
}

/// Appends [`accept_key`]`(key)` to `out` without another allocation.
pub(crate) fn push_accept_key(key: &str, out: &mut String) {
    let mut sha = Sha1::new();
    sha.update(key.trim().as_bytes());
    sha.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode_string(sha.finalize(), out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_sample_key() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn tutorial_key() {
        assert_eq!(
            accept_key("x3JJHMbDL1EzLkh9GBhXDw=="),
            "HSmrc0sMlYUkAGmm5OPpG2HaGWk="
        );
    }
}
