//! The sans-IO handshake machines, driven as hosts drive them.

use std::time::Duration;

use framewire_core::deflate::DeflateConfig;
use framewire_core::handshake::{
    Acceptance, ClientHandshake, ClientRequest, ClientStep, Established, HandshakeError,
    HttpResponse, PendingRequest, ServerHandshake, ServerHandshakeConfig, ServerStep, Upgraded,
};
use framewire_core::{Config, Event, Limits};

const REQUEST: &str = "GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

fn server(options: ServerHandshakeConfig) -> ServerHandshake {
    let mut hs = ServerHandshake::new(Config::default(), options);
    hs.handle_timeout(Duration::ZERO);
    hs
}

/// Feeds `bytes` in chunks of `chunk` and steps after each, as a host's read loop does.
fn read_request(mut hs: ServerHandshake, bytes: &[u8], chunk: usize) -> ServerStep {
    let mut rest = bytes;
    loop {
        let take = rest.len().min(chunk);
        let buf = hs.input_buffer(take);
        let n = buf.len().min(take);
        buf[..n].copy_from_slice(&rest[..n]);
        hs.commit_input(n);
        rest = &rest[n..];
        match hs.step() {
            ServerStep::NeedInput(next) if !rest.is_empty() => hs = next,
            other => return other,
        }
    }
}

fn pending(step: ServerStep) -> PendingRequest {
    match step {
        ServerStep::Request(p) => p,
        other => panic!("expected a request, got {other:?}"),
    }
}

#[test]
fn the_request_is_shown_before_anything_is_answered_in_any_chunks() {
    for chunk in [1, 7, 64, 4096] {
        let p = pending(read_request(
            server(ServerHandshakeConfig::default()),
            REQUEST.as_bytes(),
            chunk,
        ));
        assert_eq!(p.request().method, "GET");
        assert_eq!(p.request().path, "/chat?room=1");
        assert_eq!(p.request().header("host"), Some("example.com"));
        assert_eq!(p.head(), REQUEST.as_bytes());
        let offer = p.offer().expect("a valid upgrade");
        assert_eq!(offer.protocols, ["chat", "superchat"]);
    }
}

