//! Handshake mode: connect, upgrade, close handshake, repeated by C concurrent clients.

use std::time::Duration;

use framewire_core::{CloseCode, Event};
use hdrhistogram::Histogram;
use tokio::io::AsyncReadExt;
use tokio::time::Instant;

use crate::client::{open, Target};
use crate::echo::flush;
use crate::procstat::CpuWindow;
use crate::summary::{latency_histogram, record, ResultLine};
use crate::BenchError;

/// How long one close handshake may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// What a handshake run does.
#[derive(Debug, Clone)]
pub struct HandshakeOptions {
    /// Where to connect.
    pub target: Target,
    /// Clients cycling at once.
    pub concurrency: usize,
    /// How long to measure.
    pub duration: Duration,
    /// The server's pid, to report its CPU use.
    pub server_pid: Option<u32>,
}

/// What a handshake run measured.
#[derive(Debug)]
pub struct HandshakeReport {
    /// Whole cycles (connect, upgrade, close handshake, TCP end) within the window.
    pub cycles: u64,
    /// The window's length.
    pub wall: Duration,
    /// Cycles that failed.
    pub errors: u64,
    /// Cycle time in µs.
    pub latency: Histogram<u64>,
    /// Fraction of a core this process used.
    pub client_cpu: f64,
    /// Fraction of a core the server used, when its pid was given.
    pub server_cpu: Option<f64>,
}

impl HandshakeReport {
    /// Cycles per second.
    pub fn per_sec(&self) -> f64 {
        self.cycles as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// Cycles per second of server CPU time, when the server's pid was given.
    pub fn per_server_cpu_sec(&self) -> Option<f64> {
        let cpu = self.server_cpu? * self.wall.as_secs_f64();
        (cpu > 0.0).then(|| self.cycles as f64 / cpu)
    }

    /// The human-readable summary and the `RESULT` line.
    pub fn render(&self) -> String {
        let p50 = self.latency.value_at_quantile(0.5);
        let p99 = self.latency.value_at_quantile(0.99);
        let line = ResultLine::new("handshake")
            .num("per_s", self.per_sec(), 0)
            .num("p50_us", p50 as f64, 0)
            .num("p99_us", p99 as f64, 0)
            .errors_and_cpu(
                self.errors,
                self.client_cpu,
                self.server_cpu,
                self.per_server_cpu_sec(),
            )
            .finish();
        format!(
            "handshake: {} connect+upgrade+close cycles in {:.2} s: {:.0}/s; cycle p50 {} us, p99 {} us; errors {}\n\
             cpu: load generator {:.0}% of a core, server {}\n{line}",
            self.cycles,
            self.wall.as_secs_f64(),
            self.per_sec(),
            p50,
            p99,
            self.errors,
            self.client_cpu * 100.0,
            self.server_cpu
                .map_or_else(|| "n/a".to_owned(), |c| format!("{:.0}%", c * 100.0)),
        )
    }
}

/// Runs `concurrency` clients that each open, upgrade and close connections until the window ends.
pub async fn run(opts: &HandshakeOptions) -> Result<HandshakeReport, BenchError> {
    if opts.concurrency == 0 {
        return Err(BenchError::BadOption("--conns must be at least 1".into()));
    }
    let cpu = CpuWindow::start(opts.server_pid);
    let start = Instant::now();
    let end = start + opts.duration;
    let local = tokio::task::LocalSet::new();
    let results = local
        .run_until(async {
            let tasks: Vec<_> = (0..opts.concurrency)
                .map(|_| {
                    let target = opts.target.clone();
                    tokio::task::spawn_local(async move { cycle_until(&target, end).await })
                })
                .collect();
            let mut all = Vec::with_capacity(tasks.len());
            for t in tasks {
                all.push(t.await);
            }
            all
        })
        .await;
    let (client_cpu, server_cpu) = cpu.finish(opts.duration);
    let mut report = HandshakeReport {
        cycles: 0,
        wall: opts.duration,
        errors: 0,
        latency: latency_histogram(),
        client_cpu,
        server_cpu,
    };
    for r in results {
        match r {
            Ok((cycles, errors, latency)) => {
                report.cycles += cycles;
                report.errors += errors;
                let _ = report.latency.add(&latency);
            }
            Err(_) => report.errors += 1,
        }
    }
    Ok(report)
}

async fn cycle_until(target: &Target, end: Instant) -> (u64, u64, Histogram<u64>) {
    let mut cycles = 0;
    let mut errors = 0;
    let mut latency = latency_histogram();
    while Instant::now() < end {
        let t0 = Instant::now();
        match one_cycle(target).await {
            Ok(()) => {
                let now = Instant::now();
                if now <= end {
                    cycles += 1;
                    record(&mut latency, now - t0);
                }
            }
            Err(_) => {
                errors += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    (cycles, errors, latency)
}

/// Connects, upgrades, sends a close, waits for the close echo and the server's TCP end.
async fn one_cycle(target: &Target) -> Result<(), BenchError> {
    let (mut stream, mut conn) = open(target).await?;
    conn.close(CloseCode::NORMAL, "")
        .map_err(|e| BenchError::BadOption(e.to_string()))?;
    flush(&mut stream, &mut conn)
        .await
        .map_err(BenchError::io("write the close frame"))?;
    tokio::time::timeout(CLOSE_TIMEOUT, async {
        let mut got_close = false;
        loop {
            let buf = conn.input_buffer(256);
            let n = stream
                .read(buf)
                .await
                .map_err(BenchError::io("read the close answer"))?;
            if n == 0 {
                return if got_close {
                    Ok(())
                } else {
                    Err(BenchError::HandshakeEof)
                };
            }
            conn.commit_input(n);
            loop {
                match conn.poll_event() {
                    Ok(Some(event)) => got_close |= matches!(event, Event::Close { .. }),
                    Ok(None) => {
                        if !conn.has_pending_work() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        }
    })
    .await
    .map_err(|_| BenchError::Timeout("close handshake"))?
}
