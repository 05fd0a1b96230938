//! The opening handshake, both roles.

use framewire_core::handshake::{
    accept, accept_key, generate_key, parse_request, parse_response, rejection_response,
    validate_request, validate_response, ClientRequest, HandshakeError, PendingRequest,
    ServerHandshakeConfig,
};
use framewire_core::Config;

const TUTORIAL: &str = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\nSec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\nOrigin: http://example.com\r\n\r\n";

fn check(text: &str) -> Result<framewire_core::handshake::UpgradeRequest, HandshakeError> {
    let (req, n) = parse_request(text.as_bytes(), 16 * 1024)?.expect("complete");
    assert_eq!(n, text.len());
    let verdict = validate_request(&req);
    let machine = PendingRequest::from_request(
        Config::default(),
        ServerHandshakeConfig::default(),
        req.clone(),
    );
    assert_eq!(
        machine.offer().err(),
        verdict.as_ref().err(),
        "the handshake machine and validate_request disagree"
    );
    verdict
}

#[test]
fn tutorial_request_in_one_byte_chunks() {
    let bytes = TUTORIAL.as_bytes();
    for end in 0..bytes.len() {
        assert_eq!(
            parse_request(&bytes[..end], 16 * 1024),
            Ok(None),
            "prefix of {end}"
        );
    }
    let up = check(TUTORIAL).unwrap();
    assert_eq!(up.path, "/chat");
    assert_eq!(up.protocols, ["chat", "superchat"]);
    let cfg = ServerHandshakeConfig {
        protocols: vec!["superchat".into(), "chat".into()],
        ..ServerHandshakeConfig::default()
    };
    let a = accept(&up, &cfg).unwrap();
    assert_eq!(
        a.protocol.as_deref(),
        Some("superchat"),
        "server's preference wins"
    );
    let text = String::from_utf8(a.response).unwrap();
    assert!(text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    assert!(text.contains("Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=\r\n"));
    assert!(text.contains("Sec-WebSocket-Protocol: superchat\r\n"));
    assert!(text.ends_with("\r\n\r\n"));
}

#[test]
fn connection_header_is_a_case_insensitive_list() {
    let r = TUTORIAL.replace("Connection: Upgrade", "connection: keep-alive, UPGRADE");
    assert!(check(&r).is_ok());
}

#[test]
fn refusals_and_their_statuses() {
    let cases = [
        (TUTORIAL.replace("GET", "POST"), 405),
        (TUTORIAL.replace("HTTP/1.1", "HTTP/1.0"), 505),
        (TUTORIAL.replace("Host: server.example.com\r\n", ""), 400),
        (TUTORIAL.replace("Upgrade: websocket\r\n", ""), 400),
        (
            TUTORIAL.replace("Connection: Upgrade", "Connection: keep-alive"),
            400,
        ),
        (TUTORIAL.replace("Version: 13", "Version: 8"), 426),
        (TUTORIAL.replace("Sec-WebSocket-Version: 13\r\n", ""), 426),
        (
            TUTORIAL.replace("Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n", ""),
            400,
        ),
        (
            TUTORIAL.replace("x3JJHMbDL1EzLkh9GBhXDw==", "c2hvcnQ="),
            400,
        ),
        (
            TUTORIAL.replace("x3JJHMbDL1EzLkh9GBhXDw==", "not base64!!"),
            400,
        ),
        (
            TUTORIAL.replace(
                "Host:",
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nHost:",
            ),
            400,
        ),
    ];
    for (text, status) in cases {
        let err = check(&text).unwrap_err();
        assert_eq!(err.status(), status, "{err}");
        let resp = String::from_utf8(rejection_response(&err)).unwrap();
        assert!(resp.starts_with(&format!("HTTP/1.1 {status} ")), "{resp}");
        assert!(resp.ends_with(&format!("{err}\n")), "body says why: {resp}");
        if status == 426 {
            assert!(resp.contains("Sec-WebSocket-Version: 13\r\n"));
        }
    }
}

#[test]
fn oversized_and_garbage_heads() {
    let endless = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(20_000));
    assert_eq!(
        parse_request(endless.as_bytes(), 16 * 1024),
        Err(HandshakeError::TooLarge { limit: 16 * 1024 })
    );
    assert!(matches!(
        parse_request(b"\x16\x03\x01 hello\r\n\r\n", 1024),
        Err(HandshakeError::Malformed(_))
    ));
    let many: String = (0..100).map(|i| format!("X-{i}: v\r\n")).collect();
    let text = TUTORIAL.replace("Origin:", &format!("{many}Origin:"));
    assert_eq!(
        parse_request(text.as_bytes(), 1 << 20),
        Err(HandshakeError::TooManyHeaders(64))
    );
}

