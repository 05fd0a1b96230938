//! Soak mode: C connections each echoing one small message at a time, with a pause, for a
//! long time; the server's VmRSS is sampled every second once every connection has echoed
//! once (before that, the server is still taking each connection's first buffers). Passes
//! when no echo failed and the mean RSS of the last window (a minute, or a quarter of a
//! shorter run) is within 5% of the first window's.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use framewire_core::Event;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::client::{open, Target};
use crate::echo::flush;
use crate::procstat::pid_rss_kib;
use crate::summary::ResultLine;
use crate::BenchError;

/// At most this many connections.
pub const MAX_CONNS: usize = 20_000;

/// The longest soak: an hour.
pub const MAX_SECS: f64 = 3600.0;

/// How much the last window's mean RSS may differ from the first's.
pub const RSS_TOLERANCE: f64 = 0.05;

/// How long one echo may take before it counts as an error.
const ECHO_TIMEOUT: Duration = Duration::from_secs(10);

/// What a soak does.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    /// Where to connect.
    pub target: Target,
    /// Connections.
    pub conns: usize,
    /// How long.
    pub duration: Duration,
    /// Each connection's pause between an echo and its next message.
    pub pause: Duration,
    /// The server's pid (its VmRSS is sampled).
    pub server_pid: u32,
}

/// What a soak measured.
#[derive(Debug, Clone, Default)]
pub struct SoakReport {
    /// Connections.
    pub conns: usize,
    /// Seconds run.
    pub secs: f64,
    /// Echoes completed.
    pub echoes: u64,
    /// Echoes that failed (wrong, late, or the connection ended).
    pub errors: u64,
    /// Mean server VmRSS over the first window, KiB.
    pub first_rss_kib: f64,
    /// Mean server VmRSS over the last window, KiB.
    pub last_rss_kib: f64,
    /// The window, seconds.
    pub window_secs: f64,
    /// Seconds from the start until every connection had echoed once (the first window
    /// starts then).
    pub warmup_secs: f64,
}

impl SoakReport {
    /// The last window's RSS relative to the first's (0.02: 2% more).
    pub fn drift(&self) -> f64 {
        self.last_rss_kib / self.first_rss_kib.max(1.0) - 1.0
    }

    /// True when no echo failed and the RSS drifted less than [`RSS_TOLERANCE`].
    pub fn passed(&self) -> bool {
        self.errors == 0 && self.echoes > 0 && self.drift().abs() <= RSS_TOLERANCE
    }

    /// The human-readable summary and the `RESULT` line.
    pub fn render(&self) -> String {
        let line = ResultLine::new("soak")
            .num("conns", self.conns as f64, 0)
            .num("secs", self.secs, 1)
            .num("echoes", self.echoes as f64, 0)
            .num("errors", self.errors as f64, 0)
            .num("first_rss_kib", self.first_rss_kib, 0)
            .num("last_rss_kib", self.last_rss_kib, 0)
            .num("drift_pct", self.drift() * 100.0, 2)
            .num("warmup_secs", self.warmup_secs, 1)
            .num("passed", f64::from(u8::from(self.passed())), 0)
            .finish();
        format!(
            "soak: {} connections for {:.0} s: {} echoes ({:.0}/s), {} errors; server VmRSS mean \
             {:.0} KiB over the first {:.0} s (from {:.1} s, when every connection had echoed \
             once), {:.0} KiB over the last: {:+.2}% ({})\n{line}",
            self.conns,
            self.secs,
            self.echoes,
            self.echoes as f64 / self.secs.max(0.001),
            self.errors,
            self.first_rss_kib,
            self.window_secs,
            self.warmup_secs,
            self.last_rss_kib,
            self.drift() * 100.0,
            if self.passed() { "passed" } else { "FAILED" }
        )
    }
}

