//! A `wss://` echo server in your own tokio program: a `tokio_rustls`
//! acceptor in front of [`framewire_server::accept`].
//!
//! ```text
//! cargo run -p framewire-server --example tls_server -- cert.pem key.pem [127.0.0.1:9443]
//! framewire client --ca ca.pem wss://localhost:9443/
//! ```
//!
//! `cert.pem` is the server's certificate chain (its own certificate first),
//! `key.pem` its private key. (To serve the inspector and the built-in
//! endpoints over TLS instead, run `framewire serve --tls-cert cert.pem --tls-key key.pem`,
//! or set `ServerConfig::tls` in the library.)

use std::path::PathBuf;

use framewire_server::{accept, tls_server_config_from_pem, AcceptConfig, Message};
use tokio_rustls::TlsAcceptor;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let (Some(cert), Some(key)) = (args.next(), args.next()) else {
        eprintln!("usage: tls_server CERT.pem KEY.pem [ADDR]");
        std::process::exit(2);
    };
    let addr = args
        .next()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_else(|| "127.0.0.1:9443".to_owned());
    // The ring provider, ALPN http/1.1; errors name the file and what is wrong.
    let tls = tls_server_config_from_pem(&PathBuf::from(cert), &PathBuf::from(key))?;
    let acceptor = TlsAcceptor::from(tls);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on wss://{}", listener.local_addr()?);
    loop {
        let (tcp, peer) = listener.accept().await?;
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            // Bound the TLS handshake: a client that never finishes it holds a task.
            let tls =
                tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(tcp));
            let tls = match tls.await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => return eprintln!("{peer}: TLS handshake failed: {e}"),
                Err(_) => return eprintln!("{peer}: TLS handshake timed out"),
            };
            let Ok(mut ws) = accept(tls, &AcceptConfig::default()).await else {
                return; // refused: the HTTP error response was already sent
            };
            while let Some(Ok(msg)) = ws.recv().await {
                let sent = match msg {
                    Message::Text(text) => ws.send_text(&text).await,
                    Message::Binary(data) => ws.send_binary(&data).await,
                    _ => Ok(()),
                };
                if sent.is_err() {
                    break;
                }
            }
        });
    }
}
