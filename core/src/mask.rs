//! Masking and unmasking of payloads (RFC 6455 section 5.3).
//!
//! The same XOR both masks and unmasks. The work is done 64 bytes at a time
//! with a pre-rotated key so the compiler emits SIMD on every target.

/// XORs `buf` in place with `key`, as if `buf` began `offset` bytes into the payload.
///
/// `offset` lets a payload that arrives in pieces be unmasked piece by piece.
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let mut key = key;
    key.rotate_left(offset % 4);
    let mut wide = [0u8; 64];
    for (i, b) in wide.iter_mut().enumerate() {
        *b = key[i % 4];
    }
    let mut chunks = buf.chunks_exact_mut(64);
    for chunk in &mut chunks {
        for (b, k) in chunk.iter_mut().zip(wide.iter()) {
            *b ^= k;
        }
    }
    for (b, k) in chunks.into_remainder().iter_mut().zip(wide.iter()) {
        *b ^= k;
    }
}

/// Byte-at-a-time reference implementation, used to test [`apply_mask`].
pub fn apply_mask_reference(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[(i + offset) % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn matches_reference(data in proptest::collection::vec(any::<u8>(), 0..600),
                             key in any::<[u8; 4]>(), offset in 0usize..9, start in 0usize..9) {
            let start = start.min(data.len());
            let mut fast = data.clone();
            let mut slow = data.clone();
            apply_mask(&mut fast[start..], key, offset);
            apply_mask_reference(&mut slow[start..], key, offset);
            prop_assert_eq!(&fast, &slow);
            apply_mask(&mut fast[start..], key, offset);
            prop_assert_eq!(&fast, &data);
        }
    }

    #[test]
    fn rfc_hello_example() {
        let mut payload = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(&payload, b"Hello");
    }
}
