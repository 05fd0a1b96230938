//! `framewire decode` and the browser inspector's Rust API are both thin over the
//! core's inspector: on the same bytes they report the same frames and the same
//! broken rules, at the same offsets, with the same close codes.

use crate::decode_cmd::{describe, SenderRole};
use framewire_core::frame::{encode_frame, FrameHeader};
use framewire_core::inspect::Start;
use framewire_core::{OpCode, Role};
use framewire_wasm::decoder::{Decoder, DEFAULT_BUFFER_LIMIT};

/// (frame index, offset, rule, close code) of every violation in complete frames,
/// the number of complete frames, and whether the bytes end mid-frame.
type Verdicts = (Vec<(u64, u64, String, u16)>, usize, bool);

fn cli(bytes: &[u8], role: SenderRole) -> Verdicts {
    let d = describe(bytes, role, 16);
    let unfinished = d.report.contains("incomplete header") || d.report.contains("! truncated");
    let complete = d.frames - usize::from(unfinished);
    let list = d
        .verdicts
        .iter()
        .filter(|v| (v.frame as usize) < complete)
        .map(|v| (v.frame, v.offset, v.rule.to_owned(), v.close_code))
        .collect();
    (list, complete, unfinished)
}

fn wasm(bytes: &[u8], role: Option<Role>) -> Verdicts {
    let mut d = Decoder::new(role, Start::Connection, DEFAULT_BUFFER_LIMIT).unwrap();
    let frames = d.push(bytes);
    let list = frames
        .iter()
        .flat_map(|f| {
            f.violations.iter().map(|v| {
                (
                    f.index as u64,
                    v.offset as u64,
                    v.rule.clone(),
                    v.close_code,
                )
            })
        })
        .collect();
    (list, frames.len(), d.incomplete().is_some())
}

fn frame(fin: bool, op: OpCode, mask: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let key = mask.then_some([0x37, 0xfa, 0x21, 0x3d]);
    encode_frame(
        &FrameHeader::new(fin, op, key, payload.len() as u64),
        payload,
        &mut out,
    );
    out
}

fn cases() -> Vec<Vec<u8>> {
    let mut cases: Vec<Vec<u8>> = vec![
        // RFC 6455 section 5.7.
        vec![0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f],
        vec![
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ],
        vec![0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f],
        // Header rules.
        vec![0xC1, 0x00],
        vec![0x83, 0x00, 0x8B, 0x00],
        vec![0x09, 0x00],
        vec![0x89, 0x7E, 0x00, 0x7E],
        vec![0x82, 0x7E, 0x00, 0x05, 1, 2, 3, 4, 5],
        vec![0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0],
        vec![0x80, 0x00],
        vec![0x01, 0x01, b'a', 0x81, 0x00],
        // Payload rules.
        vec![0x81, 0x03, b'o', b'k', 0xFF],
        vec![0x81, 0x02, b'a', 0xE2],
        vec![0x01, 0x02, 0xE2, 0x82, 0x80, 0x01, 0xAC],
        vec![0x88, 0x01, 0x03],
        vec![0x88, 0x02, 0x03, 0xED],
        vec![0x88, 0x03, 0x03, 0xE8, 0xFF],
        vec![0x88, 0x05, 0x03, 0xE9, b'b', b'y', b'e', 0x81, 0x00],
        // Truncated.
        vec![0x81],
        vec![0x82, 0x05, 1, 2],
        vec![0x81, 0x10, b'o', 0xFF],
    ];
    // Masked and unmasked mixes, so both masking rules fire in both roles.
    let mut mixed = frame(false, OpCode::Text, true, "héllo ".as_bytes());
    mixed.extend(frame(true, OpCode::Ping, false, b"p"));
    mixed.extend(frame(true, OpCode::Continuation, true, "wörld".as_bytes()));
    mixed.extend(frame(true, OpCode::Binary, false, &[0; 300]));
    cases.push(mixed);
    // Every prefix and a bit flip of a longer stream.
    let mut long = frame(true, OpCode::Text, true, "€uro".as_bytes());
    long.extend(frame(false, OpCode::Binary, true, &[1; 130]));
    long.extend(frame(true, OpCode::Continuation, true, &[2; 3]));
    long.extend(frame(true, OpCode::Close, true, &[0x03, 0xE8, b'o', b'k']));
    for cut in 0..long.len() {
        cases.push(long[..cut].to_vec());
        let mut flipped = long.clone();
        flipped[cut] ^= 1 << (cut % 8);
        cases.push(flipped);
    }
    cases
}

#[test]
fn decode_command_and_wasm_report_the_same_verdicts() {
    let roles = [
        (SenderRole::Client, Some(Role::Client)),
        (SenderRole::Server, Some(Role::Server)),
        (SenderRole::Any, None),
    ];
    let mut violations = 0;
    for bytes in cases() {
        for (cli_role, role) in roles {
            let a = cli(&bytes, cli_role);
            let b = wasm(&bytes, role);
            assert_eq!(a, b, "{cli_role:?} on {bytes:02x?}");
            violations += a.0.len();
        }
    }
    assert!(violations > 100, "the cases break rules: {violations}");
}
