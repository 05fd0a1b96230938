//! Cross-crate test support.

#![forbid(unsafe_code)]
