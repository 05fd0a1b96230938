//! Cross-crate test support.

#![forbid(unsafe_code)]

pub mod axum_echo;
