//! Relaying an opening handshake: the client's request rewritten for an
//! upstream server, and what the upstream's relayed answer agreed to.
//!
//! A relay (`framewire proxy`) reads the client's head with
//! [`super::ServerHandshake`], sends [`forward_request`]'s head to the
//! upstream instead, relays the upstream's answer whatever it is, and learns
//! from [`read_answer`] how to decode the bytes that follow.

use super::client::parse_response;
use super::server::Request;
use super::HandshakeError;
use crate::deflate::DeflateParams;
use crate::inspect::deflate_answer;

/// The query parameter a page adds to find its own connection through a relay;
/// it is removed before the request goes upstream.
pub const TAG_PARAM: &str = "__framewire_tag";

/// Longest tag [`forward_request`] reports.
pub const MAX_TAG: usize = 64;

/// Where requests are forwarded: the upstream URL's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardTarget {
    /// `wss://` (the Origin written is `https://...`) or `ws://` (`http://...`).
    pub tls: bool,
    /// `host[:port]` as the Host header names the upstream.
    pub authority: String,
    /// The upstream URL's path and query, at least `/`.
    pub path: String,
}

/// How the request is rewritten.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForwardOptions {
    /// Keep the client's Origin instead of naming the upstream's.
    pub keep_origin: bool,
    /// Send the upstream URL's path only, not the client's path and query appended to it.
    pub fixed_path: bool,
}

/// The request as it goes upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    /// The request head to send upstream.
    pub head: Vec<u8>,
    /// Its request target.
    pub target: String,
    /// The value of the client's [`TAG_PARAM`] when valid (1 to [`MAX_TAG`]
    /// of `A-Za-z0-9-_`); the parameter is removed whatever its value.
    pub tag: Option<String>,
}

/// The client's `req` rewritten for the upstream `to`: the request target is
/// the upstream's path with the client's path and query appended (unless
/// `fixed_path`), [`TAG_PARAM`] removed; `Host` names the upstream, and so
/// does `Origin` unless `keep_origin`; every other header goes as sent, in
/// order (cookies, credentials, subprotocols, extension offers). A request
/// that asks for no WebSocket upgrade (a plain HTTP request) goes with
/// `Connection: close`, so that its connection carries that one request and
/// the next one from the client comes to the relay on a new connection.
///
/// ```
/// use framewire_core::handshake::{forward_request, parse_request, ForwardOptions, ForwardTarget};
///
/// let head = b"GET /chat?room=1&__framewire_tag=t1 HTTP/1.1\r\nHost: 127.0.0.1:9090\r\n\
///              Upgrade: websocket\r\nOrigin: http://127.0.0.1:9090\r\nCookie: s=1\r\n\r\n";
/// let (req, _) = parse_request(head, 8192).unwrap().unwrap();
/// let to = ForwardTarget { tls: true, authority: "example.com".into(), path: "/ws".into() };
/// let out = forward_request(&req, &to, ForwardOptions::default());
/// assert_eq!(out.target, "/ws/chat?room=1");
/// assert_eq!(out.tag.as_deref(), Some("t1"));
/// assert_eq!(
///     out.head,
///     b"GET /ws/chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
///       Origin: https://example.com\r\nCookie: s=1\r\n\r\n"
/// );
/// ```
pub fn forward_request(req: &Request, to: &ForwardTarget, opts: ForwardOptions) -> Forwarded {
    let (client_path, client_query) = split_target(&req.path);
    let (client_query, tag) = remove_tag(client_query);
    let target = if opts.fixed_path {
        to.path.clone()
    } else {
        join_target(&to.path, client_path, &client_query)
    };
    let mut head = format!("{} {target} HTTP/1.{}\r\n", req.method, req.http_minor);
    let origin = format!(
        "{}://{}",
        if to.tls { "https" } else { "http" },
        to.authority
    );
    let plain = !req.wants_upgrade();
    let mut connection_written = false;
    for (name, value) in req.headers.iter() {
        let value = if name.eq_ignore_ascii_case("host") {
            to.authority.as_str()
        } else if name.eq_ignore_ascii_case("origin") && !opts.keep_origin {
            origin.as_str()
        } else if plain && name.eq_ignore_ascii_case("connection") {
            if connection_written {
                continue;
            }
            connection_written = true;
            "close"
        } else {
            value
        };
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    if plain && !connection_written {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    Forwarded {
        head: head.into_bytes(),
        target,
        tag,
    }
}

/// True for a tag a page may use: 1 to [`MAX_TAG`] of `A-Za-z0-9-_`.
pub fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= MAX_TAG
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn split_target(target: &str) -> (&str, &str) {
    let target = target.split('#').next().unwrap_or_default();
    target.split_once('?').unwrap_or((target, ""))
}

/// The query without [`TAG_PARAM`], and the tag when valid.
fn remove_tag(query: &str) -> (String, Option<String>) {
    let mut tag = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .filter(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            if k != TAG_PARAM {
                return true;
            }
            if tag.is_none() && valid_tag(v) {
                tag = Some(v.to_owned());
            }
            false
        })
        .collect();
    (kept.join("&"), tag)
}

/// The upstream's path with the client's appended; both queries kept, the upstream's first.
fn join_target(base: &str, path: &str, query: &str) -> String {
    let (base_path, base_query) = split_target(base);
    let mut out = if path.is_empty() || path == "/" {
        base_path.to_owned()
    } else {
        format!("{}{path}", base_path.trim_end_matches('/'))
    };
    if !out.starts_with('/') {
        out.insert(0, '/');
    }
    let queries: Vec<&str> = [base_query, query]
        .into_iter()
        .filter(|q| !q.is_empty())
        .collect();
    if !queries.is_empty() {
        out.push('?');
        out.push_str(&queries.join("&"));
    }
    out
}

/// What a relayed answer head says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayedAnswer {
    /// The status (101 when the upgrade was accepted).
    pub status: u16,
    /// Bytes of the head; the bytes after it are the connection's (or the body's).
    pub head_len: usize,
    /// The subprotocol agreed, if any.
    pub protocol: Option<String>,
    /// The `Sec-WebSocket-Extensions` answered, as sent.
    pub extensions: Option<String>,
    /// permessage-deflate as a 101 agreed to it (`None` when it did not, or
    /// answered parameters that cannot be read).
    pub deflate: Option<DeflateParams>,
}

