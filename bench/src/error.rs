//! What can go wrong while benchmarking.

/// An error of the load generator.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The server refused or botched the opening handshake.
    #[error("handshake failed: {0}")]
    Handshake(#[from] framewire_core::handshake::HandshakeError),
    /// The server closed the connection during the opening handshake.
    #[error("the server closed the connection during the opening handshake")]
    HandshakeEof,
    /// The OS random source failed.
    #[error("no randomness for mask keys: {0}")]
    Random(#[from] getrandom::Error),
    /// Something took longer than allowed.
    #[error("timed out: {0}")]
    Timeout(&'static str),
    /// A /proc file did not have the expected shape.
    #[error("cannot read {path}: {why}")]
    Proc {
        /// The file.
        path: String,
        /// What was wrong.
        why: String,
    },
    /// An option value is unusable.
    #[error("bad option: {0}")]
    BadOption(String),
    /// A run could not complete (a connection failed or the server refused a send).
    #[error("the run failed: {0}")]
    Run(String),
}

impl BenchError {
    /// An I/O error while doing `what`.
    pub fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> Self {
        move |source| Self::Io { what, source }
    }
}
