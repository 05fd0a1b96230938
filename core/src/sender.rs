//! The sending half of a connection: frames queued as bytes for the host to write.

use std::collections::VecDeque;

use bytes::{Buf, Bytes};
use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;

use crate::close::CloseCode;
use crate::deflate::Compressor;
use std::ops::Range;

use crate::frame::{encode_frame, encode_header, FrameHeader, MAX_HEADER_LEN};
use crate::mask::extend_masked;
use crate::opcode::{DataKind, OpCode};
use crate::prepared::PreparedMessage;
use crate::role::Role;
use crate::utf8::Utf8Validator;

/// Output buffers above this capacity are released once drained.
const KEEP_CAPACITY: usize = 1 << 20;

/// With vectored output on, echoed payloads of at least this many bytes are
/// written straight from the input buffer instead of being copied.
pub(crate) const ZERO_COPY_MIN: usize = 2048;

/// Prepared frames of at least this many bytes are queued as shared [`Bytes`];
/// shorter ones are copied into the output buffer (cheaper than a reference
/// count and one more slice to write).
pub const SHARE_MIN: usize = 256;

/// Why a frame could not be queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// A close frame was already sent; nothing may follow it.
    #[error("the connection is closing: a close frame was already sent")]
    Closed,
    /// Control frames carry at most 125 bytes.
    #[error("control frame payload of {0} bytes: at most 125 allowed")]
    ControlTooLong(usize),
    /// The close code may not be sent.
    #[error("close code {0} may not be sent on the wire")]
    InvalidCloseCode(u16),
    /// Code plus reason must fit 125 bytes.
    #[error("close reason of {0} bytes: at most 123 allowed")]
    ReasonTooLong(usize),
    /// A text fragment is not UTF-8.
    #[error("text fragment is not valid UTF-8")]
    InvalidUtf8,
    /// A whole message was sent while a fragmented one is unfinished.
    #[error("a fragmented message is in progress: finish it first")]
    MessageInProgress,
    /// A fragment's kind differs from the message it continues.
    #[error("fragment kind {got:?} does not match the message in progress ({open:?})")]
    KindMismatch {
        /// The message in progress.
        open: DataKind,
        /// The fragment's kind.
        got: DataKind,
    },
    /// Too many bytes are waiting to be written: flush first.
    #[error("{pending} bytes are waiting to be written (limit {limit}): flush first")]
    OutputFull {
        /// Bytes pending.
        pending: usize,
        /// The limit.
        limit: usize,
    },
}

/// Where the sending side stands in the close handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseState {
    /// Messages flow both ways.
    Open,
    /// We sent a close and wait for the peer's.
    CloseSent,
    /// The close handshake is over (or the connection failed); the host may drop the transport once output is written.
    Closed,
}

/// A fragmented message being sent.
#[derive(Debug)]
struct OpenMessage {
    kind: DataKind,
    utf8: Utf8Validator,
    compressed: bool,
}

/// Outgoing compression state.
#[derive(Debug)]
struct Deflate {
    compressor: Compressor,
    min_size: usize,
    scratch: Vec<u8>,
}

/// The payload of the event being handled, as lent to the host: where it lies
/// in the connection's input buffer, to recognise an echo of it.
#[derive(Debug, Clone)]
struct Lent {
    addr: usize,
    range: Range<usize>,
}

/// A payload queued without copying: it lies at `range` in the connection's
/// input buffer and goes out right after `out[..at]`.
#[derive(Debug, Clone)]
struct Borrowed {
    at: usize,
    range: Range<usize>,
}

/// A shared frame queued without copying: it goes out right after `out[..at]`.
#[derive(Debug, Clone)]
struct SharedFrame {
    at: usize,
    bytes: Bytes,
}

/// The shared frames queued, in order, and their bytes not yet written.
#[derive(Debug, Default)]
struct SharedFrames {
    frames: VecDeque<SharedFrame>,
    len: usize,
}

