//! RFC 6455 section 5.7's examples, byte for byte.

use framewire_core::frame::{decode_frame, encode_frame, Decoded, FrameHeader, LengthEncoding};
use framewire_core::{Config, Connection, Event, OpCode};

fn frame(bytes: &[u8]) -> (FrameHeader, Vec<u8>) {
    match decode_frame(bytes) {
        Decoded::Frame(f) => {
            assert_eq!(f.len, bytes.len());
            (f.header, f.payload.to_vec())
        }
        other => panic!("incomplete: {other:?}"),
    }
}

#[test]
fn unmasked_hello() {
    let bytes = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let (h, p) = frame(&bytes);
    assert!(h.fin);
    assert_eq!(h.opcode(), Some(OpCode::Text));
    assert_eq!(h.mask, None);
    assert_eq!(p, b"Hello");
    let mut out = Vec::new();
    encode_frame(
        &FrameHeader::new(true, OpCode::Text, None, 5),
        b"Hello",
        &mut out,
    );
    assert_eq!(out, bytes);
}

#[test]
fn masked_hello() {
    let bytes = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let (h, _) = frame(&bytes);
    assert_eq!(h.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
    let layout = h.layout();
    assert_eq!(layout.mask_key, Some(2..6));
    assert_eq!(layout.payload, 6..11);
    let mut out = Vec::new();
    encode_frame(&h, b"Hello", &mut out);
    assert_eq!(out, bytes);
    let mut server = Connection::server(Config::default());
    server.feed(&bytes);
    assert_eq!(server.poll_event().unwrap(), Some(Event::Text("Hello")));
}

#[test]
fn fragmented_hello() {
    let bytes = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
    let (first, _) = frame(&bytes[..5]);
    assert!(!first.fin);
    assert_eq!(first.opcode(), Some(OpCode::Text));
    let (second, _) = frame(&bytes[5..]);
    assert!(second.fin);
    assert_eq!(second.opcode(), Some(OpCode::Continuation));
    let mut client = Connection::client_with_seed(Config::default(), [7; 32]);
    client.feed(&bytes);
    assert_eq!(client.poll_event().unwrap(), Some(Event::Text("Hello")));
}

#[test]
fn ping_and_pong() {
    let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let pong = [
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(frame(&ping).0.opcode(), Some(OpCode::Ping));
    assert_eq!(frame(&pong).0.opcode(), Some(OpCode::Pong));
    // A server answering the ping sends the unmasked pong.
    let mut server = Connection::server(Config::default());
    server.feed(&[
        0x89, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ]);
    assert_eq!(server.poll_event().unwrap(), Some(Event::Ping(b"Hello")));
    assert_eq!(
        server.pending_output(),
        [0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
    );
}

#[test]
fn lengths_256_and_64k() {
    let mut out = Vec::new();
    let payload = vec![0u8; 256];
    encode_frame(
        &FrameHeader::new(true, OpCode::Binary, None, 0),
        &payload,
        &mut out,
    );
    assert_eq!(&out[..4], &[0x82, 0x7E, 0x01, 0x00]);
    let (h, _) = frame(&out);
    assert_eq!(h.length_encoding, LengthEncoding::Bits16);

    let payload = vec![0u8; 65536];
    out.clear();
    encode_frame(
        &FrameHeader::new(true, OpCode::Binary, None, 0),
        &payload,
        &mut out,
    );
    assert_eq!(&out[..10], &[0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]);
    let (h, _) = frame(&out);
    assert_eq!(h.length_encoding, LengthEncoding::Bits64);
}

#[test]
fn minimal_length_thresholds() {
    // The tutorial used 65025 as the 16-bit threshold; the right one is 65535.
    for (len, bits) in [(125, 7), (126, 16), (65025, 16), (65535, 16), (65536, 64)] {
        assert_eq!(LengthEncoding::minimal(len).bits(), bits, "{len}");
    }
}
