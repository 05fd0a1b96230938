//! The `framewire` command: `serve` (default), `client`, `decode`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    framewire_server::cli::run(framewire_server::cli::Cli::parse())
}
