//! `ServerHandshake`: arbitrary request bytes in arbitrary chunks (read through
//! `input_buffer`/`commit_input` or `feed`), then the host accepts (with any
//! subprotocol and extra headers) or declines (with any status and headers).
//!
//! Checked: the machine never asks for input it lends no room for; a head it
//! shows is the bytes received, within the limit; every answer is a parseable
//! HTTP head; an accepted 101 is one the client machine's own check accepts for
//! the offer it answers; a head that never completes is declined with 408 once
//! the deadline passes.
//!
//! Input: flags (bit 0: a head limit of 64 + `extra` bytes; 1: deflate
//! configured; 2: subprotocol `chat` supported; 3: only origin
//! `http://example.com` allowed; 4: the host declines, else accepts; 5: it
//! accepts with the subprotocol on the host line's first line; 7: read through
//! `input_buffer`, else `feed`), `extra`, the chunk size, the deflate config
//! (bits 7/6: server/client no context takeover, 5-3 and 2-0: window bits - 8),
//! then the host's lines (length byte, lines: for a decline, the status, a
//! header `name: value` and the body; for an accept, the protocol if bit 5,
//! then extra headers), then the request bytes.

#![no_main]

use std::time::Duration;

use framewire_core::deflate::{DeflateConfig, Negotiated};
use framewire_core::handshake::{
    parse_response, validate_response, Acceptance, ClientRequest, HttpResponse, ServerHandshake,
    ServerHandshakeConfig, ServerStep,
};
use framewire_core::{Config, Limits};
use framewire_fuzz::{byte, chunk, drain, rest, Unstructured};
use libfuzzer_sys::fuzz_target;

#[derive(Debug)]
enum Decision {
    Accept {
        protocol: Option<String>,
        headers: Vec<(String, String)>,
    },
    Decline {
        status: u16,
        header: Option<(String, String)>,
        body: Vec<u8>,
    },
}

