//! Bomb mode: one compressed message that inflates to a chosen size (zeros: a decompression
//! bomb; JSON: a legitimate large message), sent to a fresh server while a canary connection
//! echoes small messages. Reports the server's memory (VmRSS before and after, VmHWM, its
//! peak) and the canary's worst round trip, which shows whether other connections waited.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use framewire_core::deflate::Compressor;
use framewire_core::frame::{encode_frame, FrameHeader};
use framewire_core::{CloseCode, Connection, Message, OpCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::{open, open_with, Target};
use crate::deflate_mem::{browser_offer, json_message};
use crate::echo::flush;
use crate::procstat::{pid_hwm_kib, pid_rss_kib};
use crate::summary::ResultLine;
use crate::BenchError;

/// The largest inflated size the mode builds (the client never holds it: it compresses
/// in pieces).
pub const MAX_INFLATED: u64 = 4 << 30;

/// How long the server may take to answer the message (echo or close).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// The canary's pause between round trips.
const CANARY_PAUSE: Duration = Duration::from_millis(2);

/// What the message is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Content {
    /// Zeros: about 1,000 to 1 compressed, a decompression bomb beyond the server's limit.
    Zeros,
    /// JSON records: a legitimate message that the server echoes.
    Json,
}

/// What a bomb run does.
#[derive(Debug, Clone)]
pub struct BombOptions {
    /// Where to connect.
    pub target: Target,
    /// Bytes the message inflates to.
    pub inflated: u64,
    /// What it is made of.
    pub content: Content,
    /// The server's pid (its VmRSS and VmHWM are read).
    pub server_pid: u32,
    /// How long to wait after the answer before reading the server's VmRSS again.
    pub settle: Duration,
}

/// What a bomb run measured.
#[derive(Debug, Clone, Default)]
pub struct BombReport {
    /// Bytes the message inflates to.
    pub inflated: u64,
    /// Bytes of its compressed payload.
    pub compressed: u64,
    /// What the server answered: `echo` (equal bytes back) or `close CODE`.
    pub answer: String,
    /// Server VmRSS before the message, KiB.
    pub rss_before_kib: u64,
    /// Server VmHWM (peak resident) after the answer, KiB.
    pub hwm_kib: u64,
    /// Server VmRSS `settle` after the answer, KiB.
    pub rss_after_kib: u64,
    /// The canary's round trips while the message was sent and answered.
    pub canary_trips: u64,
    /// The canary's slowest round trip, ms.
    pub canary_max_ms: f64,
    /// From the first byte sent to the answer, ms.
    pub answer_ms: f64,
}

impl BombReport {
    /// The human-readable summary and the `RESULT` line.
    pub fn render(&self) -> String {
        let line = ResultLine::new("bomb")
            .num("inflated", self.inflated as f64, 0)
            .num("compressed", self.compressed as f64, 0)
            .num("rss_before_kib", self.rss_before_kib as f64, 0)
            .num("hwm_kib", self.hwm_kib as f64, 0)
            .num("rss_after_kib", self.rss_after_kib as f64, 0)
            .num("canary_trips", self.canary_trips as f64, 0)
            .num("canary_max_ms", self.canary_max_ms, 1)
            .num("answer_ms", self.answer_ms, 1)
            .finish();
        format!(
            "bomb: {} bytes inflated from {} compressed; answer: {} after {:.1} ms; server VmRSS \
             {} KiB before, peak (VmHWM) {} KiB (+{} MiB), {} KiB after; canary: {} round trips, \
             slowest {:.1} ms\n{line}",
            self.inflated,
            self.compressed,
            self.answer,
            self.answer_ms,
            self.rss_before_kib,
            self.hwm_kib,
            self.hwm_kib.saturating_sub(self.rss_before_kib) / 1024,
            self.rss_after_kib,
            self.canary_trips,
            self.canary_max_ms
        )
    }
}

/// The compressed payload of a message of `inflated` bytes of `content`, built in pieces
/// (the plain message is never held whole), and the plain bytes' digest.
fn compress(inflated: u64, content: Content) -> (Vec<u8>, u64) {
    let mut c = Compressor::new(6, 15, false);
    let mut wire = Vec::new();
    let mut left = inflated;
    let mut digest = 0u64;
    let mut seq = 0;
    let zeros = vec![0u8; 1 << 20];
    let mut piece = String::new();
    while left > 0 {
        let chunk: &[u8] = match content {
            Content::Zeros => &zeros[..left.min(zeros.len() as u64) as usize],
            Content::Json => {
                piece.clear();
                while (piece.len() as u64) < left.min(64 << 10) {
                    piece.push_str(&json_message(7, seq));
                    seq += 1;
                }
                piece.truncate(left.min(piece.len() as u64) as usize);
                piece.as_bytes()
            }
        };
        left -= chunk.len() as u64;
        digest = fold(digest, chunk);
        c.compress(chunk, left == 0, &mut wire);
    }
    (wire, digest)
}

