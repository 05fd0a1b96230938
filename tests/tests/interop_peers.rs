//! Third-party clients against our server: Python's `websockets`
//! (tests/interop/ws_client.py) and Node's `ws` (tests/interop/node/client.mjs),
//! each with and without permessage-deflate.

#[path = "native_util/mod.rs"]
mod util;

use std::path::Path;

use framewire_server::ServerConfig;
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
    run(&PYTHON, plain(), false).await;
}

#[tokio::test]
async fn python_websockets_client_with_deflate() {
    run(&PYTHON, default_with_deflate(), true).await;
}

#[tokio::test]
async fn node_ws_client() {
    run(&NODE, plain(), false).await;
}

#[tokio::test]
async fn node_ws_client_with_deflate() {
    run(&NODE, default_with_deflate(), true).await;
}

async fn run(peer: &Peer, cfg: ServerConfig, deflate: bool) {
    let server = TestServer::start(cfg).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(peer.script);
    let child = tokio::process::Command::new(peer.program)
        .arg(&script)
        .arg(server.url(""))
        .kill_on_drop(true)
        .output();
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
