//! HTTP CONNECT proxies for the client: which proxy (the environment or an
//! explicit setting) and the tunnel through it.

use std::fmt;

use framewire_core::handshake::{
    connect_authority, connect_request, read_connect_answer, ConnectError,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::url::{redact, split_authority, Credentials, WsUrl};

/// Which proxy [`crate::connect`] goes through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProxyConfig {
    /// From the environment (the default): `https_proxy`/`HTTPS_PROXY` for
    /// `wss://`, `http_proxy`/`HTTP_PROXY` for `ws://` (lowercase first; an
    /// empty value is unset), except for the hosts `no_proxy`/`NO_PROXY` lists.
    #[default]
    FromEnv,
    /// Connect directly, whatever the environment says.
    Direct,
    /// Through `proxy`, except for the hosts `no_proxy` lists; the environment is not read.
    Via {
        /// The proxy.
        proxy: ProxyUrl,
        /// Hosts reached directly.
        no_proxy: NoProxy,
    },
}

impl ProxyConfig {
    /// The proxy to use for `url`, if any.
    pub fn proxy_for(&self, url: &WsUrl) -> Result<Option<ProxyUrl>, ProxyError> {
        self.proxy_for_with(url, |name| std::env::var(name).ok())
    }

    /// [`Self::proxy_for`] with the environment given by `env`.
    pub fn proxy_for_with(
        &self,
        url: &WsUrl,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<ProxyUrl>, ProxyError> {
        match self {
            Self::Direct => Ok(None),
            Self::Via { proxy, no_proxy } => {
                Ok((!no_proxy.matches(&url.host, url.port)).then(|| proxy.clone()))
            }
            Self::FromEnv => {
                let get = |names: [&'static str; 2]| {
                    names.into_iter().find_map(|n| {
                        env(n)
                            .filter(|v| !v.trim().is_empty())
                            .map(|v| (n, v.trim().to_owned()))
                    })
                };
                let vars = if url.tls {
                    ["https_proxy", "HTTPS_PROXY"]
                } else {
                    ["http_proxy", "HTTP_PROXY"]
                };
                let Some((var, value)) = get(vars) else {
                    return Ok(None);
                };
                let no_proxy = get(["no_proxy", "NO_PROXY"])
                    .map(|(_, v)| NoProxy::parse(&v))
                    .unwrap_or_default();
                if no_proxy.matches(&url.host, url.port) {
                    return Ok(None);
                }
                ProxyUrl::parse(&value).map(Some).map_err(|e| match e {
                    ProxyError::InvalidUrl { url, reason, .. } => ProxyError::InvalidUrl {
                        url,
                        reason,
                        from: Some(var),
                    },
                    other => other,
                })
            }
        }
    }
}

/// An HTTP proxy: `http://[user:password@]host[:port][/]` (port 80 when
/// absent; the scheme may be left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    /// The proxy's host (brackets removed from IPv6 addresses).
    pub host: String,
    /// The proxy's port.
    pub port: u16,
    /// Sent as `Proxy-Authorization: Basic`.
    pub credentials: Option<Credentials>,
    authority: String,
}

impl ProxyUrl {
    /// Parses a proxy URL; HTTPS and SOCKS proxies are refused with a reason.
    pub fn parse(s: &str) -> Result<Self, ProxyError> {
        let bad = |reason| ProxyError::InvalidUrl {
            url: redact(s),
            reason,
            from: None,
        };
        let rest =
            match s.find("://") {
                Some(i) => {
                    let scheme = s[..i].to_ascii_lowercase();
                    match scheme.as_str() {
                        "http" => &s[i + 3..],
                        "https" => return Err(bad(
                            "https:// proxies (TLS to the proxy) are not supported: use http://",
                        )),
                        s if s.starts_with("socks") => {
                            return Err(bad("SOCKS proxies are not supported: use an HTTP proxy"))
                        }
                        _ => return Err(bad("the proxy URL must start with http://")),
                    }
                }
                None => s,
            };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if !path.is_empty() && path != "/" {
            return Err(bad("a proxy URL has no path"));
        }
        let hp = split_authority(authority, 80).map_err(bad)?;
        Ok(Self {
            host: hp.host,
            port: hp.port,
            credentials: hp.credentials,
            authority: hp.authority,
        })
    }
}

impl fmt::Display for ProxyUrl {
    /// `http://host:port`, without credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}", self.authority)
    }
}

/// A `NO_PROXY` list: comma- or space-separated host names (matching the name
/// and its subdomains; a leading `.` or `*.` is allowed), IP addresses
/// (`[::1]` or `::1`), each optionally with `:port`; `*` matches every host.
/// Loopback addresses are not special: list them to bypass the proxy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    all: bool,
    entries: Vec<(String, Option<u16>)>,
}

