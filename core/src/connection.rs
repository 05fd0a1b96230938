//! The connection state machine: bytes in, events out, bytes to send queued.

use std::ops::Range;
use std::time::Duration;

use bytes::Bytes;
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use crate::close::{parse_close_payload, CloseCode};
use crate::config::Config;
use crate::deflate::{Compressor, Decompressor, DeflateConfig, Negotiated, Step};
use crate::error::ProtocolError;
use crate::frame::{decode_frame, Decoded, FrameHeader};
use crate::mask::apply_mask;
use crate::opcode::{DataKind, OpCode};
use crate::payload::Utf8Bytes;
use crate::prepared::PreparedMessage;
use crate::role::Role;
use crate::rules::{check_header, RuleContext};
use crate::sender::{CloseState, SendError, Sender};
use crate::utf8::Utf8Validator;

mod park;

pub use park::Parked;

/// Input and message buffers above this capacity are released once drained.
const KEEP_CAPACITY: usize = 1 << 20;

/// Something the peer sent, borrowed from the connection's buffers until the next poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A whole text message, validated as UTF-8.
    Text(&'a str),
    /// A whole binary message.
    Binary(&'a [u8]),
    /// A ping; the pong is already queued.
    Ping(&'a [u8]),
    /// A pong.
    Pong(&'a [u8]),
    /// The peer's close frame. The echo is already queued if we had not closed first.
    Close {
        /// The code, if the frame had one.
        code: Option<CloseCode>,
        /// The reason (may be empty).
        reason: &'a str,
    },
}

/// What permessage-deflate holds on a connection ([`Connection::deflate_footprint`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateFootprint {
    /// zlib states held (0 between messages; they are lent by the thread per message).
    pub zlib_states: usize,
    /// Bytes reserved for the history of both directions (context takeover).
    pub history_bytes: usize,
}

/// An owned message: what [`Connection::poll_message`] hands over, and what
/// hosts pass on and send.
///
/// Payloads are [`Bytes`] (text: [`Utf8Bytes`], UTF-8 checked), so passing a
/// message to many receivers clones a reference count, not the payload. The
/// close reason stays a `String`: at most 123 bytes, and rarely passed on.
/// Exhaustive on purpose: its variants are RFC 6455's kinds of message, which
/// do not grow, and a sender must handle each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Text.
    Text(Utf8Bytes),
    /// Binary.
    Binary(Bytes),
    /// Ping payload.
    Ping(Bytes),
    /// Pong payload.
    Pong(Bytes),
    /// Close code and reason.
    Close(Option<CloseCode>, String),
}

impl Message {
    /// A text message (`String` and `Utf8Bytes` are taken without copying, `&str` is copied).
    pub fn text(text: impl Into<Utf8Bytes>) -> Self {
        Message::Text(text.into())
    }

    /// A binary message (`Vec<u8>`, `Bytes` and `&'static [u8]` are taken without
    /// copying; copy other slices with `Bytes::copy_from_slice`).
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Message::Binary(data.into())
    }

    /// The payload's length in bytes (for a close: the reason's).
    pub fn len(&self) -> usize {
        match self {
            Message::Text(t) => t.len(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b.len(),
            Message::Close(_, reason) => reason.len(),
        }
    }

    /// True when the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Event<'_> {
    /// Copies the event out of the connection's buffers. To take a reassembled
    /// message without copying it, use [`Connection::poll_message`] instead.
    pub fn to_message(&self) -> Message {
        match *self {
            Event::Text(t) => Message::Text(Utf8Bytes::from(t)),
            Event::Binary(b) => Message::Binary(Bytes::copy_from_slice(b)),
            Event::Ping(b) => Message::Ping(Bytes::copy_from_slice(b)),
            Event::Pong(b) => Message::Pong(Bytes::copy_from_slice(b)),
            Event::Close { code, reason } => Message::Close(code, reason.to_owned()),
        }
    }
}

/// A fragmented message being reassembled.
#[derive(Debug)]
struct Partial {
    kind: DataKind,
    fragments: u32,
    utf8: Utf8Validator,
    compressed: bool,
}

/// A compressed frame being inflated in steps. It stays at the start of the input (unmasked
/// in place) until it is done, so it is located relative to `input.start`, which survives
/// the input buffer's compaction.
#[derive(Debug)]
struct Inflating {
    /// The frame's length, header included.
    frame_len: usize,
    /// Where its payload starts, from the frame's first byte.
    payload_at: usize,
    /// Payload bytes inflated so far.
    consumed: usize,
    /// True once the payload is all in and only the end of the message (if `fin`) is left.
    payload_done: bool,
    fin: bool,
}

/// The receiving side of permessage-deflate: the decompressor and the frame it is on.
#[derive(Debug)]
struct Inflater {
    decompressor: Decompressor,
    frame: Option<Inflating>,
}

/// What is known of the incomplete text frame at the start of the input: how much
/// of its payload is unmasked in place and validated, and the validator after it.
#[derive(Debug)]
struct TextPeek {
    unmasked: usize,
    utf8: Utf8Validator,
}

/// Where the last returned event's bytes live, released at the next poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    Nothing,
    Input(usize),
    Message,
}

