//! TLS for the server side (`wss://` and `https://`): rustls with the ring
//! provider, ALPN `http/1.1`, the certificate chain and key from PEM files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::pem::{self, PemError};
use crate::tls_client::ring_provider;

/// Why a TLS server configuration could not be made from a certificate chain and key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerTlsError {
    /// The certificate chain file could not be used.
    #[error("TLS certificate chain: {0}")]
    Certificate(PemError),
    /// The private key file could not be used.
    #[error("TLS private key: {0}")]
    Key(PemError),
    /// The files were read, but rustls refused the pair.
    #[error("TLS: the certificate {} and the key {} cannot be used together: {reason}", cert.display(), key.display())]
    Rejected {
        /// The certificate chain file.
        cert: PathBuf,
        /// The private key file.
        key: PathBuf,
        /// Why, in words.
        reason: String,
    },
    /// The chain and key (given in memory) were refused by rustls.
    #[error("TLS: the certificate chain and key cannot be used: {0}")]
    Invalid(String),
}

/// A rustls server configuration for [`crate::ServerConfig::tls`] (or for a
/// `tokio_rustls::TlsAcceptor` around [`crate::accept`]) serving `chain` (the
/// server's own certificate first, then its intermediates) with `key`: the
/// ring provider, TLS 1.2 and 1.3, no client certificates, ALPN `http/1.1`.
pub fn tls_server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, ServerTlsError> {
    build(chain, key).map_err(ServerTlsError::Invalid)
}

/// Like [`tls_server_config`], with the chain and key read from PEM files
/// (`framewire serve --tls-cert FILE --tls-key FILE`). Errors name the file
/// and what is wrong with it.
pub fn tls_server_config_from_pem(
    cert_file: &Path,
    key_file: &Path,
) -> Result<Arc<rustls::ServerConfig>, ServerTlsError> {
    let chain = pem::load_certs(cert_file).map_err(ServerTlsError::Certificate)?;
    let key = pem::load_private_key(key_file).map_err(ServerTlsError::Key)?;
    build(chain, key).map_err(|reason| ServerTlsError::Rejected {
        cert: cert_file.to_owned(),
        key: key_file.to_owned(),
        reason,
    })
}

fn build(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(ring_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| refusal(&e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// rustls's refusal of a chain and key, in words.
fn refusal(e: &rustls::Error) -> String {
    use rustls::{Error as E, InconsistentKeys as K};
    match e {
        E::InconsistentKeys(K::KeyMismatch) => "the private key does not belong to the first \
            certificate of the chain (which must be the server's own certificate)"
            .to_owned(),
        E::General(reason) => format!("the private key is not usable ({reason})"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_are_named_with_their_role() {
        let e = tls_server_config_from_pem(
            Path::new("/nonexistent/cert.pem"),
            Path::new("/nonexistent/key.pem"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("certificate chain") && e.contains("/nonexistent/cert.pem"),
            "{e}"
        );
    }
}