impl NoProxy {
    /// Parses a list; entries that cannot match anything (a bad port) are ignored.
    pub fn parse(list: &str) -> Self {
        let mut out = Self::default();
        for entry in list.split([',', ' ', '\t']).map(str::trim) {
            if entry.is_empty() {
                continue;
            }
            if entry == "*" {
                out.all = true;
                continue;
            }
            let entry = entry.to_ascii_lowercase();
            let (host, port) = if let Some(v6) = entry.strip_prefix('[') {
                match v6.split_once(']') {
                    Some((h, "")) => (h.to_owned(), None),
                    Some((h, p)) => match p.strip_prefix(':').and_then(|p| p.parse().ok()) {
                        Some(p) => (h.to_owned(), Some(p)),
                        None => continue,
                    },
                    None => continue,
                }
            } else if entry.matches(':').count() == 1 {
                let (h, p) = entry.split_once(':').unwrap_or((&entry, ""));
                match p.parse() {
                    Ok(p) => (h.to_owned(), Some(p)),
                    Err(_) => continue,
                }
            } else {
                (entry.clone(), None)
            };
            let host = host.trim_start_matches('*').trim_start_matches('.');
            let host = host.trim_end_matches('.');
            if !host.is_empty() {
                out.entries.push((host.to_owned(), port));
            }
        }
        out
    }

    /// True when `host:port` is to be reached without the proxy.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        if self.all {
            return true;
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.entries.iter().any(|(h, p)| {
            p.is_none_or(|p| p == port)
                && (host == *h
                    || (host.len() > h.len()
                        && host.ends_with(h.as_str())
                        && host.as_bytes()[host.len() - h.len() - 1] == b'.'))
        })
    }
}

