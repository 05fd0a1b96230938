//! `ws://` URLs.

use crate::error::Error;

/// A parsed `ws://host[:port][/path][?query]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsUrl {
    /// The host to connect to (brackets removed from IPv6 addresses).
    pub host: String,
    /// The port (80 when absent).
    pub port: u16,
    /// `host[:port]` as written, for the Host header.
    pub authority: String,
    /// The request target: path and query, at least `/`.
    pub path: String,
}

impl WsUrl {
    /// Parses a `ws://` URL; `wss://` and other schemes are refused with a reason.
    pub fn parse(url: &str) -> Result<Self, Error> {
        let bad = |reason| Error::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        let rest = if let Some(rest) = strip_prefix_ci(url, "ws://") {
            rest
        } else if strip_prefix_ci(url, "wss://").is_some() {
            return Err(bad("wss:// (TLS) is not supported: use ws://"));
        } else {
            return Err(bad("the URL must start with ws://"));
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let path = path.split('#').next().unwrap_or("/");
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else if path.is_empty() {
            "/".to_owned()
        } else {
            path.to_owned()
        };
        if authority.is_empty() {
            return Err(bad("the host is missing"));
        }
        if authority.contains('@') {
            return Err(bad("user information in the URL is not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("unclosed '[' in the host"))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ']'"))?),
            };
            (h, port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("the host is missing"));
        }
        let port = match port {
            Some(p) => p
                .parse()
                .map_err(|_| bad("the port is not a number from 0 to 65535"))?,
            None => 80,
        };
        if path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(bad("the path contains spaces or control characters"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            authority: authority.to_owned(),
            path,
        })
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let u = WsUrl::parse("ws://127.0.0.1:9090/echo?x=1#frag").unwrap();
        assert_eq!(
            (
                u.host.as_str(),
                u.port,
                u.authority.as_str(),
                u.path.as_str()
            ),
            ("127.0.0.1", 9090, "127.0.0.1:9090", "/echo?x=1")
        );
        let u = WsUrl::parse("WS://localhost").unwrap();
        assert_eq!((u.port, u.path.as_str()), (80, "/"));
        let u = WsUrl::parse("ws://[::1]:8080?tap=a").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("::1", 8080, "/?tap=a")
        );
    }

    #[test]
    fn refuses_with_reasons() {
        for (url, why) in [
            ("wss://x", "TLS"),
            ("http://x", "ws://"),
            ("ws://", "host"),
            ("ws://x:99999/", "port"),
            ("ws://[::1/", "'['"),
            ("ws://x/a b", "spaces"),
        ] {
            let e = WsUrl::parse(url).unwrap_err().to_string();
            assert!(e.contains(why), "{url}: {e}");
        }
    }
}
