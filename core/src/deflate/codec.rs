//! Per-message compression and decompression with the RFC 7692 framing rules.
//!
//! A connection holds no zlib state between messages. zlib-rs needs about 300 KiB for a
//! 15-bit deflate state (its hash head alone is a fixed 128 KiB, whatever the memory level)
//! and 42 KiB for an inflate state, so each thread keeps one of each ([`spare`]) and lends
//! it to a connection for one message at a time. What context takeover needs to survive
//! between messages is only the LZ77 window, the last plaintext: the connection keeps that
//! (its *history*) and the borrowed state starts each message with it as a preset
//! dictionary. The stream is the same one a long-lived state produces: every message ends
//! on a byte boundary after a sync flush, and a fresh compressor with the window preset
//! emits back-references into exactly the bytes the peer's inflater holds.
//!
//! The compressor's history may be shorter than its window (`history`): matches then reach
//! back only that far, which costs little on small messages and bounds the memory. The
//! decompressor's history must be the peer's whole window (`window_bits`), since the peer
//! may reach back that far.
//!
//! Taking a deflate state costs a reset (zlib-rs clears its 128 KiB hash head) and the
//! history as a dictionary (hashing every byte of it): on 1 KiB messages with 4 KiB of
//! history, more than compressing the message. So the spare remembers whose stream it
//! holds (the compressor and its message count): when the same compressor takes it next,
//! with no other message compressed on the thread in between, as when a connection echoes
//! several messages of one read, the state simply goes on, as a long-lived one would.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(feature = "small-inflate")]
use super::small_inflate::{Decompress, FlushDecompress, Status};
use flate2::{Compress, Compression, FlushCompress};
#[cfg(not(feature = "small-inflate"))]
use flate2::{Decompress, FlushDecompress, Status};

/// The empty stored block a sync flush ends with; removed from, and restored to, every message.
const TRAILER: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// Why a compressed message could not be inflated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InflateError {
    /// Inflating went over the message limit (a decompression bomb, or just too big).
    #[error("message inflates to more than the limit of {limit} bytes")]
    TooBig {
        /// The limit.
        limit: u64,
    },
    /// The bytes are not a valid deflate stream.
    #[error("compressed data is corrupt: {0}")]
    Corrupt(String),
}

/// The zlib states each thread lends to its connections, one message at a time.
pub mod spare {
    use super::*;

    /// Which compressor's stream a deflate state holds, after how many of its messages.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) struct Owner {
        /// The compressor's unique id.
        pub(super) id: u64,
        /// Messages it had compressed when it gave the state back.
        pub(super) messages: u64,
    }

    /// A spare deflate state: made for `level` and `bits`, holding `owner`'s stream if any.
    struct SpareDeflate {
        level: u32,
        bits: u8,
        owner: Option<Owner>,
        state: Compress,
    }

    thread_local! {
        /// This thread's spare deflate state.
        static DEFLATE: RefCell<Option<SpareDeflate>> = const { RefCell::new(None) };
        /// An inflate state (15-bit window: it decodes any smaller one).
        static INFLATE: RefCell<Option<Decompress>> = const { RefCell::new(None) };
    }

    /// A deflate state for `level` and `bits`, and whether it goes on with `owner`'s stream
    /// (the spare holds exactly that stream: no reset, no dictionary needed). Otherwise it
    /// is reset: this thread's spare if it fits, else new.
    pub(super) fn take_deflate(level: u32, bits: u8, owner: Option<Owner>) -> (Compress, bool) {
        let spare = DEFLATE.with(|s| s.try_borrow_mut().ok().and_then(|mut s| s.take()));
        match spare {
            Some(s) if s.level == level && s.bits == bits => {
                let mut c = s.state;
                let goes_on = owner.is_some() && s.owner == owner;
                if !goes_on {
                    c.reset();
                }
                (c, goes_on)
            }
            _ => (
                Compress::new_with_window_bits(Compression::new(level), false, bits),
                false,
            ),
        }
    }

    /// Gives a deflate state back, holding `owner`'s stream if any: it becomes this
    /// thread's spare.
    pub(super) fn give_deflate(level: u32, bits: u8, owner: Option<Owner>, c: Compress) {
        DEFLATE.with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                *s = Some(SpareDeflate {
                    level,
                    bits,
                    owner,
                    state: c,
                });
            }
        });
    }

    /// An inflate state, reset: this thread's spare if there is one, else new.
    pub(super) fn take_inflate() -> Decompress {
        let spare = INFLATE.with(|s| s.try_borrow_mut().ok().and_then(|mut s| s.take()));
        match spare {
            Some(mut d) => {
                d.reset(false);
                d
            }
            None => Decompress::new(false),
        }
    }

    /// Gives an inflate state back: it becomes this thread's spare.
    pub(super) fn give_inflate(d: Decompress) {
        INFLATE.with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                *s = Some(d);
            }
        });
    }

    /// Frees this thread's spare states (they are made again when next needed).
    pub fn release() {
        DEFLATE.with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                *s = None;
            }
        });
        INFLATE.with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                *s = None;
            }
        });
    }
}

