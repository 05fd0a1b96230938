//! Checks a pasted opening-handshake head (request or response) with the core's
//! handshake functions.

use framewire_core::handshake::{
    accept_key, parse_request, parse_response, request_problems, validate_request,
    validate_response, ClientRequest, HandshakeError, Request, UpgradeRequest,
};

/// Largest head accepted: 64 KiB.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// One thing wrong with a head.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// What is wrong.
    pub message: String,
    /// The HTTP status a server answers it with (for requests).
    pub status: Option<u16>,
}

/// What the check found.
#[derive(Debug, Clone, PartialEq)]
pub struct HandshakeReport {
    /// `request` or `response`.
    pub kind: &'static str,
    /// True when no problem was found.
    pub ok: bool,
    /// The request line or status line.
    pub start_line: String,
    /// Every header, in order.
    pub headers: Vec<(String, String)>,
    /// What is wrong: every problem of a request; for a response, the first one.
    pub problems: Vec<Problem>,
    /// Remarks that are not errors (such as a check that needs more input).
    pub notes: Vec<String>,
    /// For a request with a key: the `Sec-WebSocket-Accept` the server must send.
    pub expected_accept: Option<String>,
}

fn problem(e: HandshakeError, with_status: bool) -> Problem {
    Problem {
        status: with_status.then(|| e.status()),
        message: e.to_string(),
    }
}

/// Normalises pasted text: LF line ends become CRLF and the head gets its final empty line.
fn normalise(text: &str) -> Vec<u8> {
    let mut out = String::with_capacity(text.len() + 8);
    for line in text.trim().lines() {
        out.push_str(line.trim_end_matches('\r'));
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

fn first_line(text: &str) -> String {
    text.trim().lines().next().unwrap_or("").trim().to_owned()
}

fn parse_req(text: &str) -> Result<Request, HandshakeError> {
    match parse_request(&normalise(text), MAX_HEAD_BYTES)? {
        Some((req, _)) => Ok(req),
        None => Err(HandshakeError::Malformed("the head is incomplete".into())),
    }
}

fn client_request(up: &UpgradeRequest) -> ClientRequest {
    ClientRequest {
        host: up.host.clone(),
        path: up.path.clone(),
        protocols: up.protocols.clone(),
        extensions: up.extensions.clone(),
        origin: up.origin.clone(),
        headers: Vec::new(),
    }
}

/// Checks `text`, a request head or a response head (it starts with `HTTP/`).
/// For a response, `request` (the request it answers) lets the accept key,
/// subprotocol and extensions be checked too.
pub fn check_handshake(text: &str, request: Option<&str>) -> HandshakeReport {
    let mut report = HandshakeReport {
        kind: "request",
        ok: false,
        start_line: first_line(text),
        headers: Vec::new(),
        problems: Vec::new(),
        notes: Vec::new(),
        expected_accept: None,
    };
    if text.trim_start().starts_with("HTTP/") {
        report.kind = "response";
        check_response(text, request, &mut report);
    } else {
        match parse_req(text) {
            Ok(req) => {
                report.headers = req.headers.to_vec();
                report.expected_accept = req.header("sec-websocket-key").map(accept_key);
                report.problems = request_problems(&req)
                    .into_iter()
                    .map(|e| problem(e, true))
                    .collect();
            }
            Err(e) => report.problems.push(problem(e, true)),
        }
    }
    report.ok = report.problems.is_empty();
    report
}

fn check_response(text: &str, request: Option<&str>, report: &mut HandshakeReport) {
    let resp = match parse_response(&normalise(text), MAX_HEAD_BYTES) {
        Ok(Some((resp, _))) => resp,
        Ok(None) => {
            let e = HandshakeError::Malformed("the head is incomplete".into());
            report.problems.push(problem(e, false));
            return;
        }
        Err(e) => {
            report.problems.push(problem(e, false));
            return;
        }
    };
    report.headers = resp.headers.to_vec();
    let upgrade = match request.map(|r| parse_req(r).and_then(|q| validate_request(&q))) {
        Some(Ok(up)) => Some(up),
        Some(Err(e)) => {
            report.notes.push(format!(
                "the request given with it is not valid ({e}), so it was not used"
            ));
            None
        }
        None => None,
    };
    match upgrade {
        Some(up) => {
            report.expected_accept = Some(accept_key(&up.key));
            if let Err(e) = validate_response(&resp, &up.key, &client_request(&up)) {
                report.problems.push(problem(e, false));
            }
        }
        None => match validate_response(&resp, "", &ClientRequest::default()) {
            Err(HandshakeError::BadAccept { .. }) => report.notes.push(
                "Sec-WebSocket-Accept, the subprotocol and the extensions need the request to be checked"
                    .into(),
            ),
            Err(e) => report.problems.push(problem(e, false)),
            Ok(_) => {}
        },
    }
}

/// Normalises a pasted response head as [`check_handshake`] does (LF lines, no final
/// blank line) so the core can read it.
pub fn normalised_head(text: &str) -> Vec<u8> {
    normalise(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQ: &str = "GET /chat HTTP/1.1\nHost: server.example.com\nUpgrade: websocket\n\
        Connection: Upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n";
    const RESP: &str = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

    #[test]
    fn rfc_request_is_ok_with_lf_lines() {
        let r = check_handshake(REQ, None);
        assert!(r.ok, "{:?}", r.problems);
        assert_eq!(r.kind, "request");
        assert_eq!(
            r.expected_accept.as_deref(),
            Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        );
    }

    #[test]
    fn request_problems_are_listed() {
        let r = check_handshake(&REQ.replace("Version: 13", "Version: 8"), None);
        assert!(!r.ok);
        assert_eq!(r.problems[0].status, Some(426));
        assert!(r.problems[0].message.contains("Sec-WebSocket-Version"));
        let r = check_handshake(
            &REQ.replace("GET", "PUT")
                .replace("Connection: Upgrade\n", ""),
            None,
        );
        let statuses: Vec<_> = r.problems.iter().map(|p| p.status).collect();
        assert_eq!(statuses, [Some(405), Some(400)]);
        assert!(r.problems[1].message.contains("Connection"));
    }

    #[test]
    fn response_checked_against_request() {
        let r = check_handshake(RESP, Some(REQ));
        assert!(r.ok, "{:?}", r.problems);
        let bad = RESP.replace("s3pP", "AAAA");
        let r = check_handshake(&bad, Some(REQ));
        assert!(r.problems[0].message.contains("does not match"));
        let r = check_handshake(&bad, None);
        assert!(r.ok);
        assert_eq!(r.notes.len(), 1);
        let r = check_handshake("HTTP/1.1 200 OK\r\n\r\n", None);
        assert!(r.problems[0].message.contains("200"));
    }
}