/// A cheap digest of a byte stream, to compare the echo without keeping the message.
fn fold(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// Echoes 16-byte messages one at a time until `stop`; returns (round trips, slowest).
fn canary(target: Target, stop: Arc<AtomicBool>) -> Result<(u64, Duration), BenchError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(BenchError::io("start the canary's runtime"))?;
    rt.block_on(async move {
        let (mut stream, mut conn) = open(&target).await?;
        let (mut trips, mut worst) = (0u64, Duration::ZERO);
        while !stop.load(Ordering::Relaxed) {
            let sent = Instant::now();
            conn.send_text("canary 0123456789")
                .map_err(|e| BenchError::BadOption(format!("canary send: {e}")))?;
            flush(&mut stream, &mut conn)
                .await
                .map_err(BenchError::io("canary write"))?;
            next_message(&mut stream, &mut conn).await?;
            worst = worst.max(sent.elapsed());
            trips += 1;
            tokio::time::sleep(CANARY_PAUSE).await;
        }
        Ok((trips, worst))
    })
}

/// Reads until the next text, binary or close message.
async fn next_message(
    stream: &mut TcpStream,
    conn: &mut Connection,
) -> Result<Message, BenchError> {
    loop {
        loop {
            match conn.poll_message() {
                Ok(Some(m @ (Message::Text(_) | Message::Binary(_) | Message::Close(..)))) => {
                    flush(stream, conn).await.map_err(BenchError::io("write"))?;
                    return Ok(m);
                }
                Ok(Some(_)) => {}
                Ok(None) if conn.has_pending_work() => {}
                Ok(None) => break,
                Err(e) => return Err(BenchError::BadOption(format!("protocol error: {e}"))),
            }
        }
        flush(stream, conn).await.map_err(BenchError::io("write"))?;
        let n = stream
            .read(conn.input_buffer(64 << 10))
            .await
            .map_err(BenchError::io("read"))?;
        if n == 0 {
            return Err(BenchError::BadOption(
                "the server ended the connection without a close frame".into(),
            ));
        }
        conn.commit_input(n);
    }
}

/// Sends the message, waits for the server's answer, reads its memory.
pub async fn run(opts: &BombOptions) -> Result<BombReport, BenchError> {
    if opts.inflated == 0 || opts.inflated > MAX_INFLATED {
        return Err(BenchError::BadOption(format!(
            "{} bytes inflated: give 1 to {MAX_INFLATED}",
            opts.inflated
        )));
    }
    let (payload, digest) = compress(opts.inflated, opts.content);
    let (mut stream, mut conn) = open_with(&opts.target, Some(browser_offer())).await?;
    if !conn.deflate_enabled() {
        return Err(BenchError::BadOption(
            "the server did not accept permessage-deflate".into(),
        ));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let canary_thread = {
        let (target, stop) = (opts.target.clone(), stop.clone());
        std::thread::spawn(move || canary(target, stop))
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_before_kib = pid_rss_kib(opts.server_pid)?;
    let mut header = FrameHeader::new(true, OpCode::Binary, Some([1, 2, 3, 4]), 0);
    header.rsv1 = true;
    let mut frame = Vec::with_capacity(payload.len() + 14);
    encode_frame(&header, &payload, &mut frame);
    let start = Instant::now();
    let answered = tokio::time::timeout(ANSWER_TIMEOUT, async {
        stream
            .write_all(&frame)
            .await
            .map_err(BenchError::io("write the message"))?;
        next_message(&mut stream, &mut conn).await
    })
    .await;
    let answer_ms = start.elapsed().as_secs_f64() * 1e3;
    let answer = match answered.map_err(|_| BenchError::Timeout("the server's answer"))?? {
        Message::Binary(b) if b.len() as u64 == opts.inflated && fold(0, &b) == digest => {
            "echo".to_owned()
        }
        Message::Binary(b) => format!("a different message of {} bytes", b.len()),
        Message::Close(code, reason) => {
            format!("close {} {reason:?}", code.map_or(0, |c| c.0))
        }
        other => format!("{} bytes of another kind", other.len()),
    };
    let _ = conn.close(CloseCode::NORMAL, "");
    let _ = flush(&mut stream, &mut conn).await;
    let _ = stream.shutdown().await;
    drop(stream);
    let hwm_kib = pid_hwm_kib(opts.server_pid)?;
    // The canary goes on meanwhile: a server with other clients keeps working.
    tokio::time::sleep(opts.settle).await;
    let rss_after_kib = pid_rss_kib(opts.server_pid)?;
    stop.store(true, Ordering::Relaxed);
    let (canary_trips, worst) = canary_thread
        .join()
        .map_err(|_| BenchError::BadOption("the canary thread panicked".into()))??;
    Ok(BombReport {
        inflated: opts.inflated,
        compressed: payload.len() as u64,
        answer,
        rss_before_kib,
        hwm_kib,
        rss_after_kib,
        canary_trips,
        canary_max_ms: worst.as_secs_f64() * 1e3,
        answer_ms,
    })
}
