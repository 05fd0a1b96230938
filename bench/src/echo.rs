//! Echo mode: C connections, P messages in flight on each, S-byte messages, for a bounded time.

use std::collections::VecDeque;
use std::time::Duration;

use framewire_core::{CloseCode, Connection, Event, SendError};
use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::client::{open_with, Target};
use crate::deflate_mem::browser_offer;
use crate::json_feed::json_message_of;
use crate::procstat::CpuWindow;
use crate::summary::{latency_histogram, record, ResultLine};
use crate::BenchError;

/// How long in-flight messages may take to come back after the run ends.
const DRAIN: Duration = Duration::from_secs(2);

/// The largest read.
const MAX_READ: usize = 256 * 1024;

/// What an echo run does.
#[derive(Debug, Clone)]
pub struct EchoOptions {
    /// Where to connect.
    pub target: Target,
    /// Connections.
    pub conns: usize,
    /// Messages in flight on each connection.
    pub in_flight: usize,
    /// Bytes per message.
    pub size: usize,
    /// Binary messages instead of text.
    pub binary: bool,
    /// Text messages of JSON (about `size` bytes each, varying: [`json_message_of`])
    /// instead of repeated `x`.
    pub json: bool,
    /// Offer permessage-deflate as browsers do (`permessage-deflate; client_max_window_bits`).
    pub deflate: bool,
    /// How long to measure.
    pub duration: Duration,
    /// The server's pid, to report its CPU use.
    pub server_pid: Option<u32>,
}

/// What an echo run measured.
#[derive(Debug)]
pub struct EchoReport {
    /// Messages echoed back within the measured window.
    pub messages: u64,
    /// The window's length.
    pub wall: Duration,
    /// Bytes per message.
    pub size: usize,
    /// Connections that failed, messages that came back wrong or not at all.
    pub errors: u64,
    /// Round-trip latency in µs.
    pub latency: Histogram<u64>,
    /// Fraction of a core this process used.
    pub client_cpu: f64,
    /// Fraction of a core the server used, when its pid was given.
    pub server_cpu: Option<f64>,
    /// The first cause of errors on each connection that had any (at most 5 listed).
    pub causes: Vec<String>,
    /// Connections on which the server accepted permessage-deflate.
    pub compressed_conns: usize,
}

