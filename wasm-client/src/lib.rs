//! framewire-wasm: the browser's JavaScript API over framewire-core.
//!
//! Decoding, streaming, building frames and checking handshakes all happen in the
//! core; this crate only converts between JavaScript values and the core's types.
//! It may not hold frame, message or handshake logic of its own: a rule written
//! here would drift from the one the native hosts run.

#![forbid(unsafe_code)]

#[cfg(feature = "analysis")]
pub mod analysis;
pub mod builder;
pub mod decoder;
pub mod handshake;
pub mod js_objects;
pub mod packed;
pub mod report;
#[cfg(feature = "analysis")]
pub mod session_io;
pub mod store;

use framewire_core::Role;
use js_sys::{Reflect, Uint8Array};
#[cfg(feature = "analysis")]
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::builder::{build_frame, random_mask_key, FrameSpec};
use crate::decoder::{decode_buffer, Decoder, DEFAULT_BUFFER_LIMIT};
use framewire_core::inspect::Start;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** Who sent the frames: decides the masking rule. "any" checks neither way. */
export type Role = "client" | "server" | "any";

/** A byte range [start, end), absolute in the decoded buffer or stream. */
export type ByteRange = [number, number];

/** A rule of RFC 6455 that a frame breaks. */
export interface Violation {
  /** The core's name for the rule, such as "UnmaskedClientFrame". */
  rule: string;
  /** What is wrong, in a sentence. */
  message: string;
  /** Absolute offset of the offending byte. */
  offset: number;
  /** The close code a receiver answers with. */
  closeCode: number;
}

/** One decoded frame. More fields (such as compressed/inflated) may be added. */
export interface FrameReport {
  index: number;
  offset: number;
  /** Header plus payload, as declared. */
  length: number;
  headerLength: number;
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  opcodeName: string;
  control: boolean;
  masked: boolean;
  maskKey: [number, number, number, number] | null;
  payloadLength: number;
  /** 7, 16 or 64. */
  lengthEncoding: 7 | 16 | 64;
  ranges: {
    flagsAndOpcode: ByteRange;
    maskBitAndLength: ByteRange;
    extendedLength: ByteRange | null;
    maskKey: ByteRange | null;
    payload: ByteRange;
  };
  /** The frame as on the wire (cut short when truncated). */
  bytes: Uint8Array;
  /** The payload as on the wire, still masked when masked. */
  maskedPayload: Uint8Array;
  /** The payload unmasked. */
  payload: Uint8Array;
  /** Only the start of the payload was kept (stream buffer limit). */
  truncated: boolean;
  /** Part of a permessage-deflate compressed message. */
  compressed: boolean;
  /** What this frame inflated to (the last frame includes the trailer flush); null if not compressed or inflating failed. */
  inflated: Uint8Array | null;
  /** The payload (inflated when compressed) as text, for text data that is valid UTF-8 by itself. */
  text: string | null;
  /** The parsed close payload, for a valid close frame. */
  close: { code: number | null; meaning: string; reason: string } | null;
  violations: Violation[];
}

/** A frame whose bytes have not all arrived. */
export interface Incomplete {
  offset: number;
  available: number;
  /** Bytes still missing (a lower bound while the header is incomplete). */
  needed: number;
  headerComplete: boolean;
}

/** The result of decoding a buffer. */
export interface BufferReport {
  frames: FrameReport[];
  consumed: number;
  incomplete: Incomplete | null;
}

/** Fields of a frame to build. */
export interface FrameSpec {
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  opcode: number;
  mask?: boolean;
  /** 4 bytes; a random key is drawn when masked and absent. */
  maskKey?: Uint8Array | number[];
  /** Force a length encoding (7, 16 or 64) to build non-minimal frames. */
  lengthBits?: 7 | 16 | 64;
  /** A string is sent as its UTF-8 bytes. */
  payload?: Uint8Array | string;
}

/** The permessage-deflate parameters a server's 101 agreed to (deflateAnswer). */
export interface DeflateAnswer {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number | null;
  /** `true`: present without a value. */
  clientMaxWindowBits: number | true | null;
}

