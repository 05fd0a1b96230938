//! Dialling the configured upstream (never any other address): TCP, then TLS for `wss://`.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;

use crate::client_stream::ClientStream;
use crate::error::Error;
use crate::tls_client;
use crate::url::WsUrl;

/// The one server the proxy relays to.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    pub(crate) url: WsUrl,
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
}

impl Upstream {
    /// Opens a connection to the upstream within `timeout`.
    pub(crate) async fn dial(&self, timeout: Duration) -> Result<ClientStream, Error> {
        let url = &self.url;
        let dial = async {
            let addr = (url.host.as_str(), url.port);
            let tcp = TcpStream::connect(addr)
                .await
                .map_err(|source| Error::Connect {
                    addr: format!("{}:{}", url.host, url.port),
                    source,
                })?;
            let _ = tcp.set_nodelay(true);
            match &self.tls {
                None => Ok(ClientStream::plain(tcp, false)),
                Some(config) => {
                    let tls = tls_client::handshake(tcp, &url.host, config.clone()).await?;
                    Ok(ClientStream::tls(tls, false))
                }
            }
        };
        tokio::time::timeout(timeout, dial).await.map_err(|_| {
            Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no connection to {url} within {timeout:?}"),
            ))
        })?
    }
}
