//! The proxy's inspector socket: the protocol (v1) between `framewire proxy`
//! and the inspector page (the contract is `relay-protocol.md`; this is its copy).
//!
//! `framewire proxy --upstream ws[s]://HOST[:PORT][/PATH] [--listen 127.0.0.1:9090]` relays every
//! WebSocket connection it accepts to the upstream. Paths under `/__framewire/` are the proxy's own and
//! are never relayed:
//!
//! - `GET /__framewire/` (and its files, e.g. `/__framewire/app.js`) serves the inspector page (`www/`,
//!   the same files `framewire serve` serves at `/`).
//! - `ws://LISTEN/__framewire/inspect?key=KEY` is the inspector socket. KEY is the proxy's inspector key:
//!   128 bits from the OS random source (getrandom), hex or base64url, generated at start unless
//!   `--inspector-key-file FILE` gives one. At start the proxy prints ONE line on stdout (not via tracing):
//!   `inspector: http://127.0.0.1:9090/__framewire/#key=KEY` — the key is in the fragment so it never
//!   reaches any server log; it is never logged by tracing at the default level. Wrong/missing key: 403,
//!   compared in constant time. The inspector socket is accepted only from loopback peers unless
//!   `--allow-remote`.
//! - The page reads `#key=` from its URL (and `?proxy=ws://HOST:PORT` when opened from a file or from
//!   `framewire serve`; the key can also be pasted into a field).
//!
//! Inspector socket, server -> page, TEXT JSON:
//! - `{"type":"hello","version":1,"upstream":"wss://example/x","now":T}` first. T everywhere = milliseconds
//!   as a float with sub-millisecond resolution, monotonic, since the proxy started.
//! - `{"type":"opened","conn":{...}}` when a client asks for a WebSocket upgrade (plain HTTP requests
//!   are relayed but never listed), `{"type":"updated","conn":{...}}` at most once per second per
//!   connection when its counters changed and at once when the first close frame or its answer passes,
//!   `{"type":"ended","id":N,"how":"closed|reset|answered|half-close timeout|...","by":"client|upstream|proxy",
//!   "close":CLOSE|null,"close_answer":CLOSE|null,"tcp":[{"by":"client|upstream","how":"FIN|reset|write failed|half-close timeout"},...],"at":T}`:
//!   `by` is who started the end (the sender of the first close frame, else the side whose TCP ended
//!   first), `close` the first close frame and `close_answer` the first one the other way after it,
//!   each `{"by":"client|upstream|proxy","to":"upstream|client","code":N|null,"at":T}` as decoded by the
//!   core's frame boundaries, and `tcp` the TCP ends in order.
//!   A conn object: `{"id":N,"peer":"127.0.0.1:5555","path":"/chat?x=1","upstream_url":"ws://...","status":101|null,
//!   "protocol":"chat"|null,"extensions":"permessage-deflate; ..."|null,"request":"<raw request head as sent upstream>",
//!   "response":"<raw response head as relayed>","opened":T,"bytes_up":N,"bytes_down":N,"frames_up":N,"frames_down":N,"state":"handshake|open|closing|ended",
//!   "close":CLOSE|null,"close_answer":CLOSE|null}`.
//!   On connect the page gets an `opened` for every live connection (so it can list them).
//! - `{"type":"injected","id":N,"dir":"up|down","what":"ping|close|frame","at":T}` confirms an injection;
//!   `{"type":"error","message":"..."}` for a refused command (unknown id, bad frame hex, connection ended, ...).
//! - `{"type":"dropped","id":N,"bytes":N}` when chunks for the page had to be dropped (bounded queue per inspector socket).
//!
//! Server -> page, BINARY: one message per chunk of an ATTACHED connection:
//! `byte 0`: kind — 0 = client->upstream bytes as relayed (masked), 1 = upstream->client bytes as relayed,
//! 2 = injected towards upstream, 3 = injected towards client; `bytes 1..5`: connection id u32 big-endian;
//! `bytes 5..13`: T as f64 big-endian; then the bytes exactly as on the wire (after the handshake heads; the
//! heads are in the conn object). Injected frames are also part of the relayed stream (kind 2/3 marks them).
//!
//! Page -> server, TEXT JSON commands:
//! - `{"type":"attach","ids":[N,...]}`, `{"type":"detach","ids":[N,...]}`, `{"type":"attach_new","on":true|false}`
//!   (attach every connection opened from now on). Attaching an already-open connection sends its bytes from
//!   that moment on (no replay), preceded by the `opened` state.
//! - `{"type":"inject","id":N,"dir":"up|down","what":"ping","payload_hex":"..."}`,
//!   `{"type":"inject","id":N,"dir":"up|down","what":"close","code":1000,"reason":"..."}`,
//!   `{"type":"inject","id":N,"dir":"up|down","what":"frame","frame_hex":"<a complete frame as bytes>"}`
//!   ("up" = towards the upstream; the proxy masks frames towards the upstream with a fresh key when the
//!   given frame's bytes are unmasked; "frame" takes any bytes, malformed ones too). Injection happens at the
//!   next frame boundary of that direction (never inside a relayed frame).
//!
//! The page's own connection through the proxy: the page opens `ws://LISTEN/<path>?<query>&__framewire_tag=TAG`
//! (TAG random, 1-64 of `A-Za-z0-9-_`). The proxy removes that query parameter before forwarding (the upstream
//! never sees it) and reports `"tag":"TAG"` in the conn object (null otherwise), so the page attaches to its own
//! connection by tag.
//!
//! ## Changes (also in `relay-protocol.md`; both additive)
//! - After `hello` and the `opened` message for every live connection, the server sends
//!   `{"type":"listed","count":N}` (N = how many `opened` came before it), so a command-line client
//!   (`framewire inject --list`) knows the list is complete. Pages may ignore it.
//! - The conn object's `tag` field (`"tag":"TAG"` or `null`) is always present.
//! - `injected` is sent to every inspector socket (not only the one that asked), once the frame
//!   has been written at the boundary.

