//! The inspector key: who may attach to the proxy's inspector socket.

use std::fmt;
use std::net::SocketAddr;

use crate::exposure::is_loopback;

/// Bytes of a generated key (128 bits).
const KEY_BYTES: usize = 16;

/// The shortest key accepted from a file: 22 base64url or 32 hex characters
/// are 128 bits; anything shorter is refused.
const MIN_KEY_CHARS: usize = 22;

/// Longest key accepted from a file.
const MAX_KEY_CHARS: usize = 256;

/// The secret an inspector page gives (`?key=`) to attach to the proxy. Its
/// `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct InspectorKey(String);

/// Why a key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Too short to hold 128 bits, or too long.
    #[error("the inspector key must be {MIN_KEY_CHARS} to {MAX_KEY_CHARS} characters (128 bits or more); it has {0}")]
    Length(usize),
    /// A character outside `A-Za-z0-9-_`.
    #[error("the inspector key may hold only letters, digits, '-' and '_' (hex or base64url)")]
    Characters,
    /// The OS random source failed.
    #[error("the OS random source failed: {0}")]
    Random(String),
}

impl InspectorKey {
    /// 128 bits from the OS random source, as 32 hex digits.
    pub fn generate() -> Result<Self, KeyError> {
        let mut raw = [0u8; KEY_BYTES];
        getrandom::getrandom(&mut raw).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Self(raw.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// A key given as text (a file's content, trimmed).
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let key = text.trim();
        if !(MIN_KEY_CHARS..=MAX_KEY_CHARS).contains(&key.len()) {
            return Err(KeyError::Length(key.len()));
        }
        if !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(KeyError::Characters);
        }
        Ok(Self(key.to_owned()))
    }

    /// The key's text, for the one line the proxy prints at start.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when `given` is the key, compared in time that does not depend on
    /// where they differ.
    pub fn matches(&self, given: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), given.as_bytes());
        let mut diff = u8::from(a.len() != b.len());
        for i in 0..a.len().max(b.len()) {
            diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0xFF);
        }
        diff == 0
    }
}

impl fmt::Debug for InspectorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InspectorKey(<redacted>)")
    }
}

/// Why the proxy refuses to listen where it was asked to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ListenError {
    /// A non-loopback address without `--allow-remote`.
    #[error("refusing to listen on {0}: it is not a loopback address, and anyone who reaches it could use the proxy and watch its traffic; give --allow-remote to allow that")]
    Remote(SocketAddr),
}

/// Whether the proxy may listen on `addr`: loopback always, another address
/// only when `allow_remote`.
pub fn check_listen(addr: SocketAddr, allow_remote: bool) -> Result<(), ListenError> {
    if is_loopback(addr.ip()) || allow_remote {
        Ok(())
    } else {
        Err(ListenError::Remote(addr))
    }
}

/// Whether a peer at `peer` may open the inspector socket: loopback peers
/// always, others only when `allow_remote`.
pub fn inspector_peer_allowed(peer: SocketAddr, allow_remote: bool) -> bool {
    is_loopback(peer.ip()) || allow_remote
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_128_random_bits() {
        let a = InspectorKey::generate().unwrap();
        let b = InspectorKey::generate().unwrap();
        assert_eq!(a.expose().len(), 32);
        assert!(a.expose().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), "InspectorKey(<redacted>)");
    }

    #[test]
    fn keys_match_only_themselves() {
        let k = InspectorKey::parse(" 0123456789abcdef0123456789abcdef\n").unwrap();
        assert!(k.matches("0123456789abcdef0123456789abcdef"));
        assert!(!k.matches("0123456789abcdef0123456789abcdee"));
        assert!(!k.matches("0123456789abcdef0123456789abcdef0"));
        assert!(!k.matches(""));
        assert_eq!(InspectorKey::parse("short"), Err(KeyError::Length(5)));
        assert_eq!(
            InspectorKey::parse("0123456789abcdef0123456789abcde!"),
            Err(KeyError::Characters)
        );
    }

    #[test]
    fn non_loopback_needs_allow_remote() {
        let remote: SocketAddr = "0.0.0.0:9090".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:9090".parse().unwrap();
        assert!(check_listen(local, false).is_ok());
        let e = check_listen(remote, false).unwrap_err();
        assert!(e.to_string().contains("--allow-remote"), "{e}");
        assert!(check_listen(remote, true).is_ok());
        let peer: SocketAddr = "10.0.0.2:5555".parse().unwrap();
        assert!(!inspector_peer_allowed(peer, false));
        assert!(inspector_peer_allowed(peer, true));
        assert!(inspector_peer_allowed("[::1]:5".parse().unwrap(), false));
    }
}
