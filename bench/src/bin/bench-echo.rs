//! `bench-echo --impl NAME --addr 127.0.0.1:PORT`: a reference echo server for the load bench.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use framewire_bench::servers::{serve, Impl};

/// Echo server on another Rust WebSocket stack, on a tokio current_thread runtime.
#[derive(Debug, Parser)]
#[command(name = "bench-echo")]
struct Args {
    /// The stack to serve with.
    #[arg(long = "impl", value_enum)]
    imp: Impl,
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:9101")]
    addr: SocketAddr,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !args.addr.ip().is_loopback() {
        eprintln!("bench-echo: --addr {} is not a loopback address; the bench only runs on 127.0.0.1 or ::1", args.addr);
        return ExitCode::from(2);
    }
    match serve(args.imp, args.addr) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-echo: {e}");
            ExitCode::FAILURE
        }
    }
}
