//! Wire bytes and CPU against memory for permessage-deflate settings on realistic JSON
//! (about 1 KiB, repeated keys, varying values: the bench's deflate-mem messages).
//!
//! Prints a table (`cargo test -p framewire-core --release --test deflate_table -- --nocapture`)
//! and checks that every setting round-trips and that the defaults stay within 10% of the
//! bytes a long-lived 15-bit zlib state with context takeover writes.

use std::time::Instant;

use flate2::{Compress, Compression, FlushCompress};
use framewire_core::deflate::{Compressor, Decompressor, DeflateConfig};

/// SplitMix64: a small deterministic generator for the message contents.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const SYMBOLS: [&str; 12] = [
    "BTC-EUR", "ETH-EUR", "SOL-EUR", "ADA-EUR", "XRP-EUR", "DOT-EUR", "BTC-USD", "ETH-USD",
    "SOL-USD", "LTC-USD", "AVAX-USD", "LINK-USD",
];
const USERS: [&str; 8] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
];
const WORDS: [&str; 16] = [
    "the", "price", "is", "moving", "fast", "today", "buy", "sell", "hold", "watch", "that",
    "breakout", "support", "level", "nice", "call",
];

/// A JSON message of about 1 KiB as a trading feed with a chat sends: repeated keys,
/// varying values. Deterministic in (`conn`, `seq`).
pub fn json_message(conn: u64, seq: u64) -> String {
    use std::fmt::Write as _;
    let mut rng = Rng(conn.wrapping_mul(0x1_0000_0001) ^ seq.wrapping_mul(0x2545_F491_4F6C_DD1D));
    let ts = 1_764_979_200_000 + conn * 997 + seq * 250 + rng.below(250);
    let mut s = String::with_capacity(1100);
    if seq % 4 == 3 {
        let _ = write!(
            s,
            r#"{{"type":"chat","channel":"room-{}","seq":{seq},"ts":{ts},"messages":["#,
            conn % 32
        );
        while s.len() < 960 {
            let mut text = String::new();
            for _ in 0..4 + rng.below(10) {
                text.push_str(WORDS[rng.below(16) as usize]);
                text.push(' ');
            }
            text.pop();
            let _ = write!(
                s,
                r#"{{"id":"{:016x}","user":"{}","text":"{text}","reactions":{}}},"#,
                rng.next(),
                USERS[rng.below(8) as usize],
                rng.below(5)
            );
        }
    } else {
        let _ = write!(
            s,
            r#"{{"type":"ticker","channel":"market.{}","seq":{seq},"ts":{ts},"data":["#,
            if conn % 2 == 0 { "eu" } else { "us" }
        );
        while s.len() < 900 {
            let price = 100 + rng.below(50_000);
            let cents = rng.below(100);
            let spread = 1 + rng.below(40);
            let _ = write!(
                s,
                r#"{{"symbol":"{}","bid":"{price}.{cents:02}","ask":"{}.{:02}","volume":"{}.{:04}","change":"{}{}.{:02}","trades":{}}},"#,
                SYMBOLS[rng.below(12) as usize],
                price + (cents + spread) / 100,
                (cents + spread) % 100,
                rng.below(100_000),
                rng.below(10_000),
                if rng.below(2) == 0 { "-" } else { "" },
                rng.below(9),
                rng.below(100),
                rng.below(20_000)
            );
        }
    }
    s.pop();
    s.push_str("]}");
    s
}

const CONNS: u64 = 40;

/// Compressed bytes per message from a long-lived zlib state with a `bits` window (what a
/// browser, or framewire before, does), over `msgs` messages on each of `CONNS` connections.
fn long_lived(bits: u8, msgs: u64) -> (f64, f64) {
    let mut total = 0;
    let t = Instant::now();
    for conn in 0..CONNS {
        let mut c = Compress::new_with_window_bits(Compression::new(1), false, bits.max(9));
        for seq in 0..msgs {
            let m = json_message(conn, seq);
            let mut out = Vec::with_capacity(2048);
            c.compress_vec(m.as_bytes(), &mut out, FlushCompress::Sync)
                .unwrap();
            total += out.len() - 4;
        }
    }
    let us = t.elapsed().as_secs_f64() * 1e6 / (CONNS * msgs) as f64;
    (total as f64 / (CONNS * msgs) as f64, us)
}

/// Compressed bytes per message and µs per message from framewire's compressor keeping
/// `history` bytes; every message is inflated back with a decompressor for a 15-bit peer.
fn lent(history: usize, msgs: u64) -> (f64, f64) {
    let mut total = 0;
    let t = Instant::now();
    let mut wires = Vec::new();
    for conn in 0..CONNS {
        let mut c = Compressor::new(1, 15, history == 0).with_history(history);
        let mut w = Vec::new();
        for seq in 0..msgs {
            let mut out = Vec::with_capacity(2048);
            c.compress(json_message(conn, seq).as_bytes(), true, &mut out);
            total += out.len();
            w.push(out);
        }
        wires.push(w);
    }
    let us = t.elapsed().as_secs_f64() * 1e6 / (CONNS * msgs) as f64;
    for (conn, w) in wires.iter().enumerate() {
        let mut d = Decompressor::new(false);
        for (seq, wire) in w.iter().enumerate() {
            let mut out = Vec::new();
            d.inflate(wire, &mut out, 1 << 20).unwrap();
            d.finish(&mut out, 1 << 20).unwrap();
            assert_eq!(out, json_message(conn as u64, seq as u64).as_bytes());
        }
    }
    (total as f64 / (CONNS * msgs) as f64, us)
}

#[test]
fn wire_bytes_against_memory() {
    let plain: usize = (0..CONNS).map(|c| json_message(c, 0).len()).sum();
    println!("JSON of {} bytes on average, level 1", plain as u64 / CONNS);
    for msgs in [3, 20] {
        let (reference, us) = long_lived(15, msgs);
        println!(
            "\n{msgs} messages per connection; long-lived 15-bit state: {reference:.1} bytes/msg, {us:.1} us/msg"
        );
        println!("| server history kept | bytes/msg | vs 15-bit takeover | us/msg (this build) |");
        println!("| ---: | ---: | ---: | ---: |");
        for history in [0, 512, 1024, 2048, 4096, 8192, 32768] {
            let (bytes, us) = lent(history, msgs);
            println!(
                "| {history} | {bytes:.1} | {:+.1}% | {us:.1} |",
                (bytes / reference - 1.0) * 100.0
            );
            if history == DeflateConfig::default().history {
                assert!(
                    bytes <= reference * 1.10,
                    "default history: {bytes} vs {reference}"
                );
            }
        }
        println!("| client window (long-lived state) | bytes/msg | vs 15 bits | server keeps |");
        println!("| ---: | ---: | ---: | ---: |");
        for bits in 9..=15u8 {
            let (bytes, _) = long_lived(bits, msgs);
            println!(
                "| {bits} | {bytes:.1} | {:+.1}% | {} bytes |",
                (bytes / reference - 1.0) * 100.0,
                1 << bits
            );
            if bits == DeflateConfig::default().client_max_window_bits {
                assert!(
                    bytes <= reference * 1.10,
                    "default client window: {bytes} vs {reference}"
                );
            }
        }
    }
}
