//! Hex text to bytes, in the layouts people paste: plain, spaced, `0x`-prefixed,
//! colon- or comma-separated, `\x` escapes, and hex dumps with offsets and an
//! ASCII column (Wireshark "Copy as Hex Dump", `hexdump -C`, `xxd`, `tcpdump -X`).
//!
//! A line is read as a dump line when it starts with an offset (4 to 8 hex
//! digits, optionally `0x`-prefixed, followed by `:` or two or more spaces) whose
//! value equals the number of bytes read so far. On dump lines the ASCII column
//! is skipped: it starts after a `|`, after a gap of three or more spaces, or
//! after a gap of two spaces that does not follow the eighth byte of the line.

/// Why hex text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HexError {
    /// A character that is neither a hex digit nor a separator.
    #[error("line {line}, column {column}: '{ch}' is not a hex digit or separator (U+{:04X})", u32::from(*ch))]
    InvalidChar {
        /// The character.
        ch: char,
        /// 1-based line.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
    },
    /// A run of hex digits of odd length, so one byte is half missing.
    #[error("line {line}, column {column}: \"{digits}\" has an odd number of hex digits")]
    OddDigits {
        /// The run of digits.
        digits: String,
        /// 1-based line.
        line: usize,
        /// 1-based column of the run's start.
        column: usize,
    },
    /// No hex digits at all.
    #[error("no hex bytes found in the input")]
    Empty,
}

/// Reads hex text in any common layout (see the module docs) into bytes.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, HexError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let line_no = i + 1;
        match dump_offset(&chars, out.len()) {
            Some(start) => parse_dump_line(&chars, start, &mut out)?,
            None => parse_plain_line(&chars, line_no, &mut out)?,
        }
    }
    if out.is_empty() {
        return Err(HexError::Empty);
    }
    Ok(out)
}

/// If the line starts with an offset equal to `count`, the index just after it.
fn dump_offset(chars: &[char], count: usize) -> Option<usize> {
    let mut i = 0;
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    if chars.get(i) == Some(&'0') && matches!(chars.get(i + 1), Some('x' | 'X')) {
        i += 2;
    }
    let start = i;
    while i < chars.len() && chars[i].is_ascii_hexdigit() {
        i += 1;
    }
    let digits = i - start;
    if !(4..=8).contains(&digits) {
        return None;
    }
    let value: String = chars[start..i].iter().collect();
    if usize::from_str_radix(&value, 16).ok()? != count {
        return None;
    }
    if chars.get(i) == Some(&':') {
        return Some(i + 1);
    }
    let gap = chars[i..].iter().take_while(|c| c.is_whitespace()).count();
    if i + gap == chars.len() {
        // A lone offset, such as the total `hexdump -C` prints last.
        return Some(chars.len());
    }
    (gap >= 2).then_some(i)
}

/// Hex groups after an offset, up to the ASCII column.
fn parse_dump_line(chars: &[char], mut i: usize, out: &mut Vec<u8>) -> Result<(), HexError> {
    let mut on_line = 0usize;
    let mut first = true;
    loop {
        let gap = chars[i..].iter().take_while(|c| c.is_whitespace()).count();
        i += gap;
        if i >= chars.len() || chars[i] == '|' {
            return Ok(());
        }
        if !first && (gap >= 3 || (gap == 2 && on_line != 8)) {
            return Ok(());
        }
        first = false;
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() {
            i += 1;
        }
        let token = &chars[start..i];
        if token.len() % 2 != 0 || !token.iter().all(char::is_ascii_hexdigit) {
            // Not a hex group: the ASCII column has begun.
            return Ok(());
        }
        for pair in token.chunks(2) {
            out.push(hex_value(pair[0]) << 4 | hex_value(pair[1]));
            on_line += 1;
        }
    }
}

/// Hex digits separated by anything usual; `0x` and `\x` prefixes allowed.
fn parse_plain_line(chars: &[char], line: usize, out: &mut Vec<u8>) -> Result<(), HexError> {
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_separator(c) {
            i += 1;
            continue;
        }
        let prefixed = (c == '0' || c == '\\')
            && matches!(chars.get(i + 1), Some('x' | 'X'))
            && chars.get(i + 2).is_some_and(char::is_ascii_hexdigit);
        if prefixed {
            i += 2;
        }
        let start = i;
        while i < chars.len() && !is_separator(chars[i]) {
            if chars[i] == '\\' && i > start {
                break;
            }
            if !chars[i].is_ascii_hexdigit() {
                return Err(HexError::InvalidChar {
                    ch: chars[i],
                    line,
                    column: i + 1,
                });
            }
            i += 1;
        }
        let run = &chars[start..i];
        if run.len() % 2 != 0 {
            if prefixed && run.len() == 1 {
                out.push(hex_value(run[0]));
                continue;
            }
            return Err(HexError::OddDigits {
                digits: run.iter().collect(),
                line,
                column: start + 1,
            });
        }
        for pair in run.chunks(2) {
            out.push(hex_value(pair[0]) << 4 | hex_value(pair[1]));
        }
    }
    Ok(())
}

