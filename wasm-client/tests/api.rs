//! The JavaScript API in a real browser: RFC 6455 section 5.7 examples, every kind
//! of malformed frame, a 16 MiB frame and a stream fed in random chunks.

#[cfg(feature = "analysis")]
use framewire_wasm::{accept_key, check_handshake};
use framewire_wasm::{decode_frames, decode_hex, encode_frame, StreamDecoder};
use js_sys::{Array, Object, Reflect, Uint8Array, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[allow(dead_code)]
#[path = "js/mod.rs"]
mod js;

use js::{boolean, bytes, get, len, num, string};

fn decode(wire: &[u8], role: &str) -> JsValue {
    decode_frames(wire, role, None).unwrap_or_else(|_| panic!("decodeFrames failed"))
}

fn rules(report: &JsValue, frame: usize) -> Vec<(String, f64, f64)> {
    let list: Array = get(report, &format!("frames.{frame}.violations")).unchecked_into();
    list.iter()
        .map(|v| (string(&v, "rule"), num(&v, "offset"), num(&v, "closeCode")))
        .collect()
}

fn spec(fields: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in fields {
        Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.into()
}

const MASKED_HELLO: [u8; 11] = [
    0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
];

#[wasm_bindgen_test]
fn rfc_single_unmasked_text() {
    let r = decode(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f], "server");
    assert_eq!(len(&r, "frames"), 1);
    assert!(boolean(&r, "frames.0.fin"));
    assert!(!boolean(&r, "frames.0.masked"));
    assert_eq!(string(&r, "frames.0.opcodeName"), "text");
    assert_eq!(string(&r, "frames.0.text"), "Hello");
    assert_eq!(num(&r, "frames.0.lengthEncoding"), 7.0);
    assert_eq!(len(&r, "frames.0.violations"), 0);
    assert!(get(&r, "incomplete").is_null());
}

#[wasm_bindgen_test]
fn rfc_single_masked_text() {
    let r = decode(&MASKED_HELLO, "client");
    assert!(boolean(&r, "frames.0.masked"));
    assert_eq!(bytes(&r, "frames.0.payload"), b"Hello");
    assert_eq!(bytes(&r, "frames.0.maskedPayload"), MASKED_HELLO[6..]);
    let key: Vec<f64> = get(&r, "frames.0.maskKey")
        .unchecked_into::<Array>()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(key, [55.0, 250.0, 33.0, 61.0]);
    assert_eq!(num(&r, "frames.0.ranges.maskKey.0"), 2.0);
    assert_eq!(num(&r, "frames.0.ranges.payload.1"), 11.0);
    assert_eq!(len(&r, "frames.0.violations"), 0);
}

#[wasm_bindgen_test]
fn rfc_fragmented_text_ping_and_pong() {
    let mut wire = vec![0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
    wire.extend([0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    let r = decode(&wire, "server");
    assert_eq!(len(&r, "frames"), 3);
    assert!(!boolean(&r, "frames.0.fin"));
    assert_eq!(string(&r, "frames.0.text"), "Hel");
    assert_eq!(string(&r, "frames.1.opcodeName"), "continuation");
    assert_eq!(string(&r, "frames.1.text"), "lo");
    assert_eq!(num(&r, "frames.1.offset"), 5.0);
    assert_eq!(string(&r, "frames.2.opcodeName"), "ping");
    assert_eq!(bytes(&r, "frames.2.payload"), b"Hello");
    let mut pong = MASKED_HELLO;
    pong[0] = 0x8a;
    let r = decode(&pong, "client");
    assert_eq!(string(&r, "frames.0.opcodeName"), "pong");
    assert_eq!(bytes(&r, "frames.0.payload"), b"Hello");
}

#[wasm_bindgen_test]
fn rfc_16_and_64_bit_lengths() {
    let mut wire = vec![0x82, 0x7E, 0x01, 0x00];
    wire.extend(vec![7u8; 256]);
    wire.extend([0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
    wire.extend(vec![9u8; 65536]);
    let r = decode(&wire, "server");
    assert_eq!(len(&r, "frames"), 2);
    assert_eq!(num(&r, "frames.0.lengthEncoding"), 16.0);
    assert_eq!(num(&r, "frames.0.payloadLength"), 256.0);
    assert_eq!(num(&r, "frames.0.ranges.extendedLength.0"), 2.0);
    assert_eq!(num(&r, "frames.0.ranges.extendedLength.1"), 4.0);
    assert_eq!(num(&r, "frames.1.lengthEncoding"), 64.0);
    assert_eq!(num(&r, "frames.1.payloadLength"), 65536.0);
    assert_eq!(num(&r, "frames.1.offset"), 260.0);
    assert_eq!(num(&r, "frames.1.ranges.extendedLength.1"), 270.0);
    assert!(get(&r, "frames.1.text").is_null());
    assert_eq!(
        len(&r, "frames.0.violations") + len(&r, "frames.1.violations"),
        0
    );
}

#[wasm_bindgen_test]
fn hex_layouts_including_wireshark() {
    let plain = decode_hex("81 85 37 fa 21 3d 7f 9f 4d 51 58", "client", None)
        .unwrap_or_else(|_| panic!("plain hex"));
    assert_eq!(bytes(&plain, "frames.0.payload"), b"Hello");
    let wireshark = "0000   81 85 37 fa 21 3d 7f 9f 4d 51 58               ..7.!=..MQX";
    let r = decode_hex(wireshark, "client", None).unwrap_or_else(|_| panic!("wireshark hex"));
    assert_eq!(string(&r, "frames.0.text"), "Hello");
    assert!(decode_hex("81 8g", "any", None).is_err());
}

/// Header, payload bytes that follow, role, rule, its offset and close code.
type Case = (&'static [u8], usize, &'static str, &'static str, f64, f64);

#[wasm_bindgen_test]
fn malformed_header_rules() {
    let cases: &[Case] = &[
        (&[0xC1, 0x00], 0, "any", "ReservedBits", 0.0, 1002.0),
        (&[0x83, 0x00], 0, "any", "ReservedOpcode", 0.0, 1002.0),
        (&[0x8B, 0x00], 0, "any", "ReservedOpcode", 0.0, 1002.0),
        (
            &[0x09, 0x00],
            0,
            "any",
            "FragmentedControlFrame",
            0.0,
            1002.0,
        ),
        (
            &[0x81, 0x00],
            0,
            "client",
            "UnmaskedClientFrame",
            1.0,
            1002.0,
        ),
        (
            &[0x81, 0x80, 1, 2, 3, 4],
            0,
            "server",
            "MaskedServerFrame",
            1.0,
            1002.0,
        ),
        (
            &[0x89, 0x7E, 0x00, 0x7E],
            126,
            "any",
            "ControlFrameTooLong",
            1.0,
            1002.0,
        ),
        (
            &[0x82, 0x7E, 0x00, 0x05],
            5,
            "any",
            "NonMinimalLength",
            1.0,
            1002.0,
        ),
        (
            &[0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0, 0x07],
            7,
            "any",
            "NonMinimalLength",
            1.0,
            1002.0,
        ),
    ];
    for (header, n, role, rule, offset, code) in cases {
        let mut wire = header.to_vec();
        wire.resize(header.len() + n, 0);
        let r = decode_frames(&wire, role, None).unwrap_or_else(|_| panic!("{rule}"));
        assert_eq!(len(&r, "frames"), 1, "{rule}");
        let found = rules(&r, 0);
        assert!(
            found.contains(&(rule.to_string(), *offset, *code)),
            "{rule}: got {found:?}"
        );
    }
}

#[wasm_bindgen_test]
fn length_high_bit_is_reported_by_the_stream_decoder() {
    let mut d = StreamDecoder::new("any", Some(64)).unwrap_or_else(|_| panic!("new"));
    let mut wire = vec![0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0];
    wire.extend([0u8; 60]);
    let frames = d.push(&wire).unwrap_or_else(|_| panic!("push"));
    assert!(boolean(&frames, "0.truncated"));
    let v = get(&frames, "0.violations.0");
    assert_eq!(string(&v, "rule"), "LengthHighBit");
    assert_eq!(num(&v, "offset"), 2.0);
}

#[wasm_bindgen_test]
fn malformed_message_rules() {
    // Continuation with nothing to continue, after a finished message.
    let r = decode(&[0x81, 0x01, b'a', 0x80, 0x00], "server");
    assert_eq!(
        rules(&r, 1),
        [("ContinuationWithoutStart".into(), 3.0, 1002.0)]
    );
    // A new text message while one is open.
    let r = decode(&[0x01, 0x01, b'a', 0x81, 0x00], "server");
    assert_eq!(rules(&r, 1), [("MessageInterleaved".into(), 3.0, 1002.0)]);
    // Invalid UTF-8 in one frame, and a character cut by the end of a message.
    let r = decode(&[0x81, 0x03, b'o', b'k', 0xFF], "server");
    assert_eq!(rules(&r, 0), [("InvalidUtf8".into(), 4.0, 1007.0)]);
    assert!(get(&r, "frames.0.text").is_null());
    let r = decode(&[0x81, 0x02, b'a', 0xE2], "server");
    assert_eq!(rules(&r, 0), [("InvalidUtf8".into(), 3.0, 1007.0)]);
}

#[wasm_bindgen_test]
fn close_frames() {
    let r = decode(&[0x88, 0x05, 0x03, 0xE9, b'b', b'y', b'e'], "server");
    assert_eq!(num(&r, "frames.0.close.code"), 1001.0);
    assert_eq!(string(&r, "frames.0.close.meaning"), "going away");
    assert_eq!(string(&r, "frames.0.close.reason"), "bye");
    let r = decode(&[0x88, 0x00], "server");
    assert!(get(&r, "frames.0.close.code").is_null());
    let r = decode(&[0x88, 0x01, 0x03], "server");
    assert_eq!(rules(&r, 0), [("InvalidClose".into(), 2.0, 1002.0)]);
    let r = decode(&[0x88, 0x02, 0x03, 0xEE], "server");
    assert_eq!(rules(&r, 0), [("InvalidClose".into(), 2.0, 1002.0)]);
    let r = decode(&[0x88, 0x03, 0x03, 0xE8, 0xFF], "server");
    assert_eq!(rules(&r, 0), [("InvalidClose".into(), 4.0, 1007.0)]);
}

#[wasm_bindgen_test]
fn trailing_incomplete_frame() {
    let r = decode(
        &[0x81, 0x03, b'a', b'b', b'c', 0x81, 0x85, 0x37, 0xfa],
        "any",
    );
    assert_eq!(len(&r, "frames"), 1);
    assert_eq!(num(&r, "consumed"), 5.0);
    assert_eq!(num(&r, "incomplete.offset"), 5.0);
    assert_eq!(num(&r, "incomplete.available"), 4.0);
    assert_eq!(num(&r, "incomplete.needed"), 2.0);
    let r = decode(&[0x82, 0x05, 1, 2], "any");
    assert!(boolean(&r, "incomplete.headerComplete"));
    assert_eq!(num(&r, "incomplete.needed"), 3.0);
    let r = decode(&[0x81], "any");
    assert!(!boolean(&r, "incomplete.headerComplete"));
    assert_eq!(num(&r, "incomplete.needed"), 1.0);
    assert!(decode_frames(&[0x81], "browser", None).is_err());
}

#[wasm_bindgen_test]
fn frame_of_16_mib() {
    let n = 16 * 1024 * 1024;
    let payload: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
    let key = Uint8Array::from(&[1u8, 2, 3, 4][..]);
    let wire = encode_frame(spec(&[
        ("opcode", 2.into()),
        ("mask", true.into()),
        ("maskKey", key.into()),
        ("payload", Uint8Array::from(&payload[..]).into()),
    ]))
    .unwrap_or_else(|_| panic!("encode"));
    assert_eq!(wire.len(), n + 14);
    assert_eq!(wire[1], 0xFF);
    let r = decode(&wire, "client");
    assert_eq!(num(&r, "frames.0.payloadLength"), n as f64);
    assert_eq!(num(&r, "frames.0.lengthEncoding"), 64.0);
    assert_eq!(len(&r, "frames.0.violations"), 0);
    assert!(bytes(&r, "frames.0.payload") == payload);
    let mut d = StreamDecoder::new("client", None).unwrap_or_else(|_| panic!("new"));
    let mut got = 0;
    for chunk in wire.chunks(1 << 20) {
        let frames = d.push(chunk).unwrap_or_else(|_| panic!("push"));
        for i in 0..frames.unchecked_ref::<Array>().length() {
            assert!(!boolean(&frames, &format!("{i}.truncated")));
            assert!(bytes(&frames, &format!("{i}.payload")) == payload);
            got += 1;
        }
    }
    assert_eq!(got, 1);
}

#[wasm_bindgen_test]
fn stream_in_random_chunks_matches_whole() {
    let mut wire = Vec::new();
    let texts = [
        "",
        "a",
        "héllo wörld €",
        &"x".repeat(126),
        &"long ".repeat(14000),
    ];
    for (i, t) in texts.iter().enumerate() {
        let masked = i % 2 == 0;
        wire.extend(
            encode_frame(spec(&[
                ("opcode", 1.into()),
                ("mask", masked.into()),
                ("payload", JsValue::from_str(t)),
            ]))
            .unwrap_or_else(|_| panic!("encode")),
        );
        wire.extend(
            encode_frame(spec(&[
                ("opcode", 9.into()),
                ("payload", JsValue::from_str("p")),
            ]))
            .unwrap_or_else(|_| panic!("encode ping")),
        );
    }
    wire.extend([0x81, 0x03, b'o', b'k', 0xFF, 0x88, 0x02, 0x03, 0xE8]);
    let whole = JSON::stringify(&get(&decode(&wire, "any"), "frames")).unwrap();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for round in 0..12 {
        let mut d = StreamDecoder::new("any", None).unwrap_or_else(|_| panic!("new"));
        let all = Array::new();
        let mut at = 0;
        while at < wire.len() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let max = if round % 3 == 0 { 4 } else { 9000 };
            let n = (1 + (seed % max) as usize).min(wire.len() - at);
            let frames: Array = d
                .push(&wire[at..at + n])
                .unwrap_or_else(|_| panic!("push"))
                .unchecked_into();
            for f in frames.iter() {
                all.push(&f);
            }
            at += n;
        }
        assert_eq!(d.buffered(), 0);
        assert_eq!(JSON::stringify(&all).unwrap(), whole, "round {round}");
    }
}

#[wasm_bindgen_test]
fn stream_buffer_limit() {
    let big = encode_frame(spec(&[
        ("opcode", 2.into()),
        ("payload", Uint8Array::new_with_length(5000).into()),
    ]))
    .unwrap_or_else(|_| panic!("encode"));
    let mut d = StreamDecoder::new("server", Some(100)).unwrap_or_else(|_| panic!("new"));
    assert_eq!(d.limit(), 100);
    let mut frames = Vec::new();
    for chunk in big.chunks(33).chain(std::iter::once(&[0x8A, 0x00][..])) {
        let out: Array = d
            .push(chunk)
            .unwrap_or_else(|_| panic!("push"))
            .unchecked_into();
        frames.extend(out.iter());
        assert!(d.buffered() <= 100);
    }
    assert_eq!(frames.len(), 2);
    assert!(boolean(&frames[0], "truncated"));
    assert_eq!(bytes(&frames[0], "bytes").len(), 100);
    assert_eq!(string(&frames[1], "opcodeName"), "pong");
    assert_eq!(num(&frames[1], "offset"), 5004.0);
    assert!(StreamDecoder::new("server", Some(4)).is_err());
    assert!(StreamDecoder::new("peer", None).is_err());
}

#[wasm_bindgen_test]
fn stream_reports_its_unfinished_frame() {
    let mut d = StreamDecoder::new("client", None).unwrap_or_else(|_| panic!("new"));
    assert!(d
        .incomplete()
        .unwrap_or_else(|_| panic!("incomplete"))
        .is_null());
    let out: Array = d
        .push(&MASKED_HELLO[..4])
        .unwrap_or_else(|_| panic!("push"))
        .unchecked_into();
    assert_eq!(out.length(), 0);
    let i = d.incomplete().unwrap_or_else(|_| panic!("incomplete"));
    assert!(!boolean(&i, "headerComplete"));
    assert_eq!(num(&i, "needed"), 2.0);
    assert_eq!(d.buffered(), 4);
    d.push(&MASKED_HELLO[4..8])
        .unwrap_or_else(|_| panic!("push"));
    let i = d.incomplete().unwrap_or_else(|_| panic!("incomplete"));
    assert!(boolean(&i, "headerComplete"));
    assert_eq!(num(&i, "needed"), 3.0);
    let out = d
        .push(&MASKED_HELLO[8..])
        .unwrap_or_else(|_| panic!("push"));
    assert_eq!(string(&out, "0.text"), "Hello");
    assert_eq!(d.position(), 11.0);
    assert_eq!(d.buffered(), 0);
}

#[wasm_bindgen_test]
fn encode_frame_fields() {
    let key = Array::of4(&0x37.into(), &0xfa.into(), &0x21.into(), &0x3d.into());
    let wire = encode_frame(spec(&[
        ("opcode", 1.into()),
        ("mask", true.into()),
        ("maskKey", key.into()),
        ("payload", "Hello".into()),
    ]))
    .unwrap_or_else(|_| panic!("encode"));
    assert_eq!(wire, MASKED_HELLO);
    let random = encode_frame(spec(&[
        ("opcode", 1.into()),
        ("mask", true.into()),
        ("payload", "Hello".into()),
    ]))
    .unwrap_or_else(|_| panic!("encode"));
    assert_eq!(random[1], 0x85);
    assert_eq!(
        bytes(&decode(&random, "client"), "frames.0.payload"),
        b"Hello"
    );
    let odd = encode_frame(spec(&[
        ("fin", false.into()),
        ("rsv2", true.into()),
        ("opcode", 2.into()),
        ("lengthBits", 64.into()),
        ("payload", "hi".into()),
    ]))
    .unwrap_or_else(|_| panic!("encode"));
    assert_eq!(odd[..2], [0x22, 0x7F]);
    let r = decode(&odd, "server");
    let found: Vec<String> = rules(&r, 0).into_iter().map(|v| v.0).collect();
    assert_eq!(found, ["ReservedBits", "NonMinimalLength"]);
    assert!(encode_frame(spec(&[("opcode", 16.into())])).is_err());
    assert!(encode_frame(spec(&[
        ("opcode", 1.into()),
        ("mask", true.into()),
        ("maskKey", "abc".into())
    ]))
    .is_err());
    assert!(encode_frame(JsValue::from_str("text")).is_err());
}

/// The handshake check is in the analysis module (the feature `analysis`).
#[cfg(feature = "analysis")]
#[wasm_bindgen_test]
fn handshake_checks() {
    assert_eq!(
        accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    let req = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let r = check_handshake(req, None).unwrap_or_else(|_| panic!("check"));
    assert!(boolean(&r, "ok"));
    assert_eq!(string(&r, "expectedAccept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    let r = check_handshake(&req.replace("GET", "POST"), None).unwrap_or_else(|_| panic!("check"));
    assert!(!boolean(&r, "ok"));
    assert_eq!(num(&r, "problems.0.status"), 405.0);
    assert_eq!(len(&r, "problems"), 1);
    let two = req
        .replace("GET", "POST")
        .replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8");
    let r = check_handshake(&two, None).unwrap_or_else(|_| panic!("check"));
    assert_eq!(len(&r, "problems"), 2);
    assert_eq!(num(&r, "problems.1.status"), 426.0);
    let resp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    let r = check_handshake(resp, Some(req.into())).unwrap_or_else(|_| panic!("check"));
    assert!(boolean(&r, "ok"));
    assert_eq!(string(&r, "kind"), "response");
    let r = check_handshake(&resp.replace("xOo=", "xOA="), Some(req.into()))
        .unwrap_or_else(|_| panic!("check"));
    assert!(string(&r, "problems.0.message").contains("does not match"));
}

#[wasm_bindgen_test]
fn permessage_deflate_messages_are_inflated() {
    // RFC 7692 section 7.2.3.1: "Hello" in one compressed frame, then in two fragments.
    let one = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let r = decode_frames(&one, "server", Some(true)).unwrap_or_else(|_| panic!("decode"));
    assert!(boolean(&r, "frames.0.compressed"));
    assert_eq!(bytes(&r, "frames.0.inflated"), b"Hello");
    assert_eq!(string(&r, "frames.0.text"), "Hello");
    assert_eq!(len(&r, "frames.0.violations"), 0);
    let two = [
        0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00,
    ];
    let r = decode_frames(&two, "server", Some(true)).unwrap_or_else(|_| panic!("decode"));
    assert!(boolean(&r, "frames.1.compressed"));
    let mut all = bytes(&r, "frames.0.inflated");
    all.extend(bytes(&r, "frames.1.inflated"));
    assert_eq!(all, b"Hello");
    assert_eq!(
        len(&r, "frames.0.violations") + len(&r, "frames.1.violations"),
        0
    );
    // Without deflate, RSV1 is a broken rule and nothing is inflated.
    let r = decode_frames(&one, "server", None).unwrap_or_else(|_| panic!("decode"));
    assert_eq!(rules(&r, 0)[0].0, "ReservedBits");
    assert!(get(&r, "frames.0.inflated").is_null());
    // Corrupt compressed data.
    let r = decode_frames(&[0xc1, 0x02, 0xff, 0xff], "server", Some(true))
        .unwrap_or_else(|_| panic!("decode"));
    assert_eq!(rules(&r, 0), [("Inflate".into(), 2.0, 1007.0)]);
    // A stream decoder inflates once given the answer the analysis module's deflateAnswer
    // reads from the server's 101 (tested in analysis.rs), here as the page passes it.
    let mut d = StreamDecoder::new("server", None).unwrap_or_else(|_| panic!("new"));
    assert!(d.enable_deflate_agreed(JsValue::UNDEFINED).is_err());
    let answer =
        JSON::parse(r#"{"serverNoContextTakeover":false,"clientNoContextTakeover":false}"#)
            .unwrap_or_else(|_| panic!("json"));
    d.enable_deflate_agreed(answer)
        .unwrap_or_else(|_| panic!("agreed"));
    let frames = d.push(&one).unwrap_or_else(|_| panic!("push"));
    assert_eq!(string(&frames, "0.text"), "Hello");
}

#[wasm_bindgen_test]
fn a_masked_frame_without_a_key_gets_a_random_one_from_crypto() {
    let build = || {
        encode_frame(spec(&[
            ("opcode", 1.into()),
            ("mask", true.into()),
            ("payload", JsValue::from_str("Hello")),
        ]))
        .unwrap_or_else(|e| panic!("encode: {:?}", JsValue::from(e)))
    };
    let keys: Vec<Vec<u8>> = (0..4).map(|_| build()[2..6].to_vec()).collect();
    // Four 32-bit keys from crypto.getRandomValues are not all the same.
    assert!(keys.iter().any(|k| *k != keys[0]), "{keys:?}");
    let r = decode(&build(), "client");
    assert!(boolean(&r, "frames.0.masked"));
    assert_eq!(string(&r, "frames.0.text"), "Hello");
}

#[wasm_bindgen_test]
fn a_large_frame_stays_in_wasm_memory_until_taken_and_a_released_one_is_gone() {
    use framewire_wasm::{release_stored, stored_bytes, stored_slice, take_stored};
    // A server's 100,000-byte binary frame (10-byte header) between two small text frames:
    // pushPacked's batch holds the small ones; the large one is stored, its id last.
    let payload: Vec<u8> = (0..100_000u32).map(|i| (i * 13) as u8).collect();
    let mut wire = vec![0x81, 0x02, b'h', b'i', 0x82, 0x7f];
    wire.extend_from_slice(&(payload.len() as u64).to_be_bytes());
    wire.extend_from_slice(&payload);
    wire.extend_from_slice(&[0x81, 0x01, b'!']);
    let before = stored_bytes();
    let mut d = StreamDecoder::new("server", None).unwrap();
    let out = d.push_packed(&Uint8Array::from(&wire[..])).unwrap();
    let nums: Vec<f64> = out.get(0).unchecked_into::<js_sys::Float64Array>().to_vec();
    let batch: Vec<u8> = out.get(1).unchecked_into::<Uint8Array>().to_vec();
    const FIELDS: usize = framewire_wasm::packed::FIELDS;
    assert_eq!(nums.len(), 3 * FIELDS);
    assert_eq!(batch, [0x81, 0x02, b'h', b'i', 0x81, 0x01, b'!']);
    let id = nums[2 * FIELDS - 1];
    assert!(id >= 0.0 && nums[FIELDS - 1] < 0.0 && nums[3 * FIELDS - 1] < 0.0);
    assert_eq!(stored_bytes() - before, 100_010.0);
    assert_eq!(stored_slice(id, 10, 14).ok(), Some(payload[..4].to_vec()));
    let taken = take_stored(id).unwrap_or_else(|_| panic!("the frame is held"));
    assert_eq!(&taken[10..], &payload[..]);
    assert_eq!(stored_bytes(), before);
    assert!(take_stored(id).is_err() && !release_stored(id));

    let out = d
        .push_packed(&Uint8Array::from(&wire[4..wire.len() - 3]))
        .unwrap();
    let nums: Vec<f64> = out.get(0).unchecked_into::<js_sys::Float64Array>().to_vec();
    assert!(release_stored(nums[FIELDS - 1]));
    assert_eq!(stored_bytes(), before);
}