/// Reads an upstream's answer head from `buf` (any chunks): `Ok(None)` until
/// it is complete; an error when it is malformed or longer than `max_bytes`.
pub fn read_answer(buf: &[u8], max_bytes: usize) -> Result<Option<RelayedAnswer>, HandshakeError> {
    let Some((resp, head_len)) = parse_response(buf, max_bytes)? else {
        return Ok(None);
    };
    let switching = resp.status == 101;
    let extensions: Vec<&str> = resp.headers.get_all("sec-websocket-extensions").collect();
    Ok(Some(RelayedAnswer {
        status: resp.status,
        head_len,
        protocol: switching
            .then(|| {
                resp.headers
                    .get("sec-websocket-protocol")
                    .map(str::to_owned)
            })
            .flatten(),
        extensions: (switching && !extensions.is_empty()).then(|| extensions.join(", ")),
        deflate: switching
            .then(|| deflate_answer(&buf[..head_len]).ok().flatten())
            .flatten(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::parse_request;

    fn request(head: &str) -> Request {
        parse_request(head.as_bytes(), 1 << 16).unwrap().unwrap().0
    }

    fn target(path: &str) -> ForwardTarget {
        ForwardTarget {
            tls: false,
            authority: "up:8080".into(),
            path: path.into(),
        }
    }

    const HEAD: &str = "GET /a/b?x=1&__framewire_tag=abc&y=2 HTTP/1.1\r\nhost: 127.0.0.1:9\r\n\
        Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\nORIGIN: http://app.local\r\nCookie: a=b\r\n\
        Authorization: Bearer t\r\nSec-WebSocket-Protocol: chat, v2\r\n\
        Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

    #[test]
    fn host_and_origin_name_the_upstream_and_the_rest_goes_as_sent() {
        let out = forward_request(&request(HEAD), &target("/"), ForwardOptions::default());
        let text = String::from_utf8(out.head).unwrap();
        let expected = HEAD
            .replace("/a/b?x=1&__framewire_tag=abc&y=2", "/a/b?x=1&y=2")
            .replace("host: 127.0.0.1:9", "host: up:8080")
            .replace("ORIGIN: http://app.local", "ORIGIN: http://up:8080");
        assert_eq!(text, expected);
        assert_eq!(out.tag.as_deref(), Some("abc"));
    }

    #[test]
    fn keep_origin_keeps_the_clients() {
        let opts = ForwardOptions {
            keep_origin: true,
            ..ForwardOptions::default()
        };
        let out = forward_request(&request(HEAD), &target("/"), opts);
        let text = String::from_utf8(out.head).unwrap();
        assert!(text.contains("ORIGIN: http://app.local\r\n"), "{text}");
        assert!(text.contains("host: up:8080\r\n"), "{text}");
    }

    #[test]
    fn the_clients_path_is_appended_unless_fixed() {
        let req = request(HEAD);
        let appended = forward_request(&req, &target("/base/?k=v"), ForwardOptions::default());
        assert_eq!(appended.target, "/base/a/b?k=v&x=1&y=2");
        let fixed = ForwardOptions {
            fixed_path: true,
            ..ForwardOptions::default()
        };
        let fixed = forward_request(&req, &target("/base/?k=v"), fixed);
        assert_eq!(fixed.target, "/base/?k=v");
        assert!(fixed.head.starts_with(b"GET /base/?k=v HTTP/1.1\r\n"));
        let root = request("GET /?__framewire_tag=z HTTP/1.1\r\nHost: a\r\n\r\n");
        let out = forward_request(&root, &target("/ws"), ForwardOptions::default());
        assert_eq!(out.target, "/ws", "the tag alone leaves no query");
    }

    #[test]
    fn a_plain_http_request_goes_with_connection_close() {
        let keep = request("GET /favicon.ico HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nAccept: */*\r\nconnection: x\r\n\r\n");
        let out = forward_request(&keep, &target("/"), ForwardOptions::default());
        assert_eq!(
            out.head,
            b"GET /favicon.ico HTTP/1.1\r\nHost: up:8080\r\nConnection: close\r\nAccept: */*\r\n\r\n"
        );
        let none = request("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        let out = forward_request(&none, &target("/"), ForwardOptions::default());
        assert_eq!(
            out.head,
            b"GET / HTTP/1.1\r\nHost: up:8080\r\nConnection: close\r\n\r\n"
        );
        let upgrade = forward_request(&request(HEAD), &target("/"), ForwardOptions::default());
        let text = String::from_utf8(upgrade.head).unwrap();
        assert!(
            text.contains("Connection: Upgrade\r\n") && !text.contains("close"),
            "{text}"
        );
    }

    #[test]
    fn an_invalid_tag_is_removed_and_not_reported() {
        let req =
            request("GET /x?__framewire_tag=a%20b&__framewire_tag HTTP/1.1\r\nHost: a\r\n\r\n");
        let out = forward_request(&req, &target("/"), ForwardOptions::default());
        assert_eq!(out.target, "/x");
        assert_eq!(out.tag, None);
        assert!(!valid_tag(&"a".repeat(65)));
        assert!(valid_tag("A-z_9"));
    }

    #[test]
    fn the_answer_gives_status_protocol_and_deflate() {
        let head = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
            Sec-WebSocket-Accept: x\r\nSec-WebSocket-Protocol: chat\r\n\
            Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits=12\r\n\r\n\x81";
        assert_eq!(read_answer(&head[..20], 4096).unwrap(), None);
        let a = read_answer(head, 4096).unwrap().unwrap();
        assert_eq!(a.status, 101);
        assert_eq!(a.head_len, head.len() - 1);
        assert_eq!(a.protocol.as_deref(), Some("chat"));
        let d = a.deflate.unwrap();
        assert!(d.server_no_context_takeover);
        assert_eq!(d.client_max_window_bits, Some(Some(12)));
        assert!(a.extensions.unwrap().starts_with("permessage-deflate"));
        let refused = read_answer(
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno",
            4096,
        )
        .unwrap()
        .unwrap();
        assert_eq!((refused.status, refused.deflate), (403, None));
        assert!(read_answer(&[b'x'; 100], 50).is_err());
    }
}
