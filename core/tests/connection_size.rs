//! An idle connection's footprint: what rarely matters (mask generator, compression
//! state) is boxed, so a server holding thousands of idle connections stays small.

use framewire_core::{Config, Connection, Sender};

#[test]
fn a_connection_struct_stays_under_half_a_kib() {
    let size = std::mem::size_of::<Connection>();
    assert!(size <= 512, "Connection is {size} bytes");
    assert!(std::mem::size_of::<Sender>() <= 192);
}

#[test]
fn a_new_connection_allocates_no_buffer() {
    let server = Connection::server(Config::default());
    assert_eq!(server.buffered_input(), 0);
    assert_eq!(server.pending_len(), 0);
    assert!(server.pending_output().is_empty());
}