/// Characters allowed between bytes on plain lines. A `match`, not `str::contains`: that
/// links a string searcher, 2.5 KB of the browser's decoder module.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            ':' | ',' | ';' | '-' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '"' | '\''
        )
}

/// The value of one hex digit (callers check it is one).
fn hex_value(c: char) -> u8 {
    c.to_digit(16).unwrap_or(0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: [u8; 11] = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];

    /// The messages print the character and the digits in plain quotes, not with `{:?}`:
    /// `Debug` of a `char` or `str` linked Unicode's printable tables into the browser's
    /// decoder (4 KB gzipped); a character that does not print is named by its code point.
    #[test]
    fn an_invalid_character_is_named_by_its_code_point_too() {
        let e = parse_hex("81 0\u{7}5").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 1, column 5: '\u{7}' is not a hex digit or separator (U+0007)"
        );
        let e = parse_hex("81 05 abc").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 1, column 7: \"abc\" has an odd number of hex digits"
        );
    }

    #[test]
    fn plain_layouts() {
        for text in [
            "818537fa213d7f9f4d5158",
            "8185 37fa 213d 7f9f 4d51 58",
            "81 85 37 fa 21 3d 7f 9f 4d 51 58",
            "0x81 0x85 0x37 0xfa 0x21 0x3d 0x7f 0x9f 0x4d 0x51 0x58",
            "{0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58}",
            "81:85:37:fa:21:3d:7f:9f:4d:51:58",
            "\\x81\\x85\\x37\\xfa\\x21\\x3d\\x7f\\x9f\\x4d\\x51\\x58",
            "81 85 37 fa\n21 3d 7f 9f\r\n4d 51 58\n",
        ] {
            assert_eq!(parse_hex(text).unwrap(), FRAME, "{text:?}");
        }
    }

    #[test]
    fn short_prefixed_bytes() {
        assert_eq!(parse_hex("0x1, 0x2, 0xff").unwrap(), [1, 2, 255]);
    }

    #[test]
    fn wireshark_dump() {
        let text = "0000   81 85 37 fa 21 3d 7f 9f 4d 51 58 81 85 37 fa 21   ..7.!=..MQX..7.!\n\
                    0010   3d 7f 9f                                          =..\n";
        let bytes = parse_hex(text).unwrap();
        assert_eq!(bytes.len(), 19);
        assert_eq!(&bytes[..11], &FRAME);
        assert_eq!(&bytes[16..], &[0x3d, 0x7f, 0x9f]);
    }

    #[test]
    fn old_wireshark_dump_with_middle_gap() {
        let text = "0000  81 85 37 fa 21 3d 7f 9f  4d 51 58 00 00 00 00 00   ..7.!=.. MQX.....\n";
        let bytes = parse_hex(text).unwrap();
        assert_eq!(bytes.len(), 16);
        assert_eq!(&bytes[..11], &FRAME);
    }

    #[test]
    fn hexdump_c() {
        let text =
            "00000000  81 85 37 fa 21 3d 7f 9f  4d 51 58 61 62 63 64 65  |..7.!=..MQXabcde|\n\
                    00000010  ab cd                                             |..|\n\
                    00000012\n";
        let bytes = parse_hex(text).unwrap();
        assert_eq!(bytes.len(), 18);
        assert_eq!(&bytes[16..], &[0xab, 0xcd]);
    }

    #[test]
    fn xxd_with_hexlike_ascii() {
        let text = "00000000: 6162 6364 6162 6364 6162 6364 6162 6364  abcdabcdabcdabcd\n\
                    00000010: 6162                                     ab\n";
        let bytes = parse_hex(text).unwrap();
        assert_eq!(bytes, b"abcdabcdabcdabcdab");
    }

    #[test]
    fn tcpdump_x() {
        let text = "\t0x0000:  8185 37fa 213d 7f9f 4d51 58  ..7.!=..MQX\n";
        assert_eq!(parse_hex(text).unwrap(), FRAME);
    }

    #[test]
    fn errors_say_where() {
        assert_eq!(
            parse_hex("81 8g"),
            Err(HexError::InvalidChar {
                ch: 'g',
                line: 1,
                column: 5
            })
        );
        assert_eq!(
            parse_hex("81\n850"),
            Err(HexError::OddDigits {
                digits: "850".into(),
                line: 2,
                column: 1
            })
        );
        assert_eq!(parse_hex("  \n"), Err(HexError::Empty));
        assert!(parse_hex("zz").unwrap_err().to_string().contains("'z'"));
    }
}
