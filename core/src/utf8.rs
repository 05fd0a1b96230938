//! Incremental UTF-8 validation across fragment boundaries.

use simdutf8::compat::from_utf8;

/// Invalid UTF-8 at `offset` bytes into everything fed so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid UTF-8 at byte {offset} of the text")]
pub struct Utf8Error {
    /// Offset of the first byte that cannot start or continue a valid sequence.
    pub offset: u64,
}

/// Validates text that arrives in pieces; fails on the first piece that proves it invalid.
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    partial: [u8; 4],
    partial_len: u8,
    seen: u64,
}

impl Utf8Validator {
    /// A validator at the start of a text.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validates the next piece. A character split across pieces is carried over.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), Utf8Error> {
        let base = self.seen;
        self.seen += data.len() as u64;
        let mut pos = 0u64;
        if self.partial_len > 0 {
            let have = usize::from(self.partial_len);
            let take = (4 - have).min(data.len());
            let mut joined = [0u8; 4];
            joined[..have].copy_from_slice(&self.partial[..have]);
            joined[have..have + take].copy_from_slice(&data[..take]);
            let joined = &joined[..have + take];
            let completed = match from_utf8(joined) {
                Ok(_) => joined.len(),
                Err(e) if e.valid_up_to() > 0 => e.valid_up_to(),
                Err(e) if e.error_len().is_some() => {
                    return Err(Utf8Error {
                        offset: (base + 1).saturating_sub(have as u64),
                    })
                }
                Err(_) => {
                    self.partial[have..have + take].copy_from_slice(&data[..take]);
                    self.partial_len += take as u8;
                    return Ok(());
                }
            };
            let used = completed - have;
            self.partial_len = 0;
            data = &data[used..];
            pos = used as u64;
        }
        match from_utf8(data) {
            Ok(_) => Ok(()),
            Err(e) => match e.error_len() {
                Some(_) => Err(Utf8Error {
                    offset: base + pos + e.valid_up_to() as u64,
                }),
                None => {
                    let tail = &data[e.valid_up_to()..];
                    self.partial[..tail.len()].copy_from_slice(tail);
                    self.partial_len = tail.len() as u8;
                    Ok(())
                }
            },
        }
    }

    /// Ends the text: an unfinished character is an error.
    pub fn finish(&mut self) -> Result<(), Utf8Error> {
        let pending = u64::from(self.partial_len);
        let seen = self.seen;
        *self = Self::default();
        if pending > 0 {
            return Err(Utf8Error {
                offset: seen.saturating_sub(pending),
            });
        }
        Ok(())
    }

    /// True when a character is split at the end of what was fed.
    pub fn is_mid_character(&self) -> bool {
        self.partial_len > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chunked(data: &[u8], cuts: &[usize]) -> bool {
        let mut v = Utf8Validator::new();
        let mut at = 0;
        for &c in cuts {
            let c = c.min(data.len()).max(at);
            if v.feed(&data[at..c]).is_err() {
                return false;
            }
            at = c;
        }
        v.feed(&data[at..]).is_ok() && v.finish().is_ok()
    }

    proptest! {
        #[test]
        fn agrees_with_std(s in ".{0,40}", junk in proptest::collection::vec(any::<u8>(), 0..8),
                           mut cuts in proptest::collection::vec(0usize..200, 0..6)) {
            cuts.sort();
            let mut data = s.into_bytes();
            data.extend_from_slice(&junk);
            let expect = std::str::from_utf8(&data).is_ok();
            prop_assert_eq!(chunked(&data, &cuts), expect);
        }
    }

    #[test]
    fn split_character_is_carried() {
        let euro = "€".as_bytes();
        let mut v = Utf8Validator::new();
        v.feed(&euro[..1]).unwrap();
        v.feed(&euro[1..2]).unwrap();
        assert!(v.is_mid_character());
        v.feed(&euro[2..]).unwrap();
        v.finish().unwrap();
    }

    #[test]
    fn fails_fast_on_impossible_prefix() {
        let mut v = Utf8Validator::new();
        v.feed(b"ok").unwrap();
        // F4 90 would be above U+10FFFF: invalid before the sequence ends.
        assert_eq!(v.feed(&[0xF4]), Ok(()));
        assert!(v.feed(&[0x90]).is_err());
    }

    #[test]
    fn unfinished_character_fails_at_finish() {
        let mut v = Utf8Validator::new();
        v.feed(&[0xE2, 0x82]).unwrap();
        assert_eq!(v.finish(), Err(Utf8Error { offset: 0 }));
    }

    #[test]
    fn unfinished_character_offset_counts_earlier_text() {
        let mut v = Utf8Validator::new();
        v.feed(b"abc").unwrap();
        v.feed(&[0xE2]).unwrap();
        assert_eq!(v.finish(), Err(Utf8Error { offset: 3 }));
    }
}
