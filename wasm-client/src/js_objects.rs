//! The decoder's results as JavaScript objects, built field by field with `Reflect`.
//!
//! serde-wasm-bindgen made the same objects, but with its serializer, serde's machinery and
//! its string cache it was the biggest part of the decoder module that was not decoding
//! (about 14 KB of the wasm). The shapes are those of the TypeScript types in `lib.rs`, in
//! the order of the Rust structs' fields, with `null` for an absent value.

use framewire_core::deflate::DeflateParams;
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::JsValue;

use crate::handshake::HandshakeReport;
use crate::packed::Extra;
use crate::report::{BufferReport, CloseInfo, FrameReport, Incomplete, Violation};

/// Sets `key` on `obj`; an object literal's properties cannot refuse to be set.
fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value.into());
}

/// `value` converted, or `null`.
fn or_null<T>(value: Option<T>, f: impl FnOnce(T) -> JsValue) -> JsValue {
    value.map_or(JsValue::NULL, f)
}

fn pair(r: [f64; 2]) -> JsValue {
    Array::of2(&r[0].into(), &r[1].into()).into()
}

fn bytes(b: &[u8]) -> JsValue {
    Uint8Array::from(b).into()
}

fn list<T>(items: &[T], f: impl Fn(&T) -> JsValue) -> JsValue {
    items.iter().map(f).collect::<Array>().into()
}

fn violation(v: &Violation) -> JsValue {
    let o = Object::new();
    set(&o, "rule", v.rule.as_str());
    set(&o, "message", v.message.as_str());
    set(&o, "offset", v.offset);
    set(&o, "closeCode", v.close_code);
    o.into()
}

fn close(c: &CloseInfo) -> JsValue {
    let o = Object::new();
    set(&o, "code", or_null(c.code, JsValue::from));
    set(&o, "meaning", c.meaning.as_str());
    set(&o, "reason", c.reason.as_str());
    o.into()
}

/// A `FrameReport`.
pub fn frame(f: &FrameReport) -> JsValue {
    let o = Object::new();
    set(&o, "index", f.index);
    set(&o, "offset", f.offset);
    set(&o, "length", f.length);
    set(&o, "headerLength", f.header_length);
    set(&o, "fin", f.fin);
    set(&o, "rsv1", f.rsv1);
    set(&o, "rsv2", f.rsv2);
    set(&o, "rsv3", f.rsv3);
    set(&o, "opcode", f.opcode);
    set(&o, "opcodeName", f.opcode_name);
    set(&o, "control", f.control);
    set(&o, "masked", f.masked);
    set(
        &o,
        "maskKey",
        or_null(f.mask_key, |k| list(&k, |b| JsValue::from(*b))),
    );
    set(&o, "payloadLength", f.payload_length);
    set(&o, "lengthEncoding", f.length_encoding);
    let r = &f.ranges;
    let ranges = Object::new();
    set(&ranges, "flagsAndOpcode", pair(r.flags_and_opcode));
    set(&ranges, "maskBitAndLength", pair(r.mask_bit_and_length));
    set(&ranges, "extendedLength", or_null(r.extended_length, pair));
    set(&ranges, "maskKey", or_null(r.mask_key, pair));
    set(&ranges, "payload", pair(r.payload));
    set(&o, "ranges", ranges);
    set(&o, "bytes", bytes(&f.bytes));
    set(&o, "maskedPayload", bytes(&f.masked_payload));
    set(&o, "payload", bytes(&f.payload));
    set(&o, "truncated", f.truncated);
    set(&o, "compressed", f.compressed);
    set(&o, "inflated", or_null(f.inflated.as_deref(), bytes));
    set(&o, "text", or_null(f.text.as_deref(), JsValue::from_str));
    set(&o, "close", or_null(f.close.as_ref(), close));
    set(&o, "violations", list(&f.violations, violation));
    o.into()
}

/// A list of `FrameReport`s.
pub fn frames(frames: &[FrameReport]) -> JsValue {
    list(frames, frame)
}

/// An `Incomplete`, or `null`.
pub fn incomplete(i: Option<&Incomplete>) -> JsValue {
    or_null(i, |i| {
        let o = Object::new();
        set(&o, "offset", i.offset);
        set(&o, "available", i.available);
        set(&o, "needed", i.needed);
        set(&o, "headerComplete", i.header_complete);
        o.into()
    })
}

/// A `BufferReport`.
pub fn buffer(r: &BufferReport) -> JsValue {
    let o = Object::new();
    set(&o, "frames", frames(&r.frames));
    set(&o, "consumed", r.consumed);
    set(&o, "incomplete", incomplete(r.incomplete.as_ref()));
    o.into()
}

/// The rare parts of packed frames: `{at, close, violations}` each.
pub fn extras(extras: &[Extra]) -> JsValue {
    list(extras, |e| {
        let o = Object::new();
        set(&o, "at", e.at as f64);
        set(&o, "close", or_null(e.close.as_ref(), close));
        set(&o, "violations", list(&e.violations, violation));
        o.into()
    })
}

/// A `HandshakeReport`.
pub fn handshake(r: &HandshakeReport) -> JsValue {
    let o = Object::new();
    set(&o, "kind", r.kind);
    set(&o, "ok", r.ok);
    set(&o, "startLine", r.start_line.as_str());
    set(
        &o,
        "headers",
        list(&r.headers, |(k, v)| {
            Array::of2(&k.as_str().into(), &v.as_str().into()).into()
        }),
    );
    set(
        &o,
        "problems",
        list(&r.problems, |p| {
            let po = Object::new();
            set(&po, "message", p.message.as_str());
            set(&po, "status", or_null(p.status, JsValue::from));
            po.into()
        }),
    );
    set(&o, "notes", list(&r.notes, |n| JsValue::from_str(n)));
    set(
        &o,
        "expectedAccept",
        or_null(r.expected_accept.as_deref(), JsValue::from_str),
    );
    o.into()
}

/// A permessage-deflate answer (`DeflateAnswer`), or `null` when there is none.
pub fn deflate_answer(a: Option<&DeflateParams>) -> JsValue {
    or_null(a, |a| {
        let o = Object::new();
        set(&o, "serverNoContextTakeover", a.server_no_context_takeover);
        set(&o, "clientNoContextTakeover", a.client_no_context_takeover);
        set(
            &o,
            "serverMaxWindowBits",
            or_null(a.server_max_window_bits, JsValue::from),
        );
        set(
            &o,
            "clientMaxWindowBits",
            match a.client_max_window_bits {
                Some(Some(bits)) => JsValue::from(bits),
                Some(None) => JsValue::TRUE,
                None => JsValue::NULL,
            },
        );
        o.into()
    })
}
