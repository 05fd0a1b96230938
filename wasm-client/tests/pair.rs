//! The core's in-memory `Pair` (core/tests/pair/mod.rs) inside the browser's
//! wasm: a handshake with permessage-deflate, a compressed message, a ping and
//! its pong, and the close handshake. Natively it runs as a plain `#[test]`.

// The harness is shared with the core's tests; this file uses part of it.
#[allow(dead_code)]
#[path = "../../core/tests/pair/mod.rs"]
mod pair;

use framewire_core::deflate::DeflateConfig;
use framewire_core::{CloseCode, CloseState, Message};
use pair::{Pair, PairConfig};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test(unsupported = test)]
fn pair_with_deflate_exchanges_a_compressed_message_a_ping_and_a_close() {
    let mut pair = Pair::connect(PairConfig {
        chunk: Some(5),
        ..PairConfig::deflate(DeflateConfig::default())
    });
    assert!(pair.client.info.deflate.is_some());
    assert!(pair.client.conn.deflate_enabled() && pair.server.conn.deflate_enabled());

    let text = "compressible, ".repeat(40);
    pair.client.conn.send_text(&text).unwrap();
    pair.drive();
    let wire = pair.client.take_wire();
    assert_eq!(wire[0], 0xC1, "FIN + RSV1 + text: compressed");
    assert!(
        wire.len() < text.len() / 4,
        "{} bytes on the wire",
        wire.len()
    );
    assert_eq!(pair.server.take_events(), [Message::Text(text.into())]);

    pair.server.conn.send_ping(b"are you there").unwrap();
    pair.drive();
    assert_eq!(
        pair.client.take_events(),
        [Message::Ping(b"are you there".to_vec().into())]
    );
    assert_eq!(
        pair.server.take_events(),
        [Message::Pong(b"are you there".to_vec().into())]
    );

    pair.client.conn.close(CloseCode::NORMAL, "done").unwrap();
    assert!(pair.run_until_idle_or(std::time::Duration::from_secs(10)));
    assert_eq!(
        pair.server.take_events(),
        [Message::Close(Some(CloseCode::NORMAL), "done".into())]
    );
    assert_eq!(
        pair.client.take_events(),
        [Message::Close(Some(CloseCode::NORMAL), String::new())]
    );
    assert_eq!(pair.client.conn.close_state(), CloseState::Closed);
    assert_eq!(pair.server.conn.close_state(), CloseState::Closed);
    assert_eq!((pair.client.error, pair.server.error), (None, None));
}
