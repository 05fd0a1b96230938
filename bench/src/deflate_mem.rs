//! Deflate-memory mode: open N connections that offer permessage-deflate as browsers do,
//! exchange a few 1 KiB JSON messages on each (compressed both ways), hold them, and report
//! the server's resident memory per connection and the bytes on the wire per message.

use std::time::Duration;

use framewire_core::deflate::{Compressor, DeflateConfig};
use framewire_core::{Connection, Event};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::client::{open_in_batches, open_with, Target};
use crate::echo::flush;
pub use crate::json_feed::json_message;
use crate::procstat::pid_rss_kib;
use crate::summary::ResultLine;
use crate::BenchError;

/// At most this many connections (each takes a descriptor on both sides).
pub const MAX_CONNS: usize = 50_000;

/// At most this many messages per connection.
pub const MAX_MESSAGES: usize = 100;

/// How long one echo may take.
const ECHO_TIMEOUT: Duration = Duration::from_secs(10);

/// What a deflate-memory run does.
#[derive(Debug, Clone)]
pub struct DeflateMemOptions {
    /// Where to connect.
    pub target: Target,
    /// Connections to open and hold.
    pub conns: usize,
    /// Messages each connection sends (and gets back) before it goes quiet.
    pub messages: usize,
    /// How long to hold them after the last exchange (RSS is read at the end).
    pub hold: Duration,
    /// The server's pid (required: its VmRSS is what is measured).
    pub server_pid: u32,
}

/// What a deflate-memory run measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeflateMemReport {
    /// Connections held.
    pub conns: usize,
    /// Connections on which the server accepted permessage-deflate.
    pub compressed_conns: usize,
    /// Messages echoed in all.
    pub messages: u64,
    /// Uncompressed payload bytes sent in all.
    pub plain_bytes: u64,
    /// Bytes the load generator wrote after the handshakes (frames, masked).
    pub sent_wire: u64,
    /// Bytes the server wrote after the handshakes (its echoes).
    pub recv_wire: u64,
    /// Bytes the same echoes take from a server compressing at level 1 with a full 15-bit
    /// window and context takeover (a long-lived zlib state per connection): the reference
    /// for `recv_wire`.
    pub reference_wire: u64,
    /// Server VmRSS before opening, KiB.
    pub rss_before_kib: u64,
    /// Server VmRSS with every connection open, KiB.
    pub rss_after_kib: u64,
}

impl DeflateMemReport {
    /// Server memory per connection, KiB.
    pub fn kib_per_conn(&self) -> f64 {
        self.rss_after_kib.saturating_sub(self.rss_before_kib) as f64 / self.conns.max(1) as f64
    }

    fn per_msg(&self, bytes: u64) -> f64 {
        bytes as f64 / self.messages.max(1) as f64
    }

    /// The human-readable summary and the `RESULT` line.
    pub fn render(&self) -> String {
        let errors = (self.conns - self.compressed_conns) as u64;
        let line = ResultLine::new("deflate-mem")
            .num("conns", self.conns as f64, 0)
            .num("compressed_conns", self.compressed_conns as f64, 0)
            .num("rss_before_kib", self.rss_before_kib as f64, 0)
            .num("rss_after_kib", self.rss_after_kib as f64, 0)
            .num("kib_per_conn", self.kib_per_conn(), 2)
            .num("plain_per_msg", self.per_msg(self.plain_bytes), 1)
            .num("sent_wire_per_msg", self.per_msg(self.sent_wire), 1)
            .num("recv_wire_per_msg", self.per_msg(self.recv_wire), 1)
            .num("ref15_wire_per_msg", self.per_msg(self.reference_wire), 1)
            .num("errors", errors as f64, 0)
            .finish();
        format!(
            "deflate-mem: {} connections held ({} compressed), {} messages of {:.0} bytes echoed: \
             {:.1} bytes per message on the wire to the server, {:.1} back ({:.1} from a 15-bit \
             window with context takeover); server VmRSS {} KiB before, {} KiB after: \
             {:.2} KiB per connection\n{line}",
            self.conns,
            self.compressed_conns,
            self.messages,
            self.per_msg(self.plain_bytes),
            self.per_msg(self.sent_wire),
            self.per_msg(self.recv_wire),
            self.per_msg(self.reference_wire),
            self.rss_before_kib,
            self.rss_after_kib,
            self.kib_per_conn()
        )
    }
}

/// The offer every browser sends: `permessage-deflate; client_max_window_bits`.
pub fn browser_offer() -> DeflateConfig {
    DeflateConfig {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
        ..DeflateConfig::default()
    }
}

