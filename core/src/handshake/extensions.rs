//! The `Sec-WebSocket-Extensions` header (RFC 6455 section 9.1).

use super::http::is_token;
use super::HandshakeError;

/// One extension in an offer or an answer, with its parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionOffer {
    /// Its name, such as `permessage-deflate`.
    pub name: String,
    /// Parameters: name and optional value (quotes removed).
    pub params: Vec<(String, Option<String>)>,
}

/// Parses every extension of the header values given.
pub fn parse_extensions<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<ExtensionOffer>, HandshakeError> {
    let mut out = Vec::new();
    for value in values {
        for item in value.split(',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let mut parts = item.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            if !is_token(name) {
                return Err(HandshakeError::InvalidExtensions(format!(
                    "{name:?} is not a token"
                )));
            }
            let mut params = Vec::new();
            for p in parts {
                let (k, v) = match p.split_once('=') {
                    Some((k, v)) => (k.trim(), Some(v.trim())),
                    None => (p, None),
                };
                if !is_token(k) {
                    return Err(HandshakeError::InvalidExtensions(format!(
                        "parameter {k:?} of {name} is not a token"
                    )));
                }
                let v = match v {
                    Some(v) => {
                        let unq = v
                            .strip_prefix('"')
                            .and_then(|v| v.strip_suffix('"'))
                            .unwrap_or(v);
                        if !is_token(unq) {
                            return Err(HandshakeError::InvalidExtensions(format!(
                                "value {v:?} of {name}; {k} is not a token"
                            )));
                        }
                        Some(unq.to_owned())
                    }
                    None => None,
                };
                params.push((k.to_owned(), v));
            }
            out.push(ExtensionOffer {
                name: name.to_owned(),
                params,
            });
        }
    }
    Ok(out)
}

/// Writes extensions as a header value.
pub fn format_extensions(exts: &[ExtensionOffer]) -> String {
    let mut s = String::new();
    for (i, e) in exts.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&e.name);
        for (k, v) in &e.params {
            s.push_str("; ");
            s.push_str(k);
            if let Some(v) = v {
                s.push('=');
                s.push_str(v);
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_browser_offer() {
        let e = parse_extensions(["permessage-deflate; client_max_window_bits, x-foo; a=\"1\""])
            .unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].name, "permessage-deflate");
        assert_eq!(e[0].params, vec![("client_max_window_bits".into(), None)]);
        assert_eq!(e[1].params, vec![("a".into(), Some("1".into()))]);
        assert_eq!(
            format_extensions(&e),
            "permessage-deflate; client_max_window_bits, x-foo; a=1"
        );
    }

    #[test]
    fn refuses_garbage() {
        assert!(parse_extensions(["per message"]).is_err());
        assert!(parse_extensions(["x; a=b c"]).is_err());
    }
}