/// Where an [`Decompressor::inflate_step`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The data is inflated and every byte it yields is out.
    Done,
    /// The budget is spent: `consumed` bytes of the data were taken, the rest (and
    /// output zlib still holds) waits for the next step.
    More {
        /// Bytes of the data taken in this step.
        consumed: usize,
    },
}

/// Inflated bytes written per zlib call, at most.
const CALL_OUTPUT: usize = 64 << 10;

/// Room asked of an empty buffer for the first zlib call: a message's output buffer starts
/// this small and doubles (a 1 KiB message must not leave 128 KiB reserved on its connection).
const FIRST_CALL_OUTPUT: usize = 4 << 10;

/// An output buffer grows by doubling up to this capacity; beyond it, to the limit at once.
pub const GROW_AT_ONCE: usize = 1 << 20;

/// Limits above this are never reserved at once (the buffer keeps doubling instead).
const RESERVE_LIMIT_MAX: u64 = 1 << 30;

/// Makes room for `more` bytes after `out`'s end, never past `limit` + 1 bytes in all.
///
/// Small buffers double (amortized copies); once past [`GROW_AT_ONCE`], the buffer is
/// reserved up to the limit in one step, so it is never copied again and never holds a
/// doubled capacity beyond the limit. The pages of that reservation that are never
/// written are never backed by memory on systems that commit lazily (Linux, macOS,
/// Windows' allocators for large blocks all map them on first touch).
fn grow(out: &mut Vec<u8>, more: usize, limit: u64) {
    let need = out.len() + more;
    if need <= out.capacity() {
        return;
    }
    // The caller asks for no more than the room up to `limit` + 1.
    let ceiling = usize::try_from(limit.saturating_add(1))
        .unwrap_or(usize::MAX)
        .max(need);
    let doubled = need.max(out.capacity().saturating_mul(2));
    let target = if need <= GROW_AT_ONCE {
        doubled.min(GROW_AT_ONCE).min(ceiling)
    } else if limit <= RESERVE_LIMIT_MAX {
        ceiling
    } else {
        doubled.min(ceiling)
    };
    out.reserve_exact(target - out.len());
}

/// Inflates `data` into `out` until it is all taken and its output is out (`Done`), or
/// `budget` bytes were written (`More`), or `out` went over `limit` (an error).
fn run(
    d: &mut Decompress,
    data: &[u8],
    out: &mut Vec<u8>,
    limit: u64,
    budget: usize,
) -> Result<Step, InflateError> {
    let start = out.len();
    let mut consumed = 0;
    loop {
        let written = out.len() - start;
        if written >= budget {
            return Ok(Step::More { consumed });
        }
        // One byte past the limit is room enough to see that the message is over it.
        let room = limit.saturating_add(1).saturating_sub(out.len() as u64);
        // Ask zlib for what `out` has room for, or for as much again as it holds (at least
        // FIRST_CALL_OUTPUT): small messages stay in small buffers, and the buffer doubles.
        let spare = out.capacity() - out.len();
        let chunk = if spare >= FIRST_CALL_OUTPUT {
            spare
        } else {
            out.len().max(FIRST_CALL_OUTPUT)
        };
        let space = (budget - written)
            .min(chunk)
            .min(CALL_OUTPUT)
            .min(usize::try_from(room).unwrap_or(usize::MAX));
        grow(out, space, limit);
        let at = out.len();
        out.resize(at + space, 0);
        let (before_in, before_out) = (d.total_in(), d.total_out());
        let status = d.decompress(&data[consumed..], &mut out[at..], FlushDecompress::Sync);
        let produced = (d.total_out() - before_out) as usize;
        out.truncate(at + produced);
        let status = status.map_err(|e| InflateError::Corrupt(e.to_string()))?;
        let took = (d.total_in() - before_in) as usize;
        consumed += took;
        if out.len() as u64 > limit {
            return Err(InflateError::TooBig { limit });
        }
        if status == Status::StreamEnd
            || (consumed == data.len() && produced < space)
            || (produced == 0 && took == 0)
        {
            return Ok(Step::Done);
        }
    }
}

