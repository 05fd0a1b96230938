//! Small HTTP helpers over parsed headers.

/// Headers as parsed: name and value, in order.
pub(crate) type Headers = Vec<(String, String)>;

/// The one value of header `name` (case-insensitive), refusing duplicates.
pub(crate) fn single<'h>(
    headers: &'h Headers,
    name: &'static str,
) -> Result<Option<&'h str>, super::HandshakeError> {
    let mut found = headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name));
    let first = found.next().map(|(_, v)| v.as_str());
    if found.next().is_some() {
        return Err(super::HandshakeError::DuplicateHeader(name));
    }
    Ok(first)
}

/// Comma-separated tokens of every `name` header, trimmed, empties dropped.
pub fn header_tokens<'h>(
    headers: &'h [(String, String)],
    name: &'h str,
) -> impl Iterator<Item = &'h str> + 'h {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// True when `name` has the token `token` (case-insensitive).
pub(crate) fn has_token(headers: &Headers, name: &str, token: &str) -> bool {
    header_tokens(headers, name).any(|t| t.eq_ignore_ascii_case(token))
}

/// True for an RFC 7230 token (subprotocol names, extension names).
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Copies httparse's headers into owned pairs; values must be UTF-8.
pub(crate) fn own_headers(raw: &[httparse::Header<'_>]) -> Result<Headers, super::HandshakeError> {
    raw.iter()
        .map(|h| {
            let v = std::str::from_utf8(h.value).map_err(|_| {
                super::HandshakeError::Malformed(format!("header {} is not UTF-8", h.name))
            })?;
            Ok((h.name.to_owned(), v.trim().to_owned()))
        })
        .collect()
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