/** What checkHandshake found. */
export interface HandshakeReport {
  kind: "request" | "response";
  ok: boolean;
  startLine: string;
  headers: [string, string][];
  problems: { message: string; status: number | null }[];
  notes: string[];
  expectedAccept: string | null;
}

/** "c2s" (client to server) or "s2c". */
export type Dir = "c2s" | "s2c";

/** A filter: every field optional, all given must hold. */
export interface FilterSpec {
  direction?: Dir;
  kind?: "data" | "control";
  opcodes?: number[];
  /** Case-insensitive text over the payload text. */
  text?: string;
  /** A regular expression (regex-lite syntax) over the payload text. */
  regex?: string;
  minSize?: number;
  maxSize?: number;
}

/** What the filter shows: frames by `seq`, messages by [direction, index]. */
export interface FilterResult {
  frames: number[];
  hiddenFrames: number;
  messages: [Dir, number][];
  hiddenMessages: number;
}

/** The analysis of one connection (see core/src/inspect/analysis/ for every field). */
export interface AnalysisReport {
  frames: number;
  droppedFrames: number;
  /** Entries of the whole message view (`messages` may hold only the newest). */
  viewEntries: number;
  /** Wire order: {type: "message", ...MessageSummary, interleaved, durationMs} or {type: "control", ...FrameSummary}. */
  messages: any[];
  compression: { deflate: any | null; messages: any[]; totals: [any, any] };
  heartbeats: { pings: any[]; unanswered: number; unsolicitedPongs: number; rttMs: [number, number, number] | null; silences: any[] };
  close: { outcome: string; firstCloser: Dir | null; closes: any[]; handshakeMs: number | null; closeEvent: { code: number; reason: string; wasClean: boolean; why: string } | null; summary: string[] };
  traffic: { bucketMs: number; originMs: number; buckets: any[]; peakMessagesPerSec: [number, number]; peakBytesPerSec: [number, number]; untimedFrames: number };
}

/** A capture read and analysed. */
export interface CaptureReport {
  format: "pcap" | "pcapng" | "capture" | "har";
  connections: { id: number; client: string | null; server: string | null; request: string; response: string; ended: boolean; report: AnalysisReport }[];
}
"#;

fn role(name: &str) -> Result<Option<Role>, JsError> {
    match name {
        "client" => Ok(Some(Role::Client)),
        "server" => Ok(Some(Role::Server)),
        "any" => Ok(None),
        other => Err(JsError::new(&format!(
            "role \"{other}\" is not \"client\", \"server\" or \"any\""
        ))),
    }
}

/// The analysis module's reports as JavaScript values (through serde; the decoder's own
/// results are built by [`js_objects`], without it).
#[cfg(feature = "analysis")]
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(
            &serde_wasm_bindgen::Serializer::json_compatible().serialize_bytes_as_arrays(false),
        )
        .map_err(|e| JsError::new(&format!("cannot convert the result: {e}")))
}

/// Decodes every frame in `bytes`, sent by `role`. With `deflate`, RSV1 on a
/// message's first frame means permessage-deflate and such messages are inflated.
#[wasm_bindgen(js_name = decodeFrames, unchecked_return_type = "BufferReport")]
pub fn decode_frames(
    bytes: &[u8],
    #[wasm_bindgen(unchecked_param_type = "Role")] role: &str,
    deflate: Option<bool>,
) -> Result<JsValue, JsError> {
    let report = decode_buffer(bytes, self::role(role)?, deflate == Some(true))
        .map_err(|e| JsError::new(&decoder::setup_error(&e)))?;
    Ok(js_objects::buffer(&report))
}

/// Parses hex in any common layout (plain, `0x`, colons, Wireshark or xxd dumps)
/// and decodes the frames in it, as [`decode_frames`] does.
#[wasm_bindgen(js_name = decodeHex, unchecked_return_type = "BufferReport")]
pub fn decode_hex(
    text: &str,
    #[wasm_bindgen(unchecked_param_type = "Role")] role: &str,
    deflate: Option<bool>,
) -> Result<JsValue, JsError> {
    let bytes = parse_hex(text)?;
    decode_frames(&bytes, role, deflate)
}

/// Parses hex in any common layout into bytes.
#[wasm_bindgen(js_name = parseHex)]
pub fn parse_hex(text: &str) -> Result<Vec<u8>, JsError> {
    framewire_core::hex::parse_hex(text).map_err(|e| JsError::new(&e.to_string()))
}