#[derive(Debug, Default)]
struct Input {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

#[derive(Debug, Default)]
struct Timers {
    now: Option<Duration>,
    last_rx: Duration,
    received: bool,
    last_ping: Duration,
    close_sent_at: Option<Duration>,
}

impl Timers {
    /// When the next keepalive ping is due: `every` after the later of the last
    /// input seen and the last ping sent.
    fn ping_due(&self, every: Duration) -> Duration {
        self.last_rx.max(self.last_ping) + every
    }

    /// The next deadline of an open connection with no close sent: the idle
    /// timeout or the keepalive ping.
    fn open_deadline(&self, config: &Config) -> Option<Duration> {
        self.now?;
        let idle = config.idle_timeout.map(|d| self.last_rx + d);
        let ping = config.ping_interval.map(|d| self.ping_due(d));
        idle.into_iter().chain(ping).min()
    }
}

/// A WebSocket connection after the opening handshake, for either role.
///
/// Drive it with [`Connection::feed`] (or [`Connection::input_buffer`] and
/// [`Connection::commit_input`]), then call [`Connection::poll_event`] until it
/// returns `Ok(None)`, then write [`Connection::pending_output`]. Call
/// [`Connection::handle_timeout`] once at the start and whenever
/// [`Connection::poll_timeout`] passes. Send with the `send_*` methods and
/// [`Connection::close`]; they queue bytes for [`Connection::pending_output`].
#[derive(Debug)]
pub struct Connection {
    role: Role,
    config: Config,
    input: Input,
    held: Held,
    partial: Option<Partial>,
    peek: Option<TextPeek>,
    message: Vec<u8>,
    /// Boxed: most connections never negotiate compression.
    inflater: Option<Box<Inflater>>,
    failure: Option<ProtocolError>,
    timers: Timers,
    tx: Sender,
}

impl Connection {
    /// A server-side connection.
    pub fn server(config: Config) -> Self {
        Self::with_rng(Role::Server, config, None)
    }

