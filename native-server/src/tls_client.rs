//! TLS for `wss://` in the client: rustls with the ring provider.
//!
//! The trust anchors are Mozilla's, compiled in through the `webpki-roots`
//! crate, plus any CA files of [`crate::ClientConfig::ca_files`]: the platform's
//! certificate store is not consulted, so a connection is verified the same way
//! on every machine and in every container (a CA installed only in the
//! system's store must be given as a CA file).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::client::TlsStream;

use crate::error::Error;
use crate::pem::{self, PemError};

/// Why TLS to the server failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The certificate chain does not lead to a trusted CA.
    #[error("TLS: unknown CA: the server's certificate is not issued by a trusted certificate authority (trusted: the webpki-roots set and the extra CA files given)")]
    UnknownCa,
    /// The certificate is valid, but not for the host connected to.
    #[error("TLS: name mismatch: the server's certificate is not valid for {name:?}{}", presented_names(.presented))]
    NameMismatch {
        /// The host name (or address) of the URL.
        name: String,
        /// The names the certificate holds, when known.
        presented: Vec<String>,
    },
    /// The certificate's validity period has ended.
    #[error("TLS: the server's certificate has expired")]
    Expired,
    /// The certificate's validity period has not begun.
    #[error("TLS: the server's certificate is not valid yet")]
    NotYetValid,
    /// Another problem with the server's certificate.
    #[error("TLS: the server's certificate is invalid: {0}")]
    BadCertificate(String),
    /// The server does not speak TLS (a plain HTTP or `ws://` server, for example).
    #[error("not TLS: the server did not answer with TLS (is it a plain HTTP or ws:// server? then use ws://): {0}")]
    NotTls(String),
    /// The server sent a TLS alert.
    #[error("TLS: the server sent the alert {0}")]
    Alert(String),
    /// The server ended the connection during the TLS handshake.
    #[error("TLS: the server closed the connection during the TLS handshake")]
    Closed,
    /// Another TLS handshake failure.
    #[error("TLS handshake failed: {0}")]
    Handshake(String),
    /// The URL's host cannot be a TLS server name.
    #[error("TLS: {0:?} cannot be used as a TLS server name")]
    InvalidName(String),
    /// An extra CA file could not be used.
    #[error("CA file: {0}")]
    CaFile(#[from] PemError),
    /// A certificate of an extra CA file is not a usable trust anchor.
    #[error("CA file {}: a certificate cannot be used as a trust anchor: {reason}", path.display())]
    BadCa {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

fn presented_names(names: &[String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!(" (it is for {})", names.join(", "))
    }
}

impl TlsError {
    /// The error for a rustls error met during the handshake with `name`.
    fn from_rustls(e: &rustls::Error, name: &str) -> Self {
        use rustls::Error as E;
        match e {
            E::InvalidCertificate(c) => match c {
                CertificateError::UnknownIssuer => Self::UnknownCa,
                CertificateError::NotValidForName => Self::NameMismatch {
                    name: name.to_owned(),
                    presented: Vec::new(),
                },
                CertificateError::NotValidForNameContext { presented, .. } => Self::NameMismatch {
                    name: name.to_owned(),
                    presented: presented.clone(),
                },
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    Self::Expired
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    Self::NotYetValid
                }
                other => Self::BadCertificate(format!("{other:?}")),
            },
            E::InvalidMessage(m) => Self::NotTls(format!("its answer is not a TLS record ({m:?})")),
            E::InappropriateMessage { .. } | E::InappropriateHandshakeMessage { .. } => {
                Self::NotTls(e.to_string())
            }
            E::AlertReceived(a) => Self::Alert(format!("{a:?}")),
            other => Self::Handshake(other.to_string()),
        }
    }
}

/// The rustls client configuration: webpki-roots plus `ca_files`, or no
/// verification at all when `insecure`; ALPN `http/1.1`.
pub(crate) fn client_config(
    ca_files: &[PathBuf],
    insecure: bool,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let provider = Arc::new(ring_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Handshake(e.to_string()))?;
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for path in ca_files {
        add_ca_file(&mut roots, path)?;
    }
    let mut config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
            .with_no_client_auth()
    } else {
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// rustls's *ring* provider. rustls 0.23.48 deprecated it because it has no
/// post-quantum key exchange (aws-lc-rs has X25519MLKEM768); it is used all
/// the same because it builds with just a C compiler, where aws-lc-rs needs
/// cmake (and NASM on some targets). Key exchange is X25519 or ECDHE.
#[allow(deprecated)]
pub(crate) fn ring_provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

fn add_ca_file(roots: &mut RootCertStore, path: &Path) -> Result<(), TlsError> {
    for cert in pem::load_certs(path)? {
        roots.add(cert).map_err(|e| TlsError::BadCa {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    }
    Ok(())
}

/// Runs the TLS handshake on `io` for the server `host` (a name, sent as SNI,
/// or an IP address).
pub(crate) async fn handshake<S>(
    io: S,
    host: &str,
    config: Arc<rustls::ClientConfig>,
) -> Result<TlsStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let name = ServerName::try_from(host.to_owned())
        .map_err(|_| TlsError::InvalidName(host.to_owned()))?;
    tokio_rustls::TlsConnector::from(config)
        .connect(name, io)
        .await
        .map_err(|e| {
            if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return TlsError::from_rustls(inner, host).into();
            }
            match e.kind() {
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => {
                    TlsError::Closed.into()
                }
                _ => Error::Io(e),
            }
        })
}

/// Accepts any certificate (`insecure`); signatures are still checked, so the
/// handshake itself is sound, but anyone on the path could be the server.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rustls_errors_map_to_words() {
        let cases = [
            (
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
                "unknown CA",
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::NotValidForName),
                "name mismatch",
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::Expired),
                "expired",
            ),
            (
                rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
                "not TLS",
            ),
        ];
        for (e, words) in cases {
            let t = TlsError::from_rustls(&e, "localhost").to_string();
            assert!(t.contains(words), "{e:?}: {t}");
        }
    }

    #[test]
    fn a_missing_ca_file_is_named() {
        let e = client_config(&[PathBuf::from("/nonexistent/ca.pem")], false).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    }
}