thread_local! {
    /// The large frames `pushPacked` kept, for every decoder: a frame outlives its decoder.
    static STORE: std::cell::RefCell<store::Store> = const { std::cell::RefCell::new(store::Store::new()) };
}

/// Runs `f` on the store.
fn with_store<R>(f: impl FnOnce(&mut store::Store) -> R) -> R {
    STORE.with_borrow_mut(f)
}

/// The error for a stored frame no longer held. It names no id: formatting an `f64` would
/// link float printing into the decoder module (10 KB gzipped).
fn stored_gone() -> JsError {
    JsError::new("the stored frame was already released or taken out")
}

/// Takes stored frame `id` (the last field of a frame of `pushPacked`) out of wasm memory:
/// its header then its payload unmasked, copied into a new array, no longer held.
#[wasm_bindgen(js_name = takeStored)]
pub fn take_stored(id: f64) -> Result<Vec<u8>, JsError> {
    with_store(|s| s.take(id as u64)).ok_or_else(stored_gone)
}

/// Bytes `from..to` of stored frame `id` (clamped to it), copied, leaving it held: a preview.
#[wasm_bindgen(js_name = storedSlice)]
pub fn stored_slice(id: f64, from: u32, to: u32) -> Result<Vec<u8>, JsError> {
    with_store(|s| {
        s.slice(id as u64, from as usize, to as usize)
            .map(<[u8]>::to_vec)
    })
    .ok_or_else(stored_gone)
}

/// Lets stored frame `id` go; false if it was not held (already taken or released).
#[wasm_bindgen(js_name = releaseStored)]
pub fn release_stored(id: f64) -> bool {
    with_store(|s| s.take(id as u64)).is_some()
}

/// Bytes of frames stored in wasm memory (at most 128 MiB; past it frames are copied out).
#[wasm_bindgen(js_name = storedBytes)]
pub fn stored_bytes() -> f64 {
    with_store(|s| s.bytes() as f64)
}

/// Decodes frames from a stream that arrives in chunks, with a bounded buffer.
#[wasm_bindgen]
pub struct StreamDecoder {
    inner: Decoder,
    /// The `pushPacked` batch being made, its buffers reused by the next.
    packed: crate::packed::Packed,
}