    /// A client-side connection; its mask keys come from a ChaCha8 stream seeded by the OS.
    pub fn client(config: Config) -> Result<Self, getrandom::Error> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed)?;
        Ok(Self::client_with_seed(config, seed))
    }

    /// A client-side connection whose mask keys come from `seed` (for tests and replay).
    pub fn client_with_seed(config: Config, seed: [u8; 32]) -> Self {
        Self::with_rng(Role::Client, config, Some(ChaCha8Rng::from_seed(seed)))
    }

    fn with_rng(role: Role, config: Config, rng: Option<ChaCha8Rng>) -> Self {
        let tx = Sender::new(rng, config.limits.max_pending_output);
        Self::assemble(role, config, tx, None, Timers::default())
    }

    /// A connection with nothing received or buffered, from its parts.
    fn assemble(
        role: Role,
        config: Config,
        tx: Sender,
        inflater: Option<Box<Inflater>>,
        timers: Timers,
    ) -> Self {
        Self {
            role,
            config,
            input: Input::default(),
            held: Held::Nothing,
            partial: None,
            peek: None,
            message: Vec::new(),
            inflater,
            failure: None,
            timers,
            tx,
        }
    }

    /// Our role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Allows RSV bits on the first frame of data messages (set by a negotiated extension).
    pub fn set_rsv_on_message_start(&mut self, bits: u8) {
        self.tx.set_rsv_on_message_start(bits);
    }

    /// True once the close handshake is over or the connection failed.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Where the close handshake stands.
    pub fn close_state(&self) -> CloseState {
        self.tx.close_state()
    }

    /// Queues a whole text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.tx.send_text(text)
    }

    /// Queues a whole binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.tx.send_binary(data)
    }

    /// Queues a message encoded once for many connections, sharing its frame
    /// instead of copying it (see [`Sender::send_prepared`]).
    pub fn send_prepared(&mut self, msg: &PreparedMessage) -> Result<(), SendError> {
        self.tx.send_prepared(msg)
    }

    /// Queues one fragment of a message; the first fragment opens it, `fin` ends it.
    pub fn send_fragment(
        &mut self,
        kind: DataKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), SendError> {
        self.tx.send_fragment(kind, data, fin)
    }

    /// Queues a ping (at most 125 bytes).
    pub fn send_ping(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.tx.send_ping(data)
    }

    /// Queues an unsolicited pong (pongs to pings are automatic).
    pub fn send_pong(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.tx.send_pong(data)
    }

    /// Starts the close handshake with `code` and `reason`.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.tx.close(code, reason)
    }

    /// Bytes waiting to be written, echoed payloads written from the input buffer included.
    pub fn pending_len(&self) -> usize {
        self.tx.pending_len()
    }

    /// Marks `n` bytes of [`Self::pending_output`] (or of
    /// [`Self::pending_output_vectored`], in order) as written.
    pub fn consume_output(&mut self, n: usize) {
        self.tx.consume_output(n);
    }

    /// Turns vectored output on or off (default off).
    ///
    /// With it on, a text or binary payload of 2 KiB or more that the host
    /// sends back as it was received (the `&str`/`&[u8]` of the event itself,
    /// as an echo does) is not copied: it is written straight from the input
    /// buffer. The host must then take output from [`Self::pending_output`] or
    /// [`Self::pending_output_vectored`] (not from the [`Sender`] alone) and
    /// should write it all before reading more; reading first costs the copy.
    pub fn set_vectored_output(&mut self, on: bool) {
        if !on {
            self.materialize();
        }
        self.tx.set_vectored(on);
    }

    /// The next bytes to write, in order; empty when nothing is pending.
    ///
    /// Write them, call [`Self::consume_output`], and repeat until empty.
    pub fn pending_output(&self) -> &[u8] {
        if self.tx.has_shared() {
            return self.tx.segments().next().unwrap_or_default();
        }
        let (before, after) = self.tx.output_parts();
        match self.tx.borrowed_range() {
            Some(range) if before.is_empty() => &self.input.buf[range],
            _ if !before.is_empty() => before,
            _ => after,
        }
    }

    /// All pending output as up to three slices to write in order (for
    /// `write_vectored`); then call [`Self::consume_output`] with the bytes written.
    ///
    /// With shared frames queued ([`Self::send_prepared`]) these are the first
    /// three parts; [`Self::pending_output_slices`] gives more at once.
    pub fn pending_output_vectored(&self) -> [&[u8]; 3] {
        if self.tx.has_shared() {
            let mut parts: [&[u8]; 3] = [&[]; 3];
            self.pending_output_slices(&mut parts);
            return parts;
        }
        let (before, after) = self.tx.output_parts();
        let payload = match self.tx.borrowed_range() {
            Some(range) => &self.input.buf[range],
            None => &[],
        };
        [before, payload, after]
    }

    /// Fills `dst` with the first pending output slices in order (shared frames
    /// queued by [`Self::send_prepared`] each have their own) and says how many
    /// it filled; write them, then call [`Self::consume_output`] with the bytes written.
    pub fn pending_output_slices<'a>(&'a self, dst: &mut [&'a [u8]]) -> usize {
        let mut n = 0;
        if self.tx.has_shared() {
            for (slot, part) in dst.iter_mut().zip(self.tx.segments()) {
                *slot = part;
                n += 1;
            }
            return n;
        }
        let parts = self.pending_output_vectored();
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            let Some(slot) = dst.get_mut(n) else { break };
            *slot = part;
            n += 1;
        }
        n
    }

    /// True while an echoed payload waits in the input buffer (see
    /// [`Self::set_vectored_output`]): reading more now would copy it.
    pub fn output_borrows_input(&self) -> bool {
        self.tx.borrowed_range().is_some()
    }

    /// Copies an echoed payload still waiting in the input buffer into the output queue.
    fn materialize(&mut self) {
        if let Some(range) = self.tx.borrowed_range() {
            self.tx.materialize(&self.input.buf[range]);
        }
    }

    /// Copies received bytes in. Bytes after the connection closed are dropped.
    pub fn feed(&mut self, data: &[u8]) {
        let buf = self.input_buffer(data.len());
        buf[..data.len()].copy_from_slice(data);
        self.commit_input(data.len());
    }

    /// A writable region of at least `min` bytes to read into; then call [`Self::commit_input`].
    pub fn input_buffer(&mut self, min: usize) -> &mut [u8] {
        self.release_held();
        if self.tx.borrowed_range().is_some() {
            if self.input.buf.len() - self.input.end >= min {
                return &mut self.input.buf[self.input.end..];
            }
            self.materialize();
            self.reset_drained_input();
        }
        let input = &mut self.input;
        if input.buf.len() - input.end < min {
            if input.start > 0 {
                input.buf.copy_within(input.start..input.end, 0);
                input.end -= input.start;
                input.start = 0;
            }
            if input.buf.len() - input.end < min {
                input.buf.resize(input.end + min, 0);
            }
        }
        &mut input.buf[input.end..]
    }

    /// Records that `n` bytes were written into [`Self::input_buffer`].
    pub fn commit_input(&mut self, n: usize) {
        if self.is_closed() {
            return;
        }
        self.input.end = (self.input.end + n).min(self.input.buf.len());
        self.timers.received |= n > 0;
    }

    /// True when the last poll stopped with work left that needs no input: a compressed
    /// message inflates at most [`crate::Limits::inflate_step`] bytes per poll. Poll again
    /// (after letting other work run) before waiting for input.
    pub fn has_pending_work(&self) -> bool {
        self.inflating() && self.failure.is_none() && !self.is_closed()
    }

    /// True while a compressed frame is inflating (in steps, at the start of the input).
    fn inflating(&self) -> bool {
        self.inflater.as_ref().is_some_and(|i| i.frame.is_some())
    }

    /// Bytes received but not yet decoded into events.
    pub fn buffered_input(&self) -> usize {
        self.input.end - self.input.start
    }

    /// True when the buffered input starts with a frame that is not whole yet and
    /// within [`crate::Limits::max_frame_payload`]: only more input makes progress
    /// (a host that caps reading ahead at some size must read past it to finish
    /// a larger frame). False with a whole frame buffered, while inflating, or
    /// once closed.
    pub fn wants_input(&self) -> bool {
        if self.inflating() || self.tx.is_closed() {
            return false;
        }
        match decode_frame(&self.input.buf[self.input.start..self.input.end]) {
            Decoded::Incomplete { .. } => true,
            Decoded::HeaderOnly { header, .. } => {
                header.payload_len <= self.config.limits.max_frame_payload
            }
            Decoded::Frame(_) => false,
        }
    }

    /// The next event, `Ok(None)` when more input is needed, or the violation
    /// that failed the connection (reported once; the close frame is queued).
    pub fn poll_event(&mut self) -> Result<Option<Event<'_>>, ProtocolError> {
        Ok(self.poll_event_and_sender()?.map(|(e, _)| e))
    }

    /// Like [`Self::poll_event`], also lending the [`Sender`] so a host can answer
    /// (an echo, say) without copying the event.
    pub fn poll_event_and_sender(
        &mut self,
    ) -> Result<Option<(Event<'_>, &mut Sender)>, ProtocolError> {
        match self.poll_ready()? {
            Some(ready) => Ok(Some(self.event_for(ready))),
            None => Ok(None),
        }
    }

    /// Like [`Self::poll_event`], but owned: a message reassembled from
    /// fragments or inflated is handed over in the buffer it was assembled in
    /// (no copy; the connection starts a new buffer for the next one), and an
    /// unfragmented one, which lies in the input buffer, is copied once.
    pub fn poll_message(&mut self) -> Result<Option<Message>, ProtocolError> {
        let Some(ready) = self.poll_ready()? else {
            return Ok(None);
        };
        let bytes = match ready.source {
            Source::Input => Bytes::copy_from_slice(&self.input.buf[ready.range]),
            Source::Message => Bytes::from(std::mem::take(&mut self.message)).slice(ready.range),
        };
        Ok(Some(match ready.kind {
            // The receive path validated the text; a failure would be a bug,
            // shown as empty text rather than a panic.
            ReadyKind::Text => Message::Text(Utf8Bytes::try_from(bytes).unwrap_or_default()),
            ReadyKind::Binary => Message::Binary(bytes),
            ReadyKind::Ping => Message::Ping(bytes),
            ReadyKind::Pong => Message::Pong(bytes),
            ReadyKind::Close(code) => Message::Close(code, validated_str(&bytes).to_owned()),
        }))
    }

    /// Decodes frames up to the next event and says where its bytes lie.
    fn poll_ready(&mut self) -> Result<Option<Ready>, ProtocolError> {
        self.release_held();
        if let Some(e) = self.failure.take() {
            return Err(e);
        }
        loop {
            if self.tx.is_closed() {
                return Ok(None);
            }
            if self.inflating() {
                // A step of the peer's message counts as input: the idle timeout
                // must not fire while a large message inflates in steps.
                self.timers.received = true;
                match self.inflate_more() {
                    Err(e) => return Err(self.fail(e)),
                    Ok(Some(ready)) => {
                        self.held = Held::Message;
                        return Ok(Some(ready));
                    }
                    // The step's budget is spent: the host lets others run first.
                    Ok(None) if self.inflating() => return Ok(None),
                    Ok(None) => continue,
                }
            }
            let window = &self.input.buf[self.input.start..self.input.end];
            let (header, len) = match decode_frame(window) {
                Decoded::Incomplete { .. } => return Ok(None),
                Decoded::HeaderOnly { header, .. } => {
                    self.check(&header)?;
                    self.check_partial_text(&header)?;
                    return Ok(None);
                }
                Decoded::Frame(f) => (f.header, f.len),
            };
            self.check(&header)?;
            let at = self.input.start;
            let payload = at + header.header_len()..at + len;
            let unmasked = self.peek.take().map_or(0, |p| p.unmasked);
            if let Some(key) = header.mask {
                apply_mask(
                    &mut self.input.buf[payload.start + unmasked..payload.end],
                    key,
                    unmasked,
                );
            }
            if let Some(ready) = self.handle_frame(&header, payload, len)? {
                return Ok(Some(ready));
            }
        }
    }

    /// Validates the part of an incomplete, uncompressed text frame that has arrived,
    /// so invalid UTF-8 fails the connection as soon as the bytes proving it are in,
    /// not when the frame ends.
    fn check_partial_text(&mut self, header: &FrameHeader) -> Result<(), ProtocolError> {
        let is_text = match header.opcode() {
            Some(OpCode::Text) => !header.rsv1,
            Some(OpCode::Continuation) => self
                .partial
                .as_ref()
                .is_some_and(|p| p.kind == DataKind::Text && !p.compressed),
            _ => false,
        };
        if !is_text {
            return Ok(());
        }
        let start = self.input.start + header.header_len();
        let partial = &self.partial;
        let peek = self.peek.get_or_insert_with(|| TextPeek {
            unmasked: 0,
            utf8: partial
                .as_ref()
                .map_or_else(Utf8Validator::new, |p| p.utf8.clone()),
        });
        let arrived = &mut self.input.buf[start + peek.unmasked..self.input.end];
        if let Some(key) = header.mask {
            apply_mask(arrived, key, peek.unmasked);
        }
        peek.unmasked += arrived.len();
        match peek.utf8.feed(arrived) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(e.into())),
        }
    }

    fn event_for(&mut self, ready: Ready) -> (Event<'_>, &mut Sender) {
        let Self {
            input, message, tx, ..
        } = self;
        let bytes = match ready.source {
            Source::Input => {
                let bytes = &input.buf[ready.range.clone()];
                if matches!(ready.kind, ReadyKind::Text | ReadyKind::Binary) {
                    tx.lend(bytes, ready.range);
                }
                bytes
            }
            Source::Message => &message[ready.range],
        };
        let event = match ready.kind {
            ReadyKind::Text => Event::Text(validated_str(bytes)),
            ReadyKind::Binary => Event::Binary(bytes),
            ReadyKind::Ping => Event::Ping(bytes),
            ReadyKind::Pong => Event::Pong(bytes),
            ReadyKind::Close(code) => Event::Close {
                code,
                reason: validated_str(bytes),
            },
        };
        (event, tx)
    }

    fn rule_context(&self) -> RuleContext {
        RuleContext {
            sender: Some(self.role.peer()),
            rsv_on_message_start: self.tx.rsv_on_message_start(),
            in_message: Some(self.partial.is_some()),
            max_frame_payload: self.config.limits.max_frame_payload,
        }
    }

    fn check(&mut self, header: &FrameHeader) -> Result<(), ProtocolError> {
        check_header(header, &self.rule_context()).map_err(|e| self.fail(e))
    }

    /// Queues the close frame for `e` and ends the connection.
    fn fail(&mut self, e: ProtocolError) -> ProtocolError {
        self.tx.fail(e.close_code(), &e.to_string());
        self.partial = None;
        // Nothing more is received: a message that failed (a bomb, say) is freed now.
        self.message = Vec::new();
        if let Some(inflater) = self.inflater.as_mut() {
            inflater.frame = None;
        }
        e
    }

    /// Consumes one whole frame whose payload (unmasked) is at `payload` in the input.
    fn handle_frame(
        &mut self,
        header: &FrameHeader,
        payload: Range<usize>,
        len: usize,
    ) -> Result<Option<Ready>, ProtocolError> {
        let limits = self.config.limits;
        let op = header.opcode().unwrap_or(OpCode::Binary);
        let data = &self.input.buf[payload.clone()];
        let ready = match op {
            OpCode::Text | OpCode::Binary if header.fin && !header.rsv1 => {
                if header.payload_len > limits.max_message {
                    return Err(self.fail(ProtocolError::MessageTooBig {
                        len: header.payload_len,
                        limit: limits.max_message,
                    }));
                }
                let kind = if op == OpCode::Text {
                    if let Err(e) = simdutf8::compat::from_utf8(data) {
                        return Err(self.fail(ProtocolError::InvalidUtf8 {
                            offset: e.valid_up_to() as u64,
                        }));
                    }
                    ReadyKind::Text
                } else {
                    ReadyKind::Binary
                };
                Some(Ready {
                    kind,
                    source: Source::Input,
                    range: payload,
                })
            }
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                return match self.handle_fragment(header, op, payload) {
                    Ok(ready) => {
                        // A compressed frame stays in the input while it inflates.
                        if !self.inflating() {
                            self.input.start += len;
                        }
                        if ready.is_some() {
                            self.held = Held::Message;
                        }
                        Ok(ready)
                    }
                    Err(e) => Err(self.fail(e)),
                };
            }
            OpCode::Ping => {
                self.tx.answer_ping(&self.input.buf[payload.clone()]);
                Some(Ready {
                    kind: ReadyKind::Ping,
                    source: Source::Input,
                    range: payload,
                })
            }
            OpCode::Pong => Some(Ready {
                kind: ReadyKind::Pong,
                source: Source::Input,
                range: payload,
            }),
            OpCode::Close => {
                let code = match parse_close_payload(data) {
                    Ok((code, _)) => code,
                    Err(e) => return Err(self.fail(e.into())),
                };
                self.tx.answer_close(code);
                let reason = if code.is_some() {
                    payload.start + 2..payload.end
                } else {
                    payload.clone()
                };
                Some(Ready {
                    kind: ReadyKind::Close(code),
                    source: Source::Input,
                    range: reason,
                })
            }
        };
        match ready {
            Some(r) => {
                self.held = Held::Input(len);
                Ok(Some(r))
            }
            None => {
                self.input.start += len;
                Ok(None)
            }
        }
    }

    /// Adds a fragment (or a compressed single-frame message) to the message being reassembled.
    fn handle_fragment(
        &mut self,
        header: &FrameHeader,
        op: OpCode,
        payload: Range<usize>,
    ) -> Result<Option<Ready>, ProtocolError> {
        let limits = self.config.limits;
        let mut partial = match self.partial.take() {
            Some(p) => p,
            None => Partial {
                kind: if op == OpCode::Text {
                    DataKind::Text
                } else {
                    DataKind::Binary
                },
                fragments: 0,
                utf8: Utf8Validator::new(),
                compressed: header.rsv1,
            },
        };
        partial.fragments += 1;
        if partial.fragments > limits.max_fragments {
            return Err(ProtocolError::TooManyFragments {
                limit: limits.max_fragments,
            });
        }
        if partial.compressed {
            let Some(inflater) = self.inflater.as_mut() else {
                return Err(ProtocolError::ReservedBits { bits: 0b100 });
            };
            self.partial = Some(partial);
            inflater.frame = Some(Inflating {
                frame_len: header.header_len() + (payload.end - payload.start),
                payload_at: header.header_len(),
                consumed: 0,
                payload_done: false,
                fin: header.fin,
            });
            return Ok(None);
        }
        let data = &self.input.buf[payload];
        let before = self.message.len();
        let total = (before + data.len()) as u64;
        if total > limits.max_message {
            return Err(ProtocolError::MessageTooBig {
                len: total,
                limit: limits.max_message,
            });
        }
        self.message.extend_from_slice(data);
        self.message_grew(partial, before, header.fin)
    }

    /// Checks the bytes the message grew by from `before` (text: UTF-8), and either keeps
    /// the message open or, after its last frame (`fin`), says it is ready.
    fn message_grew(
        &mut self,
        mut partial: Partial,
        before: usize,
        fin: bool,
    ) -> Result<Option<Ready>, ProtocolError> {
        if partial.kind == DataKind::Text {
            partial.utf8.feed(&self.message[before..])?;
            if fin {
                partial.utf8.finish()?;
            }
        }
        if !fin {
            self.partial = Some(partial);
            return Ok(None);
        }
        let kind = match partial.kind {
            DataKind::Text => ReadyKind::Text,
            DataKind::Binary => ReadyKind::Binary,
        };
        Ok(Some(Ready {
            kind,
            source: Source::Message,
            range: 0..self.message.len(),
        }))
    }

    /// Inflates the compressed frame at the start of the input by one step of at most
    /// [`crate::Limits::inflate_step`] bytes. `Ok(None)` while [`Self::inflating`]: the budget is
    /// spent; else the frame is done and the message goes on.
    fn inflate_more(&mut self) -> Result<Option<Ready>, ProtocolError> {
        let limit = self.config.limits.max_message;
        let budget = (self.config.limits.inflate_step as usize).max(1);
        let Some(Inflater {
            decompressor: inflater,
            frame: Some(inf),
        }) = self.inflater.as_deref_mut()
        else {
            return Ok(None);
        };
        let before = self.message.len();
        let mut done = true;
        if !inf.payload_done {
            let at = self.input.start + inf.payload_at;
            let end = self.input.start + inf.frame_len;
            let data = &self.input.buf[at + inf.consumed..end];
            match inflater.inflate_step(data, &mut self.message, limit, budget)? {
                Step::Done => inf.payload_done = true,
                Step::More { consumed } => {
                    inf.consumed += consumed;
                    done = false;
                }
            }
        }
        if done && inf.fin {
            let left = budget.saturating_sub(self.message.len() - before).max(1);
            done = inflater.finish_step(&mut self.message, limit, left)?;
        }
        let Some(mut partial) = self.partial.take() else {
            // Not reached: a frame inflates only within a message.
            self.inflater.as_deref_mut().map(|i| i.frame.take());
            return Ok(None);
        };
        if !done {
            if partial.kind == DataKind::Text {
                partial.utf8.feed(&self.message[before..])?;
            }
            self.partial = Some(partial);
            return Ok(None);
        }
        let (fin, frame_len) = (inf.fin, inf.frame_len);
        self.input.start += frame_len;
        if let Some(inflater) = self.inflater.as_deref_mut() {
            inflater.frame = None;
        }
        self.message_grew(partial, before, fin)
    }

    /// Turns on permessage-deflate as negotiated in the handshake.
    pub fn enable_deflate(&mut self, agreed: Negotiated, cfg: &DeflateConfig) {
        self.set_rsv_on_message_start(0b100);
        self.inflater = Some(Box::new(Inflater {
            decompressor: Decompressor::with_window_bits(
                agreed.decompress_window_bits,
                agreed.decompress_no_context_takeover,
            ),
            frame: None,
        }));
        self.tx.enable_deflate(
            Compressor::new(
                cfg.level,
                agreed.compress_window_bits,
                agreed.compress_no_context_takeover,
            )
            .with_history(cfg.history),
            cfg.min_size,
        );
    }

    /// True when permessage-deflate is on.
    pub fn deflate_enabled(&self) -> bool {
        self.inflater.is_some()
    }

    /// What permessage-deflate holds on this connection, when it is on: zlib states only
    /// while a message is half sent or half received, else only the history kept for
    /// context takeover.
    pub fn deflate_footprint(&self) -> Option<DeflateFootprint> {
        let inflater = &self.inflater.as_deref()?.decompressor;
        let compressor = self.tx.compressor()?;
        Some(DeflateFootprint {
            zlib_states: usize::from(inflater.holds_state())
                + usize::from(compressor.holds_state()),
            history_bytes: inflater.history_len() + compressor.history_len(),
        })
    }

    /// Frees what the last event borrowed.
    fn release_held(&mut self) {
        self.tx.clear_lent();
        match std::mem::replace(&mut self.held, Held::Nothing) {
            Held::Nothing => {}
            Held::Input(n) => self.input.start += n,
            Held::Message => {
                self.message.clear();
                if self.message.capacity() > KEEP_CAPACITY {
                    self.message = Vec::new();
                }
            }
        }
        if self.tx.borrowed_range().is_none() {
            self.reset_drained_input();
        }
    }

    /// Frees the buffers that hold nothing: the input once drained (and no
    /// event or echo still points into it), the reassembly buffer, the output.
    fn shed_idle_buffers(&mut self) {
        if self.held == Held::Nothing
            && self.tx.borrowed_range().is_none()
            && self.input.start == self.input.end
            && self.peek.is_none()
            && !self.inflating()
        {
            self.input = Input::default();
        }
        if self.message.is_empty() && self.partial.is_none() {
            self.message = Vec::new();
        }
        self.tx.shed_idle_buffer();
    }

    /// Bytes of buffer held (input, reassembly, output): none for a new
    /// connection or one that stayed quiet past a timer ([`Self::handle_timeout`]).
    pub fn buffer_capacity(&self) -> usize {
        self.input.buf.len() + self.message.capacity() + self.tx.buffer_capacity()
    }

    /// Rewinds a drained input buffer (and frees it when it grew large).
    /// Not while an echoed payload in it waits to be written.
    fn reset_drained_input(&mut self) {
        let input = &mut self.input;
        if input.start == input.end {
            input.start = 0;
            input.end = 0;
            if input.buf.len() > KEEP_CAPACITY {
                input.buf = Vec::new();
            }
        }
    }

    /// Tells the connection the time. Call once at the start, and whenever
    /// [`Self::poll_timeout`] has passed. Sends keepalive pings, fails idle
    /// connections, and gives up on a close the peer never answers.
    ///
    /// Input is timed at the first call after it arrived (a step of a message
    /// inflating in steps counts as input), so hosts need not read the clock per
    /// read: a quiet connection gets a ping every `ping_interval`, one whose peer
    /// answers them every `ping_interval` to twice that.
    ///
    /// A connection that received nothing since the previous call is quiet: it
    /// frees its empty buffers (input, reassembly, output), so connections that
    /// idle past a timer hold none; the next data claims them again.
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.timers.now.is_some() && !self.timers.received {
            self.shed_idle_buffers();
        }
        let t = &mut self.timers;
        if t.now.is_none() || t.received {
            t.last_rx = now;
            t.received = false;
        }
        t.now = Some(now);
        if self.tx.take_close_timer() {
            t.close_sent_at = Some(now);
        }
        if self.tx.is_closed() {
            return;
        }
        if let Some(at) = t.close_sent_at {
            if now >= at + self.config.close_timeout {
                self.tx.give_up();
                return;
            }
        }
        if let Some(idle) = self.config.idle_timeout {
            if now >= t.last_rx + idle {
                let e = ProtocolError::IdleTimeout {
                    millis: idle.as_millis() as u64,
                };
                let e = self.fail(e);
                self.failure = Some(e);
                self.timers.close_sent_at = Some(now);
                return;
            }
        }
        if let Some(every) = self.config.ping_interval {
            if now >= t.ping_due(every) && self.tx.is_open() {
                t.last_ping = now;
                let stamp = (now.as_millis() as u64).to_be_bytes();
                self.tx.keepalive_ping(&stamp);
            }
        }
    }

    /// When [`Self::handle_timeout`] should next be called, if ever.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let t = &self.timers;
        let now = t.now?;
        if self.tx.close_timer_wanted() {
            return Some(now);
        }
        if self.tx.is_closed() {
            return None;
        }
        let close = t.close_sent_at.map(|at| at + self.config.close_timeout);
        if self.tx.is_open() {
            return close.into_iter().chain(t.open_deadline(&self.config)).min();
        }
        let idle = self.config.idle_timeout.map(|d| t.last_rx + d);
        close.into_iter().chain(idle).min()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Input,
    Message,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadyKind {
    Text,
    Binary,
    Ping,
    Pong,
    Close(Option<CloseCode>),
}

