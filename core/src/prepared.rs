//! [`PreparedMessage`]: a message encoded once as a server frame, to queue on
//! many connections (a broadcast) without encoding, compressing or copying it
//! per connection.
//!
//! The unmasked frame (header and payload) is built once and held as [`Bytes`];
//! each connection queues a reference-counted clone ([`crate::Sender::send_prepared`]).
//!
//! # Compression: once per window size, whatever the context takeover
//!
//! A compressed message that refers to nothing before it is valid on every
//! permessage-deflate connection whose negotiated window is at least the one it
//! was compressed with: with `server_no_context_takeover` the peer expects
//! exactly that, and with context takeover RFC 7692 lets a compressor not use
//! its earlier messages (the peer's window still holds them; nothing refers to
//! them). So a prepared message is compressed at most once per distinct window
//! size among its receivers (9 to 15 bits: at most 7 times, in practice once),
//! lazily, by the first connection that needs that size, with that connection's
//! level. A connection that sends it then adds its plaintext to its own history,
//! so its next own messages refer back as usual.
//!
//! What it costs: on a connection with context takeover, a prepared message
//! cannot refer to that connection's earlier messages, so it is as large as with
//! `server_no_context_takeover` (on small JSON with repeated keys, the bytes a
//! per-connection compressor would save by referring back). The CPU of
//! compression is paid once instead of once per receiver.
//!
//! A client connection masks every frame with its own key, so it cannot share
//! a frame: it sends the payload as an ordinary message.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use crate::deflate::Compressor;
use crate::frame::{encode_frame, FrameHeader};
use crate::opcode::{DataKind, OpCode};
use crate::payload::Utf8Bytes;

/// The smallest and largest compression windows (bits) a compressor uses.
const WINDOWS: std::ops::RangeInclusive<u8> = 9..=15;

/// A text or binary message encoded once as an unmasked (server) frame.
///
/// Cloning shares it (one reference count).
#[derive(Debug, Clone)]
pub struct PreparedMessage {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    kind: DataKind,
    payload: Bytes,
    /// The uncompressed frame.
    plain: Bytes,
    /// The compressed frame per window size (index: bits - 9), made on first use.
    compressed: [OnceLock<Bytes>; 7],
}

impl PreparedMessage {
    /// A text message (`String`, `&'static str` and `Utf8Bytes` without copying the text).
    pub fn text(text: impl Into<Utf8Bytes>) -> Self {
        Self::new(DataKind::Text, text.into().into_bytes())
    }

    /// A binary message (`Vec<u8>`, `Bytes` and `&'static [u8]` without copying).
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Self::new(DataKind::Binary, data.into())
    }

    fn new(kind: DataKind, payload: Bytes) -> Self {
        let header = FrameHeader::new(true, kind.opcode(), None, payload.len() as u64);
        let mut frame = Vec::new();
        encode_frame(&header, &payload, &mut frame);
        Self {
            inner: Arc::new(Inner {
                kind,
                payload,
                plain: Bytes::from(frame),
                compressed: Default::default(),
            }),
        }
    }

    /// Text or binary.
    pub fn kind(&self) -> DataKind {
        self.inner.kind
    }

    /// The payload (UTF-8 for text).
    pub fn payload(&self) -> &Bytes {
        &self.inner.payload
    }

    /// The payload's length in bytes.
    pub fn len(&self) -> usize {
        self.inner.payload.len()
    }

    /// True when the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.inner.payload.is_empty()
    }

    /// The opcode of its frame.
    pub(crate) fn opcode(&self) -> OpCode {
        self.inner.kind.opcode()
    }

    /// The uncompressed frame, shared.
    pub fn frame(&self) -> &Bytes {
        &self.inner.plain
    }

    /// The compressed frame (RSV1 set) for a window of `window_bits`, compressed
    /// at `level` by the first caller for that window and shared after.
    pub fn compressed_frame(&self, level: u32, window_bits: u8) -> &Bytes {
        let bits = window_bits.clamp(*WINDOWS.start(), *WINDOWS.end());
        let slot = &self.inner.compressed[usize::from(bits - WINDOWS.start())];
        slot.get_or_init(|| {
            let mut deflated = Vec::new();
            Compressor::new(level, bits, true).compress(&self.inner.payload, true, &mut deflated);
            let mut header = FrameHeader::new(true, self.opcode(), None, deflated.len() as u64);
            header.rsv1 = true;
            let mut frame = Vec::new();
            encode_frame(&header, &deflated, &mut frame);
            Bytes::from(frame)
        })
    }

    /// How many compressed frames were made so far (one per window size used).
    pub fn compressions(&self) -> usize {
        self.inner
            .compressed
            .iter()
            .filter(|s| s.get().is_some())
            .count()
    }
}
