//! `bench-fanout`: one publisher and N subscribers in one `/chat` room of
//! `framewire serve` (topics); deliveries per second and per server CPU-second.
//! Run by `scripts/bench-fanout.sh`.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use framewire_bench::client::Target;
use framewire_bench::fanout::{run, FanoutOptions};

/// One publisher, N subscribers on one topic (loopback only).
#[derive(Debug, Parser)]
#[command(name = "bench-fanout")]
struct Args {
    /// Server address (127.0.0.1 or ::1 only).
    #[arg(long, default_value = "127.0.0.1:9001")]
    addr: SocketAddr,
    /// The room's path.
    #[arg(long, default_value = "/chat/fanout")]
    path: String,
    /// The publisher's server, when not the subscribers' (two `framewire serve --redis`).
    #[arg(long)]
    pub_addr: Option<SocketAddr>,
    /// Messages per second to publish (default: as fast as --window allows).
    #[arg(long)]
    rate: Option<u32>,
    /// Subscribers.
    #[arg(long, default_value_t = 1000)]
    subs: usize,
    /// Bytes per message.
    #[arg(long, short = 's', default_value_t = 20)]
    size: usize,
    /// Messages published (at most 1,000,000).
    #[arg(long, short = 'm', default_value_t = 2000)]
    messages: usize,
    /// Messages the publisher may be ahead of the deliveries.
    #[arg(long, default_value_t = 32)]
    window: usize,
    /// The server's pid, to report its CPU use.
    #[arg(long)]
    server_pid: Option<u32>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.messages > 1_000_000 {
        eprintln!(
            "bench-fanout: --messages {}: at most 1,000,000",
            args.messages
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench-fanout: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let opts = FanoutOptions {
            target: Target::new(args.addr, &args.path)?,
            pub_target: args
                .pub_addr
                .map(|a| Target::new(a, &args.path))
                .transpose()?,
            rate: args.rate,
            subs: args.subs,
            size: args.size,
            messages: args.messages,
            window: args.window,
            server_pid: args.server_pid,
        };
        run(&opts).await
    });
    match result {
        Ok(report) => {
            println!("{}", report.render());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench-fanout: {e}");
            ExitCode::FAILURE
        }
    }
}
