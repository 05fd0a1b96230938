//! Close codes and the close frame payload (RFC 6455 section 7.4).

use std::fmt;

/// A close status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: normal closure.
    pub const NORMAL: Self = Self(1000);
    /// 1001: going away (server shutdown, page left).
    pub const GOING_AWAY: Self = Self(1001);
    /// 1002: protocol error.
    pub const PROTOCOL_ERROR: Self = Self(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: Self = Self(1003);
    /// 1005: no status code was present (never on the wire).
    pub const NO_STATUS: Self = Self(1005);
    /// 1006: closed without a close frame (never on the wire).
    pub const ABNORMAL: Self = Self(1006);
    /// 1007: data inconsistent with the message type, such as invalid UTF-8.
    pub const INVALID_PAYLOAD: Self = Self(1007);
    /// 1008: policy violation.
    pub const POLICY_VIOLATION: Self = Self(1008);
    /// 1009: message too big.
    pub const TOO_BIG: Self = Self(1009);
    /// 1010: the client expected an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: Self = Self(1010);
    /// 1011: the server met an unexpected condition.
    pub const INTERNAL_ERROR: Self = Self(1011);
    /// 1012: the service is restarting (IANA registry).
    pub const SERVICE_RESTART: Self = Self(1012);
    /// 1013: try again later (IANA registry).
    pub const TRY_AGAIN_LATER: Self = Self(1013);
    /// 1014: a gateway got an invalid response from upstream (IANA registry).
    pub const BAD_GATEWAY: Self = Self(1014);
    /// 1015: TLS handshake failure (never on the wire).
    pub const TLS_HANDSHAKE: Self = Self(1015);

    /// True when the code may appear in a close frame: 1000-1003, 1007-1014
    /// (RFC 6455 and the IANA registry's 1012-1014), 3000-4999.
    pub fn is_allowed_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }

    /// The code's registered meaning, or its range's.
    pub fn meaning(self) -> &'static str {
        match self.0 {
            1000 => "normal closure",
            1001 => "going away",
            1002 => "protocol error",
            1003 => "unsupported data",
            1004 => "reserved",
            1005 => "no status received (must not be sent)",
            1006 => "abnormal closure (must not be sent)",
            1007 => "invalid frame payload data",
            1008 => "policy violation",
            1009 => "message too big",
            1010 => "mandatory extension",
            1011 => "internal error",
            1012 => "service restart",
            1013 => "try again later",
            1014 => "bad gateway",
            1015 => "TLS handshake failure (must not be sent)",
            1016..=2999 => "reserved for the protocol",
            3000..=3999 => "registered for libraries and frameworks",
            4000..=4999 => "private use",
            _ => "not a valid close code",
        }
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.0, self.meaning())
    }
}

/// Why a close frame's payload is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClosePayloadError {
    /// A payload of exactly one byte cannot hold a code.
    #[error("close payload of 1 byte: a code needs 2")]
    OneByte,
    /// The code may not be sent.
    #[error("close code {0} may not be sent on the wire")]
    InvalidCode(u16),
    /// The reason is not UTF-8.
    #[error("close reason is not valid UTF-8 (at byte {0} of the reason)")]
    InvalidReason(usize),
}

/// A close payload with any `code` (allowed on the wire or not) and `reason`,
/// for tools that send exactly what they are told (a relay's injected close).
///
/// ```
/// assert_eq!(framewire_core::close::close_payload(1000, "bye"), b"\x03\xe8bye");
/// ```
pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + reason.len());
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(reason.as_bytes());
    out
}

/// Parses a close payload into an optional code and reason.
pub fn parse_close_payload(payload: &[u8]) -> Result<(Option<CloseCode>, &str), ClosePayloadError> {
    match payload.len() {
        0 => Ok((None, "")),
        1 => Err(ClosePayloadError::OneByte),
        _ => {
            let code = CloseCode(u16::from_be_bytes([payload[0], payload[1]]));
            if !code.is_allowed_on_wire() {
                return Err(ClosePayloadError::InvalidCode(code.0));
            }
            let reason = simdutf8::compat::from_utf8(&payload[2..])
                .map_err(|e| ClosePayloadError::InvalidReason(e.valid_up_to()))?;
            Ok((Some(code), reason))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_codes() {
        for ok in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
            4000, 4999,
        ] {
            assert!(CloseCode(ok).is_allowed_on_wire(), "{ok}");
        }
        for bad in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!CloseCode(bad).is_allowed_on_wire(), "{bad}");
        }
    }

    #[test]
    fn payloads() {
        assert_eq!(parse_close_payload(&[]), Ok((None, "")));
        assert_eq!(parse_close_payload(&[3]), Err(ClosePayloadError::OneByte));
        assert_eq!(
            parse_close_payload(&[0x03, 0xE8, b'h', b'i']),
            Ok((Some(CloseCode::NORMAL), "hi"))
        );
        assert_eq!(
            parse_close_payload(&[0x03, 0xED]),
            Err(ClosePayloadError::InvalidCode(1005))
        );
        assert_eq!(
            parse_close_payload(&[0x03, 0xE8, b'a', 0xFF]),
            Err(ClosePayloadError::InvalidReason(1))
        );
    }
}