/// Appends `new` to `history`, keeping at most its last `cap` bytes.
fn remember(history: &mut Vec<u8>, cap: usize, new: &[u8]) {
    if cap == 0 || new.is_empty() {
        return;
    }
    if history.capacity() < cap {
        history.reserve_exact(cap - history.len());
    }
    if new.len() >= cap {
        history.clear();
        history.extend_from_slice(&new[new.len() - cap..]);
        return;
    }
    let excess = (history.len() + new.len()).saturating_sub(cap);
    history.drain(..excess);
    history.extend_from_slice(new);
}

/// Source of [`Compressor`] ids (which stream a thread's spare state holds).
static NEXT_COMPRESSOR_ID: AtomicU64 = AtomicU64::new(0);

/// Compresses outgoing messages.
#[derive(Debug)]
pub struct Compressor {
    /// The borrowed zlib state while a message is open (between its first and last part).
    open: Option<Compress>,
    /// Unique among compressors: tags the spare state that holds this one's stream.
    id: u64,
    /// Messages compressed so far.
    messages: u64,
    level: u32,
    window_bits: u8,
    /// The last plaintext sent compressed, at most `history_cap` bytes (context takeover).
    history: Vec<u8>,
    history_cap: usize,
}

impl Compressor {
    /// A compressor with `level` (0-9) and a window of `window_bits` (8-15), which keeps
    /// the whole window as history between messages (as a long-lived zlib state would).
    pub fn new(level: u32, window_bits: u8, no_context_takeover: bool) -> Self {
        // zlib cannot write raw deflate with an 8-bit window; with 9 it never
        // reaches further back than 250 bytes, which an 8-bit window decodes.
        let window_bits = window_bits.clamp(9, 15);
        Self {
            open: None,
            id: NEXT_COMPRESSOR_ID.fetch_add(1, Ordering::Relaxed),
            messages: 0,
            level: level.min(9),
            window_bits,
            history: Vec::new(),
            history_cap: if no_context_takeover {
                0
            } else {
                1 << window_bits
            },
        }
    }

    /// Keeps at most `bytes` of history between messages (at most the window): a message
    /// refers back no further into earlier ones. 0 is no context takeover in effect.
    pub fn with_history(mut self, bytes: usize) -> Self {
        self.history_cap = self.history_cap.min(bytes);
        self
    }

    /// Bytes of plaintext kept between messages (the heap this compressor holds while idle).
    pub fn history_len(&self) -> usize {
        self.history.capacity()
    }

    /// True while a message is open and this compressor holds a zlib state.
    pub fn holds_state(&self) -> bool {
        self.open.is_some()
    }

    /// The compression level (0-9).
    pub fn level(&self) -> u32 {
        self.level
    }

    /// The window this compressor refers back within (9-15 bits).
    pub fn window_bits(&self) -> u8 {
        self.window_bits
    }

    /// Records `data` as sent by someone else's compressor (a shared frame,
    /// [`crate::prepared::PreparedMessage`]): the peer's window now ends with it,
    /// so the history must too for later messages to refer back correctly.
    pub fn note_sent(&mut self, data: &[u8]) {
        remember(&mut self.history, self.history_cap, data);
    }

