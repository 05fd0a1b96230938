//! permessage-deflate: header parsing and negotiation on both sides, then
//! inflation through a deflate-enabled connection (real compressed messages,
//! raw RSV1 frames with any payload, and control frames between fragments).
//!
//! Checked: extension headers round-trip through `format_extensions`; whatever
//! the server answers, the client that offered it accepts, and the two ends
//! agree on who resets which context; the client only agrees to window bits
//! of 8-15; a connection gives back exactly the messages the peer's compressor
//! compressed, never a message over its limit; the compressor's output decodes
//! with a window of the negotiated size; what the connection writes is valid.
//!
//! Input: flags (bit 0: the connection is the server, else the client; 1/2:
//! server/client no context takeover configured; 3: the message limit is the
//! next two bytes), the compression level, server and client window bits (each
//! 8 + n % 8), the message limit (2 bytes, big-endian), the client's
//! `Sec-WebSocket-Extensions` (length byte, one header per line), a server's
//! answer to this crate's offer (length byte), then messages until the input
//! ends: an even tag, flags (bit 0 text, bit 1 split), a repeat count (1 + n %
//! 16) and data (length byte) for a real compressed message; an odd tag, the
//! first byte and the payload (length byte) for a raw frame.

#![no_main]

use flate2::{Decompress, FlushDecompress};
use framewire_core::deflate::{
    client_accept, client_offer, server_negotiate, Compressor, DeflateConfig, DeflateParams,
    Negotiated, EXTENSION_NAME,
};
use framewire_core::frame::{encode_frame, FrameHeader};
use framewire_core::handshake::{format_extensions, parse_extensions};
use framewire_core::{Config, Connection, Event, Limits, OpCode, ProtocolError, Role};
use framewire_fuzz::{byte, check_event, chunk, u16_be, OutputCheck, Unstructured};
use libfuzzer_sys::fuzz_target;

#[derive(Debug)]
enum Msg {
    /// A message the peer compresses for real, in one frame or two (a ping between).
    Real {
        data: Vec<u8>,
        text: bool,
        split: bool,
    },
    /// A frame with any first byte (RSV1 and all) and any payload.
    Raw { b0: u8, payload: Vec<u8> },
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let [flags, level, s_bits, c_bits] = [(); 4].map(|()| byte(&mut u));
    let max_message = u16_be(&mut u);
    let offer_text = String::from_utf8_lossy(chunk(&mut u)).into_owned();
    let answer_text = String::from_utf8_lossy(chunk(&mut u)).into_owned();
    let mut messages = Vec::new();
    while !u.is_empty() {
        messages.push(if byte(&mut u) & 1 == 0 {
            let flags = byte(&mut u);
            let times = 1 + usize::from(byte(&mut u) % 16);
            Msg::Real {
                text: flags & 1 != 0,
                split: flags & 2 != 0,
                data: chunk(&mut u).repeat(times),
            }
        } else {
            Msg::Raw {
                b0: byte(&mut u),
                payload: chunk(&mut u).to_vec(),
            }
        });
    }
    let on = |bit: u8| flags & (1 << bit) != 0;
    let cfg = DeflateConfig {
        level: u32::from(level % 10),
        min_size: 0,
        server_no_context_takeover: on(1),
        client_no_context_takeover: on(2),
        server_max_window_bits: 8 + s_bits % 8,
        client_max_window_bits: 8 + c_bits % 8,
        ..DeflateConfig::default()
    };

    // The client's offer (one header line per text line), as the server reads it.
    let offers = parse_extensions(offer_text.lines());
    let mut agreed_server = None;
    if let Ok(offers) = &offers {
        let formatted = format_extensions(offers);
        assert_eq!(
            parse_extensions([formatted.as_str()]).as_ref(),
            Ok(offers),
            "{formatted:?}"
        );
        if let Some((answer, server)) = server_negotiate(offers, &cfg) {
            assert!(answer.name == EXTENSION_NAME);
            assert!((8..=15).contains(&server.compress_window_bits));
            assert!(server.compress_window_bits <= cfg.server_max_window_bits);
            // The client accepts the answer against the offer it answers (the first valid one).
            let offer = offers
                .iter()
                .filter(|o| o.name.eq_ignore_ascii_case(EXTENSION_NAME))
                .find(|o| DeflateParams::parse(o).is_ok())
                .expect("an answer answers a valid offer");
            let client = client_accept(&answer, offer).unwrap_or_else(|e| {
                panic!("the client refuses the answer {answer:?} to {offer:?}: {e}")
            });
            assert_eq!(
                client.compress_no_context_takeover,
                server.decompress_no_context_takeover
            );
            assert_eq!(
                client.decompress_no_context_takeover,
                server.compress_no_context_takeover
            );
            assert!((8..=15).contains(&client.compress_window_bits));
            agreed_server = Some((server, client));
        }
    }

    // Any answer to this crate's own offer.
    let own_offer = client_offer(&cfg);
    if let Ok(answers) = parse_extensions([answer_text.as_str()]) {
        for answer in &answers {
            if let Ok(agreed) = client_accept(answer, &own_offer) {
                assert!(
                    (8..=15).contains(&agreed.compress_window_bits),
                    "{agreed:?}"
                );
                // The server may not raise the window the client asked to cap.
                assert!(agreed.compress_window_bits <= cfg.client_max_window_bits);
            }
        }
    }

