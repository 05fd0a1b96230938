//! `parse_hex` on any text, and on bytes written out in every layout it reads.
//!
//! Input: a selector byte, then either text (selector 0-127) or bytes to lay out
//! as a hex dump and read back (128-255: the layout is the selector's low bits).
//!
//! Checked: an error names a character, run of digits, line and column that are
//! really in the text; success is never empty; every layout of any bytes
//! (`hexdump -C`, `xxd`, Wireshark, tcpdump -X, plain, `0x..,` arrays, `\x`
//! escapes, colons) reads back to exactly those bytes.

#![no_main]

use std::fmt::Write;

use framewire_core::hex::{parse_hex, HexError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    if sel < 128 {
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        check_text(text);
    } else if !rest.is_empty() {
        let text = layout(sel & 0x7F, rest);
        match parse_hex(&text) {
            Ok(bytes) => assert_eq!(bytes, rest, "layout {}:\n{text}", sel & 0x7F),
            Err(e) => panic!("layout {} does not read back: {e}\n{text}", sel & 0x7F),
        }
    }
});

fn check_text(text: &str) {
    match parse_hex(text) {
        Ok(bytes) => assert!(!bytes.is_empty()),
        Err(HexError::InvalidChar { ch, line, column }) => {
            let l = text.lines().nth(line - 1).expect("the line exists");
            assert_eq!(l.chars().nth(column - 1), Some(ch), "line {line}: {l:?}");
            assert!(!ch.is_ascii_hexdigit());
        }
        Err(HexError::OddDigits {
            digits,
            line,
            column,
        }) => {
            let l = text.lines().nth(line - 1).expect("the line exists");
            let at: String = l
                .chars()
                .skip(column - 1)
                .take(digits.chars().count())
                .collect();
            assert_eq!(at, digits, "line {line}: {l:?}");
            assert!(digits.len() % 2 == 1);
        }
        Err(HexError::Empty) => {}
        Err(e) => panic!("unexpected error {e}"),
    }
}

fn printable(b: u8) -> char {
    if b.is_ascii_graphic() || b == b' ' {
        char::from(b)
    } else {
        '.'
    }
}

/// `bytes` as one of the layouts people paste.
fn layout(which: u8, bytes: &[u8]) -> String {
    let mut s = String::new();
    match which % 8 {
        // hexdump -C
        0 => {
            for (i, line) in bytes.chunks(16).enumerate() {
                let _ = write!(s, "{:08x}  ", i * 16);
                let mut hex = String::new();
                for (j, b) in line.iter().enumerate() {
                    let _ = write!(hex, "{b:02x} ");
                    if j == 7 {
                        hex.push(' ');
                    }
                }
                let ascii: String = line.iter().map(|&b| printable(b)).collect();
                let _ = writeln!(s, "{hex:<49} |{ascii}|");
            }
            let _ = writeln!(s, "{:08x}", bytes.len());
        }
        // xxd
        1 => {
            for (i, line) in bytes.chunks(16).enumerate() {
                let _ = write!(s, "{:08x}: ", i * 16);
                let mut hex = String::new();
                for (j, pair) in line.chunks(2).enumerate() {
                    if j > 0 {
                        hex.push(' ');
                    }
                    for b in pair {
                        let _ = write!(hex, "{b:02x}");
                    }
                }
                let ascii: String = line.iter().map(|&b| printable(b)).collect();
                let _ = writeln!(s, "{hex:<39}  {ascii}");
            }
        }
        // Wireshark "Copy as Hex Dump"
        2 => {
            for (i, line) in bytes.chunks(16).enumerate() {
                let _ = write!(s, "{:04x}   ", i * 16);
                let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
                let ascii: String = line.iter().map(|&b| printable(b)).collect();
                let _ = writeln!(s, "{:<47}   {ascii}", hex.join(" "));
            }
        }
        // tcpdump -X
        3 => {
            for (i, line) in bytes.chunks(16).enumerate() {
                let _ = write!(s, "\t0x{:04x}:  ", i * 16);
                let mut hex = String::new();
                for (j, pair) in line.chunks(2).enumerate() {
                    if j > 0 {
                        hex.push(' ');
                    }
                    for b in pair {
                        let _ = write!(hex, "{b:02x}");
                    }
                }
                let ascii: String = line.iter().map(|&b| printable(b)).collect();
                let _ = writeln!(s, "{hex:<39}  {ascii}");
            }
        }
        // Plain, spaced, wrapped at 16.
        4 => {
            for line in bytes.chunks(16) {
                let hex: Vec<String> = line.iter().map(|b| format!("{b:02X}")).collect();
                let _ = writeln!(s, "{}", hex.join(" "));
            }
        }
        // A C array.
        5 => {
            let hex: Vec<String> = bytes.iter().map(|b| format!("0x{b:02x}")).collect();
            let _ = write!(s, "{{{}}}", hex.join(", "));
        }
        // Escapes.
        6 => {
            for b in bytes {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
        // Colons, one run.
        _ => {
            let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
            s = hex.join(":");
        }
    }
    s
}
