//! `ws://` and `wss://` URLs.

use std::fmt;

use crate::error::Error;

/// A parsed `ws[s]://[user[:password]@]host[:port][/path][?query]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsUrl {
    /// True for `wss://` (TLS), false for `ws://`.
    pub tls: bool,
    /// The host to connect to (brackets removed from IPv6 addresses).
    pub host: String,
    /// The port (80 for `ws://`, 443 for `wss://` when absent).
    pub port: u16,
    /// `host[:port]` as written (without any user information), for the Host header.
    pub authority: String,
    /// The request target: path and query, at least `/`.
    pub path: String,
    /// User name and password from the URL's user information, percent-decoded;
    /// sent as `Authorization: Basic` by [`crate::client_handshake`].
    pub credentials: Option<Credentials>,
}

/// A user name and password (from a URL's user information).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name, percent-decoded.
    pub user: String,
    /// The password, percent-decoded (empty when the URL has none).
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    /// The value of an `Authorization` (or `Proxy-Authorization`) header: `Basic base64(user:password)`.
    pub fn basic(&self) -> String {
        use base64::Engine;
        let raw = format!("{}:{}", self.user, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

impl WsUrl {
    /// Parses a `ws://` or `wss://` URL; other schemes and malformed URLs are
    /// refused with a reason.
    pub fn parse(url: &str) -> Result<Self, Error> {
        let bad = |reason| Error::InvalidUrl {
            url: redact(url),
            reason,
        };
        let (tls, rest) = if let Some(rest) = strip_prefix_ci(url, "ws://") {
            (false, rest)
        } else if let Some(rest) = strip_prefix_ci(url, "wss://") {
            (true, rest)
        } else {
            return Err(bad("the URL must start with ws:// or wss://"));
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
        let hostport = split_authority(authority, if tls { 443 } else { 80 }).map_err(bad)?;
        if path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(bad("the path contains spaces or control characters"));
        }
        Ok(Self {
            tls,
            host: hostport.host,
            port: hostport.port,
            authority: hostport.authority,
            path,
            credentials: hostport.credentials,
        })
    }

    /// The URL's scheme: `ws` or `wss`.
    pub fn scheme(&self) -> &'static str {
        if self.tls {
            "wss"
        } else {
            "ws"
        }
    }
}

impl fmt::Display for WsUrl {
    /// The URL without its user information (never shows a password).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme(), self.authority, self.path)
    }
}

/// The parts of an `[user[:password]@]host[:port]` authority.
pub(crate) struct HostPort {
    pub host: String,
    pub port: u16,
    pub authority: String,
    pub credentials: Option<Credentials>,
}

/// Splits `[user[:password]@]host[:port]`, percent-decoding the user information.
pub(crate) fn split_authority(
    authority: &str,
    default_port: u16,
) -> Result<HostPort, &'static str> {
    let (userinfo, authority) = match authority.rsplit_once('@') {
        Some((u, a)) => (Some(u), a),
        None => (None, authority),
    };
    let credentials = match userinfo {
        None => None,
        Some(u) => {
            let (user, password) = u.split_once(':').unwrap_or((u, ""));
            Some(Credentials {
                user: percent_decode(user)?,
                password: percent_decode(password)?,
            })
        }
    };
    if authority.is_empty() {
        return Err("the host is missing");
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or("unclosed '[' in the host")?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("junk after ']'")?),
        };
        (h, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("the host is missing");
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~:%!$&'()*+,;=".contains(&b))
    {
        return Err("the host contains characters not allowed in a host name");
    }
    let port = match port {
        Some(p) => p
            .parse()
            .map_err(|_| "the port is not a number from 0 to 65535")?,
        None => default_port,
    };
    Ok(HostPort {
        host: host.to_owned(),
        port,
        authority: authority.to_owned(),
        credentials,
    })
}

/// Decodes `%XX` escapes; the result must be UTF-8.
fn percent_decode(s: &str) -> Result<String, &'static str> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("a '%' in the user information is not followed by two hex digits")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the user information is not UTF-8 once percent-decoded")
}

/// `url` with any password replaced by `***`, for error messages.
pub(crate) fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..auth_end].rsplit_once('@') {
        Some((userinfo, _)) => match userinfo.split_once(':') {
            Some((user, _)) => format!(
                "{}{user}:***@{}",
                &url[..scheme_end + 3],
                &rest[userinfo.len() + 1..]
            ),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix))
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
        assert!(!u.tls);
        let u = WsUrl::parse("WS://localhost").unwrap();
        assert_eq!((u.port, u.path.as_str()), (80, "/"));
        let u = WsUrl::parse("ws://[::1]:8080?tap=a").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("::1", 8080, "/?tap=a")
        );
        let u = WsUrl::parse("wss://example.com/x").unwrap();
        assert!(u.tls);
        assert_eq!(
            (u.port, u.to_string().as_str()),
            (443, "wss://example.com/x")
        );
    }

    #[test]
    fn user_information() {
        let u = WsUrl::parse("wss://al%40ice:p%3As%20s@host:8443/").unwrap();
        let c = u.credentials.clone().unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("al@ice", "p:s s"));
        assert_eq!(u.authority, "host:8443");
        assert_eq!(u.to_string(), "wss://host:8443/");
        assert!(!format!("{u:?}").contains("p:s s"));
        // RFC 7617's example.
        let c = Credentials {
            user: "Aladdin".into(),
            password: "open sesame".into(),
        };
        assert_eq!(c.basic(), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        let u = WsUrl::parse("ws://bob@h/").unwrap();
        assert_eq!(u.credentials.unwrap().password, "");
    }

    #[test]
    fn refuses_with_reasons() {
        for (url, why) in [
            ("http://x", "ws:// or wss://"),
            ("ws://", "host"),
            ("ws://x:99999/", "port"),
            ("ws://[::1/", "'['"),
            ("ws://x/a b", "spaces"),
            ("ws://a%zz:b@x/", "two hex digits"),
            ("ws://a%ff:b@x/", "UTF-8"),
            ("ws://user:pw@/", "host"),
            ("ws://ho st/", "not allowed"),
            ("wsé://x", "must start"),
        ] {
            let e = WsUrl::parse(url).unwrap_err().to_string();
            assert!(e.contains(why), "{url}: {e}");
        }
        let e = WsUrl::parse("ws://u:secret@h:x/").unwrap_err().to_string();
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn redacts() {
        assert_eq!(redact("ws://u:p@h/"), "ws://u:***@h/");
        assert_eq!(redact("ws://h/a@b"), "ws://h/a@b");
        assert_eq!(redact("http://u@h"), "http://u@h");
    }
}
