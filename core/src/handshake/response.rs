//! Plain HTTP answers: a refusal, a redirect or a page instead of the upgrade.

use super::http::is_token;
use super::HandshakeError;

/// An HTTP response a server sends instead of `101 Switching Protocols`.
///
/// [`HttpResponse::encode`] adds `Content-Length` and `Connection: close`; the
/// host closes the transport after writing it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code, such as 403.
    pub status: u16,
    /// Extra header fields, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with `status`, no headers and an empty body.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            ..Self::default()
        }
    }

    /// A response with a `text/plain` body.
    pub fn text(status: u16, body: &str) -> Self {
        Self::new(status)
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(body.as_bytes().to_vec())
    }

    /// Adds a header field.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    /// The bytes to write: status line, headers, `Content-Length`, `Connection:
    /// close` and the body. Fails on a status outside 100-599 other than 101, or
    /// a header field that could split the head (not a token name, CR or LF in
    /// a value).
    pub fn encode(&self) -> Result<Vec<u8>, HandshakeError> {
        if !(100..=599).contains(&self.status) || self.status == 101 {
            return Err(HandshakeError::InvalidAnswer(format!(
                "status {} cannot answer an upgrade request without upgrading",
                self.status
            )));
        }
        check_fields(&self.headers)?;
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (name, value) in &self.headers {
            push_field(&mut head, name, value);
        }
        let has = |n: &str| self.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
        if !has("content-length") {
            push_field(&mut head, "Content-Length", &self.body.len().to_string());
        }
        if !has("connection") {
            push_field(&mut head, "Connection", "close");
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(&self.body);
        Ok(out)
    }
}

/// Checks header fields a host adds to an answer.
pub(crate) fn check_fields(fields: &[(String, String)]) -> Result<(), HandshakeError> {
    for (name, value) in fields {
        if !is_token(name) {
            return Err(HandshakeError::InvalidAnswer(format!(
                "header name {name:?} is not a token"
            )));
        }
        // RFC 9110 section 5.5: visible characters, space, tab and obs-text; a CR or
        // LF would split the head, and parsers refuse any other control character.
        if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(HandshakeError::InvalidAnswer(format!(
                "the value of header {name} holds a control character (CR, LF, NUL or other)"
            )));
        }
    }
    Ok(())
}

/// Appends `name: value\r\n`.
pub(crate) fn push_field(head: &mut String, name: &str, value: &str) {
    head.push_str(name);
    head.push_str(": ");
    head.push_str(value);
    head.push_str("\r\n");
}

/// The reason phrase of common statuses (any other gets an empty one, as RFC 9112 allows).
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_adds_length_and_close() {
        let r = HttpResponse::text(403, "no\n").header("X-Why", "origin");
        let text = String::from_utf8(r.encode().unwrap()).unwrap();
        assert_eq!(
            text,
            "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nX-Why: origin\r\nContent-Length: 3\r\nConnection: close\r\n\r\nno\n"
        );
    }

    #[test]
    fn header_injection_is_refused() {
        let split = HttpResponse::new(400).header("X-A", "a\r\nSet-Cookie: evil=1");
        assert!(matches!(
            split.encode(),
            Err(HandshakeError::InvalidAnswer(_))
        ));
        let bad_name = HttpResponse::new(400).header("X A", "a");
        assert!(matches!(
            bad_name.encode(),
            Err(HandshakeError::InvalidAnswer(_))
        ));
        assert!(HttpResponse::new(101).encode().is_err());
        assert!(HttpResponse::new(99).encode().is_err());
    }
}
