//! Python's `websockets` as a client against our server (tests/interop/ws_client.py).

#[path = "native_util/mod.rs"]
mod util;

use std::path::Path;

use framewire_server::ServerConfig;
use util::TestServer;

/// Without compression: the server refuses permessage-deflate.
#[tokio::test]
async fn python_websockets_client() {
    let mut cfg = ServerConfig::default();
    cfg.handshake.deflate = None;
    run(TestServer::start(cfg).await, false).await;
}

/// The same with permessage-deflate on: `websockets` offers it by default.
#[tokio::test]
async fn python_websockets_client_with_deflate() {
    run(TestServer::start(deflate_config()).await, true).await;
}

fn deflate_config() -> ServerConfig {
    let cfg = ServerConfig::default();
    assert!(cfg.handshake.deflate.is_some(), "on by default");
    cfg
}

async fn run(server: TestServer, deflate: bool) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/ws_client.py");
    let child = tokio::process::Command::new("python3")
        .arg(&script)
        .arg(server.url(""))
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), child)
        .await
        .expect("python client finished within 60 s")
        .expect("python3 is installed (run scripts/setup.sh)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(
        out.status.code(),
        Some(3),
        "Python package `websockets` is missing: run scripts/setup.sh \
         (python3 -m pip install -r tests/interop/requirements.txt)\n{stderr}"
    );
    assert!(
        out.status.success(),
        "python interop failed:\n{stdout}\n{stderr}"
    );
    let negotiated = stdout.contains("extensions permessage-deflate");
    assert_eq!(
        negotiated, deflate,
        "permessage-deflate negotiated: {negotiated}, expected {deflate}\n{stdout}"
    );
    for check in ["greeting", "echo", "ping", "close_codes", "chat"] {
        assert!(
            stdout.contains(&format!("ok {check}\n")),
            "missing {check}:\n{stdout}"
        );
    }
}
