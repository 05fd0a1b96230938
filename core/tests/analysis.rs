//! The analysis of a real permessage-deflate exchange between two core
//! connections (the Pair harness): bytes on the wire against bytes inflated.

#[allow(dead_code)]
mod pair;

use std::time::Duration;

use framewire_core::deflate::{DeflateConfig, DeflateParams, EXTENSION_NAME};
use framewire_core::inspect::analysis::{Session, SessionConfig, ViewEntry};
use framewire_core::inspect::Direction;
use pair::{Pair, PairConfig};

const JSON: &str = r#"{"id":1234,"type":"update","user":{"name":"alice","roles":["admin","dev"]},"items":[{"sku":"A-1","qty":2,"price":9.99},{"sku":"B-7","qty":1,"price":19.5}],"note":"the quick brown fox jumps over the lazy dog"}"#;

/// Moves what each end sent into `s`, stamped with the pair's clock.
fn record(pair: &mut Pair, s: &mut Session) {
    let t = Some(pair.now);
    s.feed(Direction::ClientToServer, &pair.client.take_wire(), t);
    s.feed(Direction::ServerToClient, &pair.server.take_wire(), t);
}

#[test]
fn compression_totals_of_a_real_deflate_exchange_match_the_content_sizes() {
    let mut pair = Pair::connect(PairConfig::deflate(DeflateConfig::default()));
    let offer = pair
        .client
        .info
        .extensions
        .iter()
        .find(|e| e.name == EXTENSION_NAME)
        .expect("deflate agreed");
    let answer = DeflateParams::parse(offer).unwrap();
    let mut s = Session::new(SessionConfig::default()).unwrap();
    s.enable_deflate(&answer);
    record(&mut pair, &mut s);
    for _ in 0..3 {
        pair.client.conn.send_text(JSON).unwrap();
        pair.advance(Duration::from_millis(10));
        record(&mut pair, &mut s);
    }
    pair.server.conn.send_binary(JSON.as_bytes()).unwrap();
    pair.server.conn.send_text("hi").unwrap();
    pair.advance(Duration::from_millis(10));
    record(&mut pair, &mut s);

    let c = s.compression();
    let [c2s, s2c] = c.totals;
    assert_eq!((c2s.messages, c2s.compressed), (3, 3));
    assert_eq!(c2s.inflated, 3 * JSON.len() as u64);
    assert!(c2s.wire < c2s.inflated / 2, "{c2s:?}");
    assert!(c2s.ratio.unwrap() > 2.0, "{c2s:?}");
    // Context takeover: the second copy is far smaller on the wire than the first.
    assert!(
        c.messages[1].wire * 3 < c.messages[0].wire,
        "{:?}",
        c.messages
    );
    // "hi" is under the compression threshold and goes as is.
    assert_eq!(s2c.messages, 2);
    let hi = c
        .messages
        .iter()
        .find(|m| m.direction == Direction::ServerToClient && m.inflated == Some(2))
        .unwrap();
    assert!(!hi.compressed);
    assert_eq!(s2c.inflated, JSON.len() as u64 + 2);
    let setup = c.deflate.expect("parameters in words");
    assert!(setup.answer.starts_with("permessage-deflate"));
    assert!(setup
        .sides
        .iter()
        .all(|m| m.deflate_bytes > m.inflate_bytes));
    // The message view shows the inflated text.
    let view = s.message_view();
    let texts: Vec<_> = view.iter().filter_map(ViewEntry::text).collect();
    assert_eq!(texts.len(), 4);
    assert!(texts[..3].iter().all(|t| *t == JSON));
}
