//! `ClientHandshake`: a fixed request (two subprotocols, permessage-deflate
//! offered or not) and arbitrary response bytes in arbitrary chunks.
//!
//! Input: a flags byte (bit 0: offer deflate; bit 1: the server ends the
//! transport after its bytes; bit 2: read through `input_buffer`), a chunk size
//! byte, then the server's bytes. The key is RFC 6455's example key, so a seed
//! with `Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=` gets through.
//!
//! Checked: the machine never asks for input it lends no room for, never waits
//! after the transport ended or the deadline passed; an established connection
//! has what the answer agreed to; a refusal's body is bounded.

#![no_main]

use std::time::Duration;

use framewire_core::deflate::DeflateConfig;
use framewire_core::handshake::{ClientHandshake, ClientRequest, ClientStep};
use framewire_core::{Config, Limits};
use framewire_fuzz::{drain, OutputCheck};
use libfuzzer_sys::fuzz_target;

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fuzz_target!(|data: &[u8]| {
    let [flags, chunk, response @ ..] = data else {
        return;
    };
    let (deflate, ends, read) = (flags & 1 != 0, flags & 2 != 0, flags & 4 != 0);
    let chunk = usize::from(*chunk).max(1);
    let config = Config {
        limits: Limits {
            max_handshake_bytes: 512,
            ..Limits::default()
        },
        ..Config::default()
    };
    let limit = config.limits.max_handshake_bytes;
    let request = ClientRequest {
        host: "example.com".into(),
        path: "/chat".into(),
        protocols: vec!["chat".into(), "superchat".into()],
        ..ClientRequest::default()
    };
    let mut hs = ClientHandshake::with_key_and_seed(
        config,
        request,
        deflate.then(DeflateConfig::default),
        KEY.into(),
        [9; 32],
    )
    .expect("a valid request");
    assert!(hs.pending_output().starts_with(b"GET /chat HTTP/1.1\r\n"));
    let n = hs.pending_output().len();
    hs.consume_output(n);
    assert!(hs.pending_output().is_empty());
    hs.handle_timeout(Duration::ZERO);
    let deadline = hs
        .poll_timeout()
        .expect("the deadline starts with the first clock reading");

    let mut pieces = response.chunks(chunk);
    let mut ended = false;
    let mut timed_out = false;
    let step = loop {
        match hs.step() {
            ClientStep::NeedInput(mut next) => {
                assert!(!ended, "the machine waits after the transport ended");
                assert!(!timed_out, "the machine waits after the deadline");
                match pieces.next() {
                    Some(piece) if read => {
                        let room = next.input_buffer(piece.len());
                        assert!(
                            !room.is_empty(),
                            "the machine asks for input and lends no room"
                        );
                        let n = room.len().min(piece.len());
                        room[..n].copy_from_slice(&piece[..n]);
                        next.commit_input(n);
                    }
                    Some(piece) => next.feed(piece),
                    None if ends => {
                        next.end_of_input();
                        ended = true;
                    }
                    None => {
                        next.handle_timeout(deadline);
                        timed_out = true;
                    }
                }
                hs = next;
            }
            other => break other,
        }
    };
    match step {
        ClientStep::NeedInput(_) => unreachable!(),
        ClientStep::Established(mut est) => {
            if let Some(p) = &est.info.protocol {
                assert!(
                    p == "chat" || p == "superchat",
                    "protocol {p:?} was not offered"
                );
            }
            assert_eq!(est.connection.deflate_enabled(), est.info.deflate.is_some());
            assert!(
                deflate || est.info.deflate.is_none(),
                "deflate on without an offer"
            );
            let _ = drain(&mut est.connection);
            let mut out = OutputCheck::new(framewire_core::Role::Client, est.info.deflate.as_ref());
            let _ = est.connection.send_text("after the handshake");
            out.write_all(&mut est.connection);
        }
        ClientStep::Refused(r) => {
            assert_ne!(r.status, 101);
            assert!(
                r.body.len() <= limit,
                "a body of {} bytes kept",
                r.body.len()
            );
        }
        ClientStep::Failed(_) => {}
    }
});
