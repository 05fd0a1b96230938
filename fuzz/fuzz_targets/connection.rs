//! The `Connection` state machine in either role: arbitrary peer bytes (raw, or
//! well-formed frames with any first byte) in arbitrary chunks, interleaved with
//! every kind of send, partial writes and clock steps.
//!
//! Checked besides "no panic": events are what the API promises, a failure is
//! reported once, everything the connection writes is valid RFC 6455 for its role
//! (read by the core's inspector), and `poll_timeout` never keeps asking for the
//! present moment.
//!
//! Input: the setup (8 bytes: flags — bit 0 client, 1 small limits, 2 keepalive,
//! 3 idle timeout, 4 deflate, 5/6 our/their no-context-takeover, 7 vectored
//! output — then frame, message and fragment limits, ping, idle and close
//! timeouts in ms, window bits), then ops until the input ends (see [`Op`]).

#![no_main]

use std::time::Duration;

use framewire_core::deflate::{Compressor, DeflateConfig, Negotiated};
use framewire_core::frame::{encode_frame, FrameHeader};
use framewire_core::{CloseCode, Config, Connection, DataKind, Limits, OpCode, Role};
use framewire_fuzz::{
    byte, check_event, chunk, drain, u16_be, Arbitrary, OutputCheck, Unstructured,
};
use libfuzzer_sys::fuzz_target;

/// The connection's setup: 8 bytes.
#[derive(Debug)]
struct Setup {
    client: bool,
    /// Frame payload, message and fragment limits.
    small_limits: Option<(u8, u8, u8)>,
    /// Milliseconds, each at least 1.
    ping_interval: Option<u8>,
    idle_timeout: Option<u8>,
    close_timeout: u8,
    /// Window bits (8-15) and the two no-context-takeover flags.
    deflate: Option<(u8, bool, bool)>,
    vectored: bool,
}

impl<'a> Arbitrary<'a> for Setup {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let flags = byte(u);
        let [frame, message, fragments, ping, idle, close, bits] = [(); 7].map(|()| byte(u));
        let on = |bit: u8| flags & (1 << bit) != 0;
        Ok(Self {
            client: on(0),
            small_limits: on(1).then_some((frame, message, fragments)),
            ping_interval: on(2).then_some(ping),
            idle_timeout: on(3).then_some(idle),
            close_timeout: close,
            deflate: on(4).then_some((bits, on(5), on(6))),
            vectored: on(7),
        })
    }
}

/// One step of the host or the peer: a tag byte, then its arguments.
#[derive(Debug)]
enum Op {
    /// 0, len, bytes: raw bytes from the peer.
    Feed(Vec<u8>),
    /// 1, b0, wrong_mask, len, payload: one frame from the peer with this first
    /// byte, masked as its role requires unless `wrong_mask` is odd.
    Frame {
        b0: u8,
        wrong_mask: bool,
        payload: Vec<u8>,
    },
    /// 2, ping_between, len, cuts, len, text: a text message from the peer in
    /// fragments cut at byte positions (splitting characters), maybe pings between.
    Fragments {
        text: Vec<u8>,
        cuts: Vec<u8>,
        ping_between: bool,
    },
    /// 3, flags (bit 0 text, bit 1 split), len, data: a message the peer compresses
    /// (meaningful when deflate is on).
    Compressed {
        data: Vec<u8>,
        text: bool,
        split: bool,
    },
    /// 4: take events until the connection needs input.
    Poll,
    /// 5: take one event and answer it through the lent sender (an echo).
    Echo,
    /// 6, len, text (invalid UTF-8 replaced).
    SendText(String),
    /// 7, len, bytes.
    SendBinary(Vec<u8>),
    /// 8, flags (bit 0 text, bit 1 fin), len, bytes.
    SendFragment {
        text: bool,
        data: Vec<u8>,
        fin: bool,
    },
    /// 9, len, bytes.
    Ping(Vec<u8>),
    /// 10, len, bytes.
    Pong(Vec<u8>),
    /// 11, code (2 bytes), len, reason (invalid UTF-8 replaced).
    Close { code: u16, reason: String },
    /// 12, n (2 bytes): the host writes up to n bytes.
    Write(u16),
    /// 13, ms: the clock moves on.
    Tick(u8),
    /// 14, on.
    Vectored(bool),
}