/// Why going through the proxy failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The proxy URL cannot be used.
    #[error("invalid proxy URL {url:?}{}: {reason}", from.map(|v| format!(" (from ${v})")).unwrap_or_default())]
    InvalidUrl {
        /// The URL (any password hidden).
        url: String,
        /// What is wrong with it.
        reason: &'static str,
        /// The environment variable it came from, if any.
        from: Option<&'static str>,
    },
    /// No TCP connection to the proxy.
    #[error("cannot connect to the proxy {proxy}: {source}")]
    Connect {
        /// The proxy.
        proxy: String,
        /// Why.
        source: std::io::Error,
    },
    /// The proxy answered CONNECT with a status other than 2xx.
    #[error("the proxy {proxy} refused CONNECT {target}: {status} {reason}")]
    Refused {
        /// The proxy.
        proxy: String,
        /// The `host:port` asked for.
        target: String,
        /// The proxy's status.
        status: u16,
        /// The proxy's reason phrase.
        reason: String,
    },
    /// The proxy's answer is not HTTP, too large, or followed by unexpected bytes.
    #[error("the proxy {proxy} answered CONNECT badly: {reason}")]
    BadAnswer {
        /// The proxy.
        proxy: String,
        /// What was wrong.
        reason: String,
    },
    /// The proxy ended the connection before answering.
    #[error("the proxy {proxy} closed the connection before answering CONNECT")]
    Closed {
        /// The proxy.
        proxy: String,
    },
    /// Reading from or writing to the proxy failed.
    #[error("I/O error with the proxy {proxy}: {source}")]
    Io {
        /// The proxy.
        proxy: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Asks the proxy on `io` for a tunnel to `host:port` and reads its answer
/// (at most `max_head` bytes of head); the core writes the request and
/// checks the answer ([`connect_request`], [`read_connect_answer`]).
pub(crate) async fn tunnel<S>(
    io: &mut S,
    proxy: &ProxyUrl,
    host: &str,
    port: u16,
    max_head: usize,
) -> Result<(), ProxyError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let name = proxy.to_string();
    let io_err = |source| ProxyError::Io {
        proxy: name.clone(),
        source,
    };
    let authorization = proxy.credentials.as_ref().map(Credentials::basic);
    let request = connect_request(host, port, authorization.as_deref());
    io.write_all(&request).await.map_err(io_err)?;
    io.flush().await.map_err(io_err)?;

    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = io.read(&mut chunk).await.map_err(io_err)?;
        if n == 0 {
            return Err(ProxyError::Closed { proxy: name });
        }
        buf.extend_from_slice(&chunk[..n]);
        match read_connect_answer(&buf, max_head) {
            Ok(Some(_)) => return Ok(()),
            Ok(None) => {}
            Err(ConnectError::Refused { status, reason }) => {
                return Err(ProxyError::Refused {
                    proxy: name,
                    target: connect_authority(host, port),
                    status,
                    reason,
                })
            }
            Err(e) => {
                return Err(ProxyError::BadAnswer {
                    proxy: name,
                    reason: e.to_string(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> WsUrl {
        WsUrl::parse(s).unwrap()
    }

    #[test]
    fn proxy_urls() {
        let p = ProxyUrl::parse("http://u%40x:p@127.0.0.1:3128/").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("127.0.0.1", 3128));
        assert_eq!(p.credentials.as_ref().unwrap().user, "u@x");
        assert_eq!(p.to_string(), "http://127.0.0.1:3128");
        let p = ProxyUrl::parse("proxy.example").unwrap();
        assert_eq!(p.port, 80);
        for (s, why) in [
            ("https://p:1", "https://"),
            ("socks5://p:1", "SOCKS"),
            ("ftp://p", "http://"),
            ("http://p:1/x", "no path"),
            ("http://:1", "host"),
            ("http://p:99999", "port"),
        ] {
            let e = ProxyUrl::parse(s).unwrap_err().to_string();
            assert!(e.contains(why), "{s}: {e}");
        }
        let e = ProxyUrl::parse("http://u:secret@p:x")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn no_proxy_lists() {
        let n = NoProxy::parse("example.com, .internal,*.corp:8443 127.0.0.1,[::1]:9000,bad:port");
        assert!(n.matches("example.com", 1));
        assert!(n.matches("WWW.Example.com.", 1));
        assert!(!n.matches("notexample.com", 1));
        assert!(n.matches("a.internal", 80));
        assert!(n.matches("internal", 80));
        assert!(n.matches("x.corp", 8443));
        assert!(!n.matches("x.corp", 443));
        assert!(n.matches("127.0.0.1", 5));
        assert!(!n.matches("localhost", 5), "loopback is not special");
        assert!(n.matches("::1", 9000));
        assert!(!n.matches("::1", 9001));
        assert!(NoProxy::parse("*").matches("anything", 1));
        assert!(!NoProxy::parse("").matches("anything", 1));
    }

    #[test]
    fn environment_and_explicit_settings() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let vars: &[(&str, &str)] = &[
            ("HTTPS_PROXY", "http://secure:1"),
            ("http_proxy", "http://lower:2"),
            ("HTTP_PROXY", "http://upper:3"),
            ("NO_PROXY", "skip.me"),
        ];
        let cfg = ProxyConfig::FromEnv;
        let host = |u: &str| {
            cfg.proxy_for_with(&url(u), env(vars))
                .unwrap()
                .map(|p| p.host)
        };
        assert_eq!(host("wss://a/").as_deref(), Some("secure"));
        assert_eq!(host("ws://a/").as_deref(), Some("lower"));
        assert_eq!(host("ws://skip.me/"), None);
        assert_eq!(host("wss://x.skip.me/"), None);
        assert_eq!(
            cfg.proxy_for_with(&url("ws://a/"), env(&[("HTTP_PROXY", " ")]))
                .unwrap(),
            None
        );
        let e = cfg
            .proxy_for_with(&url("ws://a/"), env(&[("HTTP_PROXY", "socks5://x")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("$HTTP_PROXY") && e.contains("SOCKS"), "{e}");
        // Explicit beats the environment, both ways.
        assert_eq!(
            ProxyConfig::Direct
                .proxy_for_with(&url("ws://a/"), env(vars))
                .unwrap(),
            None
        );
        let via = ProxyConfig::Via {
            proxy: ProxyUrl::parse("http://mine:8").unwrap(),
            no_proxy: NoProxy::parse("b"),
        };
        let got = via
            .proxy_for_with(&url("ws://skip.me/"), env(vars))
            .unwrap();
        assert_eq!(got.map(|p| p.host).as_deref(), Some("mine"));
        assert_eq!(
            via.proxy_for_with(&url("ws://b/"), env(vars)).unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn tunnel_requests_and_answers() {
        let proxy = ProxyUrl::parse("http://al:pw@127.0.0.1:1").unwrap();
        let (mut client, mut server) = tokio::io::duplex(4096);
        let serve = tokio::spawn(async move {
            let mut buf = vec![0u8; 1024];
            let n = server.read(&mut buf).await.unwrap();
            server
                .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8(buf[..n].to_vec()).unwrap()
        });
        let e = tunnel(&mut client, &proxy, "::1", 443, 8192)
            .await
            .unwrap_err();
        let req = serve.await.unwrap();
        assert!(
            req.starts_with("CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n"),
            "{req}"
        );
        assert!(
            req.contains("Proxy-Authorization: Basic YWw6cHc=\r\n"),
            "{req}"
        );
        let e = e.to_string();
        assert!(e.contains("407 Proxy Authentication Required"), "{e}");

        let (mut client, mut server) = tokio::io::duplex(4096);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 1024];
            let _ = server.read(&mut buf).await;
            let _ = server.write_all(b"SSH-2.0-OpenSSH\r\n\r\n").await;
        });
        let e = tunnel(&mut client, &proxy, "h", 1, 8192).await.unwrap_err();
        assert!(e.to_string().contains("not an HTTP answer"), "{e}");
    }
}