/// One connection: echo, pause, repeat until `end`. Counts into `echoes` and `errors`.
async fn echo_loop(
    mut stream: TcpStream,
    mut conn: framewire_core::Connection,
    id: usize,
    opts: &SoakOptions,
    end: Instant,
    counts: &(Cell<u64>, Cell<u64>),
    warmed: &Cell<usize>,
) {
    let mut seq = 0u64;
    while Instant::now() < end {
        let msg = format!("soak {id} {seq} the quick brown fox");
        seq += 1;
        let ok = conn.send_text(&msg).is_ok()
            && flush(&mut stream, &mut conn).await.is_ok()
            && tokio::time::timeout(ECHO_TIMEOUT, echo_back(&mut stream, &mut conn, &msg))
                .await
                .unwrap_or(false);
        if !ok {
            counts.1.set(counts.1.get() + 1);
            return;
        }
        counts.0.set(counts.0.get() + 1);
        if seq == 1 {
            warmed.set(warmed.get() + 1);
        }
        tokio::time::sleep(opts.pause).await;
    }
    let _ = conn.close(framewire_core::CloseCode::NORMAL, "");
    let _ = flush(&mut stream, &mut conn).await;
}

/// Reads until the echo of `msg`: true when it came back equal.
async fn echo_back(
    stream: &mut TcpStream,
    conn: &mut framewire_core::Connection,
    msg: &str,
) -> bool {
    loop {
        match conn.poll_event() {
            Ok(Some(Event::Text(t))) => return t == msg,
            Ok(Some(Event::Ping(_) | Event::Pong(_))) => continue,
            Ok(Some(_)) | Err(_) => return false,
            Ok(None) => {}
        }
        if conn.has_pending_work() {
            continue;
        }
        if flush(stream, conn).await.is_err() {
            return false;
        }
        match stream.read(conn.input_buffer(4096)).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => conn.commit_input(n),
        }
    }
}

/// Opens the connections, echoes on all of them for the duration, samples the RSS.
pub async fn run(opts: &SoakOptions) -> Result<SoakReport, BenchError> {
    if opts.conns == 0 || opts.conns > MAX_CONNS {
        return Err(BenchError::BadOption(format!(
            "{} connections: give 1 to {MAX_CONNS}",
            opts.conns
        )));
    }
    let mut opened = Vec::with_capacity(opts.conns);
    for _ in 0..opts.conns {
        opened.push(open(&opts.target).await?);
    }
    let start = Instant::now();
    let end = start + opts.duration;
    let counts = (Cell::new(0u64), Cell::new(0u64));
    let warmed = Cell::new(0usize);
    let samples = Rc::new(RefCell::new(Vec::new()));
    let sampler = {
        let samples = samples.clone();
        let pid = opts.server_pid;
        let (warmed, counts) = (&warmed, &counts);
        async move {
            while Instant::now() < end {
                // From the first second every connection has echoed in (a failed one
                // counts as warm: it takes no more buffers).
                let warm = warmed.get() + counts.1.get() as usize >= opts.conns;
                if let (true, Ok(kib)) = (warm, pid_rss_kib(pid)) {
                    samples.borrow_mut().push((start.elapsed(), kib));
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    let loops = futures_util::future::join_all(
        opened
            .into_iter()
            .enumerate()
            .map(|(id, (stream, conn))| echo_loop(stream, conn, id, opts, end, &counts, &warmed)),
    );
    tokio::join!(loops, sampler);
    let secs = start.elapsed().as_secs_f64();
    let samples = samples.borrow();
    let warmup = samples.first().map_or(0.0, |(t, _)| t.as_secs_f64());
    let window = ((opts.duration.as_secs_f64() - warmup) / 4.0).min(60.0);
    let mean = |keep: &dyn Fn(f64) -> bool| {
        let picked: Vec<f64> = samples
            .iter()
            .filter(|(t, _)| keep(t.as_secs_f64()))
            .map(|&(_, kib)| kib as f64)
            .collect();
        picked.iter().sum::<f64>() / picked.len().max(1) as f64
    };
    let total = opts.duration.as_secs_f64();
    Ok(SoakReport {
        conns: opts.conns,
        secs,
        echoes: counts.0.get(),
        errors: counts.1.get(),
        first_rss_kib: mean(&|t| t < warmup + window),
        last_rss_kib: mean(&|t| t >= total - window),
        window_secs: window,
        warmup_secs: warmup,
    })
}