/// The sending side of a [`crate::Connection`]: it queues outgoing frames and
/// owns the close state (only its methods change it).
///
/// Hosts reach it through the `send_*` and `close` methods of the connection, or
/// through [`crate::Connection::poll_event_and_sender`] while an event is lent.
#[derive(Debug)]
pub struct Sender {
    out: Vec<u8>,
    out_start: usize,
    borrowed: Option<Borrowed>,
    /// Never both: shared frames and a borrowed payload (one is copied instead).
    /// Boxed (and made at the first shared frame): most connections never get one.
    shared: Option<Box<SharedFrames>>,
    lent: Option<Lent>,
    vectored: bool,
    /// Boxed: servers, which never mask, keep 8 bytes instead of the generator's 300.
    mask_rng: Option<Box<ChaCha8Rng>>,
    open_message: Option<OpenMessage>,
    /// Boxed: most connections never negotiate compression.
    deflate: Option<Box<Deflate>>,
    state: CloseState,
    close_needs_timer: bool,
    max_pending: usize,
    rsv_on_message_start: u8,
}

impl Sender {
    pub(crate) fn new(mask_rng: Option<ChaCha8Rng>, max_pending: usize) -> Self {
        Self {
            out: Vec::new(),
            out_start: 0,
            borrowed: None,
            shared: None,
            lent: None,
            vectored: false,
            mask_rng: mask_rng.map(Box::new),
            open_message: None,
            deflate: None,
            state: CloseState::Open,
            close_needs_timer: false,
            max_pending,
            rsv_on_message_start: 0,
        }
    }

    /// Bytes waiting to be written, echoed payloads included.
    pub(crate) fn pending_len(&self) -> usize {
        self.out.len() - self.out_start
            + self.shared.as_ref().map_or(0, |s| s.len)
            + self.borrowed.as_ref().map_or(0, |b| b.range.len())
    }

    /// Frees the output buffer when nothing waits in it (a quiet connection's).
    pub(crate) fn shed_idle_buffer(&mut self) {
        if self.pending_len() == 0 && self.borrowed.is_none() && !self.has_shared() {
            self.out_start = 0;
            self.out = Vec::new();
        }
    }

    /// Bytes of output buffer held.
    pub(crate) fn buffer_capacity(&self) -> usize {
        self.out.capacity()
    }

    /// Marks `n` bytes of pending output as written (in the order
    /// [`crate::Connection::pending_output_vectored`] gives them).
    pub(crate) fn consume_output(&mut self, n: usize) {
        let mut n = n;
        if let Some(b) = &mut self.borrowed {
            let before = (b.at - self.out_start).min(n);
            self.out_start += before;
            n -= before;
            let from_payload = b.range.len().min(n);
            b.range.start += from_payload;
            n -= from_payload;
            if b.range.is_empty() {
                self.borrowed = None;
            }
        }
        if self.borrowed.is_none() {
            self.consume_shared(n);
        }
        if self.out_start == self.out.len() && self.borrowed.is_none() && !self.has_shared() {
            self.out_start = 0;
            if self.out.capacity() > KEEP_CAPACITY {
                self.out = Vec::new();
            } else {
                self.out.clear();
            }
        }
    }

    /// Marks `n` bytes of the output buffer and shared frames, in order, as written.
    fn consume_shared(&mut self, mut n: usize) {
        loop {
            let frames = self.shared.as_deref_mut();
            let end = frames
                .as_ref()
                .and_then(|s| s.frames.front())
                .map_or(self.out.len(), |f| f.at);
            let from_out = (end - self.out_start).min(n);
            self.out_start += from_out;
            n -= from_out;
            let Some(shared) = frames else {
                return;
            };
            let Some(front) = shared.frames.front_mut() else {
                return;
            };
            if self.out_start < front.at {
                return;
            }
            let from_frame = front.bytes.len().min(n);
            front.bytes.advance(from_frame);
            shared.len -= from_frame;
            n -= from_frame;
            if !front.bytes.is_empty() {
                return;
            }
            shared.frames.pop_front();
        }
    }