#[wasm_bindgen]
impl StreamDecoder {
    /// A decoder for frames sent by `role`, keeping at most `max_buffer` bytes
    /// (default 16 MiB + 14); longer frames are reported truncated.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "Role")] role: &str,
        max_buffer: Option<u32>,
    ) -> Result<StreamDecoder, JsError> {
        let limit = max_buffer.map_or(DEFAULT_BUFFER_LIMIT, |n| n as usize);
        let inner = Decoder::new(self::role(role)?, Start::Connection, limit)
            .map_err(|e| JsError::new(&decoder::setup_error(&e)))?;
        Ok(Self {
            inner,
            packed: Default::default(),
        })
    }

    /// Takes the next chunk; returns the frames it completes.
    #[wasm_bindgen(unchecked_return_type = "FrameReport[]")]
    pub fn push(&mut self, chunk: &[u8]) -> Result<JsValue, JsError> {
        Ok(js_objects::frames(&self.inner.push(chunk)))
    }

    /// Takes the next chunk; returns the frames it completes packed as
    /// `[Float64Array, Uint8Array, extras]` (see `packed.rs`), which `www/loader.js`
    /// turns into frame objects with the same fields as `push`'s, far faster: the chunk
    /// copied once into wasm memory (not zeroed first) as the decoder's buffer or onto
    /// its end, one copy of the bytes out of wasm, and text decoded only when read.
    /// A frame of 64 KiB or more (as kept) is not copied out: it stays in wasm memory, its
    /// id in its last field, until `takeStored` or `releaseStored`.
    #[wasm_bindgen(js_name = pushPacked)]
    pub fn push_packed(&mut self, chunk: &Uint8Array) -> Result<js_sys::Array, JsError> {
        let frames = self.inner.push_records_owned(chunk.to_vec());
        with_store(|store| self.packed.extend(frames, store));
        let p = &self.packed;
        let nums = js_sys::Float64Array::from(p.nums.as_slice());
        let bytes = match (p.parts().next(), p.parts().nth(1)) {
            // One part (most batches): copied into an array made from it, not zeroed first.
            (Some(only), None) => Uint8Array::from(only),
            _ => {
                let bytes = Uint8Array::new_with_length(p.byte_len() as u32);
                let mut at = 0;
                for part in p.parts() {
                    let end = at + part.len() as u32;
                    bytes.subarray(at, end).copy_from(part);
                    at = end;
                }
                bytes
            }
        };
        let extras = js_objects::extras(&p.extras);
        self.packed.clear();
        Ok(js_sys::Array::of3(&nums, &bytes, &extras))
    }

    /// Inflates compressed messages from now on, as `answer` agreed: the object
    /// `deflateAnswer` of the analysis module reads from the server's 101 (only its
    /// `clientNoContextTakeover` and `serverNoContextTakeover` matter to inflating).
    /// Reading the 101 itself is in the analysis module: its parser and messages were
    /// 6 KB of the decoder gzipped, and a live connection loads that module anyway.
    #[wasm_bindgen(js_name = enableDeflateAgreed)]
    pub fn enable_deflate_agreed(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "DeflateAnswer")] answer: JsValue,
    ) -> Result<(), JsError> {
        if !answer.is_object() {
            return Err(JsError::new(
                "enableDeflateAgreed needs the object deflateAnswer returns",
            ));
        }
        self.inner
            .enable_deflate_agreed(&framewire_core::deflate::DeflateParams {
                client_no_context_takeover: flag(&answer, "clientNoContextTakeover", false)?,
                server_no_context_takeover: flag(&answer, "serverNoContextTakeover", false)?,
                ..Default::default()
            });
        Ok(())
    }

    /// The unfinished frame at the end of the stream so far, if any.
    #[wasm_bindgen(unchecked_return_type = "Incomplete | null")]
    pub fn incomplete(&self) -> Result<JsValue, JsError> {
        Ok(js_objects::incomplete(self.inner.incomplete().as_ref()))
    }

    /// Bytes held for an unfinished frame.
    #[wasm_bindgen(getter)]
    pub fn buffered(&self) -> usize {
        self.inner.buffered()
    }

    /// The buffer limit in bytes.
    #[wasm_bindgen(getter)]
    pub fn limit(&self) -> usize {
        self.inner.limit()
    }

    /// Total bytes pushed so far.
    #[wasm_bindgen(getter)]
    pub fn position(&self) -> f64 {
        self.inner.position() as f64
    }
}

fn field(obj: &JsValue, name: &str) -> Result<JsValue, JsError> {
    Reflect::get(obj, &JsValue::from_str(name))
        .map_err(|_| JsError::new(&format!("cannot read field \"{name}\"")))
}

fn flag(obj: &JsValue, name: &str, default: bool) -> Result<bool, JsError> {
    let v = field(obj, name)?;
    if v.is_undefined() || v.is_null() {
        return Ok(default);
    }
    v.as_bool()
        .ok_or_else(|| JsError::new(&format!("field \"{name}\" must be true or false")))
}

fn number(obj: &JsValue, name: &str) -> Result<Option<u32>, JsError> {
    let v = field(obj, name)?;
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    match v.as_f64() {
        Some(n) if n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n) => {
            Ok(Some(n as u32))
        }
        _ => Err(JsError::new(&format!(
            "field \"{name}\" must be a whole number"
        ))),
    }
}

fn bytes_of(v: &JsValue, name: &str) -> Result<Vec<u8>, JsError> {
    if let Some(s) = v.as_string() {
        return Ok(s.into_bytes());
    }
    if let Some(a) = v.dyn_ref::<Uint8Array>() {
        return Ok(a.to_vec());
    }
    if js_sys::Array::is_array(v) {
        return Ok(Uint8Array::new(v).to_vec());
    }
    Err(JsError::new(&format!(
        "field \"{name}\" must be a string, a Uint8Array or an array of bytes"
    )))
}

