//! One direction of a relayed connection: bytes copied unchanged through a
//! bounded buffer, injections written at frame boundaries.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex};

use framewire_core::frame::FrameBoundaries;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::frame_log::FrameLog;
use super::hub::{lock, Conn, Dir, Hub, Injection, State};

/// How a direction ended.
#[derive(Debug)]
pub(crate) enum PumpEnd {
    /// The source sent FIN; it was passed on (the destination's write side shut down).
    Fin,
    /// Reading the source failed (a reset, say).
    ReadFailed(io::Error),
    /// Writing the destination failed.
    WriteFailed(io::Error),
}

/// What a direction works with besides its two ends.
pub(crate) struct Pump<'a> {
    pub(crate) dir: Dir,
    pub(crate) conn: &'a Arc<Conn>,
    pub(crate) hub: &'a Hub,
    /// Bytes read at most per read: the most this direction holds.
    pub(crate) buffer: usize,
    /// Injections for this direction; `None` when the connection is no WebSocket (not a 101).
    pub(crate) injections: Option<mpsc::Receiver<Injection>>,
    pub(crate) log: Option<&'a Mutex<FrameLog>>,
}

impl Pump<'_> {
    /// Copies `src` to `dst` (after `initial`, bytes already read) until one
    /// of them ends or fails.
    pub(crate) async fn run<R, W>(mut self, src: &mut R, dst: &mut W, initial: &[u8]) -> PumpEnd
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let mut bounds = FrameBoundaries::new();
        let mut waiting: VecDeque<Injection> = VecDeque::new();
        let mut injected = 0u64;
        if let Err(e) = self
            .relay(dst, &mut bounds, &mut waiting, &mut injected, initial)
            .await
        {
            return PumpEnd::WriteFailed(e);
        }
        let mut buf = vec![0u8; self.buffer.max(1)];
        loop {
            if bounds.at_boundary() {
                if let Err(e) = self.inject(dst, &mut waiting, &mut injected).await {
                    return PumpEnd::WriteFailed(e);
                }
            }
            let read = match self.injections.as_mut() {
                Some(rx) => tokio::select! {
                    biased;
                    Some(i) = rx.recv() => {
                        waiting.push_back(i);
                        continue;
                    }
                    r = src.read(&mut buf) => r,
                },
                None => src.read(&mut buf).await,
            };
            let fin = match &read {
                Ok(0) => true,
                // A TLS peer that ends without close_notify has ended all the same.
                Err(e) => e.kind() == io::ErrorKind::UnexpectedEof,
                Ok(_) => false,
            };
            if fin {
                // A FIN is passed on as a FIN.
                let _ = dst.shutdown().await;
                return PumpEnd::Fin;
            }
            match read {
                Ok(n) => {
                    let chunk = &buf[..n];
                    if let Err(e) = self
                        .relay(dst, &mut bounds, &mut waiting, &mut injected, chunk)
                        .await
                    {
                        return PumpEnd::WriteFailed(e);
                    }
                }
                Err(e) => return PumpEnd::ReadFailed(e),
            }
        }
    }

    /// Writes `chunk` on, stopping at the first frame boundary to write what is waiting.
    async fn relay<W: AsyncWrite + Unpin>(
        &self,
        dst: &mut W,
        bounds: &mut FrameBoundaries,
        waiting: &mut VecDeque<Injection>,
        injected: &mut u64,
        chunk: &[u8],
    ) -> io::Result<()> {
        let mut closed = bounds.first_close().is_some();
        let mut at = 0;
        if !waiting.is_empty() && !chunk.is_empty() {
            at = bounds.advance_to_boundary(chunk);
            self.close_seen_in(bounds, &mut closed);
            self.write(dst, false, &chunk[..at]).await?;
            if bounds.at_boundary() {
                self.inject(dst, waiting, injected).await?;
            }
        }
        bounds.feed(&chunk[at..]);
        self.close_seen_in(bounds, &mut closed);
        self.write(dst, false, &chunk[at..]).await?;
        self.conn.set_frames(self.dir, bounds.frames() + *injected);
        Ok(())
    }

    /// Writes every waiting injection (the stream is at a frame boundary).
    async fn inject<W: AsyncWrite + Unpin>(
        &self,
        dst: &mut W,
        waiting: &mut VecDeque<Injection>,
        injected: &mut u64,
    ) -> io::Result<()> {
        while let Some(i) = waiting.pop_front() {
            let mut frame = FrameBoundaries::new();
            frame.feed(&i.bytes);
            if let Some(close) = frame.first_close() {
                self.close_seen(true, close.code);
            }
            self.write(dst, true, &i.bytes).await?;
            *injected += 1;
            tracing::info!(
                conn = self.conn.id,
                dir = self.dir.name(),
                "injected a {} frame",
                i.what.name()
            );
            self.hub.injected(self.conn, self.dir, i.what);
        }
        Ok(())
    }

    /// Records the relayed stream's first close frame once `bounds` has it
    /// (`reported` says whether it was already).
    fn close_seen_in(&self, bounds: &FrameBoundaries, reported: &mut bool) {
        if let Some(close) = bounds.first_close().filter(|_| !*reported) {
            *reported = true;
            self.close_seen(false, close.code);
        }
    }

    /// Records a close frame going this way (from the proxy when `injected`)
    /// and announces it when it is the first or the answer.
    fn close_seen(&self, injected: bool, code: Option<u16>) {
        if self.conn.close_sent(self.dir, injected, code) {
            self.conn.update(|i| i.state = State::Closing);
            self.hub.changed(self.conn);
        }
    }

    /// Writes bytes on, reports them to attached sockets and the frame log.
    async fn write<W: AsyncWrite + Unpin>(
        &self,
        dst: &mut W,
        injected: bool,
        bytes: &[u8],
    ) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.conn.chunk(self.dir, injected, bytes);
        if let Some(log) = self.log {
            lock(log).feed(self.dir, injected, bytes);
        }
        dst.write_all(bytes).await
    }
}
