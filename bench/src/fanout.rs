//! Fan-out: one publisher and N subscribers in one `/chat` room (a topic) of
//! `framewire serve`; every message the publisher sends is delivered to the N
//! others. Reports deliveries per second and per server CPU-second.
//!
//! The publisher keeps at most `window` messages ahead of the deliveries, so
//! the server's mailboxes stay far below their limit (nothing is dropped or cut
//! off in a run that completes), and with `rate` it paces itself. Each message
//! carries its send time, so subscribers record the latency (one clock: one
//! process). With `pub_target` the publisher is on another server than the
//! subscribers (two `framewire serve --redis` on one Redis: the cross-instance
//! latency and the rate one Redis carries). Loopback only, bounded in messages
//! and time.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use framewire_core::{Connection, Event};
use hdrhistogram::Histogram;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::client::{open, Target};
use crate::echo::flush;
use crate::procstat::CpuWindow;
use crate::summary::{latency_histogram, record};
use crate::BenchError;

/// Digits of the send time (µs since the start) each message begins with.
const STAMP: usize = 12;

/// The longest a run may take before it gives up.
const GIVE_UP: Duration = Duration::from_secs(120);

/// What to run.
#[derive(Debug, Clone)]
pub struct FanoutOptions {
    /// The room's URL path on the server (`/chat/fanout`): the subscribers'.
    pub target: Target,
    /// The publisher's server, when not the subscribers'.
    pub pub_target: Option<Target>,
    /// Messages per second the publisher keeps to (`None`: as the window allows).
    pub rate: Option<u32>,
    /// Subscribers (besides the publisher).
    pub subs: usize,
    /// Bytes per message.
    pub size: usize,
    /// Messages the publisher sends.
    pub messages: usize,
    /// Messages the publisher may be ahead of the deliveries.
    pub window: usize,
    /// The server's pid, to report its CPU use.
    pub server_pid: Option<u32>,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct FanoutReport {
    /// Messages delivered to subscribers.
    pub deliveries: u64,
    /// From the first send to the last delivery.
    pub wall: Duration,
    /// Server CPU over the run, in cores.
    pub server_cpu: Option<f64>,
    /// This process's CPU over the run, in cores.
    pub client_cpu: f64,
    /// Publish-to-delivery latency of every delivery.
    pub latency: Histogram<u64>,
    /// The options.
    pub subs: usize,
    /// Bytes per message.
    pub size: usize,
}

impl FanoutReport {
    /// One line of `key=value` pairs.
    pub fn render(&self) -> String {
        let secs = self.wall.as_secs_f64().max(1e-9);
        let per_sec = self.deliveries as f64 / secs;
        let per_cpu = self
            .server_cpu
            .filter(|c| *c > 0.0)
            .map_or("-".to_owned(), |c| {
                format!("{:.0}", self.deliveries as f64 / (c * secs))
            });
        format!(
            "subs={} size={} deliveries={} secs={:.3} deliveries_per_sec={:.0} deliveries_per_server_cpu_sec={} server_cpu={} client_cpu={:.2} p50_us={} p99_us={}",
            self.subs,
            self.size,
            self.deliveries,
            secs,
            per_sec,
            per_cpu,
            self.server_cpu.map_or("-".to_owned(), |c| format!("{c:.2}")),
            self.client_cpu,
            self.latency.value_at_quantile(0.5),
            self.latency.value_at_quantile(0.99),
        )
    }
}

/// Runs one fan-out measurement.
pub async fn run(opts: &FanoutOptions) -> Result<FanoutReport, BenchError> {
    if opts.subs == 0 || opts.messages == 0 || opts.window == 0 {
        return Err(BenchError::BadOption(
            "--subs, --messages and --window must be at least 1".into(),
        ));
    }
    if opts.size < STAMP {
        return Err(BenchError::BadOption(format!(
            "--size {}: at least {STAMP} bytes (the send time)",
            opts.size
        )));
    }
    let mut subs = Vec::with_capacity(opts.subs);
    for _ in 0..opts.subs {
        subs.push(open(&opts.target).await?);
    }
    let (mut pub_stream, mut pub_conn) =
        open(opts.pub_target.as_ref().unwrap_or(&opts.target)).await?;
    // Subscriptions through Redis are up already (servers subscribe at start),
    // and local ones at the upgrade; give the last upgrades a moment anyway.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let local = tokio::task::LocalSet::new();
    let delivered = Rc::new(Cell::new(0u64));
    let progress = Rc::new(Notify::new());
    let latency = Rc::new(RefCell::new(latency_histogram()));
    let padding = "x".repeat(opts.size - STAMP);
    let cpu = CpuWindow::start(opts.server_pid);
    let start = Instant::now();
    let deadline = start + GIVE_UP;
    let expected = opts.messages as u64;
    let failures = local
        .run_until(async {
            let readers: Vec<_> = subs
                .into_iter()
                .map(|(stream, conn)| {
                    let (delivered, progress) = (delivered.clone(), progress.clone());
                    let latency = latency.clone();
                    let seen = Seen {
                        start,
                        delivered,
                        progress,
                        latency,
                    };
                    tokio::task::spawn_local(async move {
                        receive(stream, conn, expected, deadline, &seen).await
                    })
                })
                .collect();
            let n = opts.subs as u64;
            for i in 0..opts.messages {
                if let Some(rate) = opts.rate {
                    let due = start + Duration::from_secs_f64(i as f64 / f64::from(rate.max(1)));
                    tokio::time::sleep_until(due.into()).await;
                }
                let behind = (i.saturating_sub(opts.window)) as u64 * n;
                while delivered.get() < behind {
                    if Instant::now() > deadline {
                        break;
                    }
                    let _ =
                        tokio::time::timeout(Duration::from_millis(100), progress.notified()).await;
                }
                let stamp = format!("{:0STAMP$}{padding}", start.elapsed().as_micros());
                pub_conn
                    .send_text(&stamp)
                    .map_err(|e| BenchError::Run(format!("cannot queue a message: {e}")))?;
                if opts.rate.is_some() || i % 16 == 15 || i + 1 == opts.messages {
                    flush(&mut pub_stream, &mut pub_conn)
                        .await
                        .map_err(BenchError::io("publish"))?;
                }
            }
            let mut failures = Vec::new();
            for r in readers {
                if let Ok(Err(why)) = r.await {
                    failures.push(why);
                }
            }
            Ok::<_, BenchError>(failures)
        })
        .await?;
    let wall = start.elapsed();
    let (client_cpu, server_cpu) = cpu.finish(wall);
    if let Some(why) = failures.first() {
        return Err(BenchError::Run(format!(
            "{} subscribers failed, the first: {why}",
            failures.len()
        )));
    }
    Ok(FanoutReport {
        deliveries: delivered.get(),
        wall,
        server_cpu,
        client_cpu,
        subs: opts.subs,
        size: opts.size,
        latency: latency.replace(latency_histogram()),
    })
}

/// What subscribers report to the run: deliveries (and a wake-up for the
/// publisher), latencies.
struct Seen {
    start: Instant,
    delivered: Rc<Cell<u64>>,
    progress: Rc<Notify>,
    latency: Rc<RefCell<Histogram<u64>>>,
}

/// The latency of a message stamped by the publisher, seen now.
fn latency_of(start: Instant, text: &str) -> Option<Duration> {
    let sent = Duration::from_micros(text.get(..STAMP)?.parse().ok()?);
    Some(start.elapsed().saturating_sub(sent))
}

/// Reads one subscriber's messages until `expected` arrived.
async fn receive(
    mut stream: TcpStream,
    mut conn: Connection,
    expected: u64,
    deadline: Instant,
    seen: &Seen,
) -> Result<(), String> {
    let mut got = 0;
    while got < expected {
        let buf = conn.input_buffer(16 * 1024);
        let n = match tokio::time::timeout_at(deadline.into(), stream.read(buf)).await {
            Ok(Ok(n)) if n > 0 => n,
            Ok(Ok(_)) => return Err(format!("closed after {got} of {expected} messages")),
            Ok(Err(e)) => return Err(format!("read failed: {e}")),
            Err(_) => return Err(format!("{got} of {expected} messages in {GIVE_UP:?}")),
        };
        conn.commit_input(n);
        let before = got;
        loop {
            match conn.poll_event() {
                Ok(Some(Event::Text(t))) => {
                    got += 1;
                    if let Some(d) = latency_of(seen.start, t) {
                        record(&mut seen.latency.borrow_mut(), d);
                    }
                }
                Ok(Some(Event::Binary(_))) => got += 1,
                Ok(Some(Event::Close { code, reason })) => {
                    return Err(format!("closed by the server: {code:?} {reason}"))
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => return Err(format!("protocol error: {e}")),
            }
        }
        // Pongs to the server's pings.
        flush(&mut stream, &mut conn)
            .await
            .map_err(|e| format!("write failed: {e}"))?;
        seen.delivered.set(seen.delivered.get() + (got - before));
        seen.progress.notify_one();
    }
    Ok(())
}
