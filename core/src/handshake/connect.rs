//! HTTP CONNECT (RFC 9110 section 9.3.6): the request a client sends an HTTP
//! proxy for a tunnel to the server, and the proxy's answer read and checked.
//! The host writes [`connect_request`]'s bytes, feeds what it reads to
//! [`read_connect_answer`] until it returns an answer or an error, and then
//! speaks TLS or the WebSocket handshake through the tunnel.

use super::http::{head_len, parse_error, MAX_HEADERS};

/// `host:port` as CONNECT names it: an IPv6 address in brackets.
pub fn connect_authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The CONNECT request head for a tunnel to `host:port`, with
/// `Proxy-Authorization: {authorization}` when given (e.g. `Basic ...`).
///
/// ```
/// use framewire_core::handshake::connect_request;
///
/// assert_eq!(
///     connect_request("::1", 443, None),
///     b"CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n"
/// );
/// ```
pub fn connect_request(host: &str, port: u16, authorization: Option<&str>) -> Vec<u8> {
    let target = connect_authority(host, port);
    let mut head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(a) = authorization {
        head.push_str("Proxy-Authorization: ");
        head.push_str(a);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// A proxy's 2xx answer to CONNECT: the tunnel is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectAnswer {
    /// The status (200 to 299).
    pub status: u16,
    /// Bytes of the answer head.
    pub head_len: usize,
}

/// Why a proxy's answer to CONNECT opens no tunnel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The proxy answered with a status other than 2xx.
    #[error("{status} {reason}")]
    Refused {
        /// The proxy's status.
        status: u16,
        /// The proxy's reason phrase.
        reason: String,
    },
    /// The answer is not an HTTP response head.
    #[error("not an HTTP answer ({0})")]
    NotHttp(String),
    /// The answer head does not fit the limit.
    #[error("its answer head is over {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// Bytes came after a 2xx head before the client sent anything through
    /// the tunnel (a proxy that speaks for the server, or a smuggling attempt).
    #[error("{extra} bytes arrived after its {status} answer, before anything was sent through the tunnel")]
    BytesAfterAnswer {
        /// The proxy's status.
        status: u16,
        /// How many bytes followed the head.
        extra: usize,
    },
}

/// Reads a proxy's answer to CONNECT from `buf` (everything received so
/// far): `Ok(None)` while the head is incomplete and within `max_head` bytes;
/// the answer once a complete 2xx head is all of `buf`; an error otherwise.
///
/// ```
/// use framewire_core::handshake::{read_connect_answer, ConnectError};
///
/// let ok = b"HTTP/1.1 200 Connection established\r\n\r\n";
/// assert_eq!(read_connect_answer(&ok[..10], 8192), Ok(None));
/// assert_eq!(read_connect_answer(ok, 8192).unwrap().unwrap().status, 200);
/// let refused = read_connect_answer(b"HTTP/1.1 403 Forbidden\r\n\r\n", 8192);
/// assert!(matches!(refused, Err(ConnectError::Refused { status: 403, .. })));
/// ```
pub fn read_connect_answer(
    buf: &[u8],
    max_head: usize,
) -> Result<Option<ConnectAnswer>, ConnectError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let status = response
        .parse(buf)
        .map_err(|e| ConnectError::NotHttp(parse_error(e).to_string()))?;
    let Some(len) = head_len(status, buf.len(), max_head)
        .map_err(|_| ConnectError::TooLarge { limit: max_head })?
    else {
        return Ok(None);
    };
    let status = response.code.unwrap_or(0);
    if !(200..300).contains(&status) {
        return Err(ConnectError::Refused {
            status,
            reason: response.reason.unwrap_or("").to_owned(),
        });
    }
    if len < buf.len() {
        return Err(ConnectError::BytesAfterAnswer {
            status,
            extra: buf.len() - len,
        });
    }
    Ok(Some(ConnectAnswer {
        status,
        head_len: len,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_names_the_target_twice_and_carries_the_credentials() {
        let head = connect_request("example.com", 8443, Some("Basic YWw6cHc="));
        assert_eq!(
            head,
            b"CONNECT example.com:8443 HTTP/1.1\r\nHost: example.com:8443\r\n\
              Proxy-Authorization: Basic YWw6cHc=\r\n\r\n"
        );
        assert_eq!(connect_authority("::1", 1), "[::1]:1");
    }

    #[test]
    fn a_2xx_answer_opens_the_tunnel_in_any_chunks() {
        let answer = b"HTTP/1.1 200 Connection established\r\nVia: test\r\n\r\n";
        for cut in 0..answer.len() {
            assert_eq!(read_connect_answer(&answer[..cut], 8192), Ok(None), "{cut}");
        }
        assert_eq!(
            read_connect_answer(answer, 8192),
            Ok(Some(ConnectAnswer {
                status: 200,
                head_len: answer.len()
            }))
        );
    }

    #[test]
    fn a_refusal_keeps_its_status_and_reason() {
        let e = read_connect_answer(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", 8192)
            .unwrap_err();
        assert_eq!(
            e,
            ConnectError::Refused {
                status: 407,
                reason: "Proxy Authentication Required".into()
            }
        );
        assert_eq!(e.to_string(), "407 Proxy Authentication Required");
    }

    #[test]
    fn bytes_after_a_2xx_head_are_refused() {
        let e = read_connect_answer(b"HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 101", 8192).unwrap_err();
        assert_eq!(
            e,
            ConnectError::BytesAfterAnswer {
                status: 200,
                extra: 12
            }
        );
    }

    proptest::proptest! {
        #[test]
        fn any_answer_bytes_give_an_answer_a_wait_or_an_error(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            prefix in 0usize..3,
        ) {
            let starts = ["", "HTTP/1.1 200 OK\r\n", "HTTP/1.1 407 No\r\n"][prefix];
            let buf = [starts.as_bytes(), &bytes].concat();
            match read_connect_answer(&buf, 128) {
                Ok(Some(a)) => {
                    proptest::prop_assert_eq!(a.head_len, buf.len());
                    proptest::prop_assert!((200..300).contains(&a.status));
                }
                Ok(None) => proptest::prop_assert!(buf.len() <= 128),
                Err(_) => {}
            }
        }
    }

    #[test]
    fn a_non_http_or_endless_answer_is_refused() {
        let e = read_connect_answer(b"SSH-2.0-OpenSSH\r\n\r\n", 8192).unwrap_err();
        assert!(matches!(e, ConnectError::NotHttp(_)), "{e:?}");
        assert!(e.to_string().contains("not an HTTP answer"), "{e}");
        let long = [b"HTTP/1.1 200 OK\r\nX: ".as_slice(), &[b'a'; 100]].concat();
        assert_eq!(
            read_connect_answer(&long, 64),
            Err(ConnectError::TooLarge { limit: 64 })
        );
        assert_eq!(read_connect_answer(&long, 8192), Ok(None));
    }
}