    /// Appends the compressed form of `data` to `out`. `last` ends the message:
    /// the trailer is removed (at least one byte is left: an empty message is
    /// `0x00`), and the zlib state goes back to the thread's spare.
    pub fn compress(&mut self, data: &[u8], last: bool, out: &mut Vec<u8>) {
        let (level, bits) = (self.level, self.window_bits);
        let mut c = match self.open.take() {
            Some(c) => c,
            None => {
                let (mut c, goes_on) = spare::take_deflate(level, bits, self.owner());
                if !goes_on && !self.history.is_empty() {
                    // Only fails for a stream already started, which a reset one is not.
                    let _ = c.set_dictionary(&self.history);
                }
                c
            }
        };
        let start = out.len();
        let mut consumed = 0;
        loop {
            out.reserve((data.len() - consumed) / 2 + 64);
            let before = c.total_in();
            // Errors only come from misuse of the stream; with Sync they do not occur.
            if c.compress_vec(&data[consumed..], out, FlushCompress::Sync)
                .is_err()
            {
                break;
            }
            consumed += (c.total_in() - before) as usize;
            if consumed == data.len() && out.len() < out.capacity() {
                break;
            }
        }
        remember(&mut self.history, self.history_cap, data);
        if last {
            if out.len() >= start + 4 && out.ends_with(&TRAILER) {
                out.truncate(out.len() - 4);
            }
            if out.len() == start {
                // After a sync flush zlib writes nothing for an empty message, and an
                // empty payload plus the receiver's trailer opens a stored block that
                // swallows what follows: send RFC 7692 section 7.2.3.6's empty block.
                out.push(0);
            }
            self.messages += 1;
            spare::give_deflate(level, bits, self.owner(), c);
        } else {
            self.open = Some(c);
        }
    }

    /// How the thread's spare state is tagged when it holds this compressor's stream; none
    /// without context takeover (every message starts afresh).
    fn owner(&self) -> Option<spare::Owner> {
        (self.history_cap > 0).then_some(spare::Owner {
            id: self.id,
            messages: self.messages,
        })
    }
}

/// Inflates incoming messages.
#[derive(Debug)]
pub struct Decompressor {
    /// The borrowed zlib state while a message is open (between its first frame and `finish`).
    open: Option<Decompress>,
    /// Bytes of the trailer [`Self::finish_step`] has fed in this message's last steps.
    trailer_fed: usize,
    no_context_takeover: bool,
    /// The last plaintext received compressed: the peer's window (context takeover).
    history: Vec<u8>,
    history_cap: usize,
}

impl Decompressor {
    /// A decompressor for a peer that compresses with a window of up to 15 bits.
    pub fn new(no_context_takeover: bool) -> Self {
        Self::with_window_bits(15, no_context_takeover)
    }

    /// A decompressor for a peer that compresses with a window of up to `window_bits`
    /// (8-15): with context takeover it keeps that much history between messages.
    pub fn with_window_bits(window_bits: u8, no_context_takeover: bool) -> Self {
        Self {
            open: None,
            trailer_fed: 0,
            no_context_takeover,
            history: Vec::new(),
            history_cap: if no_context_takeover {
                0
            } else {
                1 << window_bits.clamp(8, 15)
            },
        }
    }

    /// Bytes of plaintext kept between messages (the heap this decompressor holds while idle).
    pub fn history_len(&self) -> usize {
        self.history.capacity()
    }

    /// True while a message is open and this decompressor holds a zlib state.
    pub fn holds_state(&self) -> bool {
        self.open.is_some()
    }

    /// Inflates one frame's payload, appending to `out`, which must stay within `limit` bytes.
    pub fn inflate(
        &mut self,
        data: &[u8],
        out: &mut Vec<u8>,
        limit: u64,
    ) -> Result<(), InflateError> {
        let mut consumed = 0;
        loop {
            match self.inflate_step(&data[consumed..], out, limit, usize::MAX)? {
                Step::Done => return Ok(()),
                Step::More { consumed: n } => consumed += n,
            }
        }
    }

