//! `decode_frame` on any bytes, and the header rules on any header under any context.
//!
//! Input: one byte choosing the rule context, then the bytes to decode as a stream of frames.

#![no_main]

use framewire_core::frame::{decode_frame, encode_header, Decoded, FrameHeader, MAX_HEADER_LEN};
use framewire_core::rules::{check_header, header_violations, RuleContext};
use framewire_core::{CloseCode, Role};
use libfuzzer_sys::fuzz_target;

fn context(sel: u8) -> RuleContext {
    RuleContext {
        sender: [None, Some(Role::Client), Some(Role::Server)][usize::from(sel % 3)],
        rsv_on_message_start: (sel >> 2) & 0b111,
        in_message: [None, Some(false), Some(true), Some(false)][usize::from((sel >> 5) & 0b11)],
        max_frame_payload: if sel & 0x80 != 0 { 100 } else { u64::MAX >> 1 },
    }
}

fn check_rules(header: &FrameHeader, header_len: usize, ctx: &RuleContext) {
    let all = header_violations(header, ctx);
    assert_eq!(check_header(header, ctx).err(), all.first().cloned());
    for e in &all {
        let at = e
            .header_offset()
            .expect("a header rule has a header offset");
        assert!(at < header_len, "{e} at {at} of a {header_len}-byte header");
        let code = e.close_code();
        assert!(
            code == CloseCode::PROTOCOL_ERROR || code == CloseCode::TOO_BIG,
            "{e} earns {code}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut buf)) = data.split_first() else {
        return;
    };
    let ctx = context(sel);
    loop {
        match decode_frame(buf) {
            Decoded::Incomplete { needed } => {
                assert!(needed > 0);
                assert!(buf.len() + needed <= MAX_HEADER_LEN);
                assert_eq!(FrameHeader::parse(buf), Err(needed));
                return;
            }
            Decoded::HeaderOnly { header, needed } => {
                let header_len = header.header_len();
                assert!(header_len <= buf.len());
                assert!(needed > 0);
                assert_eq!(needed, header.payload_len - (buf.len() - header_len) as u64);
                check_rules(&header, header_len, &ctx);
                check_reencoding(&header, buf);
                return;
            }
            Decoded::Frame(f) => {
                let header_len = f.header.header_len();
                assert_eq!(f.len as u64, header_len as u64 + f.header.payload_len);
                assert_eq!(f.payload, &buf[header_len..f.len]);
                let layout = f.header.layout();
                assert_eq!(layout.payload, header_len..f.len);
                check_rules(&f.header, header_len, &ctx);
                check_reencoding(&f.header, buf);
                // Every prefix of the frame decodes to less than the frame, never more.
                for cut in [0, 1, header_len - 1, header_len, f.len - 1] {
                    if cut >= f.len {
                        continue;
                    }
                    match decode_frame(&buf[..cut]) {
                        Decoded::Frame(g) => {
                            panic!("{cut} bytes of a {}-byte frame gave {g:?}", f.len)
                        }
                        Decoded::HeaderOnly { header, needed } => {
                            assert_eq!(header, f.header);
                            assert_eq!(needed, (f.len - cut) as u64);
                        }
                        Decoded::Incomplete { needed } => assert!(cut + needed <= header_len),
                    }
                }
                assert!(f.len >= 2);
                buf = &buf[f.len..];
            }
        }
    }
});

/// Encoding a decoded header gives back its bytes.
fn check_reencoding(header: &FrameHeader, buf: &[u8]) {
    let mut out = [0u8; MAX_HEADER_LEN];
    let n = encode_header(header, &mut out);
    assert_eq!(n, header.header_len());
    assert_eq!(&out[..n], &buf[..n], "{header:?}");
}
