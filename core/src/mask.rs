//! Masking and unmasking of payloads (RFC 6455 section 5.3).
//!
//! The same XOR both masks and unmasks. The work is done 64 bytes at a time
//! with a pre-rotated key so the compiler emits SIMD on every target.

/// XORs `buf` in place with `key`, as if `buf` began `offset` bytes into the payload.
///
/// `offset` lets a payload that arrives in pieces be unmasked piece by piece.
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let wide = wide_key(key, offset);
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

/// Appends `src` masked with `key` to `out`, masking while copying: one pass
/// over the payload instead of a copy and then an in-place XOR.
pub fn extend_masked(out: &mut Vec<u8>, src: &[u8], key: [u8; 4]) {
    let start = out.len();
    out.resize(start + src.len(), 0);
    let wide = wide_key(key, 0);
    let mut dst = out[start..].chunks_exact_mut(64);
    let mut from = src.chunks_exact(64);
    for (d, s) in (&mut dst).zip(&mut from) {
        for ((d, s), k) in d.iter_mut().zip(s).zip(wide.iter()) {
            *d = s ^ k;
        }
    }
    for ((d, s), k) in dst
        .into_remainder()
        .iter_mut()
        .zip(from.remainder())
        .zip(wide.iter())
    {
        *d = s ^ k;
    }
}

/// `key` rotated for `offset` and repeated over 64 bytes.
fn wide_key(key: [u8; 4], offset: usize) -> [u8; 64] {
    let mut key = key;
    key.rotate_left(offset % 4);
    let mut wide = [0u8; 64];
    for (i, b) in wide.iter_mut().enumerate() {
        *b = key[i % 4];
    }
    wide
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

    proptest! {
        #[test]
        fn extend_masked_matches_copy_then_mask(
            prefix in proptest::collection::vec(any::<u8>(), 0..20),
            data in proptest::collection::vec(any::<u8>(), 0..600),
            key in any::<[u8; 4]>(),
        ) {
            let mut fused = prefix.clone();
            extend_masked(&mut fused, &data, key);
            let mut slow = prefix.clone();
            slow.extend_from_slice(&data);
            apply_mask_reference(&mut slow[prefix.len()..], key, 0);
            prop_assert_eq!(fused, slow);
        }
    }

    #[test]
    fn rfc_hello_example() {
        let mut payload = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(&payload, b"Hello");
    }
}