/// Builds a frame's wire bytes from its fields (see `FrameSpec`).
#[wasm_bindgen(js_name = encodeFrame)]
pub fn encode_frame(
    #[wasm_bindgen(unchecked_param_type = "FrameSpec")] spec: JsValue,
) -> Result<Vec<u8>, JsError> {
    if !spec.is_object() {
        return Err(JsError::new("encodeFrame needs an object of frame fields"));
    }
    let opcode =
        number(&spec, "opcode")?.ok_or_else(|| JsError::new("field \"opcode\" is required"))?;
    let mask = if flag(&spec, "mask", false)? {
        let key = field(&spec, "maskKey")?;
        if key.is_undefined() || key.is_null() {
            Some(random_mask_key().map_err(|e| JsError::new(&e.to_string()))?)
        } else {
            let key = bytes_of(&key, "maskKey")?;
            Some(<[u8; 4]>::try_from(key.as_slice()).map_err(|_| {
                JsError::new(&format!(
                    "field \"maskKey\" must be 4 bytes, not {}",
                    key.len()
                ))
            })?)
        }
    } else {
        None
    };
    let payload = field(&spec, "payload")?;
    let payload = if payload.is_undefined() || payload.is_null() {
        Vec::new()
    } else {
        bytes_of(&payload, "payload")?
    };
    let spec = FrameSpec {
        fin: flag(&spec, "fin", true)?,
        rsv1: flag(&spec, "rsv1", false)?,
        rsv2: flag(&spec, "rsv2", false)?,
        rsv3: flag(&spec, "rsv3", false)?,
        opcode,
        mask,
        length_bits: number(&spec, "lengthBits")?,
        payload,
    };
    build_frame(&spec).map_err(|e| JsError::new(&e.to_string()))
}

/// The core's name of an opcode (`text`, `close`, `reserved data`, ...).
#[wasm_bindgen(js_name = opcodeName)]
pub fn opcode_name(opcode: u8) -> String {
    framewire_core::opcode::opcode_name(opcode).to_owned()
}