    /// The queued bytes before and after the borrowed payload (all of them in the first part when there is none).
    /// Only without shared frames (see [`Self::segments`]).
    pub(crate) fn output_parts(&self) -> (&[u8], &[u8]) {
        match &self.borrowed {
            Some(b) => (&self.out[self.out_start..b.at], &self.out[b.at..]),
            None => (&self.out[self.out_start..], &[]),
        }
    }

    /// True when shared frames are queued (the output is then [`Self::segments`]).
    pub(crate) fn has_shared(&self) -> bool {
        self.shared.as_ref().is_some_and(|s| !s.frames.is_empty())
    }

    /// The queued output buffer and shared frames, in order, empty ones skipped
    /// (without a borrowed payload, which never comes with shared frames).
    pub(crate) fn segments(&self) -> impl Iterator<Item = &[u8]> {
        let mut from = self.out_start;
        let frames = self.shared.as_deref().map(|s| &s.frames);
        frames
            .into_iter()
            .flatten()
            .flat_map(move |f| {
                let before = &self.out[from..f.at];
                from = f.at;
                [before, &f.bytes[..]]
            })
            .chain(std::iter::once_with(move || {
                let last = frames.and_then(VecDeque::back);
                &self.out[last.map_or(self.out_start, |f| f.at)..]
            }))
            .filter(|s| !s.is_empty())
    }

    /// Copies the borrowed payload (`payload`, its bytes in the input buffer)
    /// into the output queue, so the input buffer may change.
    pub(crate) fn materialize(&mut self, payload: &[u8]) {
        if let Some(b) = self.borrowed.take() {
            self.out.splice(b.at..b.at, payload.iter().copied());
        }
    }

    /// Records the payload lent with the current event (see [`ZERO_COPY_MIN`]).
    pub(crate) fn lend(&mut self, payload: &[u8], range: Range<usize>) {
        self.lent = (self.vectored
            && self.mask_rng.is_none()
            && self.deflate.is_none()
            && self.borrowed.is_none()
            && !self.has_shared()
            && payload.len() >= ZERO_COPY_MIN)
            .then_some(Lent {
                addr: payload.as_ptr() as usize,
                range,
            });
    }

    /// Queues `data` as a whole unmasked frame without copying it when it is the
    /// lent payload itself; false when it is not.
    fn queue_lent(&mut self, opcode: OpCode, data: &[u8]) -> bool {
        let Some(lent) = &self.lent else {
            return false;
        };
        if data.as_ptr() as usize != lent.addr || data.len() != lent.range.len() {
            return false;
        }
        let range = lent.range.clone();
        self.lent = None;
        let header = FrameHeader::new(true, opcode, None, data.len() as u64);
        let mut head = [0u8; MAX_HEADER_LEN];
        let n = encode_header(&header, &mut head);
        self.out.extend_from_slice(&head[..n]);
        self.borrowed = Some(Borrowed {
            at: self.out.len(),
            range,
        });
        true
    }

    /// Where the close handshake stands.
    pub fn close_state(&self) -> CloseState {
        self.state
    }

    /// True once the close handshake is over or the connection failed.
    pub(crate) fn is_closed(&self) -> bool {
        self.state == CloseState::Closed
    }

    /// True while messages may still be sent.
    pub(crate) fn is_open(&self) -> bool {
        self.state == CloseState::Open
    }

    /// Fails the connection: queues a close with `code` and `reason` unless one
    /// was sent already, and ends the close handshake.
    pub(crate) fn fail(&mut self, code: CloseCode, reason: &str) {
        if self.state == CloseState::Open {
            self.write_close(Some(code), reason);
        }
        self.state = CloseState::Closed;
    }

    /// The peer's close arrived: echoes its code unless we closed first, and
    /// ends the close handshake.
    pub(crate) fn answer_close(&mut self, code: Option<CloseCode>) {
        if self.state == CloseState::Open {
            self.write_close(code, "");
        }
        self.state = CloseState::Closed;
    }