/// Wire bytes of `messages` echoes of connection `id` from a server frame header plus a
/// level-1 deflate stream with a 15-bit window and context takeover.
fn reference_wire(id: u64, messages: usize) -> u64 {
    let mut c = Compressor::new(1, 15, false);
    (0..messages as u64)
        .map(|seq| {
            let mut out = Vec::new();
            c.compress(json_message(id, seq).as_bytes(), true, &mut out);
            let header = match out.len() {
                0..=125 => 2,
                126..=65_535 => 4,
                _ => 10,
            };
            (header + out.len()) as u64
        })
        .sum()
}

/// One connection's share of the totals.
#[derive(Debug, Default)]
struct ConnStats {
    compressed: bool,
    messages: u64,
    plain: u64,
    sent: u64,
    recv: u64,
    reference: u64,
}

/// Sends `messages` JSON messages one at a time and waits for each echo.
async fn exchange(
    stream: &mut TcpStream,
    conn: &mut Connection,
    id: u64,
    messages: usize,
) -> Result<ConnStats, BenchError> {
    let mut stats = ConnStats {
        compressed: conn.deflate_enabled(),
        reference: reference_wire(id, messages),
        ..ConnStats::default()
    };
    for seq in 0..messages as u64 {
        let msg = json_message(id, seq);
        conn.send_text(&msg)
            .map_err(|e| BenchError::BadOption(format!("could not queue a message: {e}")))?;
        stats.sent += conn.pending_output().len() as u64;
        flush(stream, conn).await.map_err(BenchError::io("write"))?;
        let back = tokio::time::timeout(ECHO_TIMEOUT, async {
            loop {
                let buf = conn.input_buffer(4096);
                let n = stream.read(buf).await.map_err(BenchError::io("read"))?;
                if n == 0 {
                    return Err(BenchError::BadOption(
                        "the server ended the connection".into(),
                    ));
                }
                conn.commit_input(n);
                stats.recv += n as u64;
                loop {
                    match conn.poll_event() {
                        Ok(Some(Event::Text(t))) => return Ok(t == msg),
                        Ok(Some(Event::Ping(_) | Event::Pong(_))) => {}
                        Ok(Some(_)) => return Ok(false),
                        Err(e) => {
                            return Err(BenchError::BadOption(format!("protocol error: {e}")))
                        }
                        Ok(None) => {
                            if !conn.has_pending_work() {
                                break;
                            }
                        }
                    }
                }
            }
        })
        .await
        .map_err(|_| BenchError::Timeout("an echo"))??;
        if !back {
            return Err(BenchError::BadOption(
                "the echo differs from the message".into(),
            ));
        }
        // The pong or whatever else the echo queued.
        flush(stream, conn).await.map_err(BenchError::io("write"))?;
        stats.messages += 1;
        stats.plain += msg.len() as u64;
    }
    Ok(stats)
}

/// Opens `conns` connections offering permessage-deflate, exchanges messages on each, holds
/// them, reads the server's RSS.
pub async fn run(opts: &DeflateMemOptions) -> Result<DeflateMemReport, BenchError> {
    if opts.conns == 0 || opts.conns > MAX_CONNS {
        return Err(BenchError::BadOption(format!(
            "{} connections: give 1 to {MAX_CONNS}",
            opts.conns
        )));
    }
    if opts.messages > MAX_MESSAGES {
        return Err(BenchError::BadOption(format!(
            "{} messages per connection: give at most {MAX_MESSAGES}",
            opts.messages
        )));
    }
    let rss_before_kib = pid_rss_kib(opts.server_pid)?;
    let mut report = DeflateMemReport {
        conns: opts.conns,
        rss_before_kib,
        ..DeflateMemReport::default()
    };
    let held = open_in_batches(opts.conns, |i| {
        let target = opts.target.clone();
        let messages = opts.messages;
        async move {
            let (mut stream, mut conn) = open_with(&target, Some(browser_offer())).await?;
            let stats = exchange(&mut stream, &mut conn, i as u64, messages).await?;
            Ok((stream, conn, stats))
        }
    })
    .await?;
    for (_, _, stats) in &held {
        report.compressed_conns += usize::from(stats.compressed);
        report.messages += stats.messages;
        report.plain_bytes += stats.plain;
        report.sent_wire += stats.sent;
        report.recv_wire += stats.recv;
        report.reference_wire += stats.reference;
    }
    tokio::time::sleep(opts.hold).await;
    report.rss_after_kib = pid_rss_kib(opts.server_pid)?;
    drop(held);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_deterministic_json_of_about_1_kib() {
        for seq in 0..8 {
            let m = json_message(7, seq);
            assert_eq!(m, json_message(7, seq));
            assert!((900..=1100).contains(&m.len()), "{} bytes: {m}", m.len());
            assert!(m.starts_with('{') && m.ends_with("]}"), "{m}");
        }
        assert_ne!(json_message(7, 0), json_message(8, 0));
        assert_ne!(json_message(7, 0), json_message(7, 1));
    }
}
