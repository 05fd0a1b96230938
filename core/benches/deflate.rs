//! permessage-deflate on a typical 1 KiB JSON message: messages per second through a
//! client and a server connection, and bytes on the wire, with and without compression.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use framewire_core::deflate::{DeflateConfig, Negotiated};
use framewire_core::{Config, Connection, Event};

/// A 1 KiB JSON document of the kind chat and dashboard apps send.
fn json_message(seq: usize) -> String {
    let mut s = format!(
        r#"{{"seq":{seq},"type":"metrics","host":"web-{:02}","ts":"2026-11-25T17:{:02}:00Z","points":["#,
        seq % 16,
        seq % 60
    );
    let mut i = 0;
    while s.len() < 1000 {
        s.push_str(&format!(
            r#"{{"name":"cpu.load","value":{}.{:02},"tags":{{"core":{},"zone":"eu-west"}}}},"#,
            (seq + i) % 4,
            (seq * 7 + i * 13) % 100,
            i % 8
        ));
        i += 1;
    }
    s.pop();
    s.push_str("]}");
    s
}

fn pair(level: Option<u32>) -> (Connection, Connection) {
    let mut client = Connection::client_with_seed(Config::default(), [1; 32]);
    let mut server = Connection::server(Config::default());
    if let Some(level) = level {
        let cfg = DeflateConfig {
            level,
            ..DeflateConfig::default()
        };
        let agreed = Negotiated {
            compress_window_bits: 15,
            compress_no_context_takeover: false,
            decompress_no_context_takeover: false,
            decompress_window_bits: 15,
        };
        client.enable_deflate(agreed, &cfg);
        server.enable_deflate(agreed, &cfg);
    }
    (client, server)
}

/// Sends `msgs` from client to server; returns the bytes that crossed the wire.
fn transfer(client: &mut Connection, server: &mut Connection, msgs: &[String]) -> usize {
    let mut wire = 0;
    for m in msgs {
        client.send_text(m).unwrap();
        let n = client.pending_output().len();
        wire += n;
        server.feed(client.pending_output());
        client.consume_output(n);
        while let Ok(Some(Event::Text(t))) = server.poll_event() {
            black_box(t.len());
        }
    }
    wire
}

fn bench(c: &mut Criterion) {
    let msgs: Vec<String> = (0..100).map(json_message).collect();
    let raw: usize = msgs.iter().map(String::len).sum();
    let mut g = c.benchmark_group("json-1KiB");
    g.throughput(Throughput::Elements(msgs.len() as u64));
    for level in [None, Some(1), Some(6)] {
        let (mut client, mut server) = pair(level);
        let wire = transfer(&mut client, &mut server, &msgs);
        println!(
            "json-1KiB {}: {} payload bytes -> {} bytes on the wire per 100 messages ({:.1}%)",
            name(level),
            raw,
            wire,
            100.0 * wire as f64 / raw as f64
        );
        g.bench_function(name(level), |b| {
            b.iter(|| transfer(&mut client, &mut server, black_box(&msgs)))
        });
    }
    g.finish();
}

fn name(level: Option<u32>) -> String {
    level.map_or("plain".to_owned(), |l| format!("deflate-level-{l}"))
}

criterion_group!(benches, bench);
criterion_main!(benches);
