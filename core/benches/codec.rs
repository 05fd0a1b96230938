//! Throughput of unmasking and decoding beside a plain memcpy of the same size.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use framewire_core::frame::{decode_frame, encode_frame, Decoded, FrameHeader};
use framewire_core::mask::apply_mask;
use framewire_core::{Config, Connection, Event, OpCode};

const SIZES: [usize; 2] = [64 << 10, 1 << 20];

fn memcpy_vs_unmask(c: &mut Criterion) {
    let mut g = c.benchmark_group("payload");
    for size in SIZES {
        g.throughput(Throughput::Bytes(size as u64));
        let src = vec![0x5Au8; size];
        let mut dst = vec![0u8; size];
        g.bench_with_input(BenchmarkId::new("memcpy", size), &size, |b, _| {
            b.iter(|| dst.copy_from_slice(black_box(&src)))
        });
        // Odd offset: the payload starts unaligned, as it does after a header.
        let mut buf = vec![0x5Au8; size + 3];
        g.bench_with_input(BenchmarkId::new("unmask", size), &size, |b, _| {
            b.iter(|| apply_mask(black_box(&mut buf[3..]), [1, 2, 3, 4], 0))
        });
    }
    g.finish();
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    for size in SIZES {
        let mut wire = Vec::new();
        let payload = vec![0x42u8; size];
        encode_frame(
            &FrameHeader::new(true, OpCode::Binary, Some([9, 8, 7, 6]), 0),
            &payload,
            &mut wire,
        );
        g.throughput(Throughput::Bytes(wire.len() as u64));
        g.bench_with_input(BenchmarkId::new("header", size), &size, |b, _| {
            b.iter(|| match decode_frame(black_box(&wire)) {
                Decoded::Frame(f) => f.len,
                _ => 0,
            })
        });
        let mut conn = Connection::server(Config::default());
        g.bench_with_input(BenchmarkId::new("connection", size), &size, |b, _| {
            b.iter(|| {
                conn.feed(black_box(&wire));
                match conn.poll_event() {
                    Ok(Some(Event::Binary(p))) => p.len(),
                    _ => 0,
                }
            })
        });
    }
    // Many small masked frames: the per-frame cost.
    let mut wire = Vec::new();
    for _ in 0..1000 {
        encode_frame(
            &FrameHeader::new(true, OpCode::Text, Some([1, 2, 3, 4]), 0),
            b"hello world 20 bytes",
            &mut wire,
        );
    }
    g.throughput(Throughput::Elements(1000));
    let mut conn = Connection::server(Config::default());
    g.bench_function("connection/1000x20B", |b| {
        b.iter(|| {
            conn.feed(black_box(&wire));
            let mut n = 0;
            while let Ok(Some((Event::Text(t), tx))) = conn.poll_event_and_sender() {
                n += t.len();
                let _ = tx.send_text(t);
            }
            let pending = conn.pending_output().len();
            conn.consume_output(pending);
            n
        })
    });
    g.finish();
}

criterion_group!(benches, memcpy_vs_unmask, decode);
criterion_main!(benches);
