//! One direction's frames, decoded by the core's inspector and turned into reports.
//!
//! This is the Rust API under the JavaScript bindings (`decodeFrames`,
//! `StreamDecoder`); it runs on the host too, for tests.

use framewire_core::frame::MAX_HEADER_LEN;
use framewire_core::inspect::{
    Direction, FrameRecord, InspectError, Inspector, InspectorConfig, Observation, Start,
};
use framewire_core::Role;

use crate::report::{BufferReport, FrameReport, Incomplete};

/// Default buffer limit: 16 MiB plus the longest header.
pub const DEFAULT_BUFFER_LIMIT: usize = 16 * 1024 * 1024 + MAX_HEADER_LEN;

/// `e`, an error of [`Decoder::new`], as a JavaScript error. Setting an inspector up
/// only fails with `BufferTooSmall`; its message is written out here because formatting
/// the whole `InspectError` linked the handshake errors' messages into the decoder module
/// (1.1 KB gzipped) for errors it cannot meet.
pub fn setup_error(e: &InspectError) -> String {
    match e {
        InspectError::BufferTooSmall(n) => format!(
            "buffer limit of {n} bytes is too small: a frame header needs up to {MAX_HEADER_LEN}"
        ),
        _ => "the decoder could not be set up".to_owned(),
    }
}

/// Decodes the frames one end sends, in chunks, with a bounded buffer.
#[derive(Debug)]
pub struct Decoder {
    inspector: Inspector,
    direction: Direction,
}

impl Decoder {
    /// A decoder for frames sent by `sender` (`None`: unknown, masking not checked)
    /// from `start`, holding at most `max_buffer` bytes of an unfinished frame.
    pub fn new(
        sender: Option<Role>,
        start: Start,
        max_buffer: usize,
    ) -> Result<Self, InspectError> {
        let config = InspectorConfig {
            start,
            check_masking: sender.is_some(),
            max_buffer,
            ..InspectorConfig::default()
        };
        Ok(Self {
            inspector: Inspector::new(config)?,
            direction: Direction::sent_by(sender.unwrap_or(Role::Client)),
        })
    }

    /// Inflates permessage-deflate messages (context kept across messages).
    pub fn enable_deflate(&mut self) {
        self.inspector
            .enable_deflate(&framewire_core::deflate::DeflateParams::default());
    }

    /// Inflates permessage-deflate messages as the server's answer `answer` agreed.
    pub fn enable_deflate_agreed(&mut self, answer: &framewire_core::deflate::DeflateParams) {
        self.inspector.enable_deflate(answer);
    }

    /// Reads the server's response head and inflates from now on if it agrees to
    /// permessage-deflate. Returns whether it does.
    pub fn enable_deflate_from_response(&mut self, head: &str) -> Result<bool, InspectError> {
        self.inspector
            .enable_deflate_from_response(&crate::handshake::normalised_head(head))
    }

    /// Takes the next chunk and returns the frames it completes.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<FrameReport> {
        self.push_records(chunk).map(FrameReport::from).collect()
    }

    /// Takes the next chunk and returns the core's records of the frames it
    /// completes, as the inspector made them (no copy, no conversion).
    pub fn push_records(&mut self, chunk: &[u8]) -> impl Iterator<Item = FrameRecord> {
        frames(self.inspector.feed(self.direction, chunk, None))
    }

    /// Takes the next chunk, owned (a JavaScript array copied into wasm memory without
    /// zeroing first), and returns the records of the frames it completes, as
    /// [`Decoder::push_records`]: the chunk becomes the buffer when none is held, else it is
    /// appended. Then reserves the rest of the frame the bytes end inside, as its header
    /// declares (up to the buffer limit), so the buffer grows once: growing it by doubling
    /// copies it in wasm each time.
    pub fn push_records_owned(&mut self, chunk: Vec<u8>) -> impl Iterator<Item = FrameRecord> {
        let seen = self.inspector.feed_owned(self.direction, chunk, None);
        self.inspector.reserve_declared(self.direction);
        frames(seen)
    }

    /// The unfinished frame at the end of what was pushed, if any.
    pub fn incomplete(&self) -> Option<Incomplete> {
        self.inspector
            .unfinished(self.direction)
            .map(Incomplete::from)
    }

    /// Bytes held for an unfinished frame.
    pub fn buffered(&self) -> usize {
        self.inspector.buffered(self.direction)
    }

    /// The buffer limit in bytes.
    pub fn limit(&self) -> usize {
        self.inspector.config().max_buffer
    }

    /// Total bytes pushed so far.
    pub fn position(&self) -> u64 {
        self.inspector.position(self.direction)
    }
}

