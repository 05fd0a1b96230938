//! Idle mode: open N connections, hold them, report the server's resident memory per connection.

use std::time::Duration;

use crate::client::{open, open_in_batches, Target};
use crate::procstat::pid_rss_kib;
use crate::summary::ResultLine;
use crate::BenchError;

/// What an idle run does.
#[derive(Debug, Clone)]
pub struct IdleOptions {
    /// Where to connect.
    pub target: Target,
    /// Connections to open and hold.
    pub conns: usize,
    /// How long to hold them after the last one opened (RSS is read at the end).
    pub hold: Duration,
    /// The server's pid (required: its VmRSS is what is measured).
    pub server_pid: u32,
}

/// What an idle run measured.
#[derive(Debug, Clone, Copy)]
pub struct IdleReport {
    /// Connections held.
    pub conns: usize,
    /// Server VmRSS before opening, KiB.
    pub rss_before_kib: u64,
    /// Server VmRSS with every connection open, KiB.
    pub rss_after_kib: u64,
}

impl IdleReport {
    /// Server memory per idle connection, KiB.
    pub fn kib_per_conn(&self) -> f64 {
        self.rss_after_kib.saturating_sub(self.rss_before_kib) as f64 / self.conns.max(1) as f64
    }

    /// The human-readable summary and the `RESULT` line.
    pub fn render(&self) -> String {
        let line = ResultLine::new("idle")
            .num("conns", self.conns as f64, 0)
            .num("rss_before_kib", self.rss_before_kib as f64, 0)
            .num("rss_after_kib", self.rss_after_kib as f64, 0)
            .num("kib_per_conn", self.kib_per_conn(), 2)
            .finish();
        format!(
            "idle: {} connections held; server VmRSS {} KiB before, {} KiB after: {:.2} KiB per connection\n{line}",
            self.conns,
            self.rss_before_kib,
            self.rss_after_kib,
            self.kib_per_conn()
        )
    }
}

/// Opens `conns` connections (upgraded, then silent), holds them, reads the server's RSS.
pub async fn run(opts: &IdleOptions) -> Result<IdleReport, BenchError> {
    let rss_before_kib = pid_rss_kib(opts.server_pid)?;
    let held = open_in_batches(opts.conns, |_| {
        let target = opts.target.clone();
        async move { open(&target).await.map(|(stream, _conn)| stream) }
    })
    .await?;
    tokio::time::sleep(opts.hold).await;
    let rss_after_kib = pid_rss_kib(opts.server_pid)?;
    drop(held);
    Ok(IdleReport {
        conns: opts.conns,
        rss_before_kib,
        rss_after_kib,
    })
}
