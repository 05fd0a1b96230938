use std::time::Duration;

use etherparse::PacketBuilder;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};

use super::*;
use crate::inspect::analysis::ViewEntry;

const REQUEST: &[u8] = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.test:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
const RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

/// A masked client text frame (key 1 2 3 4).
fn client_text(text: &str) -> Vec<u8> {
    let key = [1, 2, 3, 4];
    let mut v = vec![0x81, 0x80 | text.len() as u8];
    v.extend_from_slice(&key);
    v.extend(text.bytes().enumerate().map(|(i, b)| b ^ key[i % 4]));
    v
}

fn server_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![first];
    if payload.len() < 126 {
        v.push(payload.len() as u8);
    } else {
        v.push(126);
        v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    }
    v.extend_from_slice(payload);
    v
}

/// A small session: text each way, a binary of 3000 bytes (two segments), a
/// ping and pong, and a close handshake.
fn sample() -> Capture {
    let chunk = |t: f64, dir, bytes| Chunk { t, dir, bytes };
    let big: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    Capture {
        connections: vec![Connection {
            id: 0,
            request: REQUEST.to_vec(),
            response: RESPONSE.to_vec(),
            client: Some("192.0.2.1:51000".into()),
            server: Some("192.0.2.2:8080".into()),
            ended: true,
            chunks: vec![
                chunk(
                    1_700_000_000_000.0,
                    Direction::ClientToServer,
                    client_text("hello"),
                ),
                chunk(
                    1_700_000_000_010.5,
                    Direction::ServerToClient,
                    server_frame(0x81, b"hi there"),
                ),
                chunk(
                    1_700_000_000_020.0,
                    Direction::ServerToClient,
                    server_frame(0x82, &big),
                ),
                chunk(
                    1_700_000_001_000.0,
                    Direction::ServerToClient,
                    server_frame(0x89, b"beat"),
                ),
                chunk(1_700_000_001_003.0, Direction::ClientToServer, {
                    let mut v = vec![0x8a, 0x84, 0, 0, 0, 0];
                    v.extend_from_slice(b"beat");
                    v
                }),
                chunk(1_700_000_002_000.0, Direction::ClientToServer, {
                    let mut v = vec![0x88, 0x82, 0, 0, 0, 0];
                    v.extend_from_slice(&1000u16.to_be_bytes());
                    v
                }),
                chunk(
                    1_700_000_002_004.0,
                    Direction::ServerToClient,
                    server_frame(0x88, &1000u16.to_be_bytes()),
                ),
            ],
        }],
    }
}

/// Each direction's bytes, joined.
fn streams(c: &Connection) -> [Vec<u8>; 2] {
    let mut out = [Vec::new(), Vec::new()];
    for k in &c.chunks {
        out[usize::from(k.dir == Direction::ServerToClient)].extend_from_slice(&k.bytes);
    }
    out
}

#[test]
fn capture_lines_round_trip_losslessly() {
    let cap = sample();
    let text = jsonl::write(&cap);
    assert!(text.starts_with(b"{\"format\":\"framewire-capture\",\"version\":1"));
    assert_eq!(Format::sniff(&text), Some(Format::Capture));
    assert_eq!(jsonl::read(&text, &CaptureLimits::default()).unwrap(), cap);
}

#[test]
fn capture_lines_keep_each_connections_order_where_its_times_go_back() {
    // Found by the capture_import fuzz target: lines were sorted by time.
    let mut cap = sample();
    cap.connections[0].chunks.swap(0, 1);
    let mut other = cap.connections[0].clone();
    other.id = 7;
    other.chunks.truncate(2);
    cap.connections.push(other);
    let text = jsonl::write(&cap);
    assert_eq!(jsonl::read(&text, &CaptureLimits::default()).unwrap(), cap);
    // Interleaved by the time of each connection's next chunk: 0's first two
    // (the second is earlier), then 7's first.
    let second = text.split(|b| *b == b'\n').nth(3).unwrap();
    assert!(
        second.ends_with(b"\"conn\":7,\"b64\":\"gQhoaSB0aGVyZQ==\"}"),
        "{}",
        String::from_utf8_lossy(second)
    );
}

#[test]
fn capture_line_times_read_back_to_the_same_f64() {
    // Found by the capture_import fuzz target: 1700000000023.4321 read back as ...23.432.
    let mut cap = sample();
    cap.connections[0].chunks[0].t = 1_700_000_000_023.432_1;
    let back = jsonl::read(&jsonl::write(&cap), &CaptureLimits::default()).unwrap();
    assert_eq!(
        back.connections[0].chunks[0].t.to_bits(),
        1_700_000_000_023.432_1f64.to_bits()
    );
}