#[test]
fn accept_with_the_hosts_protocol_and_headers_and_deflate_from_the_config() {
    let options = ServerHandshakeConfig {
        protocols: vec!["chat".into()],
        deflate: Some(DeflateConfig::default()),
        ..ServerHandshakeConfig::default()
    };
    let p = pending(read_request(server(options), REQUEST.as_bytes(), 4096));
    let Upgraded {
        response,
        connection,
        info,
    } = p
        .accept(Acceptance {
            protocol: Some("superchat".into()),
            headers: vec![("Set-Cookie".into(), "session=1".into())],
        })
        .expect("accepted");
    let text = String::from_utf8(response).unwrap();
    assert!(text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    assert!(text.contains("Sec-WebSocket-Protocol: superchat\r\n"));
    assert!(text.contains("Set-Cookie: session=1\r\n"));
    assert!(text.contains("Sec-WebSocket-Extensions: permessage-deflate"));
    assert!(text.ends_with("\r\n\r\n"));
    assert!(connection.deflate_enabled());
    assert_eq!(info.protocol.as_deref(), Some("superchat"));
    assert_eq!(info.path, "/chat?room=1");
    assert!(info.deflate.is_some());
}

#[test]
fn frames_after_the_head_are_already_fed_to_the_connection() {
    let mut bytes = REQUEST.as_bytes().to_vec();
    // RFC 6455 5.7: a masked "Hello".
    bytes.extend_from_slice(&[
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ]);
    let mut hs = server(ServerHandshakeConfig::default());
    hs.feed(&bytes);
    let p = pending(hs.step());
    let mut up = p.accept(Acceptance::default()).unwrap();
    assert_eq!(
        up.connection.poll_event().unwrap(),
        Some(Event::Text("Hello"))
    );
}

#[test]
fn a_protocol_the_client_did_not_offer_is_the_hosts_mistake_500() {
    let p = pending(read_request(
        server(ServerHandshakeConfig::default()),
        REQUEST.as_bytes(),
        4096,
    ));
    let declined = p
        .accept(Acceptance {
            protocol: Some("mqtt".into()),
            ..Acceptance::default()
        })
        .unwrap_err();
    assert_eq!(declined.status, 500);
    assert!(matches!(
        declined.error,
        Some(HandshakeError::InvalidAnswer(_))
    ));
    assert!(declined.response.starts_with(b"HTTP/1.1 500 "));
}

#[test]
fn decline_sends_the_hosts_status_headers_and_body() {
    let p = pending(read_request(
        server(ServerHandshakeConfig::default()),
        REQUEST.as_bytes(),
        4096,
    ));
    let declined =
        p.decline(HttpResponse::text(401, "token required\n").header("WWW-Authenticate", "Bearer"));
    assert_eq!(declined.status, 401);
    assert_eq!(declined.error, None);
    let text = String::from_utf8(declined.response).unwrap();
    assert!(text.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{text}");
    assert!(text.contains("WWW-Authenticate: Bearer\r\n"));
    assert!(text.contains("Content-Length: 15\r\n"));
    assert!(text.ends_with("\r\n\r\ntoken required\n"));
}

/// Found by the `handshake_server` fuzz target: a declined answer with a control
/// character in a header value (here 0x19) was sent as it was, and no HTTP parser (nor
/// this crate's client) can read it. Header values hold no control character but tab,
/// in answers (declines and accepts: 500, the host's mistake) and in client requests.
#[test]
fn a_header_value_with_a_control_character_is_the_hosts_mistake_500() {
    for value in ["n\u{19}o", "a\u{7f}", "\u{1b}[31m"] {
        let p = pending(read_request(
            server(ServerHandshakeConfig::default()),
            REQUEST.as_bytes(),
            4096,
        ));
        let declined = p.decline(HttpResponse::text(403, "forbidden").header("X-Why", value));
        assert_eq!(declined.status, 500, "{value:?}");
        assert!(matches!(
            declined.error,
            Some(HandshakeError::InvalidAnswer(_))
        ));
        let p = pending(read_request(
            server(ServerHandshakeConfig::default()),
            REQUEST.as_bytes(),
            4096,
        ));
        let declined = p
            .accept(Acceptance {
                headers: vec![("X-Why".into(), value.into())],
                ..Acceptance::default()
            })
            .unwrap_err();
        assert_eq!(declined.status, 500, "{value:?}");
        let request = ClientRequest {
            host: "a".into(),
            path: "/".into(),
            headers: vec![("X-A".into(), value.into())],
            ..ClientRequest::default()
        };
        assert!(ClientHandshake::new(Config::default(), request, None).is_err());
    }
    // Tab, spaces and non-ASCII text stay allowed.
    let p = pending(read_request(
        server(ServerHandshakeConfig::default()),
        REQUEST.as_bytes(),
        4096,
    ));
    let declined = p.decline(HttpResponse::text(403, "no").header("X-Why", "a\tb c é"));
    assert_eq!(declined.status, 403);
}

#[test]
fn a_plain_get_is_handed_over_with_its_verdict_and_accepting_it_answers_400() {
    let get = "GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n";
    let p = pending(read_request(
        server(ServerHandshakeConfig::default()),
        get.as_bytes(),
        4096,
    ));
    assert_eq!(p.offer().unwrap_err(), &HandshakeError::NotUpgrade);
    let declined = p.accept(Acceptance::default()).unwrap_err();
    assert_eq!(declined.status, 400);
    assert_eq!(declined.error, Some(HandshakeError::NotUpgrade));
}

#[test]
fn a_disallowed_origin_is_answered_403() {
    let options = ServerHandshakeConfig {
        allowed_origins: Some(vec!["https://good.example".into()]),
        ..ServerHandshakeConfig::default()
    };
    let request = REQUEST.replace("\r\n\r\n", "\r\nOrigin: https://evil.example\r\n\r\n");
    let p = pending(read_request(server(options), request.as_bytes(), 4096));
    let declined = p.accept(Acceptance::default()).unwrap_err();
    assert_eq!(declined.status, 403);
}

#[test]
fn a_head_over_the_limit_is_declined_431_and_the_buffer_stays_bounded() {
    let config = Config {
        limits: Limits {
            max_handshake_bytes: 256,
            ..Limits::default()
        },
        ..Config::default()
    };
    let mut hs = ServerHandshake::new(config, ServerHandshakeConfig::default());
    let mut lent = 0;
    let step = loop {
        let buf = hs.input_buffer(64);
        lent += buf.len();
        buf.fill(b'a');
        let n = buf.len();
        hs.commit_input(n);
        match hs.step() {
            ServerStep::NeedInput(next) => hs = next,
            other => break other,
        }
        assert!(lent <= 257, "lent {lent} bytes past the limit");
    };
    let ServerStep::Declined(d) = step else {
        panic!("expected a refusal, got {step:?}")
    };
    assert_eq!(d.status, 431);
}

#[test]
fn a_slow_head_is_declined_408_at_the_deadline() {
    let config = Config {
        handshake_timeout: Duration::from_secs(3),
        ..Config::default()
    };
    let mut hs = ServerHandshake::new(config, ServerHandshakeConfig::default());
    hs.handle_timeout(Duration::from_secs(100));
    assert_eq!(hs.poll_timeout(), Some(Duration::from_secs(103)));
    hs.feed(b"GET / HTTP/1.1\r\n");
    let ServerStep::NeedInput(mut hs) = hs.step() else {
        panic!("incomplete head")
    };
    hs.handle_timeout(Duration::from_secs(102));
    let ServerStep::NeedInput(mut hs) = hs.step() else {
        panic!("not late yet")
    };
    hs.handle_timeout(Duration::from_secs(103));
    let ServerStep::Declined(d) = hs.step() else {
        panic!("late")
    };
    assert_eq!(d.status, 408);
    assert_eq!(d.error, Some(HandshakeError::TimedOut { millis: 3000 }));
}

fn client(deflate: Option<DeflateConfig>) -> ClientHandshake {
    let request = ClientRequest {
        host: "example.com".into(),
        path: "/chat".into(),
        protocols: vec!["chat".into()],
        headers: vec![("Authorization".into(), "Bearer t".into())],
        ..ClientRequest::default()
    };
    let mut hs = ClientHandshake::new(Config::default(), request, deflate).unwrap();
    hs.handle_timeout(Duration::ZERO);
    hs
}

/// Runs a client machine against a server machine in memory.
fn handshake_pair(hs: ClientHandshake, options: ServerHandshakeConfig) -> (Established, Upgraded) {
    let mut hs = hs;
    let request = hs.pending_output().to_vec();
    hs.consume_output(request.len());
    let mut server_hs = server(options);
    server_hs.feed(&request);
    let p = pending(server_hs.step());
    assert_eq!(p.request().header("authorization"), Some("Bearer t"));
    let upgraded = p.accept(Acceptance::default()).unwrap();
    hs.feed(&upgraded.response);
    match hs.step() {
        ClientStep::Established(e) => (e, upgraded),
        other => panic!("expected an upgrade, got {other:?}"),
    }
}

#[test]
fn client_and_server_machines_agree_on_protocol_and_deflate() {
    let options = ServerHandshakeConfig {
        protocols: vec!["chat".into()],
        deflate: Some(DeflateConfig::default()),
        ..ServerHandshakeConfig::default()
    };
    let (mut client, mut server) = handshake_pair(client(Some(DeflateConfig::default())), options);
    assert_eq!(client.info.protocol.as_deref(), Some("chat"));
    assert!(client.connection.deflate_enabled());
    assert!(server.connection.deflate_enabled());
    client
        .connection
        .send_text(&"compressible ".repeat(50))
        .unwrap();
    let wire = client.connection.pending_output().to_vec();
    assert_eq!(wire[0] & 0x40, 0x40, "RSV1: the message is compressed");
    server.connection.feed(&wire);
    let Some(Event::Text(text)) = server.connection.poll_event().unwrap() else {
        panic!("a text message")
    };
    assert_eq!(text, "compressible ".repeat(50));
}

#[test]
fn a_refusal_gives_status_headers_and_the_whole_declared_body() {
    let mut hs = client(None);
    hs.feed(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\nX-Why: token\r\n\r\nno t");
    let ClientStep::NeedInput(mut hs) = hs.step() else {
        panic!("the body is not complete")
    };
    hs.feed(b"oken!");
    let ClientStep::Refused(r) = hs.step() else {
        panic!("refused")
    };
    assert_eq!(r.status, 403);
    assert_eq!(r.headers.get("x-why"), Some("token"));
    assert_eq!(r.body, b"no token!");
    assert_eq!(
        r.error(),
        HandshakeError::NotSwitching {
            status: 403,
            reason: "Forbidden".into()
        }
    );
}

#[test]
fn a_refusal_without_length_ends_with_the_transport() {
    let mut hs = client(None);
    hs.feed(b"HTTP/1.1 404 Not Found\r\n\r\nnothing here");
    let ClientStep::NeedInput(mut hs) = hs.step() else {
        panic!("the body may go on")
    };
    hs.end_of_input();
    let ClientStep::Refused(r) = hs.step() else {
        panic!("refused")
    };
    assert_eq!(r.body, b"nothing here");
}

#[test]
fn a_wrong_accept_key_fails_and_a_silent_server_times_out() {
    let mut hs = client(None);
    hs.feed(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n");
    assert!(matches!(
        hs.step(),
        ClientStep::Failed(HandshakeError::BadAccept { .. })
    ));
    let mut hs = client(None);
    hs.handle_timeout(Duration::from_secs(10));
    assert!(matches!(
        hs.step(),
        ClientStep::Failed(HandshakeError::TimedOut { millis: 10_000 })
    ));
    let mut hs = client(None);
    hs.feed(b"HTTP/1.1 101 Swi");
    hs.end_of_input();
    assert!(matches!(
        hs.step(),
        ClientStep::Failed(HandshakeError::Closed)
    ));
}

#[test]
fn a_header_that_would_split_the_request_is_refused_before_sending() {
    let request = ClientRequest {
        host: "a".into(),
        path: "/".into(),
        headers: vec![("X-A".into(), "1\r\nX-Injected: 2".into())],
        ..ClientRequest::default()
    };
    let err = ClientHandshake::new(Config::default(), request, None).unwrap_err();
    assert!(matches!(err, HandshakeError::InvalidRequest(_)), "{err}");
    let request = ClientRequest {
        host: "a".into(),
        path: "/a b".into(),
        ..ClientRequest::default()
    };
    assert!(ClientHandshake::new(Config::default(), request, None).is_err());
}