impl<'a> Arbitrary<'a> for Op {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Ok(match byte(u) % 15 {
            0 => Op::Feed(chunk(u).to_vec()),
            1 => Op::Frame {
                b0: byte(u),
                wrong_mask: byte(u) & 1 != 0,
                payload: chunk(u).to_vec(),
            },
            2 => Op::Fragments {
                ping_between: byte(u) & 1 != 0,
                cuts: chunk(u).to_vec(),
                text: chunk(u).to_vec(),
            },
            3 => {
                let flags = byte(u);
                Op::Compressed {
                    text: flags & 1 != 0,
                    split: flags & 2 != 0,
                    data: chunk(u).to_vec(),
                }
            }
            4 => Op::Poll,
            5 => Op::Echo,
            6 => Op::SendText(text(chunk(u))),
            7 => Op::SendBinary(chunk(u).to_vec()),
            8 => {
                let flags = byte(u);
                Op::SendFragment {
                    text: flags & 1 != 0,
                    fin: flags & 2 != 0,
                    data: chunk(u).to_vec(),
                }
            }
            9 => Op::Ping(chunk(u).to_vec()),
            10 => Op::Pong(chunk(u).to_vec()),
            11 => Op::Close {
                code: u16_be(u),
                reason: text(chunk(u)),
            },
            12 => Op::Write(u16_be(u)),
            13 => Op::Tick(byte(u)),
            _ => Op::Vectored(byte(u) & 1 != 0),
        })
    }
}

fn ms(n: u8) -> Duration {
    Duration::from_millis(u64::from(n).max(1))
}

struct Peer {
    role: Role,
    compressor: Compressor,
    key: [u8; 4],
}