use std::sync::Arc;

use framewire_core::close::close_payload;
use framewire_core::frame::{encode_frame, mask_frame, FrameHeader};
use framewire_core::hex::parse_hex;
use framewire_core::{CloseCode, Message, OpCode};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};

use super::hub::{Dir, Hub, Injection, Item, What};
use crate::WebSocket;

/// Serves one inspector socket until either end closes it.
pub(crate) async fn serve<S>(mut ws: WebSocket<S>, hub: Arc<Hub>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (socket, mut inbox) = hub.join();
    enum Step {
        Command(Option<crate::Result<Message>>),
        Out(Option<Item>),
    }
    loop {
        let step = tokio::select! {
            m = ws.recv() => Step::Command(m),
            i = inbox.next() => Step::Out(i),
        };
        let sent = match step {
            Step::Command(Some(Ok(Message::Text(t)))) => {
                if let Err(message) = command(&hub, socket, &t) {
                    hub.tell(socket, &json!({"type": "error", "message": message}));
                }
                Ok(())
            }
            Step::Command(Some(Ok(Message::Close(..))))
            | Step::Command(Some(Err(_)))
            | Step::Command(None) => break,
            Step::Command(Some(Ok(_))) => Ok(()),
            Step::Out(Some(Item::Text(t))) => ws.send_text(&t).await,
            Step::Out(Some(Item::Binary(b))) => ws.send_binary(&b).await,
            Step::Out(None) => {
                let _ = ws.close(CloseCode::GOING_AWAY, "proxy stopping").await;
                break;
            }
        };
        if sent.is_err() {
            break;
        }
    }
    hub.leave(socket);
}

/// Carries out one command of the page; the error text for the page when refused.
pub(crate) fn command(hub: &Hub, socket: u64, text: &str) -> Result<(), String> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("the command is not JSON: {e}"))?;
    let kind = v["type"].as_str().ok_or("the command has no \"type\"")?;
    match kind {
        "attach" | "detach" => {
            let ids = ids(&v)?;
            for id in ids {
                if kind == "attach" {
                    hub.attach(socket, id).map_err(|e| e.to_string())?;
                } else {
                    hub.detach(socket, id);
                }
            }
            Ok(())
        }
        "attach_new" => {
            let on = v["on"]
                .as_bool()
                .ok_or("attach_new needs \"on\": true or false")?;
            hub.attach_new(socket, on);
            Ok(())
        }
        "inject" => {
            let id = id(&v["id"]).ok_or("inject needs a connection \"id\"")?;
            let dir = match v["dir"].as_str() {
                Some("up") => Dir::Up,
                Some("down") => Dir::Down,
                _ => return Err("inject needs \"dir\": \"up\" or \"down\"".into()),
            };
            let injection = injection(&v, dir)?;
            hub.inject(id, dir, injection).map_err(|e| e.to_string())
        }
        other => Err(format!("unknown command type {other:?}")),
    }
}

fn id(v: &Value) -> Option<u32> {
    v.as_u64().and_then(|n| u32::try_from(n).ok())
}

fn ids(v: &Value) -> Result<Vec<u32>, String> {
    v["ids"]
        .as_array()
        .ok_or("attach and detach need \"ids\": [N, ...]")?
        .iter()
        .map(|n| id(n).ok_or_else(|| format!("{n} is not a connection id")))
        .collect()
}

