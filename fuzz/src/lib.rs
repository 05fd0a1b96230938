//! Pieces the fuzz targets share: draining a connection while checking what it
//! lends out, and checking that everything it writes is valid RFC 6455 as the
//! core's own inspector reads it.

pub use arbitrary::{Arbitrary, Unstructured};
use framewire_core::deflate::Negotiated;
use framewire_core::inspect::{Direction, Inspector, InspectorConfig};
use framewire_core::{Connection, Event, ProtocolError, Role};

/// Checks what an event may hold whatever the peer sent.
pub fn check_event(event: &Event<'_>) {
    match event {
        Event::Ping(p) | Event::Pong(p) => assert!(p.len() <= 125, "control payload {}", p.len()),
        Event::Close { code, reason } => {
            if let Some(code) = code {
                assert!(code.is_allowed_on_wire(), "close event with code {code}");
            } else {
                assert!(reason.is_empty(), "a close without a code has no reason");
            }
            assert!(
                reason.len() <= 123,
                "close reason of {} bytes",
                reason.len()
            );
        }
        _ => {}
    }
}

/// Polls `conn` until it needs input (`Ok(n)`, the events taken) or fails.
/// A failure is reported once: the connection is closed after it and polls `Ok(None)`.
pub fn drain(conn: &mut Connection) -> Result<usize, ProtocolError> {
    let mut n = 0usize;
    loop {
        match conn.poll_event() {
            Ok(Some(event)) => {
                check_event(&event);
                n += 1;
            }
            Ok(None) => {
                if !conn.has_pending_work() {
                    return Ok(n);
                }
            }
            Err(e) => {
                assert!(conn.is_closed(), "a failed connection is closed ({e})");
                assert!(
                    matches!(conn.poll_event(), Ok(None)),
                    "a failure is reported once"
                );
                return Err(e);
            }
        }
    }
}

/// Reads everything one end writes and fails on the first rule it breaks.
pub struct OutputCheck {
    inspector: Inspector,
    dir: Direction,
    /// Bytes taken from the connection so far.
    pub written: u64,
}

impl OutputCheck {
    /// A check of what a `role` end writes (compressed as `deflate` agreed, if on).
    pub fn new(role: Role, deflate: Option<&Negotiated>) -> Self {
        let mut inspector = Inspector::new(InspectorConfig::default()).expect("default config");
        if let Some(agreed) = deflate {
            inspector.enable_deflate_negotiated(role, agreed);
        }
        Self {
            inspector,
            dir: Direction::sent_by(role),
            written: 0,
        }
    }

    /// Takes up to `max` bytes of `conn`'s output, as a host's write would.
    pub fn write(&mut self, conn: &mut Connection, max: usize) {
        let parts = conn.pending_output_vectored();
        let total: usize = parts.iter().map(|p| p.len()).sum();
        assert_eq!(
            total,
            conn.pending_len(),
            "pending_len and the vectored parts agree"
        );
        let first = conn.pending_output();
        let joined: Vec<u8> = parts.concat();
        assert!(
            joined.starts_with(first),
            "pending_output is the start of the output"
        );
        let n = first.len().min(max);
        let taken = first[..n].to_vec();
        conn.consume_output(n);
        self.see(&taken);
    }

    /// Takes all of `conn`'s output.
    pub fn write_all(&mut self, conn: &mut Connection) {
        while conn.pending_len() > 0 {
            let before = conn.pending_len();
            self.write(conn, usize::MAX);
            assert!(conn.pending_len() < before, "consume_output makes progress");
        }
        assert!(conn.pending_output().is_empty());
    }

    fn see(&mut self, bytes: &[u8]) {
        self.written += bytes.len() as u64;
        self.inspector.feed(self.dir, bytes, None);
        self.finish();
    }

    /// Fails on the first rule the output so far breaks (the arrived part of an
    /// unfinished frame included: what breaks a rule there stays broken).
    pub fn finish(&self) {
        if let Some(v) = self.inspector.first_violation(self.dir) {
            panic!(
                "the connection wrote bytes that break {} at offset {}: {}",
                v.rule(),
                v.offset,
                v.error
            );
        }
    }
}

// The targets read their inputs as single bytes and length-prefixed byte
// strings, so a seed can be written by hand (each target documents its format).
// Short input reads as zeros and empty strings.

/// One byte (0 when none is left).
pub fn byte(u: &mut Unstructured<'_>) -> u8 {
    u.arbitrary().unwrap_or(0)
}

/// Two bytes, big-endian.
pub fn u16_be(u: &mut Unstructured<'_>) -> u16 {
    u16::from_be_bytes([byte(u), byte(u)])
}

/// `n` bytes, or all that is left when fewer.
pub fn bytes<'a>(u: &mut Unstructured<'a>, n: usize) -> &'a [u8] {
    let n = n.min(u.len());
    u.bytes(n).unwrap_or_default()
}

/// A byte string preceded by its length (one byte).
pub fn chunk<'a>(u: &mut Unstructured<'a>) -> &'a [u8] {
    let n = usize::from(byte(u));
    bytes(u, n)
}

/// Everything left.
pub fn rest<'a>(u: &mut Unstructured<'a>) -> &'a [u8] {
    let n = u.len();
    bytes(u, n)
}
