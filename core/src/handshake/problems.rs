//! Every problem of an upgrade request at once, for tools that explain a request
//! rather than refuse it (the inspector, `framewire decode`).

use super::extensions::parse_extensions;
use super::http::{has_token, header_tokens, is_token, single, valid_key};
use super::server::Request;
use super::HandshakeError;

/// Every rule of RFC 6455 section 4.2.1 that `req` breaks, in the order
/// [`super::validate_request`] checks them: its error, when it has one, is the first.
pub fn request_problems(req: &Request) -> Vec<HandshakeError> {
    let headers = &req.headers;
    let mut out = Vec::new();
    if req.method != "GET" {
        out.push(HandshakeError::NotGet(req.method.clone()));
    }
    if req.http_minor < 1 {
        out.push(HandshakeError::HttpVersion(req.http_minor));
    }
    match single(headers, "host") {
        Ok(Some(_)) => {}
        Ok(None) => out.push(HandshakeError::MissingHost),
        Err(e) => out.push(e),
    }
    if !has_token(headers, "upgrade", "websocket") {
        out.push(HandshakeError::NotUpgrade);
    }
    if !has_token(headers, "connection", "upgrade") {
        out.push(HandshakeError::MissingConnectionUpgrade);
    }
    match single(headers, "sec-websocket-version") {
        Ok(Some("13")) => {}
        Ok(v) => out.push(HandshakeError::UnsupportedVersion(
            v.unwrap_or_default().to_owned(),
        )),
        Err(e) => out.push(e),
    }
    match single(headers, "sec-websocket-key") {
        Ok(Some(key)) => {
            if !valid_key(key) {
                out.push(HandshakeError::InvalidKey(key.to_owned()));
            }
        }
        Ok(None) => out.push(HandshakeError::MissingKey),
        Err(e) => out.push(e),
    }
    out.extend(
        header_tokens(headers, "sec-websocket-protocol")
            .filter(|p| !is_token(p))
            .map(|p| HandshakeError::InvalidProtocol(format!("{p:?} is not a token"))),
    );
    let extensions = headers.get_all("sec-websocket-extensions");
    if let Err(e) = parse_extensions(extensions) {
        out.push(e);
    }
    if let Err(e) = single(headers, "origin") {
        out.push(e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::validate_request;
    use proptest::prelude::*;

    fn request(method: &str, minor: u8, headers: &[(&str, &str)]) -> Request {
        Request {
            method: method.to_owned(),
            path: "/".to_owned(),
            http_minor: minor,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    const GOOD: [(&str, &str); 5] = [
        ("Host", "example.com"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ];

    #[test]
    fn a_valid_request_has_none() {
        assert!(request_problems(&request("GET", 1, &GOOD)).is_empty());
    }

    #[test]
    fn lists_every_problem() {
        let r = request(
            "POST",
            0,
            &[
                ("Upgrade", "websocket"),
                ("Sec-WebSocket-Key", "short"),
                ("Sec-WebSocket-Version", "8"),
                ("Sec-WebSocket-Protocol", "chat, a b"),
            ],
        );
        assert_eq!(
            request_problems(&r),
            [
                HandshakeError::NotGet("POST".into()),
                HandshakeError::HttpVersion(0),
                HandshakeError::MissingHost,
                HandshakeError::MissingConnectionUpgrade,
                HandshakeError::UnsupportedVersion("8".into()),
                HandshakeError::InvalidKey("short".into()),
                HandshakeError::InvalidProtocol("\"a b\" is not a token".into()),
            ]
        );
    }

    proptest! {
        /// The first problem listed is the error `validate_request` stops at.
        #[test]
        fn first_problem_is_validate_requests_error(
            drop in proptest::collection::vec(any::<bool>(), 5),
            post in any::<bool>(),
            old in any::<bool>(),
            twice in 0usize..6,
            bad_key in any::<bool>(),
            bad_protocol in any::<bool>(),
        ) {
            let mut headers: Vec<(&str, &str)> = GOOD
                .iter()
                .zip(&drop)
                .filter(|(_, d)| !**d)
                .map(|(h, _)| *h)
                .collect();
            if let Some(h) = headers.get(twice).copied() {
                headers.push(h);
            }
            if bad_key {
                headers.push(("Sec-WebSocket-Key", "abc"));
            }
            if bad_protocol {
                headers.push(("Sec-WebSocket-Protocol", "no/slash"));
            }
            if twice == 5 {
                headers.push(("Origin", "a"));
                headers.push(("Origin", "b"));
            }
            let r = request(if post { "POST" } else { "GET" }, u8::from(!old), &headers);
            prop_assert_eq!(validate_request(&r).err(), request_problems(&r).first().cloned());
        }
    }
}
