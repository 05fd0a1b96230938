//! Differential: the inspector's verdict on any bytes is the `Connection`'s.
//!
//! The fuzzing twin of `core/tests/inspector_matches_connection.rs`, with its
//! comparison rules: a `Connection` of one role fed the bytes at once fails with
//! some error or none; the inspector fed the same bytes in chunks reports that
//! error as the first violation of the peer's direction (the close code follows,
//! as both come from `ProtocolError::close_code`), and the ending agrees. The one
//! allowed difference: two corrupt-deflate errors may differ in zlib's wording
//! (it depends on how the output is chunked: the inspector inflates frame by
//! frame, `Connection` into one message buffer).
//!
//! Input: flags (bit 0: the receiver is a client, else a server; 1: deflate;
//! 2: small limits), the frame payload, message and fragment limits (used with
//! bit 2), the inspector's chunk size, then the bytes the peer sent.

#![no_main]

use framewire_core::deflate::{DeflateConfig, DeflateParams, InflateError, Negotiated};
use framewire_core::inspect::{Direction, Inspector, InspectorConfig};
use framewire_core::{Config, Connection, Limits, ProtocolError, Role};
use framewire_fuzz::{byte, rest, Unstructured};
use libfuzzer_sys::fuzz_target;

const AGREED: Negotiated = Negotiated {
    compress_window_bits: 15,
    compress_no_context_takeover: false,
    decompress_no_context_takeover: false,
    decompress_window_bits: 15,
};

struct Case<'a> {
    role: Role,
    deflate: bool,
    config: Config,
    chunk: usize,
    bytes: &'a [u8],
}

/// What a connection fails with on the bytes fed at once.
fn connection_verdict(case: &Case<'_>) -> Option<ProtocolError> {
    let mut c = match case.role {
        Role::Server => Connection::server(case.config.clone()),
        Role::Client => Connection::client_with_seed(case.config.clone(), [7; 32]),
    };
    if case.deflate {
        c.enable_deflate(AGREED, &DeflateConfig::default());
    }
    c.feed(case.bytes);
    loop {
        match c.poll_event() {
            Ok(Some(_)) => {}
            Ok(None) => {
                if !c.has_pending_work() {
                    return None;
                }
            }
            Err(e) => return Some(e),
        }
    }
}

/// The inspector's first violation in the peer's direction, fed in chunks.
fn inspector_verdict(case: &Case<'_>) -> Option<ProtocolError> {
    let mut insp = Inspector::new(InspectorConfig::with_limits(case.config.limits))
        .expect("a buffer for the largest frame");
    if case.deflate {
        insp.enable_deflate(&DeflateParams::default());
    }
    let dir = Direction::sent_by(case.role.peer());
    for chunk in case.bytes.chunks(case.chunk) {
        insp.feed(dir, chunk, None);
    }
    let first = insp.first_violation(dir);
    assert_eq!(insp.ending().direction(dir).first_violation, first);
    first.map(|v| {
        assert_eq!(v.close_code(), v.error.close_code());
        v.error
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let [flags, frame, message, fragments, chunk] = [(); 5].map(|()| byte(&mut u));
    let mut config = Config::default();
    if flags & 4 != 0 {
        // As the property test's small limits: frame 0-119, message 0-199, 1-4 fragments.
        config.limits = Limits {
            max_frame_payload: u64::from(frame % 120),
            max_message: u64::from(message % 200),
            max_fragments: 1 + u32::from(fragments % 4),
            ..Limits::default()
        };
    }
    let case = Case {
        role: if flags & 1 != 0 {
            Role::Client
        } else {
            Role::Server
        },
        deflate: flags & 2 != 0,
        config,
        chunk: 1 + usize::from(chunk % 64),
        bytes: rest(&mut u),
    };
    let expected = connection_verdict(&case);
    let got = inspector_verdict(&case);
    match (&got, &expected) {
        (
            Some(ProtocolError::Inflate(InflateError::Corrupt(_))),
            Some(ProtocolError::Inflate(InflateError::Corrupt(_))),
        ) => {}
        _ => assert_eq!(
            got, expected,
            "inspector (left) and Connection (right) disagree on {:02x?}",
            case.bytes
        ),
    }
});