impl EchoReport {
    /// Messages per second.
    pub fn msgs_per_sec(&self) -> f64 {
        self.messages as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// Payload megabytes (10^6 bytes) per second, one direction.
    pub fn mb_per_sec(&self) -> f64 {
        self.msgs_per_sec() * self.size as f64 / 1e6
    }

    /// Messages per second of server CPU time, when the server's pid was given:
    /// a figure that other load on the machine disturbs less than the rate.
    pub fn msgs_per_server_cpu_sec(&self) -> Option<f64> {
        let cpu = self.server_cpu? * self.wall.as_secs_f64();
        (cpu > 0.0).then(|| self.messages as f64 / cpu)
    }

    /// The human-readable summary and the `RESULT` line.
    pub fn render(&self) -> String {
        let p50 = self.latency.value_at_quantile(0.5);
        let p99 = self.latency.value_at_quantile(0.99);
        let server = self
            .server_cpu
            .map_or_else(|| "n/a".to_owned(), |c| format!("{:.0}%", c * 100.0));
        let line = ResultLine::new("echo")
            .num("msgs_per_s", self.msgs_per_sec(), 0)
            .num("mb_per_s", self.mb_per_sec(), 1)
            .num("p50_us", p50 as f64, 0)
            .num("p99_us", p99 as f64, 0)
            .num("compressed_conns", self.compressed_conns as f64, 0)
            .errors_and_cpu(
                self.errors,
                self.client_cpu,
                self.server_cpu,
                self.msgs_per_server_cpu_sec(),
            )
            .finish();
        let causes = if self.causes.is_empty() {
            String::new()
        } else {
            format!("errors: {}\n", self.causes.join("; "))
        };
        format!(
            "echo: {} messages in {:.2} s: {:.0} msg/s, {:.1} MB/s; latency p50 {} us, p99 {} us; errors {}\n\
             {causes}cpu: load generator {:.0}% of a core, server {}\n{line}",
            self.messages,
            self.wall.as_secs_f64(),
            self.msgs_per_sec(),
            self.mb_per_sec(),
            p50,
            p99,
            self.errors,
            self.client_cpu * 100.0,
            server,
        )
    }
}

/// Per-connection counts.
struct ConnStats {
    messages: u64,
    errors: u64,
    /// What went wrong first on this connection, if anything did.
    why: Option<String>,
    latency: Histogram<u64>,
}

impl ConnStats {
    /// Counts `n` errors, remembering the first cause.
    fn fail(&mut self, n: u64, why: impl FnOnce() -> String) {
        self.errors += n;
        if self.why.is_none() {
            self.why = Some(why());
        }
    }
}

/// Runs the echo load: opens every connection, then measures for `duration`.
pub async fn run(opts: &EchoOptions) -> Result<EchoReport, BenchError> {
    if opts.conns == 0 || opts.in_flight == 0 {
        return Err(BenchError::BadOption(
            "--conns and --in-flight must be at least 1".into(),
        ));
    }
    if opts.json && opts.binary {
        return Err(BenchError::BadOption(
            "--json sends text: leave out --binary".into(),
        ));
    }
    let offer = opts.deflate.then(browser_offer);
    let mut opened = Vec::with_capacity(opts.conns);
    for _ in 0..opts.conns {
        opened.push(open_with(&opts.target, offer).await?);
    }
    let compressed_conns = opened.iter().filter(|(_, c)| c.deflate_enabled()).count();
    let payloads: Vec<Vec<u8>> = if opts.json {
        (0..JSON_MESSAGES)
            .map(|i| json_message_of(i / 8, i % 8, opts.size).into_bytes())
            .collect()
    } else {
        vec![vec![b'x'; opts.size]]
    };
    let cpu = CpuWindow::start(opts.server_pid);
    let start = Instant::now();
    let end = start + opts.duration;
    let local = tokio::task::LocalSet::new();
    let results = local
        .run_until(async {
            let payloads: std::rc::Rc<[Vec<u8>]> = payloads.into();
            let tasks: Vec<_> = opened
                .into_iter()
                .enumerate()
                .map(|(i, (stream, conn))| {
                    let feed = Feed {
                        payloads: payloads.clone(),
                        next: i * 7,
                    };
                    let opts = opts.clone();
                    tokio::task::spawn_local(
                        async move { drive(stream, conn, &opts, feed, end).await },
                    )
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
    let mut report = EchoReport {
        messages: 0,
        wall: opts.duration,
        size: opts.size,
        errors: 0,
        latency: latency_histogram(),
        client_cpu,
        server_cpu,
        causes: Vec::new(),
        compressed_conns,
    };
    for r in results {
        let why = match r {
            Ok(s) => {
                report.messages += s.messages;
                report.errors += s.errors;
                let _ = report.latency.add(&s.latency);
                s.why
            }
            Err(e) => {
                report.errors += 1;
                Some(format!("connection task failed: {e}"))
            }
        };
        if let Some(why) = why {
            if report.causes.len() < 5 {
                report.causes.push(why);
            }
        }
    }
    Ok(report)
}

/// How many different JSON messages a `--json` run cycles through (each connection
/// starting at a different one), so that context takeover sees a varying feed.
const JSON_MESSAGES: u64 = 64;

/// The messages one connection sends, in turn.
struct Feed {
    payloads: std::rc::Rc<[Vec<u8>]>,
    next: usize,
}

impl Feed {
    /// The next message to send.
    fn next(&mut self) -> &[u8] {
        let i = self.next % self.payloads.len();
        self.next = self.next.wrapping_add(1);
        &self.payloads[i]
    }
}

/// Keeps `in_flight` messages going on one connection until `end`, then drains and closes.
async fn drive(
    mut stream: TcpStream,
    mut conn: Connection,
    opts: &EchoOptions,
    mut feed: Feed,
    end: Instant,
) -> ConnStats {
    let mut stats = ConnStats {
        messages: 0,
        errors: 0,
        why: None,
        latency: latency_histogram(),
    };
    let read_size = (opts.size + 14).clamp(4096, MAX_READ);
    // When each message went, and its length (what its echo must have).
    let mut sent: VecDeque<(Instant, usize)> = VecDeque::with_capacity(opts.in_flight);
    let now = Instant::now();
    for _ in 0..opts.in_flight {
        match send(&mut conn, opts.binary, feed.next()) {
            Ok(len) => sent.push_back((now, len)),
            Err(e) => {
                stats.fail(1, || format!("could not queue a message: {e}"));
                return stats;
            }
        }
    }
    let give_up = end + DRAIN;
    'run: loop {
        if let Err(e) = flush(&mut stream, &mut conn).await {
            stats.fail(1 + sent.len() as u64, || format!("write failed: {e}"));
            return stats;
        }
        if sent.is_empty() {
            break;
        }
        let buf = conn.input_buffer(read_size);
        let n = match tokio::time::timeout_at(give_up, stream.read(buf)).await {
            Ok(Ok(n)) if n > 0 => n,
            Ok(Ok(_)) => {
                stats.fail(sent.len() as u64, || {
                    format!(
                        "the server ended the connection with {} messages in flight",
                        sent.len()
                    )
                });
                return stats;
            }
            Ok(Err(e)) => {
                stats.fail(sent.len() as u64, || format!("read failed: {e}"));
                return stats;
            }
            Err(_) => {
                stats.fail(sent.len() as u64, || {
                    format!(
                        "{} messages not back {} s after the end",
                        sent.len(),
                        DRAIN.as_secs()
                    )
                });
                return stats;
            }
        };
        conn.commit_input(n);
        let now = Instant::now();
        let mut replies = 0;
        loop {
            let want = sent.get(replies).map_or(usize::MAX, |&(_, len)| len);
            match conn.poll_event() {
                Ok(Some(Event::Text(t))) if !opts.binary && t.len() == want => replies += 1,
                Ok(Some(Event::Binary(b))) if opts.binary && b.len() == want => replies += 1,
                Ok(Some(Event::Ping(_) | Event::Pong(_))) => {}
                Ok(Some(other)) => {
                    let what = describe(&other);
                    stats.fail(1 + sent.len() as u64, || format!("unexpected {what}"));
                    break 'run;
                }
                Err(e) => {
                    stats.fail(1 + sent.len() as u64, || format!("protocol error: {e}"));
                    break 'run;
                }
                Ok(None) => break,
            }
        }
        for _ in 0..replies {
            let Some((at, _)) = sent.pop_front() else {
                stats.fail(1, || "a reply to a message never sent".into());
                continue;
            };
            if now <= end {
                stats.messages += 1;
                record(&mut stats.latency, now - at);
                match send(&mut conn, opts.binary, feed.next()) {
                    Ok(len) => sent.push_back((now, len)),
                    Err(e) => {
                        stats.fail(1, || format!("could not queue a message: {e}"));
                        break 'run;
                    }
                }
            }
        }
    }
    let _ = conn.close(CloseCode::NORMAL, "");
    let _ = flush(&mut stream, &mut conn).await;
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        let mut sink = [0u8; 1024];
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
    stats
}

/// Queues `payload` as one message (text unless `binary`); its length on success.
fn send(conn: &mut Connection, binary: bool, payload: &[u8]) -> Result<usize, SendError> {
    if binary {
        conn.send_binary(payload)?;
    } else {
        // Every payload of a text run is ASCII (`x` or JSON).
        conn.send_text(std::str::from_utf8(payload).unwrap_or_default())?;
    }
    Ok(payload.len())
}

/// A short description of an event that an echo run did not expect.
fn describe(event: &Event<'_>) -> String {
    match event {
        Event::Text(t) => format!("text message of {} bytes", t.len()),
        Event::Binary(b) => format!("binary message of {} bytes", b.len()),
        Event::Ping(_) => "ping".into(),
        Event::Pong(_) => "pong".into(),
        Event::Close { code, reason } => format!("close from the server ({code:?} {reason:?})"),
        other => format!("{other:?}"),
    }
}

/// Writes everything the connection has queued.
pub(crate) async fn flush(stream: &mut TcpStream, conn: &mut Connection) -> std::io::Result<()> {
    let out = conn.pending_output();
    if out.is_empty() {
        return Ok(());
    }
    stream.write_all(out).await?;
    let n = out.len();
    conn.consume_output(n);
    Ok(())
}