/// The permessage-deflate parameters the server's response head (the 101) agrees to,
/// or `null` when it does not agree to permessage-deflate; for
/// `StreamDecoder.enableDeflateAgreed`. In the analysis module only.
#[cfg(feature = "analysis")]
#[wasm_bindgen(js_name = deflateAnswer, unchecked_return_type = "DeflateAnswer | null")]
pub fn deflate_answer(response: &str) -> Result<JsValue, JsError> {
    let head = crate::handshake::normalised_head(response);
    let answer =
        framewire_core::inspect::deflate_answer(&head).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(js_objects::deflate_answer(answer.as_ref()))
}

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`. In the analysis module only, with
/// [`check_handshake`].
#[cfg(feature = "analysis")]
#[wasm_bindgen(js_name = acceptKey)]
pub fn accept_key(key: &str) -> String {
    framewire_core::handshake::accept_key(key)
}

/// Parses and checks an opening-handshake request or response head; for a
/// response, pass the request too to check the accept key and the choices.
///
/// In the analysis module only: the check (httparse for requests, SHA-1, base64, every
/// handshake rule and its message) was a fifth of the decoder module, 14 KB gzipped, and
/// the page checks heads when it analyses a connection, which loads that module anyway.
#[cfg(feature = "analysis")]
#[wasm_bindgen(js_name = checkHandshake, unchecked_return_type = "HandshakeReport")]
pub fn check_handshake(text: &str, request: Option<String>) -> Result<JsValue, JsError> {
    Ok(js_objects::handshake(&handshake::check_handshake(
        text,
        request.as_deref(),
    )))
}

#[cfg(feature = "analysis")]
/// An analysis of one live connection: feed both directions' bytes with their
/// time, then ask for the report or a filter.
#[wasm_bindgen]
pub struct AnalysisSession {
    inner: framewire_core::inspect::analysis::Session,
    ended: bool,
    record: framewire_core::capture::recording::Recording,
}

#[cfg(feature = "analysis")]
#[wasm_bindgen]
impl AnalysisSession {
    /// A session; with the server's `101` head, permessage-deflate as it agreed.
    /// The bytes fed are also recorded (with `request`, the client's head) for
    /// `exportAs`, up to `maxRecordBytes` (default 32 MiB).
    #[wasm_bindgen(constructor)]
    pub fn new(
        response: Option<String>,
        request: Option<String>,
        #[wasm_bindgen(js_name = maxRecordBytes)] max_record_bytes: Option<f64>,
    ) -> Result<AnalysisSession, JsError> {
        let mut inner = framewire_core::inspect::analysis::Session::new(Default::default())
            .map_err(|e| JsError::new(&e.to_string()))?;
        if let Some(head) = response.as_deref().filter(|h| !h.is_empty()) {
            let head = crate::handshake::normalised_head(head);
            inner
                .enable_deflate_from_response(&head)
                .map_err(|e| JsError::new(&e.to_string()))?;
        }
        let record = session_io::recording(request, response, max_record_bytes);
        Ok(Self {
            inner,
            ended: false,
            record,
        })
    }

    /// Takes the bytes seen in `dir` (`"c2s"` or `"s2c"`) at `timeMs`
    /// milliseconds; returns how many frames are summarised so far.
    pub fn feed(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Dir")] dir: &str,
        bytes: &[u8],
        #[wasm_bindgen(js_name = timeMs)] time_ms: Option<f64>,
    ) -> Result<usize, JsError> {
        let dir = analysis::direction(dir).map_err(|e| JsError::new(&e))?;
        self.inner.feed(dir, bytes, analysis::time(time_ms));
        self.record.push(dir, bytes, time_ms.unwrap_or(0.0));
        Ok(self.inner.frames().len())
    }

    /// Marks the connection as over (the TCP ended): the close diagnosis then
    /// says what the browser's CloseEvent reported.
    pub fn end(&mut self) {
        self.ended = true;
        self.record.end();
    }

    /// The whole analysis, with traffic in buckets of `bucketMs` (default 1000);
    /// with `maxEntries`, only the newest entries of the message view (and of the
    /// per-message compression list).
    #[wasm_bindgen(unchecked_return_type = "AnalysisReport")]
    pub fn report(
        &self,
        #[wasm_bindgen(js_name = bucketMs)] bucket_ms: Option<f64>,
        #[wasm_bindgen(js_name = maxEntries)] max_entries: Option<u32>,
    ) -> Result<JsValue, JsError> {
        to_js(&analysis::report(
            &self.inner,
            self.ended,
            bucket_ms.unwrap_or(1000.0),
            max_entries.map(|m| m as usize),
        ))
    }

    /// What `spec` shows, and how much it hides.
    #[wasm_bindgen(unchecked_return_type = "FilterResult")]
    pub fn filter(
        &self,
        #[wasm_bindgen(unchecked_param_type = "FilterSpec")] spec: JsValue,
    ) -> Result<JsValue, JsError> {
        let spec: analysis::FilterSpec = if spec.is_undefined() || spec.is_null() {
            analysis::FilterSpec::default()
        } else {
            serde_wasm_bindgen::from_value(spec)
                .map_err(|e| JsError::new(&format!("bad filter: {e}")))?
        };
        to_js(&analysis::filter(&self.inner, spec).map_err(|e| JsError::new(&e))?)
    }
}

#[cfg(feature = "analysis")]
/// Reads a pcap, pcapng, HAR or framewire capture (sniffed) and analyses every
/// WebSocket connection in it.
#[wasm_bindgen(js_name = analyzeCapture, unchecked_return_type = "CaptureReport")]
pub fn analyze_capture(
    bytes: &[u8],
    #[wasm_bindgen(js_name = bucketMs)] bucket_ms: Option<f64>,
) -> Result<JsValue, JsError> {
    to_js(
        &analysis::analyze_capture(bytes, bucket_ms.unwrap_or(1000.0))
            .map_err(|e| JsError::new(&e))?,
    )
}

#[cfg(feature = "analysis")]
/// Reads a capture in any format and writes it as `to`: `"pcapng"`, `"har"` or `"capture"`.
#[wasm_bindgen(js_name = convertCapture)]
pub fn convert_capture(
    bytes: &[u8],
    #[wasm_bindgen(unchecked_param_type = "\"pcapng\" | \"har\" | \"capture\"")] to: &str,
) -> Result<Vec<u8>, JsError> {
    analysis::convert_capture(bytes, to).map_err(|e| JsError::new(&e))
}
