//! `wss://` in the library client against a TLS echo server on loopback, with
//! certificates made at run time.

mod support;

use framewire_server::{connect, ClientConfig, CloseCode, Error, Message, ProxyConfig, TlsError};
use support::{plain_http_server, Leaf, Pki, TlsEcho};

fn config(pki: &Pki) -> ClientConfig {
    ClientConfig {
        ca_files: vec![pki.ca_pem.clone()],
        proxy: ProxyConfig::Direct,
        ..ClientConfig::default()
    }
}

async fn echo_once(url: &str, cfg: &ClientConfig) {
    let mut ws = connect(url, cfg).await.unwrap();
    ws.send_text("over tls").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::Text("over tls".into())
    );
    ws.close(CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test]
async fn wss_with_the_ca_file_echoes_by_name_and_by_address() {
    let pki = Pki::new();
    let server = TlsEcho::start(pki.server_config(Leaf::Good));
    let port = server.addr.port();
    echo_once(&format!("wss://localhost:{port}/echo"), &config(&pki)).await;
    echo_once(&format!("wss://127.0.0.1:{port}/echo"), &config(&pki)).await;
    let alpn = server.seen_alpn.lock().unwrap().clone();
    assert_eq!(alpn, vec![Some(b"http/1.1".to_vec()); 2]);
}

async fn tls_error(url: &str, cfg: &ClientConfig) -> TlsError {
    match connect(url, cfg).await {
        Err(Error::Tls(e)) => e,
        Err(other) => panic!("expected a TLS error, got {other:?} ({other})"),
        Ok(_) => panic!("connected to {url}"),
    }
}

#[tokio::test]
async fn without_the_ca_the_issuer_is_unknown() {
    let pki = Pki::new();
    let server = TlsEcho::start(pki.server_config(Leaf::Good));
    let cfg = ClientConfig {
        proxy: ProxyConfig::Direct,
        ..ClientConfig::default()
    };
    let e = tls_error(&format!("wss://localhost:{}/", server.addr.port()), &cfg).await;
    assert!(matches!(e, TlsError::UnknownCa), "{e:?}");
    assert!(e.to_string().contains("unknown CA"), "{e}");
}

#[tokio::test]
async fn a_certificate_for_another_name_is_a_name_mismatch() {
    let pki = Pki::new();
    let server = TlsEcho::start(pki.server_config(Leaf::WrongName));
    let e = tls_error(
        &format!("wss://localhost:{}/", server.addr.port()),
        &config(&pki),
    )
    .await;
    let text = e.to_string();
    assert!(text.contains("name mismatch"), "{text}");
    assert!(text.contains("\"localhost\""), "{text}");
    assert!(text.contains("wrong.example"), "{text}");
}

#[tokio::test]
async fn an_expired_certificate_is_expired() {
    let pki = Pki::new();
    let server = TlsEcho::start(pki.server_config(Leaf::Expired));
    let e = tls_error(
        &format!("wss://127.0.0.1:{}/", server.addr.port()),
        &config(&pki),
    )
    .await;
    assert!(matches!(e, TlsError::Expired), "{e:?}");
    assert!(e.to_string().contains("expired"), "{e}");
}

#[tokio::test]
async fn a_plain_http_server_is_not_tls() {
    let addr = plain_http_server();
    let e = tls_error(&format!("wss://{addr}/"), &ClientConfig::default()).await;
    assert!(matches!(e, TlsError::NotTls(_)), "{e:?}");
    assert!(e.to_string().contains("not TLS"), "{e}");
}

#[tokio::test]
async fn insecure_accepts_any_certificate() {
    let pki = Pki::new();
    for leaf in [Leaf::Good, Leaf::WrongName, Leaf::Expired] {
        let server = TlsEcho::start(pki.server_config(leaf));
        let cfg = ClientConfig {
            insecure: true,
            proxy: ProxyConfig::Direct,
            ..ClientConfig::default()
        };
        echo_once(&format!("wss://localhost:{}/", server.addr.port()), &cfg).await;
    }
}

#[tokio::test]
async fn bad_ca_files_are_named() {
    let pki = Pki::new();
    let junk = pki.dir.path("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    for (path, words) in [
        (pki.dir.path("missing.pem"), "cannot read"),
        (junk, "holds no certificate"),
    ] {
        let cfg = ClientConfig {
            ca_files: vec![path.clone()],
            ..ClientConfig::default()
        };
        // The file is read before any connection is tried (port 1 is never dialled).
        let e = connect("wss://127.0.0.1:1/", &cfg).await.err().unwrap();
        let text = e.to_string();
        assert!(matches!(e, Error::Tls(TlsError::CaFile(_))), "{e:?}");
        assert!(
            text.contains(&*path.to_string_lossy()) && text.contains(words),
            "{text}"
        );
    }
}
