//! The server side of TLS: [`accept`] behind a `tokio_rustls` acceptor, and
//! [`Server`] with [`ServerConfig::tls`] (`wss://` endpoints and the inspector
//! over `https://` on one port), with certificates made at run time.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use framewire_server::{
    accept, connect, tls_server_config, tls_server_config_from_pem, AcceptConfig, ClientConfig,
    CloseCode, Message, ProxyConfig, Server, ServerConfig, ServerTlsError,
};
use support::{Leaf, Pki};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

const WAIT: Duration = Duration::from_secs(20);

fn client(pki: &Pki) -> ClientConfig {
    ClientConfig {
        ca_files: vec![pki.ca_pem.clone()],
        proxy: ProxyConfig::Direct,
        ..ClientConfig::default()
    }
}

/// A [`Server`] on 127.0.0.1:0, stopped on drop of the sender.
async fn start(cfg: ServerConfig) -> (SocketAddr, oneshot::Sender<()>) {
    let server = Server::bind("127.0.0.1:0", cfg).await.unwrap();
    assert!(server.is_tls());
    let addr = server.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

fn tls_cfg(pki: &Pki) -> ServerConfig {
    let (cert, key) = pki.leaf_files(Leaf::Good);
    ServerConfig {
        tls: Some(tls_server_config_from_pem(&cert, &key).unwrap()),
        ..ServerConfig::default()
    }
}

/// A TLS client connection to `addr` trusting the test CA, with ALPN http/1.1.
async fn tls_connect(pki: &Pki, addr: SocketAddr) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in framewire_server::pem::load_certs(&pki.ca_pem).unwrap() {
        roots.add(cert).unwrap();
    }
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    tls
}

async fn read_all(io: &mut (impl tokio::io::AsyncRead + Unpin)) -> String {
    let mut out = Vec::new();
    // A peer that closes without close_notify ends the read with an error: keep what came.
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout(WAIT, io.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server did not end the connection"),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn accept_behind_a_tokio_rustls_acceptor() {
    let pki = Pki::new();
    let (chain, key) = pki.leaf(Leaf::Good);
    let acceptor = tokio_rustls::TlsAcceptor::from(tls_server_config(chain, key).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(tcp).await.unwrap();
        let mut ws = accept(tls, &AcceptConfig::default()).await.unwrap();
        assert_eq!(ws.handshake().path, "/feed");
        while let Some(Ok(msg)) = ws.recv().await {
            if let Message::Text(t) = msg {
                ws.send_text(&t).await.unwrap();
            }
        }
    });
    let url = format!("wss://localhost:{port}/feed");
    let mut ws = connect(&url, &client(&pki)).await.unwrap();
    ws.send_text("behind tokio-rustls").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::Text("behind tokio-rustls".into())
    );
    ws.close(CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test]
async fn server_echoes_over_wss_and_greets_on_root() {
    let pki = Pki::new();
    let (addr, _stop) = start(tls_cfg(&pki)).await;
    let port = addr.port();
    let mut ws = connect(&format!("wss://localhost:{port}/echo"), &client(&pki))
        .await
        .unwrap();
    // Compressed both ways (the server accepts permessage-deflate by default).
    assert!(
        ws.handshake().deflate.is_some(),
        "permessage-deflate negotiated"
    );
    let big = "tls ".repeat(50_000);
    ws.send_text(&big).await.unwrap();
    assert_eq!(ws.recv().await.unwrap().unwrap(), Message::Text(big.into()));
    ws.send_binary(&[0, 1, 2, 255]).await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::Binary(vec![0, 1, 2, 255].into())
    );
    ws.close(CloseCode::NORMAL, "").await.unwrap();

    let mut root = connect(&format!("wss://127.0.0.1:{port}/"), &client(&pki))
        .await
        .unwrap();
    assert_eq!(
        root.recv().await.unwrap().unwrap(),
        Message::Text("socket ok".into())
    );
    root.close(CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test]