#[test]
fn bad_capture_lines_are_named_by_line_number() {
    let mut text = jsonl::write(&sample());
    text.extend_from_slice(b"{\"t\":1,\"dir\":\"up\",\"conn\":0,\"b64\":\"\"}\n");
    let lines = text.iter().filter(|b| **b == b'\n').count();
    let e = jsonl::read(&text, &CaptureLimits::default()).unwrap_err();
    assert!(
        matches!(&e, CaptureError::Line { line, .. } if *line == lines),
        "{e}"
    );
    let e = jsonl::read(b"{\"format\":\"framewire-capture\",\"version\":1}\n{\"t\":1,\"dir\":\"c2s\",\"conn\":7,\"b64\":\"\"}", &CaptureLimits::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "capture line 2: connection 7 is not in the header"
    );
    let e = jsonl::read(
        b"{\"format\":\"framewire-capture\",\"version\":2}",
        &CaptureLimits::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("version 2 is not supported"), "{e}");
}

#[test]
fn pcapng_export_imports_back_to_the_same_bytes_and_times() {
    let cap = sample();
    let file = pcapng_export::write(&cap).unwrap();
    assert_eq!(Format::sniff(&file), Some(Format::PcapNg));
    let (format, back) = import(&file, &CaptureLimits::default()).unwrap();
    assert_eq!(format, Format::PcapNg);
    let (a, b) = (&cap.connections[0], &back.connections[0]);
    assert_eq!((&b.request, &b.response), (&a.request, &a.response));
    assert_eq!((&b.client, &b.server), (&a.client, &a.server));
    assert!(b.ended);
    assert_eq!(streams(b), streams(a));
    // Chunks up to one segment come back one for one, at the same time (to the microsecond).
    let small: Vec<_> = a
        .chunks
        .iter()
        .filter(|k| k.bytes.len() <= pcapng_export::SEGMENT)
        .collect();
    for k in small {
        assert!(
            b.chunks
                .iter()
                .any(|j| j.bytes == k.bytes && j.dir == k.dir && (j.t - k.t).abs() < 1e-3),
            "{k:?}"
        );
    }
}

/// A pcap of `segments` (client side first), built packet by packet.
fn pcap_of(segments: &[(bool, u32, &[u8], &str)]) -> Vec<u8> {
    let mut w = PcapWriter::with_header(Vec::new(), PcapHeader::default()).unwrap();
    for (i, (from_client, seq, payload, flags)) in segments.iter().enumerate() {
        let (src, dst, sp, dp) = if *from_client {
            ([10, 1, 1, 1], [10, 1, 1, 2], 40000, 9001)
        } else {
            ([10, 1, 1, 2], [10, 1, 1, 1], 9001, 40000)
        };
        let mut b = PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4(src, dst, 64)
            .tcp(sp, dp, *seq, 1000);
        for f in flags.bytes() {
            b = match f {
                b'S' => b.syn(),
                b'F' => b.fin(),
                b'A' => b.ack(1),
                _ => b,
            };
        }
        let mut data = Vec::new();
        b.write(&mut data, payload).unwrap();
        w.write_packet(&PcapPacket::new(
            Duration::from_millis(1000 + i as u64),
            data.len() as u32,
            &data,
        ))
        .unwrap();
    }
    w.into_writer()
}

#[test]
fn pcap_import_reorders_segments_and_drops_retransmits() {
    let hello = client_text("hello");
    let (h1, h2) = hello.split_at(4);
    let reply = server_frame(0x81, b"world");
    let c0 = 5000u32; // client ISN
    let s0 = u32::MAX - 50; // server ISN: its sequence numbers wrap
    let req = REQUEST.len() as u32;
    let resp = RESPONSE.len() as u32;
    let file = pcap_of(&[
        (true, c0, b"", "S"),
        (false, s0, b"", "SA"),
        (true, c0 + 1, REQUEST, "A"),
        (false, s0.wrapping_add(1), RESPONSE, "A"),
        // The second half of "hello" arrives first, then the first half twice.
        (true, c0 + 1 + req + 4, h2, "A"),
        (true, c0 + 1 + req, h1, "A"),
        (true, c0 + 1 + req, h1, "A"),
        (false, s0.wrapping_add(1 + resp), &reply, "A"),
        // A retransmission of the reply overlapping the response's tail.
        (
            false,
            s0.wrapping_add(1 + resp - 3),
            &[&RESPONSE[RESPONSE.len() - 3..], &reply[..]].concat(),
            "A",
        ),
        (true, c0 + 1 + req + hello.len() as u32, b"", "FA"),
        (
            false,
            s0.wrapping_add(1 + resp + reply.len() as u32),
            b"",
            "FA",
        ),
    ]);
    let (format, cap) = import(&file, &CaptureLimits::default()).unwrap();
    assert_eq!(format, Format::Pcap);
    assert_eq!(cap.connections.len(), 1);
    let c = &cap.connections[0];
    assert_eq!(c.request, REQUEST);
    assert_eq!(c.response, RESPONSE);
    assert_eq!(streams(c), [hello.clone(), reply.clone()]);
    assert!(c.ended);
    assert_eq!(c.client.as_deref(), Some("10.1.1.1:40000"));
    let s = analyze(c, Default::default()).unwrap();
    let view = s.message_view();
    let texts: Vec<_> = view.iter().filter_map(ViewEntry::text).collect();
    assert_eq!(texts, ["hello", "world"]);
}