    /// Inflates at most `budget` bytes of one frame's payload into `out` (which must stay
    /// within `limit` bytes), so that a host can let other connections run between steps.
    ///
    /// [`Step::More`] says how much of `data` was taken: call again with the rest (which
    /// may be empty while inflated bytes are still pending), until [`Step::Done`].
    /// Memory: `out` grows by doubling up to [`GROW_AT_ONCE`], then is reserved up to
    /// `limit` in one step (the OS backs only the pages written, nothing is copied
    /// again); it never holds more than `limit` plus one byte.
    pub fn inflate_step(
        &mut self,
        data: &[u8],
        out: &mut Vec<u8>,
        limit: u64,
        budget: usize,
    ) -> Result<Step, InflateError> {
        let mut d = match self.open.take() {
            Some(d) => d,
            None => {
                let mut d = spare::take_inflate();
                if !self.history.is_empty() {
                    d.set_dictionary(&self.history)
                        .map_err(|e| InflateError::Corrupt(e.to_string()))?;
                }
                d
            }
        };
        let start = out.len();
        // After an error the stream is broken: the connection fails, and the state is not reused.
        let step = run(&mut d, data, out, limit, budget.max(1))?;
        remember(&mut self.history, self.history_cap, &out[start..]);
        self.open = Some(d);
        Ok(step)
    }

    /// Ends a message: inflates the implied trailer and gives the zlib state back to the
    /// thread's spare (after an error it is dropped, and so is the history).
    pub fn finish(&mut self, out: &mut Vec<u8>, limit: u64) -> Result<(), InflateError> {
        let r = self.inflate(&TRAILER, out, limit);
        self.end(r.is_ok());
        r
    }

    /// [`Self::finish`] in steps of at most `budget` inflated bytes: `Ok(false)` while
    /// output is pending (call again), `Ok(true)` once the message is whole.
    pub fn finish_step(
        &mut self,
        out: &mut Vec<u8>,
        limit: u64,
        budget: usize,
    ) -> Result<bool, InflateError> {
        // Once the trailer is in, the steps after it feed nothing: zlib only hands out
        // what it holds.
        let rest = &TRAILER[self.trailer_fed..];
        match self.inflate_step(rest, out, limit, budget) {
            Ok(Step::More { consumed }) => {
                self.trailer_fed += consumed;
                Ok(false)
            }
            Ok(Step::Done) => {
                self.end(true);
                Ok(true)
            }
            Err(e) => {
                self.end(false);
                Err(e)
            }
        }
    }

