//! `framewire proxy` between third-party peers: a Python `websockets` client
//! through the proxy to a Python `websockets` server and to a Node `ws`
//! server, both over `wss://` with a test CA and permessage-deflate on. An
//! inspector socket attached during the run gets both directions, and the
//! core's inspector, given the relayed heads, decodes its chunks into the
//! messages inflated. Also: `--insecure` against an untrusted certificate,
//! and the refusal without `--ca` or `--insecure`.

#[path = "proxy_util/mod.rs"]
mod proxy;

#[path = "../../native-server/tests/support/mod.rs"]
mod pki;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use framewire_core::inspect::{Direction, Inspector, InspectorConfig, Observation};
use framewire_server::{connect, Message};
use pki::{Leaf, Pki};
use proxy::{direct, raw_upgrade, read_all, Inspect, TestProxy, WAIT};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

/// Starts a TLS echo server script (`interop/ws_server.py` or
/// `interop/node/server.mjs`) with a certificate of `pki`; its port.
async fn tls_server(program: &str, script: &str, pki: &Pki) -> (Child, u16) {
    let (cert, key) = pki.leaf_files(Leaf::Good);
    let mut child = tokio::process::Command::new(program)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(script))
        .arg("--cert")
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{program} is installed (run scripts/setup.sh): {e}"));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("the server starts in time")
        .unwrap()
        .unwrap_or_else(|| {
            panic!(
                "{script} exited before listening (is its package installed? run scripts/setup.sh)"
            )
        });
    let port = line
        .strip_prefix("listening ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("{script} printed {line:?}"));
    (child, port)
}

/// Each direction's messages, reassembled and inflated by the core's inspector.
#[derive(Debug, Default)]
struct Decoded {
    messages: [Vec<Vec<u8>>; 2],
    compressed_frames: [usize; 2],
}

fn decode(response_head: &str, chunks: &[Vec<u8>], id: u64) -> Decoded {
    let mut inspector = Inspector::new(InspectorConfig::default()).unwrap();
    assert!(
        inspector
            .enable_deflate_from_response(response_head.as_bytes())
            .unwrap(),
        "the relayed 101 agrees to permessage-deflate:\n{response_head}"
    );
    let mut out = Decoded::default();
    let mut open: [Vec<u8>; 2] = Default::default();
    for chunk in chunks {
        if u64::from(u32::from_be_bytes(chunk[1..5].try_into().unwrap())) != id {
            continue;
        }
        let (dir, d) = match chunk[0] {
            0 | 2 => (Direction::ClientToServer, 0),
            _ => (Direction::ServerToClient, 1),
        };
        for seen in inspector.feed(dir, &chunk[13..], None) {
            let Observation::Frame(f) = seen else {
                continue;
            };
            assert!(f.violations.is_empty(), "{:?}", f.violations);
            if f.header.is_control() {
                continue;
            }
            if f.header.rsv1 {
                out.compressed_frames[d] += 1;
            }
            open[d].extend_from_slice(f.content());
            if f.header.fin {
                out.messages[d].push(std::mem::take(&mut open[d]));
            }
        }
    }
    out
}

/// The Python client through a proxy in front of `program`'s TLS echo server.
async fn python_client_through_proxy(program: &str, script: &str) {
    let pki = Pki::new();
    let (_server, port) = tls_server(program, script, &pki).await;
    let upstream = format!("wss://127.0.0.1:{port}/");
    let proxy = TestProxy::start(&upstream, |c| c.ca_files = vec![pki.ca_pem.clone()]).await;
    let (mut inspect, _) = Inspect::open(&proxy).await;
    inspect
        .send(json!({"type": "attach_new", "on": true}))
        .await;
    inspect.send(json!({"type": "attach", "ids": []})).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let client = tokio::process::Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/echo_client.py"))
        .arg(proxy.url("/echo"))
        .kill_on_drop(true)
        .output();
    let client = tokio::spawn(client);
    let mut conn: Option<Value> = None;
    let mut dropped = false;
    loop {
        let v = inspect.next_json().await;
        match v["type"].as_str() {
            Some("opened" | "updated") => conn = Some(v["conn"].clone()),
            Some("dropped") => dropped = true,
            Some("ended") => break,
            _ => {}
        }
    }
    let out = tokio::time::timeout(WAIT * 3, client)
        .await
        .expect("the Python client finishes in time")
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python client through the proxy:\n{stdout}\n{stderr}"
    );
    for check in ["text", "binary", "big", "json", "ping", "close"] {
        assert!(
            stdout.contains(&format!("ok {check}\n")),
            "{check}:\n{stdout}"
        );
    }
    assert!(stdout.contains("extensions permessage-deflate"), "{stdout}");
    assert!(!dropped, "no chunk was dropped for the inspector");
    let conn = conn.expect("the connection was announced");
    assert_eq!(conn["status"], 101);
    assert_eq!(conn["upstream_url"], format!("wss://127.0.0.1:{port}/echo"));
    let id = conn["id"].as_u64().unwrap();
    let decoded = decode(conn["response"].as_str().unwrap(), &inspect.chunks, id);
    let expected: Vec<Vec<u8>> = {
        let mut m = vec![
            "héllo ✓ 🦀 through the proxy".as_bytes().to_vec(),
            (0..=255u8).collect(),
            (0..1u32 << 20).map(|i| (i % 251) as u8).collect(),
        ];
        m.extend((0..200).map(|i| {
            format!("{{\"seq\": {i}, \"text\": \"{}\"}}", "repeat ".repeat(20)).into_bytes()
        }));
        m
    };
    for (d, name) in [(0, "client to upstream"), (1, "upstream to client")] {
        assert_eq!(decoded.messages[d].len(), expected.len(), "{name}");
        for (i, (got, want)) in decoded.messages[d].iter().zip(&expected).enumerate() {
            assert!(
                got == want,
                "{name}: message {i} decoded intact ({} bytes vs {})",
                got.len(),
                want.len()
            );
        }
        assert!(
            decoded.compressed_frames[d] > 0,
            "{name}: compressed frames were inflated"
        );
    }
}

#[tokio::test]
async fn python_client_through_the_proxy_to_a_python_websockets_wss_server_with_deflate() {
    python_client_through_proxy("python3", "interop/ws_server.py").await;
}

#[tokio::test]
async fn python_client_through_the_proxy_to_a_node_ws_wss_server_with_deflate() {
    python_client_through_proxy("node", "interop/node/server.mjs").await;
}

#[tokio::test]
async fn an_untrusted_wss_upstream_is_refused_unless_insecure() {
    let pki = Pki::new();
    let (_server, port) = tls_server("python3", "interop/ws_server.py", &pki).await;
    let upstream = format!("wss://127.0.0.1:{port}/");
    let strict = TestProxy::start(&upstream, |_| {}).await;
    let (mut s, answer) = raw_upgrade(&strict, "/echo", "").await;
    assert!(answer.starts_with("HTTP/1.1 502 "), "{answer}");
    let body = String::from_utf8_lossy(&read_all(&mut s).await).into_owned();
    assert!(body.contains("unknown CA"), "the body says why: {body}");
    let insecure = TestProxy::start(&upstream, |c| c.insecure = true).await;
    let mut ws = connect(&insecure.url("/echo"), &direct(true))
        .await
        .unwrap();
    ws.send_text("through an unverified upstream")
        .await
        .unwrap();
    let got = tokio::time::timeout(WAIT, ws.recv())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(got, Message::Text("through an unverified upstream".into()));
}
