//! A seeded faulty transport for the fault tests: an in-memory pipe end that
//! hands over data in random short pieces, says `Pending` at random, and fails
//! for good with an injected error at a seeded point; and seeded messages at
//! the frame-length boundaries. Shared by `tests/faults.rs` (the public
//! `WebSocket`) and the server session's fault tests (`src/server/session_faults.rs`,
//! through `#[path]`).
#![allow(dead_code)]

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use framewire_core::Message;
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

/// A small seeded PRNG (xorshift64*): reproducible faults without a dependency.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// When the transport fails, and how.
#[derive(Clone, Copy, Debug)]
pub struct Failure {
    /// Reads and writes (the calls that reach the inner pipe) before the failure.
    pub after_ops: u64,
    /// The error every call returns from then on.
    pub kind: io::ErrorKind,
}

impl Failure {
    /// The kinds injected: a reset, a broken pipe, another error.
    pub const KINDS: [io::ErrorKind; 3] = [
        io::ErrorKind::ConnectionReset,
        io::ErrorKind::BrokenPipe,
        io::ErrorKind::Other,
    ];

    /// A failure of a seeded kind after a seeded number of calls below `span`.
    pub fn seeded(rng: &mut Rng, span: u64) -> Self {
        let after_ops = rng.below(span);
        let kind = Self::KINDS[rng.below(Self::KINDS.len() as u64) as usize];
        Self { after_ops, kind }
    }
}

/// An in-memory transport that hands over data in random short pieces, says
/// `Pending` (after waking itself) at random, and fails for good at `fail`.
pub struct Faulty {
    inner: DuplexStream,
    rng: Rng,
    ops: u64,
    fail: Option<Failure>,
}

impl Faulty {
    pub fn new(inner: DuplexStream, seed: u64, fail: Option<Failure>) -> Self {
        Self {
            inner,
            rng: Rng::new(seed),
            ops: 0,
            fail,
        }
    }

    /// The fault of this call, if any: the injected error, or a wake-and-`Pending`.
    fn fault(&mut self, cx: &mut Context<'_>) -> Option<Poll<io::Result<()>>> {
        if let Some(f) = self.fail {
            if self.ops >= f.after_ops {
                return Some(Poll::Ready(Err(io::Error::new(
                    f.kind,
                    format!("injected {:?}", f.kind),
                ))));
            }
        }
        if self.rng.below(4) == 0 {
            cx.waker().wake_by_ref();
            return Some(Poll::Pending);
        }
        self.ops += 1;
        None
    }

    /// How many bytes of `len` this call may move: often few, sometimes all.
    fn piece(&mut self, len: usize) -> usize {
        let cap = match self.rng.below(16) {
            0 => 1,
            1 => 7,
            2..=5 => 1 + self.rng.below(300) as usize,
            6..=10 => 1 + self.rng.below(8192) as usize,
            _ => len,
        };
        len.min(cap).max(1)
    }
}

impl AsyncRead for Faulty {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(p) = self.fault(cx) {
            return p;
        }
        let n = self.piece(buf.remaining());
        let mut small = ReadBuf::new(buf.initialize_unfilled_to(n));
        let polled = Pin::new(&mut self.inner).poll_read(cx, &mut small);
        let got = small.filled().len();
        if let Poll::Ready(Ok(())) = polled {
            buf.advance(got);
        }
        polled
    }
}

impl AsyncWrite for Faulty {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(p) = self.fault(cx) {
            return p.map(|r| r.map(|()| 0));
        }
        let n = self.piece(data.len());
        Pin::new(&mut self.inner).poll_write(cx, &data[..n])
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(p) = self.fault(cx) {
            return p;
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(p) = self.fault(cx) {
            return p;
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// `count` messages of random kinds and sizes, frame-length boundaries
/// (125/126, 65,535/65,536) and the empty message among them.
pub fn messages(rng: &mut Rng, count: usize, tag: u8) -> Vec<Message> {
    const SIZES: [usize; 8] = [0, 1, 125, 126, 127, 65_535, 65_536, 70_001];
    (0..count)
        .map(|i| {
            let len = match rng.below(8) {
                0 => SIZES[rng.below(SIZES.len() as u64) as usize],
                1 | 2 => rng.below(4096) as usize,
                _ => rng.below(200) as usize,
            };
            // Compressible and not: a run of one byte, or noise.
            let noisy = rng.below(2) == 0;
            let mut bytes: Vec<u8> = (0..len)
                .map(|j| {
                    if noisy {
                        rng.next() as u8
                    } else {
                        (j % 7) as u8
                    }
                })
                .collect();
            if len > 0 {
                bytes[0] = tag;
            }
            if rng.below(2) == 0 {
                let text: String = bytes
                    .iter()
                    .map(|b| char::from(b'a' + b % 26))
                    .chain(format!("#{i}").chars())
                    .collect();
                Message::Text(text.into())
            } else {
                Message::Binary(bytes.into())
            }
        })
        .collect()
}
