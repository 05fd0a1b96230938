//! The JSON messages of the deflate-mem scenario: about 1 KiB each, like a chat or
//! trading feed (repeated keys, varying values), deterministic for a connection and
//! sequence number. Standard library only: `core/tests/deflate_table.rs` includes
//! this file to measure the same messages.

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
    json_message_of(conn, seq, 900)
}

/// [`json_message`] grown to at least `min_len` bytes (a few hundred more at most): a
/// longer list of the same kind of records.
pub fn json_message_of(conn: u64, seq: u64, min_len: usize) -> String {
    use std::fmt::Write as _;
    let mut rng = Rng(conn.wrapping_mul(0x1_0000_0001) ^ seq.wrapping_mul(0x2545_F491_4F6C_DD1D));
    let ts = 1_764_979_200_000 + conn * 997 + seq * 250 + rng.below(250);
    let mut s = String::with_capacity(min_len + 200);
    if seq % 4 == 3 {
        let _ = write!(
            s,
            r#"{{"type":"chat","channel":"room-{}","seq":{seq},"ts":{ts},"messages":["#,
            conn % 32
        );
        while s.len() < min_len + 60 {
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
        while s.len() < min_len {
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
