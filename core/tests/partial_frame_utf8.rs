//! Invalid UTF-8 fails the connection as soon as the bytes proving it arrive, even in the
//! middle of a frame (Autobahn 6.4.3 and 6.4.4), and text fed in any chops still arrives intact.

mod common;

use common::drain;
use framewire_core::frame::{encode_frame, FrameHeader};
use framewire_core::{Config, Connection, Event, Message, OpCode, ProtocolError};
use proptest::prelude::*;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Autobahn 6.4.x: PART1 and PART3 are valid, PART2 encodes U+110000 (out of range).
const PART1: &[u8] = &[
    0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5,
];
const PART2: &[u8] = &[0xf4, 0x90, 0x80, 0x80];
const PART3: &[u8] = b"edited";

fn frame(fin: bool, opcode: OpCode, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader::new(fin, opcode, mask, payload.len() as u64);
    let mut out = Vec::new();
    encode_frame(&header, payload, &mut out);
    out
}

/// The code of the close frame at the start of the queued output (server side, unmasked).
fn queued_close_code(conn: &Connection) -> Option<u16> {
    let out = conn.pending_output();
    (out.len() >= 4 && out[0] == 0x88).then(|| u16::from_be_bytes([out[2], out[3]]))
}

fn payload() -> Vec<u8> {
    [PART1, PART2, PART3].concat()
}

#[test]
fn server_fails_on_the_chop_that_makes_a_frame_invalid() {
    // 6.4.3: one masked frame, sent as PART1 | PART2 | PART3.
    let wire = frame(true, OpCode::Text, Some(KEY), &payload());
    let first = 2 + 4 + PART1.len();
    let mut conn = Connection::server(Config::default());
    conn.feed(&wire[..first]);
    assert_eq!(drain(&mut conn), (vec![], None));
    assert!(conn.pending_output().is_empty());

    conn.feed(&wire[first..first + PART2.len()]);
    let (events, err) = drain(&mut conn);
    assert!(events.is_empty());
    assert_eq!(err, Some(ProtocolError::InvalidUtf8 { offset: 11 }));
    assert_eq!(queued_close_code(&conn), Some(1007));
}

#[test]
fn server_fails_on_the_single_byte_that_proves_it() {
    // 6.4.4: PART1 ends with 0xf4, the next chop is the lone 0x90.
    let wire = frame(true, OpCode::Text, Some(KEY), &payload());
    let first = 2 + 4 + PART1.len() + 1;
    let mut conn = Connection::server(Config::default());
    conn.feed(&wire[..first]);
    assert_eq!(drain(&mut conn), (vec![], None));
    conn.feed(&wire[first..first + 1]);
    let err = drain(&mut conn).1;
    assert!(
        matches!(err, Some(ProtocolError::InvalidUtf8 { .. })),
        "{err:?}"
    );
    assert_eq!(queued_close_code(&conn), Some(1007));
}

#[test]
fn continuation_chops_are_checked_against_the_whole_message() {
    let mut wire = frame(false, OpCode::Text, Some(KEY), PART1);
    let cont = frame(
        true,
        OpCode::Continuation,
        Some(KEY),
        &[PART2, PART3].concat(),
    );
    let split = wire.len() + 2 + 4 + 1;
    wire.extend_from_slice(&cont);
    let mut conn = Connection::server(Config::default());
    conn.feed(&wire[..split]);
    assert_eq!(drain(&mut conn), (vec![], None));
    conn.feed(&wire[split..split + 1]);
    let err = drain(&mut conn).1;
    assert!(
        matches!(err, Some(ProtocolError::InvalidUtf8 { .. })),
        "{err:?}"
    );
    assert_eq!(queued_close_code(&conn), Some(1007));
}

#[test]
fn client_fails_on_the_chop_that_makes_an_unmasked_frame_invalid() {
    let wire = frame(true, OpCode::Text, None, &payload());
    let first = 2 + PART1.len();
    let mut conn = Connection::client_with_seed(Config::default(), [7; 32]);
    conn.feed(&wire[..first]);
    assert_eq!(drain(&mut conn), (vec![], None));
    conn.feed(&wire[first..first + PART2.len()]);
    assert_eq!(
        drain(&mut conn).1,
        Some(ProtocolError::InvalidUtf8 { offset: 11 })
    );
    assert!(conn.is_closed());
}

#[test]
fn binary_frames_in_chops_are_not_checked_as_text() {
    let wire = frame(true, OpCode::Binary, Some(KEY), &payload());
    let mut conn = Connection::server(Config::default());
    let mut events = Vec::new();
    for byte in &wire {
        conn.feed(std::slice::from_ref(byte));
        let (got, err) = drain(&mut conn);
        assert_eq!(err, None);
        events.extend(got);
    }
    assert_eq!(events, vec![Message::Binary(payload().into())]);
}

proptest! {
    /// Valid text, split into 1 to 3 masked frames and fed in chops of any size,
    /// arrives as exactly the text sent.
    #[test]
    fn chopped_valid_text_arrives_intact(
        text in "\\PC{0,300}",
        cuts in proptest::collection::vec(0usize..1000, 0..3),
        chop in 1usize..40,
    ) {
        let bytes = text.as_bytes();
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        bounds.sort_unstable();
        bounds.insert(0, 0);
        bounds.push(bytes.len());
        let pieces: Vec<&[u8]> = bounds.windows(2).map(|w| &bytes[w[0]..w[1]]).collect();
        let mut wire = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            let opcode = if i == 0 { OpCode::Text } else { OpCode::Continuation };
            wire.extend(frame(i + 1 == pieces.len(), opcode, Some(KEY), piece));
        }
        let mut conn = Connection::server(Config::default());
        let mut texts = Vec::new();
        for part in wire.chunks(chop) {
            conn.feed(part);
            loop {
                match conn.poll_event() {
                    Ok(Some(Event::Text(t))) => texts.push(t.to_owned()),
                    Ok(Some(other)) => prop_assert!(false, "unexpected event {:?}", other),
                    Ok(None) => {
                        if !conn.has_pending_work() {
                            break;
                        }
                    }
                    Err(e) => prop_assert!(false, "valid text failed: {}", e),
                }
            }
        }
        prop_assert_eq!(texts, vec![text]);
    }
}
