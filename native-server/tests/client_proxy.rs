//! The library client through a real HTTP proxy (Debian's tinyproxy, started
//! here on loopback), credentials from the URL, and extra headers.

mod support;

use framewire_core::handshake::{Acceptance, HttpResponse};
use framewire_server::{
    accept, accept_with, connect, AcceptConfig, ClientConfig, CloseCode, Error, Message, NoProxy,
    ProxyConfig, ProxyError, ProxyUrl,
};
use support::{free_port, Leaf, Pki, Tinyproxy, TlsEcho};

/// A plain WebSocket echo server on 127.0.0.1; returns its port.
async fn echo_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = accept(tcp, &AcceptConfig::default()).await else {
                    return;
                };
                while let Some(Ok(Message::Text(t))) = ws.recv().await {
                    if ws.send_text(&t).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

fn via(proxy: &str, no_proxy: &str) -> ClientConfig {
    ClientConfig {
        proxy: ProxyConfig::Via {
            proxy: ProxyUrl::parse(proxy).unwrap(),
            no_proxy: NoProxy::parse(no_proxy),
        },
        ..ClientConfig::default()
    }
}

async fn echo(url: &str, cfg: &ClientConfig) {
    let mut ws = connect(url, cfg).await.unwrap();
    ws.send_text("through").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::Text("through".into())
    );
    ws.close(CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_and_wss_through_tinyproxy() {
    let port = echo_server().await;
    let pki = Pki::new();
    let tls = TlsEcho::start(pki.server_config(Leaf::Good));
    let proxy = Tinyproxy::start(&[port, tls.addr.port()], None);
    let cfg = via(&proxy.url(), "");
    echo(&format!("ws://127.0.0.1:{port}/"), &cfg).await;
    let cfg = ClientConfig {
        ca_files: vec![pki.ca_pem.clone()],
        ..via(&proxy.url(), "")
    };
    echo(&format!("wss://localhost:{}/", tls.addr.port()), &cfg).await;
    let log = proxy.log().join("\n");
    assert!(
        log.contains(&format!("127.0.0.1:{port}"))
            && log.contains(&format!("localhost:{}", tls.addr.port())),
        "tinyproxy did not see both tunnels:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_proxy_bypasses_the_proxy() {
    let port = echo_server().await;
    // Nothing listens on the proxy's port: only a bypass can connect.
    let dead = format!("http://127.0.0.1:{}", free_port());
    echo(
        &format!("ws://127.0.0.1:{port}/"),
        &via(&dead, "localhost,127.0.0.1"),
    )
    .await;
    let e = connect(&format!("ws://127.0.0.1:{port}/"), &via(&dead, "localhost"))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(e, Error::Proxy(ProxyError::Connect { .. })),
        "{e:?}"
    );
    assert!(e.to_string().contains("cannot connect to the proxy"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connect_carries_the_proxy_status() {
    let port = echo_server().await;
    let other = echo_server().await;
    let proxy = Tinyproxy::start(&[other], None);
    let e = connect(&format!("ws://127.0.0.1:{port}/"), &via(&proxy.url(), ""))
        .await
        .err()
        .unwrap();
    match &e {
        Error::Proxy(ProxyError::Refused { status, target, .. }) => {
            assert_eq!(*status, 403, "{e}");
            assert_eq!(target, &format!("127.0.0.1:{port}"));
        }
        other => panic!("expected a refused CONNECT, got {other:?}"),
    }
    assert!(e.to_string().contains("refused CONNECT"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_credentials_go_as_proxy_authorization() {
    let port = echo_server().await;
    let proxy = Tinyproxy::start(&[port], Some(("fw", "s3cret")));
    let url = format!("ws://127.0.0.1:{port}/");
    let without = connect(&url, &via(&proxy.url(), "")).await.err().unwrap();
    assert!(
        matches!(
            without,
            Error::Proxy(ProxyError::Refused { status: 407, .. })
        ),
        "{without:?}"
    );
    let with = format!("http://fw:s3cret@127.0.0.1:{}", proxy.port);
    echo(&url, &via(&with, "")).await;
}

#[tokio::test]
async fn url_credentials_and_extra_headers_reach_the_server() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut seen = None;
        let ws = accept_with(tcp, &AcceptConfig::default(), |req| {
            let get = |name: &str| {
                req.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            seen = Some((get("authorization"), get("host"), get("x-trace")));
            if get("authorization").is_some() {
                Ok(Acceptance::default())
            } else {
                Err(HttpResponse::new(401))
            }
        })
        .await;
        drop(ws);
        seen.unwrap()
    });
    let cfg = ClientConfig {
        headers: vec![("X-Trace".into(), "abc".into())],
        proxy: ProxyConfig::Direct,
        ..ClientConfig::default()
    };
    let ws = connect(
        &format!("ws://Aladdin:open%20sesame@127.0.0.1:{port}/"),
        &cfg,
    )
    .await
    .unwrap();
    drop(ws);
    let (auth, host, trace) = server.await.unwrap();
    assert_eq!(auth.as_deref(), Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
    assert_eq!(host, Some(format!("127.0.0.1:{port}")));
    assert_eq!(trace.as_deref(), Some("abc"));
}
