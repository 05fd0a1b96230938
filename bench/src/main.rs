//! `framewire-bench`: load generator for WebSocket echo servers (echo, handshake, idle and deflate-mem modes).

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use framewire_bench::client::Target;
use framewire_bench::{bomb, deflate_mem, echo, handshake, idle, soak, BenchError};

/// Load generator for WebSocket servers on this machine (loopback only).
#[derive(Debug, Parser)]
#[command(name = "framewire-bench")]
struct Args {
    #[command(subcommand)]
    mode: Mode,
}

/// Where to connect, shared by every mode.
#[derive(Debug, clap::Args)]
struct TargetArgs {
    /// Server address (127.0.0.1 or ::1 only).
    #[arg(long, default_value = "127.0.0.1:9001")]
    addr: SocketAddr,
    /// WebSocket path.
    #[arg(long, default_value = "/echo")]
    path: String,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// C connections x P messages in flight x S bytes, for a bounded time.
    Echo {
        #[command(flatten)]
        target: TargetArgs,
        /// Connections.
        #[arg(long, short = 'c', default_value_t = 100)]
        conns: usize,
        /// Messages in flight per connection.
        #[arg(long, short = 'p', default_value_t = 4)]
        in_flight: usize,
        /// Bytes per message.
        #[arg(long, short = 's', default_value_t = 20)]
        size: usize,
        /// Send binary messages (default: text).
        #[arg(long)]
        binary: bool,
        /// Send JSON text of about --size bytes (varying, compressible) instead of `x`s.
        #[arg(long)]
        json: bool,
        /// Offer permessage-deflate as browsers do.
        #[arg(long)]
        deflate: bool,
        /// Seconds to measure (at most 600).
        #[arg(long, default_value_t = 5.0)]
        secs: f64,
        /// The server's pid, to report its CPU use.
        #[arg(long)]
        server_pid: Option<u32>,
    },
    /// Connect + upgrade + close cycles per second, C at a time.
    Handshake {
        #[command(flatten)]
        target: TargetArgs,
        /// Clients cycling at once.
        #[arg(long, short = 'c', default_value_t = 16)]
        conns: usize,
        /// Seconds to measure (at most 600).
        #[arg(long, default_value_t = 5.0)]
        secs: f64,
        /// The server's pid, to report its CPU use.
        #[arg(long)]
        server_pid: Option<u32>,
    },
    /// Open N connections, hold them, report the server's RSS per connection.
    Idle {
        #[command(flatten)]
        target: TargetArgs,
        /// Connections to hold.
        #[arg(long, short = 'c', default_value_t = 2000)]
        conns: usize,
        /// Seconds to hold them before reading the RSS (at most 600).
        #[arg(long, default_value_t = 1.0)]
        hold: f64,
        /// The server's pid (its /proc/PID/status VmRSS is read).
        #[arg(long)]
        server_pid: u32,
    },
    /// Open N connections offering permessage-deflate as browsers do, echo a few 1 KiB JSON
    /// messages on each, hold them; report the server's RSS per connection and wire bytes.
    DeflateMem {
        #[command(flatten)]
        target: TargetArgs,
        /// Connections to hold (at most 50,000).
        #[arg(long, short = 'c', default_value_t = 2000)]
        conns: usize,
        /// Messages each connection sends and gets back (at most 100).
        #[arg(long, short = 'm', default_value_t = 3)]
        messages: usize,
        /// Seconds to hold them before reading the RSS (at most 600).
        #[arg(long, default_value_t = 1.0)]
        hold: f64,
        /// The server's pid (its /proc/PID/status VmRSS is read).
        #[arg(long)]
        server_pid: u32,
    },
    /// One permessage-deflate message that inflates to N bytes (zeros: a bomb; json: a
    /// legitimate message), with a canary echoing meanwhile; reports the server's memory
    /// (run it against a fresh server: VmHWM is the process's peak) and the canary's worst
    /// round trip.
    Bomb {
        #[command(flatten)]
        target: TargetArgs,
        /// Bytes the message inflates to (at most 4 GiB).
        #[arg(long, default_value_t = 1 << 30)]
        inflated: u64,
        /// What the message is made of.
        #[arg(long, value_enum, default_value_t = bomb::Content::Zeros)]
        content: bomb::Content,
        /// Seconds to wait after the answer before reading the server's VmRSS (at most 600).
        #[arg(long, default_value_t = 1.0)]
        settle: f64,
        /// The server's pid (its /proc/PID/status VmRSS and VmHWM are read).
        #[arg(long)]
        server_pid: u32,
    },
    /// C connections each echoing a small text, pausing between echoes, for a long time;
    /// fails (exit 1) on any error or when the server's mean VmRSS over the last window
    /// (a minute, or a quarter of a shorter run) is not within 5% of the first window's.
    Soak {
        #[command(flatten)]
        target: TargetArgs,
        /// Connections.
        #[arg(long, short = 'c', default_value_t = 1000)]
        conns: usize,
        /// Seconds (at most 3600).
        #[arg(long, default_value_t = 600.0)]
        secs: f64,
        /// Milliseconds each connection pauses between an echo and its next message.
        #[arg(long, default_value_t = 50)]
        pause_ms: u64,
        /// The server's pid (its /proc/PID/status VmRSS is sampled every second).
        #[arg(long)]
        server_pid: u32,
    },
}

