//! Node's `ws` as a client against our server (tests/interop/node/client.mjs).

#[path = "native_util/mod.rs"]
mod util;

use std::path::Path;

use framewire_server::ServerConfig;
use util::TestServer;

/// Without compression: the server refuses permessage-deflate.
#[tokio::test]
async fn node_ws_client() {
    let mut cfg = ServerConfig::default();
    cfg.handshake.deflate = None;
    run(TestServer::start(cfg).await, false).await;
}

/// With permessage-deflate, which the server accepts by default and `ws` offers.
#[tokio::test]
async fn node_ws_client_with_deflate() {
    run(TestServer::start(deflate_config()).await, true).await;
}

fn deflate_config() -> ServerConfig {
    let cfg = ServerConfig::default();
    assert!(cfg.handshake.deflate.is_some(), "on by default");
    cfg
}

async fn run(server: TestServer, deflate: bool) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/node/client.mjs");
    let child = tokio::process::Command::new("node")
        .arg(&script)
        .arg(server.url(""))
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), child)
        .await
        .expect("node client finished within 60 s")
        .expect("node is installed (run scripts/setup.sh)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(
        out.status.code(),
        Some(3),
        "Node package `ws` is missing: run scripts/setup.sh (npm ci --prefix tests/interop/node)\n{stderr}"
    );
    assert!(
        out.status.success(),
        "node interop failed:\n{stdout}\n{stderr}"
    );
    let negotiated = stdout.contains("extensions permessage-deflate");
    assert_eq!(
        negotiated, deflate,
        "permessage-deflate negotiated: {negotiated}, expected {deflate}\n{stdout}"
    );
    for check in ["greeting", "echo", "ping", "closeCodes", "chat"] {
        assert!(
            stdout.contains(&format!("ok {check}\n")),
            "missing {check}:\n{stdout}"
        );
    }
}
