//! Owned payloads: [`Bytes`] for binary data and [`Utf8Bytes`] for text, so a
//! received message can be passed on (to many receivers: a broadcast) by
//! cheap reference-counted clones instead of copies.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::str::Utf8Error;

use bytes::Bytes;
use bytestring::ByteString;

/// Text known to be UTF-8, stored as [`Bytes`]: clones share the buffer.
///
/// Why not `String`: a text message relayed to a thousand members would be
/// copied a thousand times. Why not a bare `Bytes`: text would need checking
/// again at every use. The check is done once, when the value is made (and
/// reading it back as `&str` is free: the wrapped `bytestring::ByteString`
/// holds the one `unsafe` conversion, so this crate keeps `forbid(unsafe_code)`).
/// The wrapper keeps `bytestring` out of the public API.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Utf8Bytes(ByteString);

impl Utf8Bytes {
    /// Text from a string literal, without allocating.
    pub const fn from_static(text: &'static str) -> Self {
        Self(ByteString::from_static(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The UTF-8 bytes, shared.
    pub fn as_bytes(&self) -> &Bytes {
        self.0.as_bytes()
    }

    /// The UTF-8 bytes, without copying.
    pub fn into_bytes(self) -> Bytes {
        self.0.into_bytes()
    }
}

impl Deref for Utf8Bytes {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl Borrow<str> for Utf8Bytes {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl From<String> for Utf8Bytes {
    /// Takes the string's buffer without copying.
    fn from(s: String) -> Self {
        Self(ByteString::from(s))
    }
}

impl From<&str> for Utf8Bytes {
    /// Copies the text.
    fn from(s: &str) -> Self {
        Self(ByteString::from(s))
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(t: Utf8Bytes) -> Self {
        t.into_bytes()
    }
}

impl From<Utf8Bytes> for String {
    /// Copies the text (the buffer may be shared).
    fn from(t: Utf8Bytes) -> Self {
        t.as_str().to_owned()
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = Utf8Error;

    /// Checks the bytes once; no copy.
    fn try_from(b: Bytes) -> Result<Self, Utf8Error> {
        ByteString::try_from(b).map(Self)
    }
}

impl TryFrom<Vec<u8>> for Utf8Bytes {
    type Error = Utf8Error;

    /// Checks the bytes once; no copy.
    fn try_from(v: Vec<u8>) -> Result<Self, Utf8Error> {
        ByteString::try_from(v).map(Self)
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Utf8Bytes {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<Utf8Bytes> for str {
    fn eq(&self, other: &Utf8Bytes) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Utf8Bytes> for &str {
    fn eq(&self, other: &Utf8Bytes) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Utf8Bytes> for String {
    fn eq(&self, other: &Utf8Bytes) -> bool {
        self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_buffer_and_conversions_check_once() {
        let t = Utf8Bytes::from(String::from("héllo"));
        let c = t.clone();
        assert_eq!(t.as_bytes().as_ptr(), c.as_bytes().as_ptr());
        assert_eq!(c, "héllo");
        assert_eq!(format!("{c:?}"), "\"héllo\"");
        let v = b"ok".to_vec();
        let ptr = v.as_ptr();
        let t = Utf8Bytes::try_from(v).unwrap();
        assert_eq!(t.as_bytes().as_ptr(), ptr, "taken over, not copied");
        assert!(Utf8Bytes::try_from(Bytes::from_static(b"\xff")).is_err());
        assert_eq!(
            Utf8Bytes::try_from(Bytes::from_static(b"a\xc3\xa9")).unwrap(),
            "aé"
        );
    }
}
