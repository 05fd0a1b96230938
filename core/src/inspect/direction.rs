//! Which way bytes travel on the observed connection.

use crate::role::Role;

/// The direction of a byte stream: who sent it.
/// Serialised as `"c2s"` and `"s2c"` (with the `serde` feature).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Direction {
    /// Bytes the client sent (its frames must be masked).
    #[cfg_attr(feature = "serde", serde(rename = "c2s"))]
    ClientToServer,
    /// Bytes the server sent (its frames must not be masked).
    #[cfg_attr(feature = "serde", serde(rename = "s2c"))]
    ServerToClient,
}

impl Direction {
    /// Both directions, client-to-server first.
    pub const BOTH: [Direction; 2] = [Self::ClientToServer, Self::ServerToClient];

    /// The end that sends in this direction.
    pub fn sender(self) -> Role {
        match self {
            Self::ClientToServer => Role::Client,
            Self::ServerToClient => Role::Server,
        }
    }

    /// The direction in which `role` sends.
    pub fn sent_by(role: Role) -> Self {
        match role {
            Role::Client => Self::ClientToServer,
            Role::Server => Self::ServerToClient,
        }
    }

    /// The other direction.
    pub fn reverse(self) -> Self {
        match self {
            Self::ClientToServer => Self::ServerToClient,
            Self::ServerToClient => Self::ClientToServer,
        }
    }

    /// `client-to-server` or `server-to-client`.
    pub fn name(self) -> &'static str {
        match self {
            Self::ClientToServer => "client-to-server",
            Self::ServerToClient => "server-to-client",
        }
    }

    /// 0 for client-to-server, 1 for server-to-client.
    pub(crate) fn index(self) -> usize {
        match self {
            Self::ClientToServer => 0,
            Self::ServerToClient => 1,
        }
    }
}
