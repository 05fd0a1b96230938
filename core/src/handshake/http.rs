//! Small HTTP helpers over parsed headers.

use super::Headers;

/// The one value of header `name` (case-insensitive), refusing duplicates.
pub(crate) fn single<'h>(
    headers: &'h Headers,
    name: &'static str,
) -> Result<Option<&'h str>, super::HandshakeError> {
    let mut found = headers.get_all(name);
    let first = found.next();
    if found.next().is_some() {
        return Err(super::HandshakeError::DuplicateHeader(name));
    }
    Ok(first)
}

/// Comma-separated tokens of every `name` header, trimmed, empties dropped.
pub fn header_tokens<'h>(
    headers: &'h Headers,
    name: &'h str,
) -> impl Iterator<Item = &'h str> + 'h {
    headers
        .get_all(name)
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// True when `name` has the token `token` (case-insensitive).
pub(crate) fn has_token(headers: &Headers, name: &str, token: &str) -> bool {
    header_tokens(headers, name).any(|t| t.eq_ignore_ascii_case(token))
}

/// True when a Sec-WebSocket-Key is the base64 of 16 bytes (decoded on the
/// stack: a longer key fails to fit and is invalid anyway).
pub(crate) fn valid_key(key: &str) -> bool {
    use base64::Engine;
    let mut raw = [0u8; 18];
    base64::engine::general_purpose::STANDARD
        .decode_slice(key, &mut raw)
        .is_ok_and(|n| n == 16)
}

/// True for an RFC 7230 token (subprotocol names, extension names).
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Copies httparse's headers into [`Headers`] (one buffer); values must be UTF-8.
pub(crate) fn own_headers(raw: &[httparse::Header<'_>]) -> Result<Headers, super::HandshakeError> {
    let bytes = raw.iter().map(|h| h.name.len() + h.value.len()).sum();
    let mut headers = Headers::with_capacity(raw.len(), bytes);
    for h in raw {
        let v = std::str::from_utf8(h.value).map_err(|_| {
            super::HandshakeError::Malformed(format!("header {} is not UTF-8", h.name))
        })?;
        headers.push(h.name, v);
    }
    Ok(headers)
}

/// Maximum header lines in a handshake head.
pub(crate) const MAX_HEADERS: usize = 64;

/// Maps httparse's errors onto ours.
pub(crate) fn parse_error(e: httparse::Error) -> super::HandshakeError {
    match e {
        httparse::Error::TooManyHeaders => super::HandshakeError::TooManyHeaders(MAX_HEADERS),
        other => super::HandshakeError::Malformed(other.to_string()),
    }
}

/// The length of a complete head within `max` bytes, `None` while incomplete, or
/// [`super::HandshakeError::TooLarge`] once it cannot fit.
pub(crate) fn head_len(
    status: httparse::Status<usize>,
    buffered: usize,
    max: usize,
) -> Result<Option<usize>, super::HandshakeError> {
    let len = match status {
        httparse::Status::Partial => None,
        httparse::Status::Complete(n) => Some(n),
    };
    if len.unwrap_or(buffered) > max {
        return Err(super::HandshakeError::TooLarge { limit: max });
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::valid_key;
    use base64::Engine;

    #[test]
    fn keys_must_be_sixteen_bytes_of_base64() {
        let b64 = |n: usize| base64::engine::general_purpose::STANDARD.encode(vec![7u8; n]);
        assert!(valid_key("dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(valid_key(&b64(16)));
        for n in [0, 1, 15, 17, 18, 19, 32] {
            assert!(!valid_key(&b64(n)), "{n} bytes");
        }
        assert!(!valid_key("not base64 at all!!!!!=="));
        assert!(!valid_key("dGhlIHNhbXBsZSBub25jZQ"), "padding is required");
    }
}