/// An event ready to lend out: what it is and where its bytes lie.
#[derive(Debug)]
struct Ready {
    kind: ReadyKind,
    source: Source,
    range: Range<usize>,
}

/// Text already validated by the receive path.
fn validated_str(bytes: &[u8]) -> &str {
    // The receive path validated these bytes; a failure here is a bug, shown as empty text rather than a panic.
    std::str::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server connection fed `fragments` of one message, sent by a client.
    fn fragmented(kind: DataKind, fragments: &[&[u8]]) -> Connection {
        let mut client = Connection::client_with_seed(Config::default(), [7; 32]);
        for (i, f) in fragments.iter().enumerate() {
            client
                .send_fragment(kind, f, i + 1 == fragments.len())
                .unwrap();
        }
        let mut server = Connection::server(Config::default());
        server.feed(client.pending_output());
        server
    }

    #[test]
    fn poll_message_hands_over_the_reassembly_buffer_without_copying() {
        let mut server = fragmented(DataKind::Binary, &[b"abc", b"def", b"g"]);
        server.message.reserve(64);
        let buffer = server.message.as_ptr();
        let Ok(Some(Message::Binary(got))) = server.poll_message() else {
            panic!("one binary message")
        };
        assert_eq!(&got[..], b"abcdefg");
        assert_eq!(got.as_ptr(), buffer, "the same allocation, not a copy");
        assert_eq!(
            server.message.capacity(),
            0,
            "a new buffer for the next one"
        );
        assert_eq!(server.poll_message(), Ok(None));
    }

    #[test]
    fn poll_message_and_poll_event_give_the_same_messages() {
        for fragments in [&[&b"h\xc3"[..], b"\xa9llo"][..], &[b"whole"]] {
            let mut a = fragmented(DataKind::Text, fragments);
            let mut b = fragmented(DataKind::Text, fragments);
            let owned = a.poll_message().unwrap().unwrap();
            let lent = b.poll_event().unwrap().unwrap().to_message();
            assert_eq!(owned, lent);
            assert!(matches!(&owned, Message::Text(t) if t == "héllo" || t == "whole"));
        }
    }
}