/// The frame records among `seen`.
fn frames(seen: Vec<Observation>) -> impl Iterator<Item = FrameRecord> {
    seen.into_iter().filter_map(|o| match o {
        Observation::Frame(f) => Some(*f),
        _ => None,
    })
}

/// Decodes every frame in `bytes` sent by `sender`; the bytes may begin mid-message.
/// With `deflate`, RSV1 on a message's first frame means permessage-deflate.
pub fn decode_buffer(
    bytes: &[u8],
    sender: Option<Role>,
    deflate: bool,
) -> Result<BufferReport, InspectError> {
    // A buffer longer than the default limit is decoded whole: it is already in memory.
    let limit = bytes.len().max(DEFAULT_BUFFER_LIMIT);
    let mut d = Decoder::new(sender, Start::MidStream, limit)?;
    if deflate {
        d.enable_deflate();
    }
    let frames = d.push(bytes);
    let incomplete = d.incomplete();
    let consumed = incomplete.as_ref().map_or(bytes.len() as f64, |i| i.offset);
    Ok(BufferReport {
        frames,
        consumed,
        incomplete,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_masked_hello_and_field_ranges() {
        // RFC 6455 section 5.7, as the decode pane receives it.
        let bytes = framewire_core::hex::parse_hex("81 85 37 fa 21 3d 7f 9f 4d 51 58").unwrap();
        let r = decode_buffer(&bytes, Some(Role::Client), false).unwrap();
        let f = &r.frames[0];
        assert_eq!(f.text.as_deref(), Some("Hello"));
        assert_eq!(f.ranges.mask_key, Some([2.0, 6.0]));
        assert_eq!(f.ranges.payload, [6.0, 11.0]);
        assert_eq!(f.masked_payload, &bytes[6..]);
        assert!(f.violations.is_empty() && r.incomplete.is_none());
        assert_eq!(r.consumed, 11.0);
    }

    #[test]
    fn byte_at_a_time_matches_whole() {
        let mut wire = vec![0x81, 0x02, b'h', b'i', 0x82, 0x7E, 0x01, 0x00];
        wire.extend([5u8; 256]);
        wire.extend([0x88, 0x02, 0x03, 0xE8]);
        let whole = decode_buffer(&wire, Some(Role::Server), false)
            .unwrap()
            .frames;
        let mut d =
            Decoder::new(Some(Role::Server), Start::MidStream, DEFAULT_BUFFER_LIMIT).unwrap();
        let mut seen = Vec::new();
        for b in &wire {
            seen.extend(d.push(std::slice::from_ref(b)));
        }
        assert_eq!(seen, whole);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn a_too_small_buffer_is_named_as_the_core_names_it() {
        let e = Decoder::new(Some(Role::Client), Start::Connection, 3).unwrap_err();
        assert_eq!(setup_error(&e), e.to_string());
    }

    #[test]
    fn stream_learns_deflate_from_the_response() {
        let mut d =
            Decoder::new(Some(Role::Server), Start::Connection, DEFAULT_BUFFER_LIMIT).unwrap();
        let plain = "HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: Upgrade\n";
        assert_eq!(d.enable_deflate_from_response(plain), Ok(false));
        let agreed = format!("{plain}Sec-WebSocket-Extensions: permessage-deflate\n");
        assert_eq!(d.enable_deflate_from_response(&agreed), Ok(true));
        let f = d.push(&[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        assert_eq!(f[0].text.as_deref(), Some("Hello"));
        assert!(d.enable_deflate_from_response("not a head").is_err());
    }

    #[test]
    fn tiny_limit_is_refused() {
        assert!(Decoder::new(None, Start::Connection, 5).is_err());
    }
}
