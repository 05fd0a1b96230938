//! The `framewire` command: `serve` (default), `client`, `decode`.

use clap::Parser;

/// mimalloc: per-connection allocations (the task, the buffers) are cheaper than
/// with glibc's malloc, whose aligned allocations take a slow path.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    framewire_server::cli::run(framewire_server::cli::Cli::parse())
}
