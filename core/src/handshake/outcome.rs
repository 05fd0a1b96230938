//! What a finished opening handshake hands the host.

use super::{ExtensionOffer, Headers};
use crate::deflate::Negotiated;
use crate::Connection;

/// What the opening handshake settled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandshakeInfo {
    /// The request target, such as `/echo?x=1`.
    pub path: String,
    /// The negotiated subprotocol, if any.
    pub protocol: Option<String>,
    /// The extensions in force, as the server answered them.
    pub extensions: Vec<ExtensionOffer>,
    /// permessage-deflate as agreed, seen from this end (already on in the connection).
    pub deflate: Option<Negotiated>,
    /// The peer's headers: the request's on a server, the response's on a client.
    pub headers: Headers,
}

/// A server's accepted upgrade: the 101 answer to write first, then the connection.
#[derive(Debug)]
pub struct Upgraded {
    /// The `101 Switching Protocols` head, to write before any frame.
    pub response: Vec<u8>,
    /// The connection, with the agreed extensions on and the bytes that came
    /// after the request head already fed.
    pub connection: Connection,
    /// What was settled.
    pub info: HandshakeInfo,
}

/// A client's finished handshake: the connection, with the agreed extensions on
/// and the bytes that came after the response head already fed.
#[derive(Debug)]
pub struct Established {
    /// The connection.
    pub connection: Connection,
    /// What was settled.
    pub info: HandshakeInfo,
}