impl Peer {
    fn frame(&mut self, out: &mut Vec<u8>, b0: u8, wrong_mask: bool, payload: &[u8]) {
        let masked = (self.role == Role::Client) != wrong_mask;
        self.key = self.key.map(|b| b.wrapping_mul(31).wrapping_add(7));
        let mut header = FrameHeader::new(
            b0 & 0x80 != 0,
            OpCode::Binary,
            masked.then_some(self.key),
            payload.len() as u64,
        );
        header.opcode = b0 & 0x0F;
        header.rsv1 = b0 & 0x40 != 0;
        header.rsv2 = b0 & 0x20 != 0;
        header.rsv3 = b0 & 0x10 != 0;
        encode_frame(&header, payload, out);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let setup = Setup::arbitrary(&mut u).expect("a setup reads any bytes");
    let mut ops = Vec::new();
    while !u.is_empty() {
        ops.push(Op::arbitrary(&mut u).expect("ops read any bytes"));
    }
    let role = if setup.client {
        Role::Client
    } else {
        Role::Server
    };
    let mut config = Config {
        ping_interval: setup.ping_interval.map(ms),
        idle_timeout: setup.idle_timeout.map(ms),
        close_timeout: ms(setup.close_timeout),
        ..Config::default()
    };
    if let Some((frame, message, fragments)) = setup.small_limits {
        config.limits = Limits {
            max_frame_payload: u64::from(frame),
            max_message: u64::from(message),
            max_fragments: u32::from(fragments).max(1),
            ..Limits::default()
        };
    }
    let mut conn = match role {
        Role::Server => Connection::server(config),
        Role::Client => Connection::client_with_seed(config, [7; 32]),
    };
    let agreed = setup.deflate.map(|(bits, ours, theirs)| Negotiated {
        compress_window_bits: 8 + bits % 8,
        compress_no_context_takeover: ours,
        decompress_no_context_takeover: theirs,
        // The peer below may compress with any window: keep all of it.
        decompress_window_bits: 15,
    });
    if let Some(agreed) = agreed {
        conn.enable_deflate(agreed, &DeflateConfig::default());
    }
    conn.set_vectored_output(setup.vectored);
    let mut peer = Peer {
        role: role.peer(),
        compressor: Compressor::new(
            6,
            15,
            agreed.is_some_and(|a| a.decompress_no_context_takeover),
        ),
        key: [1, 2, 3, 4],
    };
    let mut out = OutputCheck::new(role, agreed.as_ref());
    let mut now = Duration::ZERO;
    conn.handle_timeout(now);

    for op in ops {
        match op {
            Op::Feed(bytes) => conn.feed(&bytes),
            Op::Frame {
                b0,
                wrong_mask,
                payload,
            } => {
                let mut bytes = Vec::new();
                peer.frame(&mut bytes, b0, wrong_mask, &payload);
                conn.feed(&bytes);
            }
            Op::Fragments {
                text,
                cuts,
                ping_between,
            } => {
                // The bytes of a text (fragment boundaries may split characters).
                let bytes = &text[..];
                let mut points: Vec<usize> = cuts
                    .iter()
                    .map(|&c| usize::from(c) % (bytes.len() + 1))
                    .chain([bytes.len()])
                    .collect();
                points.sort_unstable();
                points.dedup();
                let mut wire = Vec::new();
                let mut start = 0;
                for (i, &end) in points.iter().enumerate() {
                    let last = end == bytes.len();
                    let op = if i == 0 { 0x1 } else { 0x0 };
                    peer.frame(
                        &mut wire,
                        op | (u8::from(last) << 7),
                        false,
                        &bytes[start..end],
                    );
                    if ping_between && !last {
                        peer.frame(&mut wire, 0x89, false, b"ping");
                    }
                    start = end;
                }
                conn.feed(&wire);
            }
            Op::Compressed { data, text, split } => {
                let mut payload = Vec::new();
                peer.compressor.compress(&data, true, &mut payload);
                let op = if text { 0x1 } else { 0x2 };
                let mut wire = Vec::new();
                if split && payload.len() > 1 {
                    let half = payload.len() / 2;
                    peer.frame(&mut wire, 0x40 | op, false, &payload[..half]);
                    peer.frame(&mut wire, 0x80, false, &payload[half..]);
                } else {
                    peer.frame(&mut wire, 0xC0 | op, false, &payload);
                }
                conn.feed(&wire);
            }
            Op::Poll => {
                let _ = drain(&mut conn);
            }
            Op::Echo => {
                if let Ok(Some((event, tx))) = conn.poll_event_and_sender() {
                    check_event(&event);
                    let _ = match event {
                        framewire_core::Event::Text(t) => tx.send_text(t),
                        framewire_core::Event::Binary(b) => tx.send_binary(b),
                        framewire_core::Event::Ping(p) => tx.send_pong(p),
                        _ => Ok(()),
                    };
                }
            }
            Op::SendText(t) => {
                let _ = conn.send_text(&t);
            }
            Op::SendBinary(b) => {
                let _ = conn.send_binary(&b);
            }
            Op::SendFragment { text, data, fin } => {
                let kind = if text {
                    DataKind::Text
                } else {
                    DataKind::Binary
                };
                let _ = conn.send_fragment(kind, &data, fin);
            }
            Op::Ping(p) => {
                let _ = conn.send_ping(&p);
            }
            Op::Pong(p) => {
                let _ = conn.send_pong(&p);
            }
            Op::Close { code, reason } => {
                let _ = conn.close(CloseCode(code), &reason);
            }
            Op::Write(n) => out.write(&mut conn, usize::from(n)),
            Op::Tick(n) => {
                now += Duration::from_millis(u64::from(n));
                tick(&mut conn, now);
            }
            Op::Vectored(on) => conn.set_vectored_output(on),
        }
    }
    let _ = drain(&mut conn);
    out.write_all(&mut conn);
    out.finish();
});

/// Calls `handle_timeout` as a host does: whenever `poll_timeout` has passed.
fn tick(conn: &mut Connection, now: Duration) {
    conn.handle_timeout(now);
    for _ in 0..3 {
        match conn.poll_timeout() {
            Some(at) if at <= now => conn.handle_timeout(now),
            _ => return,
        }
    }
    panic!(
        "poll_timeout still asks for {:?} at {now:?} after handle_timeout",
        conn.poll_timeout()
    );
}
