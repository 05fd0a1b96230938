//! `framewire decode --pcap/--capture/--har` on files made from a real
//! permessage-deflate exchange between two core connections (the Pair harness).

#[allow(dead_code)]
#[path = "../../../core/tests/pair/mod.rs"]
mod pair;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use framewire_core::capture::{self, Capture, Chunk, Connection};
use framewire_core::deflate::DeflateConfig;
use framewire_core::inspect::Direction;
use framewire_core::CloseCode;
use pair::{Pair, PairConfig};

const BIN: &str = env!("CARGO_BIN_EXE_framewire");
const JSON: &str = r#"{"id":1234,"type":"update","user":{"name":"alice","roles":["admin","dev"]},"note":"the quick brown fox jumps over the lazy dog"}"#;

/// A deflate session: three JSON messages from the client, a ping answered, a
/// ping left unanswered, and the server closing with 4001.
fn session() -> Capture {
    let mut pair = Pair::connect(PairConfig::deflate(DeflateConfig::default()));
    let offer = pair.client.info.extensions.first().expect("deflate agreed");
    let mut answer = offer.name.clone();
    for (k, v) in &offer.params {
        answer.push_str("; ");
        answer.push_str(k);
        if let Some(v) = v {
            answer.push('=');
            answer.push_str(v);
        }
    }
    let mut chunks = Vec::new();
    // The Pair moves both ways at once: the server's bytes (it starts every
    // exchange here but the client's messages) are stamped first, the answer 2.5 ms later.
    let take = |pair: &mut Pair, chunks: &mut Vec<Chunk>| {
        let t = 1_700_000_000_000.0 + pair.now.as_secs_f64() * 1000.0;
        for (i, (dir, bytes)) in [
            (Direction::ServerToClient, pair.server.take_wire()),
            (Direction::ClientToServer, pair.client.take_wire()),
        ]
        .into_iter()
        .enumerate()
        {
            if !bytes.is_empty() {
                chunks.push(Chunk {
                    t: t + 2.5 * i as f64,
                    dir,
                    bytes,
                });
            }
        }
    };
    take(&mut pair, &mut chunks);
    for _ in 0..3 {
        pair.client.conn.send_text(JSON).unwrap();
        pair.advance(Duration::from_millis(100));
        take(&mut pair, &mut chunks);
    }
    pair.server.conn.send_ping(b"are you there").unwrap();
    pair.advance(Duration::from_millis(100));
    take(&mut pair, &mut chunks);
    // A ping whose pong is lost: the client's answer is dropped from the record.
    pair.server.conn.send_ping(b"lost").unwrap();
    pair.advance(Duration::from_millis(100));
    let _ = pair.client.take_wire();
    take(&mut pair, &mut chunks);
    pair.server
        .conn
        .close(CloseCode(4001), "session expired")
        .unwrap();
    pair.advance(Duration::from_millis(250));
    take(&mut pair, &mut chunks);
    Capture {
        connections: vec![Connection {
            id: 0,
            request: format!(
                "GET /live HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
                pair::KEY
            )
            .into_bytes(),
            response: format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: {answer}\r\n\r\n"
            )
            .into_bytes(),
            client: Some("127.0.0.1:50123".into()),
            server: Some("127.0.0.1:9001".into()),
            ended: true,
            chunks,
        }],
    }
}

fn temp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("decode-capture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn decode(args: &[&str], file: &PathBuf) -> (Output, String) {
    let out = Command::new(BIN)
        .arg("decode")
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out, text)
}

/// What every format must show of [`session`].
fn assert_analysis(text: &str) {
    assert!(text.contains("GET /live HTTP/1.1"), "{text}");
    assert!(text.contains("c2s: 3 messages (3 compressed)"), "{text}");
    assert!(text.contains("heartbeats: 2 pings, 1 unanswered"), "{text}");
    assert!(text.contains("UNANSWERED"), "{text}");
    assert!(text.contains("pong after 2.5 ms"), "{text}");
    assert!(text.contains("the close handshake took 2.5 ms"), "{text}");
    assert!(text.contains("the server sent close 4001"), "{text}");
    assert!(text.contains("private use"), "{text}");
    assert!(
        text.contains("CloseEvent: code 4001, reason \"session expired\", wasClean true"),
        "{text}"
    );
    assert!(text.contains("traffic (buckets of 1000 ms)"), "{text}");
}

#[test]
fn decode_capture_pcap_and_har_print_the_analysis_and_convert() {
    let cap = session();
    let jsonl = temp("session.jsonl");
    std::fs::write(&jsonl, capture::jsonl::write(&cap)).unwrap();
    let pcapng = temp("session.pcapng");
    let har = temp("session.har");
    let (out, text) = decode(
        &[
            "--export-pcapng",
            pcapng.to_str().unwrap(),
            "--export-har",
            har.to_str().unwrap(),
            "--capture",
        ],
        &jsonl,
    );
    assert!(out.status.success(), "{text}");
    assert_analysis(&text);
    assert!(text.contains("ratio"), "{text}");
    assert!(text.contains("wrote pcapng to"), "{text}");

    // The pcapng it wrote reads back with the same analysis.
    let (out, from_pcap) = decode(&["--pcap"], &pcapng);
    assert!(out.status.success(), "{from_pcap}");
    assert_analysis(&from_pcap);
    assert!(
        from_pcap.contains("127.0.0.1:50123 -> 127.0.0.1:9001"),
        "{from_pcap}"
    );

    // A HAR holds messages only: the texts are there, the pings are not.
    let (out, from_har) = decode(&["--har"], &har);
    assert!(out.status.success(), "{from_har}");
    assert!(from_har.contains("c2s: 3 messages"), "{from_har}");
    assert!(from_har.contains("\\\"alice\\\""), "{from_har}");

    // The filter: only what the server sent, only control frames.
    let (out, text) = decode(
        &["--direction", "s2c", "--kind", "control", "--capture"],
        &jsonl,
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("the filter hides 3 messages"), "{text}");
    assert!(!text.contains("c2s  text"), "{text}");
    let (_, text) = decode(&["--regex", "(", "--capture"], &jsonl);
    assert!(text.contains("regular expression"), "{text}");
}

#[test]
fn decode_names_what_is_wrong_in_a_bad_capture_file() {
    let bad = temp("bad.jsonl");
    let mut bytes = capture::jsonl::write(&session());
    bytes.extend_from_slice(b"{\"t\":1,\"dir\":\"c2s\",\"conn\":0,\"b64\":\"!!\"}\n");
    std::fs::write(&bad, &bytes).unwrap();
    let lines = bytes.iter().filter(|b| **b == b'\n').count();
    let (out, text) = decode(&["--capture"], &bad);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains(&format!("capture line {lines}: b64 is not base64")),
        "{text}"
    );

    // A pcap cut in the middle of a record.
    let pcapng = capture::pcapng_export::write(&session()).unwrap();
    let cut = temp("cut.pcapng");
    std::fs::write(&cut, &pcapng[..pcapng.len() - 7]).unwrap();
    let (out, text) = decode(&["--pcap"], &cut);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("pcapng record") && text.contains("truncated"),
        "{text}"
    );

    // The wrong flag for the file.
    let (out, text) = decode(&["--har"], &cut);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("is a pcap or pcapng file, not a HAR"),
        "{text}"
    );
}