/// `name: value` (invalid UTF-8 replaced), or the whole as a name with an empty value.
fn field(bytes: &[u8]) -> (String, String) {
    let s = String::from_utf8_lossy(bytes);
    match s.split_once(':') {
        Some((n, v)) => (n.to_owned(), v.to_owned()),
        None => (s.into_owned(), String::new()),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let [flags, extra, chunk_size, deflate_bits] = [(); 4].map(|()| byte(&mut u));
    let host = chunk(&mut u);
    let request = rest(&mut u);
    let on = |bit: u8| flags & (1 << bit) != 0;
    let mut config = Config::default();
    if on(0) {
        config.limits = Limits {
            max_handshake_bytes: 64 + usize::from(extra),
            ..Limits::default()
        };
    }
    let limit = config.limits.max_handshake_bytes;
    let options = ServerHandshakeConfig {
        protocols: if on(2) {
            vec!["chat".into()]
        } else {
            Vec::new()
        },
        allowed_origins: on(3).then(|| vec!["http://example.com".into()]),
        deflate: on(1).then(|| DeflateConfig {
            server_no_context_takeover: deflate_bits & 0x80 != 0,
            client_no_context_takeover: deflate_bits & 0x40 != 0,
            server_max_window_bits: 8 + (deflate_bits >> 3) % 8,
            client_max_window_bits: 8 + deflate_bits % 8,
            ..DeflateConfig::default()
        }),
    };
    let mut lines = host.split(|&b| b == b'\n');
    let decision = if on(4) {
        let status = lines.next().map_or(0, |l| {
            String::from_utf8_lossy(l)
                .trim()
                .parse()
                .unwrap_or(u16::from(extra) * 3)
        });
        Decision::Decline {
            status,
            header: lines.next().map(field),
            body: lines.next().unwrap_or_default().to_vec(),
        }
    } else {
        Decision::Accept {
            protocol: on(5)
                .then(|| String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned()),
            headers: lines.map(field).collect(),
        }
    };
    let read = on(7);
    let chunk_size = usize::from(chunk_size).max(1);
    let mut hs = ServerHandshake::new(config, options);
    hs.handle_timeout(Duration::ZERO);
    let deadline = hs
        .poll_timeout()
        .expect("the deadline starts with the first clock reading");
    let mut received = Vec::new();
    let mut chunks = request.chunks(chunk_size);
    let step = loop {
        match hs.step() {
            ServerStep::NeedInput(mut next) => {
                let Some(chunk) = chunks.next() else {
                    // The client sends nothing more: the deadline declines it.
                    next.handle_timeout(deadline);
                    match next.step() {
                        ServerStep::Declined(d) => {
                            assert_eq!(d.status, 408, "{d:?}");
                            check_head(&d.response, 408);
                            return;
                        }
                        other => panic!("no 408 after the deadline: {other:?}"),
                    }
                };
                if read {
                    let room = next.input_buffer(chunk.len());
                    assert!(
                        !room.is_empty(),
                        "the machine asks for input and lends no room"
                    );
                    let n = room.len().min(chunk.len());
                    room[..n].copy_from_slice(&chunk[..n]);
                    next.commit_input(n);
                    received.extend_from_slice(&chunk[..n]);
                } else {
                    next.feed(chunk);
                    received.extend_from_slice(chunk);
                }
                hs = next;
            }
            other => break other,
        }
    };
    let pending = match step {
        ServerStep::NeedInput(_) => unreachable!(),
        ServerStep::Declined(d) => {
            assert!((400..600).contains(&d.status), "{d:?}");
            assert!(d.error.is_some());
            check_head(&d.response, d.status);
            return;
        }
        ServerStep::Request(p) => p,
    };
    assert!(
        pending.head().len() <= limit,
        "a head of {} over the limit",
        pending.head().len()
    );
    assert!(pending.head().ends_with(b"\n"));
    assert_eq!([pending.head(), pending.rest()].concat(), received);
    let offer = pending.offer().ok().cloned();
    match decision {
        Decision::Accept { protocol, headers } => {
            match pending.accept(Acceptance { protocol, headers }) {
                Ok(mut up) => {
                    let offer = offer.expect("only a valid upgrade is accepted");
                    let (resp, n) = parse_response(&up.response, usize::MAX)
                        .expect("the 101 parses")
                        .expect("the 101 is a whole head");
                    assert_eq!(n, up.response.len());
                    assert_eq!(resp.status, 101);
                    // The client that offered this accepts the answer.
                    let request = ClientRequest {
                        host: offer.host.clone(),
                        path: "/".into(),
                        protocols: offer.protocols.clone(),
                        extensions: offer.extensions.clone(),
                        origin: offer.origin.clone(),
                        headers: Vec::new(),
                    };
                    let accepted =
                        validate_response(&resp, &offer.key, &request).unwrap_or_else(|e| {
                            panic!("the 101 fails the client's check: {e}\n{resp:?}")
                        });
                    // The same agreement seen from the other end: what one
                    // compresses with, the other inflates.
                    assert_eq!(accepted.deflate.map(from_the_other_end), up.info.deflate);
                    assert_eq!(accepted.protocol, up.info.protocol);
                    let _ = drain(&mut up.connection);
                }
                Err(d) => {
                    assert!((400..600).contains(&d.status), "{d:?}");
                    check_head(&d.response, d.status);
                }
            }
        }
        Decision::Decline {
            status,
            header,
            body,
        } => {
            let mut response = HttpResponse::new(status).body(body);
            if let Some((name, value)) = header {
                response = response.header(&name, &value);
            }
            let d = pending.decline(response);
            assert!(
                d.status == status || (d.status == 500 && d.error.is_some()),
                "{d:?}"
            );
            check_head(&d.response, d.status);
        }
    }
});

/// `n`, an agreement seen from one end, as the other end sees it.
fn from_the_other_end(n: Negotiated) -> Negotiated {
    Negotiated {
        compress_window_bits: n.decompress_window_bits,
        compress_no_context_takeover: n.decompress_no_context_takeover,
        decompress_no_context_takeover: n.compress_no_context_takeover,
        decompress_window_bits: n.compress_window_bits,
    }
}

/// `bytes` start with a whole HTTP response head with `status`.
fn check_head(bytes: &[u8], status: u16) {
    let (resp, _) = parse_response(bytes, usize::MAX)
        .unwrap_or_else(|e| {
            panic!(
                "answer does not parse: {e}: {:?}",
                String::from_utf8_lossy(bytes)
            )
        })
        .unwrap_or_else(|| {
            panic!(
                "answer is not a whole head: {:?}",
                String::from_utf8_lossy(bytes)
            )
        });
    assert_eq!(resp.status, status);
}
