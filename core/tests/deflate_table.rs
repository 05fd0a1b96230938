//! Wire bytes and CPU against memory for permessage-deflate settings on realistic JSON
//! (about 1 KiB, repeated keys, varying values: the bench's deflate-mem messages).
//!
//! Prints a table (`cargo test -p framewire-core --release --test deflate_table -- --nocapture`)
//! and checks that every setting round-trips and that the defaults stay within 10% of the
//! bytes a long-lived 15-bit zlib state with context takeover writes.

use std::time::Instant;

use flate2::{Compress, Compression, FlushCompress};
use framewire_core::deflate::{Compressor, Decompressor, DeflateConfig};

// The bench's deflate-mem messages, measured here with the same generator.
#[path = "../../bench/src/json_feed.rs"]
#[allow(dead_code)] // json_message_of: the bench's larger messages
mod json_feed;

use json_feed::json_message;

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
    // The connections take turns, as many connections on one thread do: each message
    // starts from the connection's history (the thread's spare state held another stream).
    let mut compressors: Vec<_> = (0..CONNS)
        .map(|_| Compressor::new(1, 15, history == 0).with_history(history))
        .collect();
    let mut wires = vec![Vec::new(); CONNS as usize];
    for seq in 0..msgs {
        for (conn, c) in compressors.iter_mut().enumerate() {
            let mut out = Vec::with_capacity(2048);
            c.compress(json_message(conn as u64, seq).as_bytes(), true, &mut out);
            total += out.len();
            wires[conn].push(out);
        }
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