    // Inflation through a connection, with what negotiation agreed (or defaults).
    let (server_side, client_side) = agreed_server.unwrap_or((
        Negotiated {
            compress_window_bits: 15,
            compress_no_context_takeover: false,
            decompress_no_context_takeover: false,
            decompress_window_bits: 15,
        },
        Negotiated {
            compress_window_bits: 15,
            compress_no_context_takeover: false,
            decompress_no_context_takeover: false,
            decompress_window_bits: 15,
        },
    ));
    let (role, ours, peers) = if on(0) {
        (Role::Server, server_side, client_side)
    } else {
        (Role::Client, client_side, server_side)
    };
    let mut config = Config::default();
    if on(3) {
        config.limits = Limits {
            max_message: u64::from(max_message),
            ..Limits::default()
        };
    }
    let max_message = config.limits.max_message;
    // Small inflation steps too, so that messages inflate across many polls.
    config.limits.inflate_step = 1 + u32::from(max_message as u16) % 5000;
    let mut conn = match role {
        Role::Server => Connection::server(config),
        Role::Client => Connection::client_with_seed(config, [3; 32]),
    };
    conn.enable_deflate(ours, &cfg);
    let mut peer = Compressor::new(
        u32::from(level % 10),
        peers.compress_window_bits,
        peers.compress_no_context_takeover,
    );
    let mut window = WindowCheck::new(&peers);
    let masked = role == Role::Server;
    let frame = |out: &mut Vec<u8>, b0: u8, payload: &[u8]| {
        let mut h = FrameHeader::new(
            b0 & 0x80 != 0,
            OpCode::Binary,
            masked.then_some([1, 2, 3, 4]),
            payload.len() as u64,
        );
        h.opcode = b0 & 0x0F;
        h.rsv1 = b0 & 0x40 != 0;
        h.rsv2 = b0 & 0x20 != 0;
        h.rsv3 = b0 & 0x10 != 0;
        encode_frame(&h, payload, out);
    };
    let all_real = messages.iter().all(|m| matches!(m, Msg::Real { .. }));
    let mut out = OutputCheck::new(role, Some(&ours));
    let mut failed = false;
    for msg in &messages {
        let mut wire = Vec::new();
        let mut expected = None;
        match msg {
            Msg::Real { data, text, split } => {
                let op = if *text { 0x1 } else { 0x2 };
                let mut payload = Vec::new();
                peer.compress(data, true, &mut payload);
                window.check(&payload, data);
                if *split && payload.len() > 1 {
                    let half = payload.len() / 2;
                    frame(&mut wire, 0x40 | op, &payload[..half]);
                    frame(&mut wire, 0x89, b"between");
                    frame(&mut wire, 0x80, &payload[half..]);
                } else {
                    frame(&mut wire, 0xC0 | op, &payload);
                }
                expected = Some((data.clone(), *text));
            }
            Msg::Raw { b0, payload } => frame(&mut wire, *b0, payload),
        }
        conn.feed(&wire);
        let mut got = None;
        loop {
            match conn.poll_event() {
                Ok(Some(event)) => {
                    check_event(&event);
                    match event {
                        Event::Text(t) => {
                            assert!(t.len() as u64 <= max_message);
                            got = Some((t.as_bytes().to_vec(), true));
                        }
                        Event::Binary(b) => {
                            assert!(b.len() as u64 <= max_message);
                            got = Some((b.to_vec(), false));
                        }
                        _ => {}
                    }
                }
                Ok(None) => {
                    if !conn.has_pending_work() {
                        break;
                    }
                }
                Err(e) => {
                    if all_real && !failed {
                        let (data, text) = expected.as_ref().expect("only a message fails");
                        let allowed = matches!(
                            e,
                            ProtocolError::MessageTooBig { .. }
                                | ProtocolError::Inflate(
                                    framewire_core::deflate::InflateError::TooBig { .. }
                                )
                        ) && data.len() as u64 > max_message
                            || (*text
                                && std::str::from_utf8(data).is_err()
                                && matches!(e, ProtocolError::InvalidUtf8 { .. }));
                        assert!(allowed, "a real message of {} bytes fails: {e}", data.len());
                    }
                    failed = true;
                    break;
                }
            }
        }
        if all_real && !failed {
            assert_eq!(
                got, expected,
                "the message does not come back as compressed"
            );
        }
        out.write(&mut conn, usize::MAX);
    }
    out.write_all(&mut conn);
    out.finish();
});

/// Inflates what the peer's compressor writes with a window of the size it agreed to.
struct WindowCheck {
    d: Decompress,
    bits: u8,
    reset: bool,
}

impl WindowCheck {
    fn new(peer: &Negotiated) -> Self {
        // flate2 opens raw windows of 9-15 bits; for 8 the compressor uses 9 and
        // keeps its distances within 8 bits (a real 8-bit check is not possible here).
        let bits = peer.compress_window_bits.max(9);
        Self {
            d: Decompress::new_with_window_bits(false, bits),
            bits,
            reset: peer.compress_no_context_takeover,
        }
    }

    fn check(&mut self, payload: &[u8], data: &[u8]) {
        let mut input = payload.to_vec();
        input.extend_from_slice(&[0x00, 0x00, 0xFF, 0xFF]);
        let mut out = Vec::with_capacity(data.len() + 1024);
        let before = self.d.total_in();
        self.d
            .decompress_vec(&input, &mut out, FlushDecompress::Sync)
            .unwrap_or_else(|e| {
                panic!(
                    "a {}-bit window cannot inflate the peer's message: {e}",
                    self.bits
                )
            });
        assert_eq!(self.d.total_in() - before, input.len() as u64);
        assert_eq!(
            out, data,
            "a {}-bit window inflates something else",
            self.bits
        );
        if self.reset {
            self.d = Decompress::new_with_window_bits(false, self.bits);
        }
    }
}
