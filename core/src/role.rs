//! Which end of the connection we are.

/// The endpoint's role: it decides who masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Accepted the connection; sends unmasked frames, requires masked ones.
    Server,
    /// Opened the connection; sends masked frames, requires unmasked ones.
    Client,
}

impl Role {
    /// The other end.
    pub fn peer(self) -> Self {
        match self {
            Self::Server => Self::Client,
            Self::Client => Self::Server,
        }
    }
}
