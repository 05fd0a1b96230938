//! Third-party clients against our server: Python's `websockets`
//! (tests/interop/ws_client.py) and Node's `ws` (tests/interop/node/client.mjs),
//! each with and without permessage-deflate, and over TLS (`wss://`, trusting
//! a test CA). Over TLS the other way too: their TLS servers
//! (tests/interop/ws_server.py, tests/interop/node/server.mjs) with
//! framewire's client. Certificates are made at run time (rcgen) and written
//! to a temporary directory.

#[path = "native_util/mod.rs"]
mod util;

#[path = "../../native-server/tests/support/mod.rs"]
mod pki;

use std::path::Path;
use std::time::Duration;

use framewire_core::deflate::DeflateConfig;
use framewire_server::{
    connect, tls_server_config_from_pem, ClientConfig, ClientStream, CloseCode, Message,
    ProxyConfig, ServerConfig, WebSocket,
};
use pki::{Leaf, Pki};
use tokio::io::{AsyncBufReadExt, BufReader};
use util::TestServer;

/// A peer script and what it reports.
struct Peer {
    program: &'static str,
    script: &'static str,
    /// How to install the peer's package, shown when the script exits 3.
    install: &'static str,
    /// The `ok NAME` lines the script prints when every check passed.
    checks: [&'static str; 5],
}

const PYTHON: Peer = Peer {
    program: "python3",
    script: "interop/ws_client.py",
    install: "python3 -m pip install -r tests/interop/requirements.txt",
    checks: ["greeting", "echo", "ping", "close_codes", "chat"],
};

const NODE: Peer = Peer {
    program: "node",
    script: "interop/node/client.mjs",
    install: "npm ci --prefix tests/interop/node",
    checks: ["greeting", "echo", "ping", "closeCodes", "chat"],
};

/// The server without compression: it refuses permessage-deflate.
fn plain() -> ServerConfig {
    let mut cfg = ServerConfig::default();
    cfg.handshake.deflate = None;
    cfg
}

/// The server as configured by default: it accepts permessage-deflate.
fn default_with_deflate() -> ServerConfig {
    let cfg = ServerConfig::default();
    assert!(cfg.handshake.deflate.is_some(), "on by default");
    cfg
}

#[tokio::test]
async fn python_websockets_client() {
    run(&PYTHON, plain(), false, None).await;
}

#[tokio::test]
async fn python_websockets_client_with_deflate() {
    run(&PYTHON, default_with_deflate(), true, None).await;
}

#[tokio::test]
async fn python_websockets_client_over_tls_with_deflate() {
    let pki = Pki::new();
    run(
        &PYTHON,
        with_tls(&pki, default_with_deflate()),
        true,
        Some(&pki),
    )
    .await;
}

#[tokio::test]
async fn node_ws_client() {
    run(&NODE, plain(), false, None).await;
}

#[tokio::test]
async fn node_ws_client_with_deflate() {
    run(&NODE, default_with_deflate(), true, None).await;
}

#[tokio::test]
async fn node_ws_client_over_tls_with_deflate() {
    let pki = Pki::new();
    run(
        &NODE,
        with_tls(&pki, default_with_deflate()),
        true,
        Some(&pki),
    )
    .await;
}

/// `cfg` serving TLS with a certificate of `pki` for localhost and 127.0.0.1,
/// loaded from PEM files as `framewire serve --tls-cert --tls-key` does.
fn with_tls(pki: &Pki, cfg: ServerConfig) -> ServerConfig {
    let (cert, key) = pki.leaf_files(Leaf::Good);
    ServerConfig {
        tls: Some(tls_server_config_from_pem(&cert, &key).expect("the test certificate loads")),
        ..cfg
    }
}

/// Runs the client `peer` against a server with `cfg`; over `wss://` trusting
/// the CA of `tls` when given.
async fn run(peer: &Peer, cfg: ServerConfig, deflate: bool, tls: Option<&Pki>) {
    let server = TestServer::start(cfg).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(peer.script);
    let mut command = tokio::process::Command::new(peer.program);
    command.arg(&script);
    let url = match tls {
        Some(pki) => {
            command.arg("--ca").arg(&pki.ca_pem);
            format!("wss://{}", server.addr)
        }
        None => server.url(""),
    };
    let child = command.arg(url).kill_on_drop(true).output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), child)
        .await
        .unwrap_or_else(|_| panic!("{} client finished within 60 s", peer.program))
        .unwrap_or_else(|e| panic!("{} is installed (run scripts/setup.sh): {e}", peer.program));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(
        out.status.code(),
        Some(3),
        "the {} peer's package is missing: run scripts/setup.sh ({})\n{stderr}",
        peer.program,
        peer.install
    );
    assert!(
        out.status.success(),
        "{} interop failed:\n{stdout}\n{stderr}",
        peer.program
    );
    let negotiated = stdout.contains("extensions permessage-deflate");
    assert_eq!(
        negotiated, deflate,
        "permessage-deflate negotiated: {negotiated}, expected {deflate}\n{stdout}"
    );
    for check in peer.checks {
        assert!(
            stdout.contains(&format!("ok {check}\n")),
            "missing {check}:\n{stdout}"
        );
    }
}

