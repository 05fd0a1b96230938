//! The pcapng export read by Wireshark's `tshark`: the same WebSocket frames
//! and payloads as the core's inspector sees in the capture.

#[allow(dead_code)]
mod pair;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use framewire_core::capture::{pcapng_export, Capture, Chunk, Connection};
use framewire_core::inspect::{Direction, Inspector, InspectorConfig, Observation};
use framewire_core::CloseCode;
use pair::{Pair, PairConfig};

/// A real exchange between two core connections: the heads the Pair's handshake
/// wrote are rebuilt from its key, the frames are the bytes each end sent.
fn recorded() -> Capture {
    let mut pair = Pair::connect(PairConfig::default());
    let mut chunks = Vec::new();
    let mut take = |pair: &mut Pair| {
        let t = pair.now.as_secs_f64() * 1000.0 + 1_700_000_000_000.0;
        for (dir, bytes) in [
            (Direction::ClientToServer, pair.client.take_wire()),
            (Direction::ServerToClient, pair.server.take_wire()),
        ] {
            if !bytes.is_empty() {
                chunks.push(Chunk { t, dir, bytes });
            }
        }
    };
    pair.client.conn.send_text("hello from the client").unwrap();
    pair.advance(Duration::from_millis(5));
    take(&mut pair);
    pair.server.conn.send_binary(&[7u8; 5000]).unwrap();
    pair.server.conn.send_text("é ünïcode").unwrap();
    pair.advance(Duration::from_millis(5));
    take(&mut pair);
    pair.client.conn.send_ping(b"beat").unwrap();
    pair.advance(Duration::from_millis(5));
    take(&mut pair);
    pair.client.conn.close(CloseCode::NORMAL, "bye").unwrap();
    pair.advance(Duration::from_millis(5));
    take(&mut pair);
    Capture {
        connections: vec![Connection {
            id: 0,
            request: format!(
                "GET /chat HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n\r\n",
                pair::KEY
            )
            .into_bytes(),
            response: b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n".to_vec(),
            client: None,
            server: None,
            ended: true,
            chunks,
        }],
    }
}

/// What each frame carries, in capture order, as the core's inspector sees it:
/// opcodes, and per kind the payloads in tshark's notation.
#[derive(Debug, Default, PartialEq)]
struct Frames {
    opcodes: Vec<String>,
    texts: Vec<String>,
    binary: Vec<String>,
    pings: Vec<String>,
    pongs: Vec<String>,
    closes: Vec<String>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn frames(capture: &Capture) -> Frames {
    let mut insp = Inspector::new(InspectorConfig::default()).unwrap();
    let mut out = Frames::default();
    for k in &capture.connections[0].chunks {
        for o in insp.feed(k.dir, &k.bytes, None) {
            let Observation::Frame(f) = o else { continue };
            out.opcodes.push(f.header.opcode.to_string());
            match f.header.opcode {
                0x1 => out
                    .texts
                    .push(String::from_utf8(f.payload().to_vec()).unwrap()),
                0x2 => out.binary.push(hex(f.payload())),
                0x8 => {
                    let c = f.close.clone().unwrap();
                    out.closes
                        .push(format!("{}/{}", c.code.unwrap().0, c.reason));
                }
                0x9 => out.pings.push(hex(f.payload())),
                0xA => out.pongs.push(hex(f.payload())),
                _ => {}
            }
        }
    }
    out
}

/// Parses tshark's field lines (occurrences joined by `|`) into the same shape.
fn parse_tshark(stdout: &str) -> Frames {
    let mut out = Frames::default();
    for line in stdout.lines() {
        let cols: Vec<Vec<String>> = line
            .split('\t')
            .map(|c| {
                c.split('|')
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .collect();
        let col = |i: usize| cols.get(i).cloned().unwrap_or_default();
        out.opcodes.extend(col(0));
        out.texts.extend(col(1));
        out.pings.extend(col(2));
        out.pongs.extend(col(3));
        let reasons = col(5);
        for (i, code) in col(4).into_iter().enumerate() {
            out.closes.push(format!(
                "{code}/{}",
                reasons.get(i).cloned().unwrap_or_default()
            ));
        }
        out.binary.extend(col(6));
    }
    out
}

fn tshark_present() -> bool {
    Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn tshark_decodes_the_exported_pcapng_as_the_same_websocket_frames() {
    if !tshark_present() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "tshark is missing under CI=true: scripts/setup.sh installs it"
        );
        eprintln!("SKIPPED: tshark is not installed (scripts/setup.sh installs it)");
        return;
    }
    let capture = recorded();
    let expected = frames(&capture);
    assert_eq!(expected.opcodes, ["1", "2", "1", "9", "10", "8", "8"]);
    let file = pcapng_export::write(&capture).unwrap();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("capture_tshark.pcapng");
    std::fs::write(&path, &file).unwrap();
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&path)
        .args([
            "-Y",
            "websocket",
            "-T",
            "fields",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=|",
        ])
        .args(["-e", "websocket.opcode", "-e", "websocket.payload.text"])
        .args([
            "-e",
            "websocket.payload.ping",
            "-e",
            "websocket.payload.pong",
        ])
        .args(["-e", "websocket.payload.close.status_code"])
        .args(["-e", "websocket.payload.close.reason", "-e", "data.data"])
        .output()
        .expect("tshark runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = parse_tshark(&stdout);
    assert_eq!(
        seen.opcodes.len(),
        expected.opcodes.len(),
        "tshark saw:\n{stdout}"
    );
    assert_eq!(seen, expected, "tshark saw:\n{stdout}");
}