#[test]
fn pcap_import_ignores_plain_http_and_bounds_out_of_order_bytes() {
    let file = pcap_of(&[
        (true, 1, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "A"),
        (
            false,
            1,
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            "A",
        ),
    ]);
    assert!(import(&file, &CaptureLimits::default())
        .unwrap()
        .1
        .connections
        .is_empty());
    let file = pcap_of(&[(true, 1, REQUEST, "A"), (true, 100_000, &[0; 600], "A")]);
    let limits = CaptureLimits {
        max_reorder: 512,
        ..CaptureLimits::default()
    };
    let e = import(&file, &limits).unwrap_err();
    assert!(
        e.to_string().contains("out-of-order bytes") && e.to_string().contains("record 2"),
        "{e}"
    );
}

#[test]
fn truncated_pcap_names_the_record_and_offset() {
    let file = pcap_of(&[(true, 1, REQUEST, "A"), (false, 1, RESPONSE, "A")]);
    let cut = &file[..file.len() - 10];
    let e = import(cut, &CaptureLimits::default()).unwrap_err();
    let CaptureError::Record { record, offset, .. } = &e else {
        panic!("{e}")
    };
    assert_eq!(*record, 2);
    assert!(*offset > 24, "{e}");
    assert!(e.to_string().contains("truncated"), "{e}");
    assert_eq!(
        import(b"nonsense", &CaptureLimits::default()).unwrap_err(),
        CaptureError::UnknownFormat
    );
}

#[test]
fn har_round_trip_keeps_every_data_message() {
    let cap = sample();
    let har = har::write(&cap);
    let v: serde_json::Value = serde_json::from_slice(&har).unwrap();
    let entry = &v["log"]["entries"][0];
    assert_eq!(entry["_resourceType"], "websocket");
    assert_eq!(
        entry["request"]["url"],
        "ws://example.test:8080/chat?room=1"
    );
    assert_eq!(entry["startedDateTime"], "2023-11-14T22:13:20.000Z");
    let msgs = entry["_webSocketMessages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3, "data messages only, as Chrome writes");
    assert_eq!(msgs[0]["type"], "send");
    assert_eq!(msgs[0]["data"], "hello");
    assert_eq!(msgs[1]["time"], 1_700_000_000.010_5);
    assert_eq!(msgs[2]["opcode"], 2);
    let (format, back) = import(&har, &CaptureLimits::default()).unwrap();
    assert_eq!(format, Format::Har);
    let c = &back.connections[0];
    assert_eq!(c.request, cap.connections[0].request);
    assert_eq!(c.response, cap.connections[0].response);
    // The same messages again.
    let again: serde_json::Value = serde_json::from_slice(&har::write(&back)).unwrap();
    assert!(again["log"]["entries"][0]["_webSocketMessages"] == entry["_webSocketMessages"]);
}

#[test]
fn bad_har_messages_are_named_by_path() {
    let har = br#"{"log":{"entries":[{"request":{},"response":{},"_webSocketMessages":[{"type":"send","time":1,"opcode":1,"data":"a"},{"type":"sideways","time":1,"opcode":1,"data":"a"}]}]}}"#;
    let e = import(har, &CaptureLimits::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "HAR log.entries[0]._webSocketMessages[1]: type is Some(\"sideways\"), not \"send\" or \"receive\""
    );
}

#[test]
fn a_recording_past_its_limit_keeps_no_later_chunk_and_writes_what_it_kept() {
    let mut r = recording::Recording::new(REQUEST, RESPONSE, 20);
    let hello = client_text("hello");
    assert!(r.push(Direction::ClientToServer, &hello, 1.0));
    let reply = server_frame(0x81, b"a reply too long to keep");
    assert!(!r.push(Direction::ServerToClient, &reply, 2.0));
    // Small enough, but after a dropped chunk: kept, it would leave a hole.
    assert!(!r.push(Direction::ClientToServer, &[0x88, 0x80, 0, 0, 0, 0], 3.0));
    assert_eq!(r.kept_bytes(), hello.len() as u64);
    assert_eq!(r.dropped_bytes(), (reply.len() + 6) as u64);
    r.describe(7, Some("127.0.0.1:5000".into()), None);
    r.end();
    let (format, back) = import(
        &r.write(recording::WriteFormat::Capture).unwrap(),
        &CaptureLimits::default(),
    )
    .unwrap();
    assert_eq!(format, Format::Capture);
    assert_eq!(back.connections, vec![r.connection().clone()]);
    assert_eq!(back.connections[0].id, 7);
    assert!(back.connections[0].ended);
    for f in ["har", "pcapng"] {
        let f = recording::WriteFormat::from_name(f).unwrap();
        let (_, again) = import(&r.write(f).unwrap(), &CaptureLimits::default()).unwrap();
        assert_eq!(again.connections[0].chunks.len(), 1, "{f:?}");
    }
    assert_eq!(recording::WriteFormat::from_name("pcap"), None);
}