#[test]
fn origins() {
    let up = check(TUTORIAL).unwrap();
    let cfg = ServerHandshakeConfig {
        protocols: vec![],
        allowed_origins: Some(vec!["http://other.example".into()]),
        ..ServerHandshakeConfig::default()
    };
    let err = accept(&up, &cfg).unwrap_err();
    assert_eq!(err.status(), 403);
}

#[test]
fn client_round_trip_and_response_checks() {
    let key = generate_key().unwrap();
    assert_eq!(key.len(), 24);
    assert_ne!(key, generate_key().unwrap());
    let req = ClientRequest {
        host: "127.0.0.1:9090".into(),
        path: "/echo".into(),
        protocols: vec!["chat".into()],
        ..ClientRequest::default()
    };
    let bytes = req.encode(&key);
    let up = validate_request(&parse_request(&bytes, 1 << 14).unwrap().unwrap().0).unwrap();
    let cfg = ServerHandshakeConfig {
        protocols: vec!["chat".into()],
        ..ServerHandshakeConfig::default()
    };
    let answer = accept(&up, &cfg).unwrap().response;
    let (resp, n) = parse_response(&answer, 1 << 14).unwrap().unwrap();
    assert_eq!(n, answer.len());
    let accepted = validate_response(&resp, &key, &req).unwrap();
    assert_eq!(accepted.protocol.as_deref(), Some("chat"));

    let tamper = |from: &str, to: &str| {
        let text = String::from_utf8(answer.clone()).unwrap().replace(from, to);
        let (resp, _) = parse_response(text.as_bytes(), 1 << 14).unwrap().unwrap();
        validate_response(&resp, &key, &req)
    };
    let expected = accept_key(&key);
    assert!(matches!(
        tamper(&expected, "AAAA"),
        Err(HandshakeError::BadAccept { .. })
    ));
    assert!(matches!(
        tamper("101 Switching Protocols", "200 OK"),
        Err(HandshakeError::NotSwitching { status: 200, .. })
    ));
    assert_eq!(
        tamper("Protocol: chat", "Protocol: other"),
        Err(HandshakeError::ProtocolNotOffered("other".into()))
    );
    assert_eq!(
        tamper(
            "Upgrade\r\n",
            "Upgrade\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"
        ),
        Err(HandshakeError::ExtensionNotOffered(
            "permessage-deflate".into()
        ))
    );
}

/// The server answers `request`'s extension offers (deflate on, defaults) and the
/// client checks that answer against the same offers.
fn deflate_round_trip(
    extensions: &str,
) -> Result<framewire_core::handshake::Accepted, HandshakeError> {
    let offers = framewire_core::handshake::parse_extensions([extensions]).unwrap();
    let key = generate_key().unwrap();
    let req = ClientRequest {
        host: "127.0.0.1:9090".into(),
        path: "/".into(),
        extensions: offers,
        ..ClientRequest::default()
    };
    let up = validate_request(
        &parse_request(&req.encode(&key), 1 << 14)
            .unwrap()
            .unwrap()
            .0,
    )
    .unwrap();
    let cfg = ServerHandshakeConfig {
        deflate: Some(framewire_core::deflate::DeflateConfig::default()),
        ..ServerHandshakeConfig::default()
    };
    let answer = accept(&up, &cfg).unwrap();
    assert!(
        answer.deflate.is_some(),
        "the server accepts {extensions:?}"
    );
    let (resp, _) = parse_response(&answer.response, 1 << 14).unwrap().unwrap();
    validate_response(&resp, &key, &req)
}

/// Found by the handshake_server fuzz target: the server matched the offer's
/// extension name case-insensitively and the client's check did not.
#[test]
fn client_accepts_deflate_answering_an_offer_in_other_case() {
    let accepted = deflate_round_trip("PerMessage-Deflate; client_max_window_bits").unwrap();
    assert!(accepted.deflate.is_some());
}

/// The server skips an offer it cannot parse and answers the next; the client
/// must check the answer against the offer it answers, not the first one.
#[test]
fn client_accepts_deflate_answering_its_second_offer() {
    let accepted = deflate_round_trip(
        "permessage-deflate; bogus_param, permessage-deflate; client_max_window_bits=10",
    )
    .unwrap();
    assert_eq!(accepted.deflate.unwrap().compress_window_bits, 10);
}