/// A third-party TLS WebSocket server script and how to install its package.
struct ServerPeer {
    program: &'static str,
    script: &'static str,
    install: &'static str,
}

const PYTHON_SERVER: ServerPeer = ServerPeer {
    program: "python3",
    script: "interop/ws_server.py",
    install: PYTHON.install,
};

const NODE_SERVER: ServerPeer = ServerPeer {
    program: "node",
    script: "interop/node/server.mjs",
    install: NODE.install,
};

#[tokio::test]
async fn framewire_client_against_python_websockets_tls_server_with_deflate() {
    against_tls_server(&PYTHON_SERVER, true).await;
}

#[tokio::test]
async fn framewire_client_against_python_websockets_tls_server() {
    against_tls_server(&PYTHON_SERVER, false).await;
}

#[tokio::test]
async fn framewire_client_against_node_ws_tls_server_with_deflate() {
    against_tls_server(&NODE_SERVER, true).await;
}

#[tokio::test]
async fn framewire_client_against_node_ws_tls_server() {
    against_tls_server(&NODE_SERVER, false).await;
}

/// Starts `peer`'s TLS server with a certificate of a fresh test CA, then
/// runs framewire's [`connect`] against it over `wss://`, trusting that CA:
/// echoes of text, binary and 1 MiB, a ping, and close codes both ways.
async fn against_tls_server(peer: &ServerPeer, deflate: bool) {
    let pki = Pki::new();
    let (cert, key) = pki.leaf_files(Leaf::Good);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(peer.script);
    let mut command = tokio::process::Command::new(peer.program);
    command
        .arg(&script)
        .arg("--cert")
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    if !deflate {
        command.arg("--no-deflate");
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("{} is installed (run scripts/setup.sh): {e}", peer.program));
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .unwrap_or_else(|_| panic!("the {} server started within 30 s", peer.program));
    let port = match first
        .ok()
        .flatten()
        .as_deref()
        .and_then(|l| l.strip_prefix("listening "))
    {
        Some(port) => port.trim().parse::<u16>().expect("a port number"),
        None => {
            let out = child.wait_with_output().await.expect("the server's output");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_ne!(
                out.status.code(),
                Some(3),
                "the {} peer's package is missing: run scripts/setup.sh ({})\n{stderr}",
                peer.program,
                peer.install
            );
            panic!(
                "the {} server did not start ({}):\n{stderr}",
                peer.program, out.status
            );
        }
    };
    let cfg = ClientConfig {
        ca_files: vec![pki.ca_pem.clone()],
        proxy: ProxyConfig::Direct,
        deflate: deflate.then(DeflateConfig::default),
        ..ClientConfig::default()
    };
    let url = format!("wss://127.0.0.1:{port}/echo");
    let checks = async {
        let mut ws = connect(&url, &cfg)
            .await
            .unwrap_or_else(|e| panic!("wss:// to the {} server: {e}", peer.program));
        assert_eq!(
            ws.handshake().deflate.is_some(),
            deflate,
            "permessage-deflate negotiated with the {} server",
            peer.program
        );
        let text = "héllo ✓ 🦀 over TLS";
        ws.send_text(text).await.unwrap();
        assert_eq!(next(&mut ws).await, Message::Text(text.into()));
        let data: Vec<u8> = (0..=255).collect();
        ws.send_binary(&data).await.unwrap();
        assert_eq!(next(&mut ws).await, Message::Binary(data.into()));
        let big: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
        ws.send_binary(&big).await.unwrap();
        assert_eq!(
            next(&mut ws).await,
            Message::Binary(big.into()),
            "1 MiB echo"
        );
        ws.ping(b"fw-ping").await.unwrap();
        assert_eq!(
            next(&mut ws).await,
            Message::Pong(b"fw-ping".to_vec().into())
        );
        ws.send_text("close 4001").await.unwrap();
        assert_eq!(
            next(&mut ws).await,
            Message::Close(Some(CloseCode(4001)), "bye".into()),
            "the server's close code"
        );
        // A close started by framewire's client, answered by the server.
        let mut ws = connect(&url, &cfg).await.unwrap();
        ws.close(CloseCode(4000), "custom").await.unwrap();
    };
    tokio::time::timeout(Duration::from_secs(60), checks)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "the checks against the {} server took over 60 s",
                peer.program
            )
        });
}

/// The next message, pings and pongs included; panics when the connection ends or fails.
async fn next(ws: &mut WebSocket<ClientStream>) -> Message {
    match ws.recv().await {
        Some(Ok(m)) => m,
        Some(Err(e)) => panic!("the connection failed: {e}"),
        None => panic!("the connection ended"),
    }
}