fn seconds(name: &str, secs: f64) -> Result<Duration, BenchError> {
    if !(secs.is_finite() && secs > 0.0 && secs <= 600.0) {
        return Err(BenchError::BadOption(format!(
            "{name} {secs}: give a number of seconds above 0 and at most 600"
        )));
    }
    Ok(Duration::from_secs_f64(secs))
}

async fn run(mode: Mode) -> Result<String, BenchError> {
    match mode {
        Mode::Echo {
            target,
            conns,
            in_flight,
            size,
            binary,
            json,
            deflate,
            secs,
            server_pid,
        } => {
            let opts = echo::EchoOptions {
                json,
                deflate,
                target: Target::new(target.addr, &target.path)?,
                conns,
                in_flight,
                size,
                binary,
                duration: seconds("--secs", secs)?,
                server_pid,
            };
            Ok(echo::run(&opts).await?.render())
        }
        Mode::Handshake {
            target,
            conns,
            secs,
            server_pid,
        } => {
            let opts = handshake::HandshakeOptions {
                target: Target::new(target.addr, &target.path)?,
                concurrency: conns,
                duration: seconds("--secs", secs)?,
                server_pid,
            };
            Ok(handshake::run(&opts).await?.render())
        }
        Mode::Idle {
            target,
            conns,
            hold,
            server_pid,
        } => {
            let opts = idle::IdleOptions {
                target: Target::new(target.addr, &target.path)?,
                conns,
                hold: seconds("--hold", hold)?,
                server_pid,
            };
            Ok(idle::run(&opts).await?.render())
        }
        Mode::DeflateMem {
            target,
            conns,
            messages,
            hold,
            server_pid,
        } => {
            let opts = deflate_mem::DeflateMemOptions {
                target: Target::new(target.addr, &target.path)?,
                conns,
                messages,
                hold: seconds("--hold", hold)?,
                server_pid,
            };
            Ok(deflate_mem::run(&opts).await?.render())
        }
        Mode::Bomb {
            target,
            inflated,
            content,
            settle,
            server_pid,
        } => {
            let opts = bomb::BombOptions {
                target: Target::new(target.addr, &target.path)?,
                inflated,
                content,
                server_pid,
                settle: seconds("--settle", settle)?,
            };
            Ok(bomb::run(&opts).await?.render())
        }
        Mode::Soak {
            target,
            conns,
            secs,
            pause_ms,
            server_pid,
        } => {
            if !(secs.is_finite() && secs > 0.0 && secs <= soak::MAX_SECS) {
                return Err(BenchError::BadOption(format!(
                    "--secs {secs}: give a number of seconds above 0 and at most {}",
                    soak::MAX_SECS
                )));
            }
            let opts = soak::SoakOptions {
                target: Target::new(target.addr, &target.path)?,
                conns,
                duration: Duration::from_secs_f64(secs),
                pause: Duration::from_millis(pause_ms),
                server_pid,
            };
            let report = soak::run(&opts).await?;
            if !report.passed() {
                return Err(BenchError::Run(report.render()));
            }
            Ok(report.render())
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("framewire-bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args.mode)) {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            // A closed stdout (piped into `head`) is not an error of the bench.
            let _ = writeln!(out, "{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("framewire-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