    /// Gives the zlib state back after a message (dropped after an error, with the history).
    fn end(&mut self, ok: bool) {
        self.trailer_fed = 0;
        match (ok, self.open.take()) {
            (true, Some(d)) => spare::give_inflate(d),
            _ => self.history = Vec::new(),
        }
        if self.no_context_takeover {
            self.history.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(c: &mut Compressor, d: &mut Decompressor, msg: &[u8]) -> Vec<u8> {
        let mut wire = Vec::new();
        c.compress(msg, true, &mut wire);
        let mut out = Vec::new();
        d.inflate(&wire, &mut out, 1 << 30).unwrap();
        d.finish(&mut out, 1 << 30).unwrap();
        out
    }

    #[test]
    fn rfc7692_hello_example() {
        // Section 7.2.3.1: "Hello" compressed in one frame.
        let wire = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let mut d = Decompressor::new(false);
        let mut out = Vec::new();
        d.inflate(&wire, &mut out, 100).unwrap();
        d.finish(&mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
        let mut c = Compressor::new(6, 15, false);
        let mut mine = Vec::new();
        c.compress(b"Hello", true, &mut mine);
        assert_eq!(mine, wire);
    }

    #[test]
    fn context_takeover_shrinks_repeats() {
        let msg = br#"{"user":"alice","action":"update","value":[1,2,3,4,5,6,7,8]}"#;
        let mut c = Compressor::new(6, 15, false);
        let mut d = Decompressor::new(false);
        let mut first = Vec::new();
        c.compress(msg, true, &mut first);
        let mut second = Vec::new();
        c.compress(msg, true, &mut second);
        assert!(
            second.len() < first.len() / 2,
            "{} vs {}",
            second.len(),
            first.len()
        );
        for wire in [first, second] {
            let mut out = Vec::new();
            d.inflate(&wire, &mut out, 1000).unwrap();
            d.finish(&mut out, 1000).unwrap();
            assert_eq!(out, msg);
        }
        let mut c = Compressor::new(6, 15, true);
        let mut d = Decompressor::new(true);
        for _ in 0..3 {
            assert_eq!(roundtrip(&mut c, &mut d, msg), msg);
        }
    }

    #[test]
    fn window_bits_8_to_15_round_trip() {
        let text: Vec<u8> = (0..20_000u32)
            .map(|i| b"abcdefghij"[(i * 7 % 10) as usize] ^ (i / 300) as u8)
            .collect();
        for bits in 8..=15 {
            let mut c = Compressor::new(9, bits, false);
            let mut d = Decompressor::new(false);
            assert_eq!(roundtrip(&mut c, &mut d, &text), text, "window {bits}");
        }
    }

    /// `msgs` compressed in turn by one long-lived zlib state (what a spare that goes on
    /// with one compressor's stream must write).
    fn long_lived(msgs: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut c = Compress::new_with_window_bits(Compression::new(1), false, 15);
        msgs.iter()
            .map(|m| {
                let mut out = Vec::with_capacity(4096);
                c.compress_vec(m, &mut out, FlushCompress::Sync).unwrap();
                out.truncate(out.len() - 4);
                out
            })
            .collect()
    }

    #[test]
    fn the_spare_state_goes_on_only_with_the_stream_it_holds() {
        let msgs: Vec<Vec<u8>> = (0..6)
            .map(|i| {
                format!(r#"{{"seq":{i},"user":"alice","text":"hello there, number {i}"}}"#)
                    .into_bytes()
            })
            .collect();
        let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
        let reference = long_lived(&refs);
        let mut a = Compressor::new(1, 15, false);
        let mut b = Compressor::new(1, 15, false);
        let mut da = Decompressor::new(false);
        let mut db = Decompressor::new(false);
        let send = |c: &mut Compressor, d: &mut Decompressor, m: &[u8]| {
            let mut wire = Vec::new();
            c.compress(m, true, &mut wire);
            let mut out = Vec::new();
            d.inflate(&wire, &mut out, 1 << 20).unwrap();
            d.finish(&mut out, 1 << 20).unwrap();
            assert_eq!(out, m);
            wire
        };
        // Back to back, A's messages are what one long-lived state writes.
        assert_eq!(send(&mut a, &mut da, refs[0]), reference[0]);
        assert_eq!(send(&mut a, &mut da, refs[1]), reference[1]);
        // B takes the spare in between: A starts again from its history, and still decodes.
        send(&mut b, &mut db, refs[0]);
        send(&mut a, &mut da, refs[2]);
        // A message compressed on another thread leaves this thread's spare stale for A.
        std::thread::scope(|s| {
            s.spawn(|| send(&mut a, &mut da, refs[3]));
        });
        send(&mut a, &mut da, refs[4]);
        send(&mut b, &mut db, refs[1]);
        send(&mut a, &mut da, refs[5]);
    }

    #[test]
    fn without_context_takeover_the_spare_never_goes_on() {
        let msg = br#"{"user":"alice","action":"update","value":[1,2,3,4,5,6,7,8]}"#;
        let mut c = Compressor::new(1, 15, true);
        let mut first = Vec::new();
        c.compress(msg, true, &mut first);
        let mut second = Vec::new();
        c.compress(msg, true, &mut second);
        assert_eq!(
            first, second,
            "the second message must not refer to the first"
        );
    }

    #[test]
    fn bomb_is_stopped_at_the_limit() {
        let zeros = vec![0u8; 10 << 20];
        let mut c = Compressor::new(9, 15, false);
        let mut wire = Vec::new();
        c.compress(&zeros, true, &mut wire);
        assert!(wire.len() < 20_000);
        let mut d = Decompressor::new(false);
        let mut out = Vec::new();
        assert_eq!(
            d.inflate(&wire, &mut out, 1 << 20),
            Err(InflateError::TooBig { limit: 1 << 20 })
        );
        assert!(
            out.capacity() <= (1 << 20) + 1,
            "memory never goes past the limit: {}",
            out.capacity()
        );
    }

    #[test]
    fn a_bomb_never_grows_the_output_past_the_limit_plus_one() {
        // The doubling used to reserve twice the limit once the message reached it.
        let zeros = vec![0u8; 40 << 20];
        let mut c = Compressor::new(6, 15, false);
        let mut wire = Vec::new();
        c.compress(&zeros, true, &mut wire);
        for limit in [1000u64, (1 << 20) - 1, 1 << 20, 3 << 20, 32 << 20] {
            let mut d = Decompressor::new(false);
            let mut out = Vec::new();
            assert_eq!(
                d.inflate(&wire, &mut out, limit),
                Err(InflateError::TooBig { limit })
            );
            assert!(
                out.capacity() as u64 <= limit + 1,
                "limit {limit}: capacity {}",
                out.capacity()
            );
        }
    }

    #[test]
    fn inflate_step_writes_at_most_its_budget_and_resumes_where_it_stopped() {
        let text: Vec<u8> = (0..200_000u32).map(|i| (i % 7) as u8 + b'a').collect();
        let mut c = Compressor::new(6, 15, false);
        let mut wire = Vec::new();
        c.compress(&text, true, &mut wire);
        let mut d = Decompressor::new(false);
        let (mut out, mut at, mut steps) = (Vec::new(), 0, 0);
        loop {
            let before = out.len();
            let step = d
                .inflate_step(&wire[at..], &mut out, 1 << 20, 10_000)
                .unwrap();
            assert!(out.len() - before <= 10_000);
            steps += 1;
            match step {
                Step::Done => break,
                Step::More { consumed } => at += consumed,
            }
        }
        while !d.finish_step(&mut out, 1 << 20, 10_000).unwrap() {
            steps += 1;
        }
        assert_eq!(out, text);
        assert!(steps >= 20, "{steps} steps");
    }

    #[test]
    fn interleaved_streams_on_one_thread_keep_their_context() {
        // Three streams borrow this thread's spare states in turn, with messages left open
        // (first half sent or inflated) while the others send and inflate whole messages.
        let msg = |s: usize, i: usize| {
            format!(
                r#"{{"stream":{s},"seq":{i},"keys":["alpha","beta","gamma"],"pad":"{}"}}"#,
                "xy".repeat(i * 37 % 200)
            )
        };
        let mut c: Vec<Compressor> = (0..3).map(|_| Compressor::new(1, 15, false)).collect();
        let mut d: Vec<Decompressor> = (0..3)
            .map(|_| Decompressor::with_window_bits(15, false))
            .collect();
        let mut c_small = Compressor::new(1, 10, false).with_history(300);
        let mut d_small = Decompressor::with_window_bits(10, false);
        for i in 0..20 {
            let m0 = msg(0, i);
            let (a, b) = m0.as_bytes().split_at(m0.len() / 2);
            let mut w0 = Vec::new();
            c[0].compress(a, false, &mut w0);
            assert!(c[0].holds_state());
            let cut = w0.len();
            let mut out0 = Vec::new();
            d[0].inflate(&w0[..cut], &mut out0, 1 << 20).unwrap();
            for s in 1..3 {
                let m = msg(s, i);
                assert_eq!(roundtrip(&mut c[s], &mut d[s], m.as_bytes()), m.as_bytes());
                assert!(!c[s].holds_state() && !d[s].holds_state());
            }
            let m = msg(3, i);
            assert_eq!(
                roundtrip(&mut c_small, &mut d_small, m.as_bytes()),
                m.as_bytes()
            );
            c[0].compress(b, true, &mut w0);
            d[0].inflate(&w0[cut..], &mut out0, 1 << 20).unwrap();
            d[0].finish(&mut out0, 1 << 20).unwrap();
            assert_eq!(out0, m0.as_bytes());
            assert!(c_small.history_len() <= 300 && d_small.history_len() <= 1024);
        }
        spare::release();
    }

    #[test]
    fn corrupt_stream_is_an_error() {
        let mut d = Decompressor::new(false);
        let mut out = Vec::new();
        assert!(matches!(
            d.inflate(&[0xff, 0xff, 0xff], &mut out, 100),
            Err(InflateError::Corrupt(_))
        ));
    }
}
