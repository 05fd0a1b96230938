//! The `framewire` command: `serve` (default), `client`, `decode`.
//!
//! This is a crate of its own (`framewire-cli`), apart from the library
//! `framewire-server`, so that a program depending on the library gets none of
//! the command line's dependencies: clap, tracing-subscriber and the mimalloc
//! allocator live here only. A cargo feature of the library would not do: a
//! default feature still puts clap into every user's tree unless they opt out,
//! and `cargo run` at the workspace root cannot turn on a non-default one.

#![forbid(unsafe_code)]

mod cli;
mod client_cmd;
mod decode_capture;
mod decode_cmd;
#[cfg(test)]
mod decoders_agree;
mod inject_cmd;
mod proxy_cmd;
mod runtime;
mod serve_cmd;

use clap::Parser;

/// mimalloc: per-connection allocations (the task, the buffers) are cheaper than
/// with glibc's malloc, whose aligned allocations take a slow path.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::run(cli::Cli::parse())
}