    /// Gives up waiting for the peer's close (the close timeout passed).
    pub(crate) fn give_up(&mut self) {
        self.state = CloseState::Closed;
    }

    /// Queues the automatic pong to a ping, unless a close was sent.
    pub(crate) fn answer_ping(&mut self, payload: &[u8]) {
        if self.state == CloseState::Open {
            self.write_frame(OpCode::Pong, true, payload);
        }
    }

    /// Queues a keepalive ping, unless a close was sent.
    pub(crate) fn keepalive_ping(&mut self, payload: &[u8]) {
        if self.state == CloseState::Open {
            self.write_frame(OpCode::Ping, true, payload);
        }
    }

    /// True when a close frame was queued since the last call: the close timer starts.
    pub(crate) fn take_close_timer(&mut self) -> bool {
        std::mem::take(&mut self.close_needs_timer)
    }

    /// True when a close frame was queued and [`Self::take_close_timer`] not called since.
    pub(crate) fn close_timer_wanted(&self) -> bool {
        self.close_needs_timer
    }

    /// The RSV bits allowed on the first frame of a data message.
    pub(crate) fn rsv_on_message_start(&self) -> u8 {
        self.rsv_on_message_start
    }

    /// Allows RSV bits on the first frame of data messages (a negotiated extension).
    pub(crate) fn set_rsv_on_message_start(&mut self, bits: u8) {
        self.rsv_on_message_start = bits & 0b111;
    }

    /// Turns vectored output on or off (see [`crate::Connection::set_vectored_output`]).
    pub(crate) fn set_vectored(&mut self, on: bool) {
        self.vectored = on;
    }

    /// Where the echoed payload queued without copying lies in the input buffer.
    pub(crate) fn borrowed_range(&self) -> Option<Range<usize>> {
        self.borrowed.as_ref().map(|b| b.range.clone())
    }

    /// Forgets the payload lent with the last event.
    pub(crate) fn clear_lent(&mut self) {
        self.lent = None;
    }