async fn server_serves_the_inspector_over_https() {
    let pki = Pki::new();
    let (addr, _stop) = start(tls_cfg(&pki)).await;
    let mut tls = tls_connect(&pki, addr).await;
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_all(&mut tls).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.300}");
    assert!(answer.contains("text/html"), "{answer:.300}");
    let index =
        std::fs::read_to_string(framewire_server::default_www().join("index.html")).unwrap();
    assert!(answer.ends_with(&index), "the body is www/index.html");
}

#[tokio::test]
async fn plain_http_on_the_tls_port_is_told_to_use_https() {
    let pki = Pki::new();
    let (addr, _stop) = start(tls_cfg(&pki)).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let answer = read_all(&mut tcp).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("use https://"), "{answer}");
    // A ws:// client gets the same answer as a refused upgrade.
    let e = connect(&format!("ws://{addr}/echo"), &client(&pki))
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("400"), "{e}");
}

#[tokio::test]
async fn failed_and_slow_tls_handshakes_are_dropped() {
    let pki = Pki::new();
    let mut cfg = tls_cfg(&pki);
    cfg.ws.handshake_timeout = Duration::from_millis(300);
    let (addr, _stop) = start(cfg).await;

    // Not TLS, not HTTP: dropped without an answer.
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(&[0x00, 0x01, 0x02]).await.unwrap();
    assert_eq!(read_all(&mut tcp).await, "");

    // A ClientHello record header and then silence: dropped at the handshake timeout.
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(&[0x16, 0x03, 0x01, 0x00, 0x80])
        .await
        .unwrap();
    let started = std::time::Instant::now();
    assert_eq!(read_all(&mut tcp).await, "");
    assert!(started.elapsed() < Duration::from_secs(5));

    // A client that does not trust the certificate fails; the server goes on serving.
    let untrusting = ClientConfig {
        proxy: ProxyConfig::Direct,
        ..ClientConfig::default()
    };
    let url = format!("wss://localhost:{}/echo", addr.port());
    assert!(connect(&url, &untrusting).await.is_err());
    let mut ws = connect(&url, &client(&pki)).await.unwrap();
    ws.send_text("still here").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::Text("still here".into())
    );
}

#[tokio::test]
async fn a_slow_request_head_over_tls_is_answered_408() {
    let pki = Pki::new();
    let mut cfg = tls_cfg(&pki);
    cfg.ws.handshake_timeout = Duration::from_millis(500);
    let (addr, _stop) = start(cfg).await;
    let mut tls = tls_connect(&pki, addr).await;
    tls.write_all(b"GET /echo HTTP/1.1\r\n").await.unwrap();
    let answer = read_all(&mut tls).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[test]
fn bad_certificate_and_key_files_are_named() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf_files(Leaf::Good);
    let (_, other_key) = pki.leaf_files(Leaf::Good);
    let junk = pki.dir.path("junk.pem");
    std::fs::write(&junk, "no PEM here\n").unwrap();

    let e = tls_server_config_from_pem(&junk, &key).unwrap_err();
    assert!(matches!(e, ServerTlsError::Certificate(_)), "{e:?}");
    let text = e.to_string();
    assert!(text.contains(&*junk.to_string_lossy()) && text.contains("holds no certificate"));

    // The key file given as the certificate, and the other way round.
    let e = tls_server_config_from_pem(&key, &cert)
        .unwrap_err()
        .to_string();
    assert!(e.contains("holds no certificate"), "{e}");
    let e = tls_server_config_from_pem(&cert, &cert)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("private key") && e.contains("holds no private key"),
        "{e}"
    );

    let e = tls_server_config_from_pem(&cert, &other_key).unwrap_err();
    assert!(matches!(e, ServerTlsError::Rejected { .. }), "{e:?}");
    assert!(e.to_string().contains("does not belong"), "{e}");
}
