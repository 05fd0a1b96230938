//! Loading PEM files: certificates (client trust anchors, server chains) and
//! private keys. Shared by the TLS client and a TLS server.

use std::path::{Path, PathBuf};

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A PEM file that could not be used: which file, and what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum PemError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid PEM.
    #[error("{} is not a valid PEM file: {reason}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What the PEM parser found wrong.
        reason: String,
    },
    /// The file holds no block of the kind needed.
    #[error("{} holds no {wanted} (expected a PEM block such as \"-----BEGIN {marker}-----\")", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
        /// What was looked for, in words.
        wanted: &'static str,
        /// The PEM label expected.
        marker: &'static str,
    },
}

/// Every `CERTIFICATE` block of the PEM file at `path`, in order (at least one).
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let data = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&data)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| malformed(path, e))?;
    if certs.is_empty() {
        return Err(PemError::Missing {
            path: path.to_owned(),
            wanted: "certificate",
            marker: "CERTIFICATE",
        });
    }
    Ok(certs)
}

/// The first private key (PKCS#8, PKCS#1 RSA or SEC1 EC) of the PEM file at `path`.
pub fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, PemError> {
    let data = read(path)?;
    match PrivateKeyDer::from_pem_slice(&data) {
        Ok(key) => Ok(key),
        Err(pem::Error::NoItemsFound) => Err(PemError::Missing {
            path: path.to_owned(),
            wanted: "private key",
            marker: "PRIVATE KEY",
        }),
        Err(e) => Err(malformed(path, e)),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, PemError> {
    std::fs::read(path).map_err(|source| PemError::Read {
        path: path.to_owned(),
        source,
    })
}

fn malformed(path: &Path, e: pem::Error) -> PemError {
    let reason = match e {
        pem::Error::MissingSectionEnd { end_marker } => format!(
            "a block does not end (missing {:?})",
            String::from_utf8_lossy(&end_marker)
        ),
        pem::Error::IllegalSectionStart { line } => format!(
            "bad \"-----BEGIN\" line {:?}",
            String::from_utf8_lossy(&line)
        ),
        pem::Error::Base64Decode(e) => format!("a block is not valid base64 ({e})"),
        other => other.to_string(),
    };
    PemError::Malformed {
        path: path.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, body: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("framewire-pem-{}-{name}", std::process::id()));
        std::fs::write(&p, body).unwrap();
        p
    }

    #[test]
    fn clear_errors_name_the_file() {
        let missing = Path::new("/nonexistent/ca.pem");
        let e = load_certs(missing).unwrap_err().to_string();
        assert!(e.contains("cannot read /nonexistent/ca.pem"), "{e}");

        let p = temp("empty.pem", "just some text\n");
        let e = load_certs(&p).unwrap_err().to_string();
        assert!(
            e.contains(&*p.to_string_lossy()) && e.contains("holds no certificate"),
            "{e}"
        );
        let e = load_private_key(&p).unwrap_err().to_string();
        assert!(e.contains("holds no private key"), "{e}");

        let p2 = temp(
            "bad64.pem",
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        );
        let e = load_certs(&p2).unwrap_err().to_string();
        assert!(
            e.contains("not a valid PEM file") && e.contains("base64"),
            "{e}"
        );

        let p3 = temp("open.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n");
        let e = load_certs(&p3).unwrap_err().to_string();
        assert!(e.contains("does not end"), "{e}");
        for p in [p, p2, p3] {
            let _ = std::fs::remove_file(p);
        }
    }
}
