//! `--log-frames`: every relayed frame and broken rule, one log line each,
//! from the core's inspector (permessage-deflate inflated as the two ends agreed).

use framewire_core::deflate::DeflateParams;
use framewire_core::inspect::{Direction, Inspector, InspectorConfig, Observation};
use framewire_core::Limits;

use super::hub::Dir;

/// Most bytes of a frame the log's inspector holds: longer frames are logged truncated.
const MAX_BUFFER: usize = 1 << 20;

/// Bytes of payload shown with `--log-payloads`.
const PREVIEW: usize = 64;

/// The inspector of one relayed connection, for the log.
#[derive(Debug)]
pub(crate) struct FrameLog {
    inspector: Inspector,
    id: u32,
    payloads: bool,
}

impl FrameLog {
    /// A log for connection `id`, inflating as `deflate` agreed; payload previews when `payloads`.
    pub(crate) fn new(id: u32, deflate: Option<&DeflateParams>, payloads: bool) -> Self {
        let config = InspectorConfig {
            max_buffer: MAX_BUFFER,
            ..InspectorConfig::with_limits(Limits::default())
        };
        let mut inspector = Inspector::new(config).expect("1 MiB holds any header");
        if let Some(d) = deflate {
            inspector.enable_deflate(d);
        }
        Self {
            inspector,
            id,
            payloads,
        }
    }

    /// Decodes and logs bytes seen in `dir`.
    pub(crate) fn feed(&mut self, dir: Dir, injected: bool, bytes: &[u8]) {
        let direction = match dir {
            Dir::Up => Direction::ClientToServer,
            Dir::Down => Direction::ServerToClient,
        };
        let conn = self.id;
        let dir = dir.name();
        let injected = if injected { " (injected)" } else { "" };
        for seen in self.inspector.feed(direction, bytes, None) {
            let Observation::Frame(f) = seen else {
                continue;
            };
            let h = &f.header;
            let preview = if self.payloads {
                let shown = f.content();
                let clip = &shown[..shown.len().min(PREVIEW)];
                format!(" payload {:?}", String::from_utf8_lossy(clip))
            } else {
                String::new()
            };
            tracing::info!(
                conn,
                dir,
                "frame #{} {}{}{}{} {} bytes{}{}{injected}",
                f.index,
                h.opcode_name(),
                if h.fin { "" } else { " (not fin)" },
                if h.rsv1 { " rsv1" } else { "" },
                if h.mask.is_some() { " masked" } else { "" },
                h.payload_len,
                f.inflated
                    .as_ref()
                    .map(|i| format!(" (inflated {})", i.len()))
                    .unwrap_or_default(),
                preview,
            );
            for v in &f.violations {
                tracing::info!(
                    conn,
                    dir,
                    "violation at byte {}: {} ({}, close code {})",
                    v.offset,
                    v.error,
                    v.rule(),
                    v.close_code().0
                );
            }
        }
    }
}