/// The bytes an `inject` command asks for, masked with a fresh key towards the upstream.
pub(crate) fn injection(v: &Value, dir: Dir) -> Result<Injection, String> {
    let key = || -> Result<[u8; 4], String> {
        let mut key = [0u8; 4];
        getrandom::getrandom(&mut key).map_err(|e| format!("the OS random source failed: {e}"))?;
        Ok(key)
    };
    let mask = |bytes: Vec<u8>| -> Result<Vec<u8>, String> {
        Ok(match dir {
            Dir::Up => mask_frame(&bytes, key()?),
            Dir::Down => bytes,
        })
    };
    let control = |op: OpCode, payload: &[u8]| {
        let mut out = Vec::with_capacity(payload.len() + 2);
        encode_frame(&FrameHeader::new(true, op, None, 0), payload, &mut out);
        mask(out)
    };
    let hex = |field: &str| -> Result<Vec<u8>, String> {
        match v[field].as_str() {
            None | Some("") => Ok(Vec::new()),
            Some(text) => parse_hex(text).map_err(|e| format!("{field}: {e}")),
        }
    };
    let (what, bytes) = match v["what"].as_str() {
        Some("ping") => (What::Ping, control(OpCode::Ping, &hex("payload_hex")?)?),
        Some("close") => {
            let code = v["code"]
                .as_u64()
                .and_then(|c| u16::try_from(c).ok())
                .ok_or("close needs a \"code\" from 0 to 65535")?;
            let reason = v["reason"].as_str().unwrap_or_default();
            (
                What::Close,
                control(OpCode::Close, &close_payload(code, reason))?,
            )
        }
        Some("frame") => {
            let bytes = hex("frame_hex")?;
            if bytes.is_empty() {
                return Err("frame needs \"frame_hex\" with at least one byte".into());
            }
            (What::Frame, mask(bytes)?)
        }
        _ => return Err("inject needs \"what\": \"ping\", \"close\" or \"frame\"".into()),
    };
    Ok(Injection { what, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inj(json: &str, dir: Dir) -> Result<Injection, String> {
        injection(&serde_json::from_str(json).unwrap(), dir)
    }

    #[test]
    fn pings_and_closes_are_masked_only_towards_the_upstream() {
        let down = inj(r#"{"what":"ping","payload_hex":"0102"}"#, Dir::Down).unwrap();
        assert_eq!(down.bytes, [0x89, 0x02, 1, 2]);
        let up = inj(r#"{"what":"ping","payload_hex":"0102"}"#, Dir::Up).unwrap();
        assert_eq!(&up.bytes[..2], [0x89, 0x82]);
        let key = [up.bytes[2], up.bytes[3], up.bytes[4], up.bytes[5]];
        assert_eq!([up.bytes[6] ^ key[0], up.bytes[7] ^ key[1]], [1, 2]);
        let close = inj(r#"{"what":"close","code":4000,"reason":"x"}"#, Dir::Down).unwrap();
        assert_eq!(close.bytes, [0x88, 0x03, 0x0f, 0xa0, b'x']);
    }

    #[test]
    fn frames_go_as_given_and_bad_commands_say_why() {
        let f = inj(r#"{"what":"frame","frame_hex":"f0 00"}"#, Dir::Down).unwrap();
        assert_eq!((f.what, f.bytes), (What::Frame, vec![0xf0, 0x00]));
        assert!(inj(r#"{"what":"frame","frame_hex":"zz"}"#, Dir::Up)
            .unwrap_err()
            .starts_with("frame_hex"));
        assert!(inj(r#"{"what":"close","code":70000}"#, Dir::Up).is_err());
        assert!(inj(r#"{"what":"dance"}"#, Dir::Up).is_err());
    }

    #[test]
    fn commands_for_unknown_connections_are_refused() {
        let hub = Hub::new("ws://up/".into(), 1 << 20);
        let (socket, _inbox) = hub.join();
        let e = command(&hub, socket, r#"{"type":"attach","ids":[7]}"#).unwrap_err();
        assert_eq!(e, "no live connection 7");
        let e = command(
            &hub,
            socket,
            r#"{"type":"inject","id":7,"dir":"up","what":"ping"}"#,
        )
        .unwrap_err();
        assert_eq!(e, "no live connection 7");
        assert!(command(&hub, socket, "nope")
            .unwrap_err()
            .contains("not JSON"));
        assert!(command(&hub, socket, r#"{"type":"attach_new","on":true}"#).is_ok());
    }
}