    /// Queues a whole text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.send_whole(OpCode::Text, text.as_bytes())
    }

    /// Queues a whole binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_whole(OpCode::Binary, data)
    }

    /// Queues one fragment of a message; the first fragment opens it, `fin` ends it.
    ///
    /// With permessage-deflate on, a fragmented message is compressed as a whole.
    pub fn send_fragment(
        &mut self,
        kind: DataKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), SendError> {
        self.check_can_send()?;
        let (opcode, open) = match self.open_message.take() {
            Some(open) if open.kind != kind => {
                let open_kind = open.kind;
                self.open_message = Some(open);
                return Err(SendError::KindMismatch {
                    open: open_kind,
                    got: kind,
                });
            }
            Some(open) => (OpCode::Continuation, open),
            None => (
                kind.opcode(),
                OpenMessage {
                    kind,
                    utf8: Utf8Validator::new(),
                    compressed: self.deflate.is_some(),
                },
            ),
        };
        let mut open = open;
        if kind == DataKind::Text {
            // Checked on a copy: a refused fragment leaves the message in progress as it was.
            let mut utf8 = open.utf8.clone();
            let valid = utf8.feed(data).is_ok() && (!fin || utf8.finish().is_ok());
            if !valid {
                if opcode == OpCode::Continuation {
                    self.open_message = Some(open);
                }
                return Err(SendError::InvalidUtf8);
            }
            open.utf8 = utf8;
        }
        let rsv1 = open.compressed && opcode != OpCode::Continuation;
        if open.compressed {
            self.write_compressed(opcode, fin, rsv1, data);
        } else {
            self.write_frame(opcode, fin, data);
        }
        if !fin {
            self.open_message = Some(open);
        }
        Ok(())
    }

    /// Queues a message encoded once for many connections: its shared frame
    /// (compressed when permessage-deflate is on and it is at least the
    /// negotiated minimum size) goes out without being copied (frames shorter
    /// than [`SHARE_MIN`] are copied, and while an echo waits in the input buffer).
    /// A client, which must mask, sends it as an ordinary message.
    pub fn send_prepared(&mut self, msg: &PreparedMessage) -> Result<(), SendError> {
        if self.mask_rng.is_some() {
            return self.send_whole(msg.opcode(), msg.payload());
        }
        self.check_can_send()?;
        if self.open_message.is_some() {
            return Err(SendError::MessageInProgress);
        }
        let frame = match self.deflate.as_deref_mut() {
            Some(d) if msg.len() >= d.min_size => {
                let c = &mut d.compressor;
                c.note_sent(msg.payload());
                msg.compressed_frame(c.level(), c.window_bits())
            }
            _ => msg.frame(),
        };
        if frame.len() < SHARE_MIN || self.borrowed.is_some() {
            self.out.extend_from_slice(frame);
        } else {
            let shared = self.shared.get_or_insert_with(Box::default);
            shared.len += frame.len();
            shared.frames.push_back(SharedFrame {
                at: self.out.len(),
                bytes: frame.clone(),
            });
        }
        Ok(())
    }

    /// Queues a ping.
    pub fn send_ping(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_control(OpCode::Ping, data)
    }

    /// Queues an unsolicited pong (pongs to pings are automatic).
    pub fn send_pong(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_control(OpCode::Pong, data)
    }

    /// Starts the close handshake with `code` and `reason`.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        if !code.is_allowed_on_wire() {
            return Err(SendError::InvalidCloseCode(code.0));
        }
        if reason.len() > 123 {
            return Err(SendError::ReasonTooLong(reason.len()));
        }
        if self.state != CloseState::Open {
            return Err(SendError::Closed);
        }
        self.write_close(Some(code), reason);
        self.state = CloseState::CloseSent;
        Ok(())
    }

    /// Writes a close frame whatever the state (used for echoes and failures).
    fn write_close(&mut self, code: Option<CloseCode>, reason: &str) {
        let mut payload = [0u8; 125];
        let mut n = 0;
        if let Some(code) = code {
            payload[..2].copy_from_slice(&code.0.to_be_bytes());
            let reason = truncate_utf8(reason, 123);
            payload[2..2 + reason.len()].copy_from_slice(reason.as_bytes());
            n = 2 + reason.len();
        }
        self.write_frame(OpCode::Close, true, &payload[..n]);
        self.close_needs_timer = true;
    }

    fn send_whole(&mut self, opcode: OpCode, data: &[u8]) -> Result<(), SendError> {
        self.check_can_send()?;
        if self.open_message.is_some() {
            return Err(SendError::MessageInProgress);
        }
        match &self.deflate {
            Some(d) if data.len() >= d.min_size => self.write_compressed(opcode, true, true, data),
            _ => {
                if !self.queue_lent(opcode, data) {
                    self.write_frame(opcode, true, data);
                }
            }
        }
        Ok(())
    }

    fn send_control(&mut self, opcode: OpCode, data: &[u8]) -> Result<(), SendError> {
        if data.len() > 125 {
            return Err(SendError::ControlTooLong(data.len()));
        }
        self.check_can_send()?;
        self.write_frame(opcode, true, data);
        Ok(())
    }

    fn check_can_send(&self) -> Result<(), SendError> {
        if self.state != CloseState::Open {
            return Err(SendError::Closed);
        }
        let pending = self.pending_len();
        if pending > self.max_pending {
            return Err(SendError::OutputFull {
                pending,
                limit: self.max_pending,
            });
        }
        Ok(())
    }

    fn write_frame(&mut self, opcode: OpCode, fin: bool, payload: &[u8]) {
        self.write_frame_rsv1(opcode, fin, false, payload);
    }

    fn write_frame_rsv1(&mut self, opcode: OpCode, fin: bool, rsv1: bool, payload: &[u8]) {
        let mask = self
            .mask_rng
            .as_mut()
            .map(|rng| rng.next_u32().to_ne_bytes());
        let mut header = FrameHeader::new(fin, opcode, mask, payload.len() as u64);
        header.rsv1 = rsv1;
        match mask {
            Some(key) => {
                let mut head = [0u8; MAX_HEADER_LEN];
                let n = encode_header(&header, &mut head);
                self.out.reserve(n + payload.len());
                self.out.extend_from_slice(&head[..n]);
                extend_masked(&mut self.out, payload, key);
            }
            None => encode_frame(&header, payload, &mut self.out),
        }
    }

    /// Compresses `data` as (part of) a message and writes it as one frame.
    fn write_compressed(&mut self, opcode: OpCode, fin: bool, rsv1: bool, data: &[u8]) {
        let Some(d) = self.deflate.as_mut() else {
            return self.write_frame(opcode, fin, data);
        };
        let mut scratch = std::mem::take(&mut d.scratch);
        scratch.clear();
        // With `fin` this is never empty: an empty message compresses to 0x00.
        d.compressor.compress(data, fin, &mut scratch);
        self.write_frame_rsv1(opcode, fin, rsv1, &scratch);
        if let Some(d) = self.deflate.as_mut() {
            if scratch.capacity() <= KEEP_CAPACITY {
                d.scratch = scratch;
            }
        }
    }

    /// The compressor, when permessage-deflate is on.
    pub(crate) fn compressor(&self) -> Option<&Compressor> {
        self.deflate.as_deref().map(|d| &d.compressor)
    }

    /// True when the sender may be parked ([`crate::Connection::park`]): open,
    /// nothing queued, no message half sent, no zlib state lent.
    pub(crate) fn can_park(&self) -> bool {
        self.state == CloseState::Open
            && self.pending_len() == 0
            && self.borrowed.is_none()
            && self.lent.is_none()
            && self.open_message.is_none()
            && !self.close_needs_timer
            && !self.has_shared()
            && !self
                .deflate
                .as_ref()
                .is_some_and(|d| d.compressor.holds_state())
    }

    /// What the sender keeps while its connection is parked; its empty output
    /// buffer (a keepalive ping's, say) is freed. Only after [`Self::can_park`].
    pub(crate) fn park(self, role: Role) -> ParkedSender {
        ParkedSender {
            mask_rng: self.mask_rng,
            deflate: self.deflate,
            vectored: self.vectored,
            rsv_on_message_start: self.rsv_on_message_start,
            role,
        }
    }

    /// Compresses outgoing messages of at least `min_size` bytes from now on.
    pub(crate) fn enable_deflate(&mut self, compressor: Compressor, min_size: usize) {
        self.deflate = Some(Box::new(Deflate {
            compressor,
            min_size,
            scratch: Vec::new(),
        }));
    }
}

/// A parked sender ([`Sender::park`]): open, nothing queued. It keeps the
/// connection's role beside its own small fields (one word for the three).
#[derive(Debug)]
pub(crate) struct ParkedSender {
    mask_rng: Option<Box<ChaCha8Rng>>,
    deflate: Option<Box<Deflate>>,
    vectored: bool,
    rsv_on_message_start: u8,
    role: Role,
}

impl ParkedSender {
    /// The sender again, open, refusing more than `max_pending` queued bytes.
    pub(crate) fn unpark(self, max_pending: usize) -> Sender {
        Sender {
            mask_rng: self.mask_rng,
            deflate: self.deflate,
            vectored: self.vectored,
            rsv_on_message_start: self.rsv_on_message_start,
            ..Sender::new(None, max_pending)
        }
    }

    /// The compressor, when permessage-deflate is on.
    pub(crate) fn compressor(&self) -> Option<&Compressor> {
        self.deflate.as_deref().map(|d| &d.compressor)
    }

    /// The connection's role, kept at [`Sender::park`].
    pub(crate) fn role(&self) -> Role {
        self.role
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub(crate) fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
