//! The capture importers (pcap, pcapng, HAR, framewire JSON lines) on any bytes,
//! then the analysis and every exporter on whatever they read.
//!
//! Input: a whole file. Checked: no panic, memory within small limits; what is
//! read analyses without panic, writes as JSON lines that read back equal, and
//! writes as HAR and pcapng without panic.

#![no_main]

use framewire_core::capture::{self, jsonl, CaptureLimits};
use framewire_core::inspect::analysis::{Filter, SessionConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = CaptureLimits {
        max_bytes: 1 << 20,
        max_connections: 16,
        max_reorder: 64 << 10,
        max_head: 8 << 10,
    };
    let Ok((_, cap)) = capture::import(data, &limits) else {
        return;
    };
    let config = SessionConfig {
        max_frames: 1000,
        ..SessionConfig::default()
    };
    for c in &cap.connections {
        let s = capture::analyze(c, config).expect("the default inspector config is valid");
        let _ = s.message_view();
        let _ = s.compression();
        let _ = s.heartbeats();
        let _ = s.close_diagnosis(c.ended);
        let _ = s.traffic(10.0);
        let _ = s.filter(&Filter {
            text: Some("a".into()),
            ..Filter::default()
        });
    }
    let lines = jsonl::write(&cap);
    let back = jsonl::read(&lines, &limits).expect("a written capture reads back");
    assert_eq!(back, cap);
    let _ = capture::har::write(&cap);
    let _ = capture::pcapng_export::write(&cap);
});
