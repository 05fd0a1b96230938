//! Traffic over time: messages and bytes per direction in fixed buckets.

use super::{Direction, Session};

/// Most buckets [`Session::traffic`] returns; a longer session gets wider buckets.
pub const MAX_BUCKETS: usize = 10_000;

/// One bucket of time.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct TrafficBucket {
    /// Its start, in milliseconds from the first frame.
    pub start_ms: f64,
    /// Messages completed in it, client to server.
    pub c2s_messages: u64,
    /// Frame bytes on the wire in it, client to server.
    pub c2s_bytes: u64,
    /// Messages completed in it, server to client.
    pub s2c_messages: u64,
    /// Frame bytes on the wire in it, server to client.
    pub s2c_bytes: u64,
}

/// Traffic over time.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct Traffic {
    /// Width of each bucket, in milliseconds (wider than asked when needed to stay
    /// within [`MAX_BUCKETS`]).
    pub bucket_ms: f64,
    /// The time of the first frame, in milliseconds (bucket 0 starts there).
    pub origin_ms: f64,
    /// The buckets, from the first frame's to the last's.
    pub buckets: Vec<TrafficBucket>,
    /// Highest messages per second in a bucket, per direction `[c2s, s2c]`.
    pub peak_messages_per_sec: [f64; 2],
    /// Highest bytes per second in a bucket, per direction `[c2s, s2c]`.
    pub peak_bytes_per_sec: [f64; 2],
    /// Frames without a time (not counted).
    pub untimed_frames: u64,
}

impl Session {
    /// Messages and bytes per direction in buckets of `bucket_ms` milliseconds
    /// (at least 1 ms). A frame counts at its time; a message at its last frame's.
    pub fn traffic(&self, bucket_ms: f64) -> Traffic {
        let timed = || {
            self.frames()
                .iter()
                .filter_map(|f| f.time_ms.map(|t| (t, f)))
        };
        let origin = timed().map(|(t, _)| t).fold(f64::INFINITY, f64::min);
        let end = timed().map(|(t, _)| t).fold(f64::NEG_INFINITY, f64::max);
        let untimed_frames = self.frames().iter().filter(|f| f.time_ms.is_none()).count() as u64;
        let mut bucket = if bucket_ms.is_finite() {
            bucket_ms.max(1.0)
        } else {
            1000.0
        };
        if !origin.is_finite() {
            return Traffic {
                bucket_ms: bucket,
                origin_ms: 0.0,
                buckets: Vec::new(),
                peak_messages_per_sec: [0.0; 2],
                peak_bytes_per_sec: [0.0; 2],
                untimed_frames,
            };
        }
        let span = end - origin;
        if span / bucket >= MAX_BUCKETS as f64 {
            bucket = span / (MAX_BUCKETS as f64 - 1.0);
        }
        let count = ((span / bucket).floor() as usize + 1).min(MAX_BUCKETS);
        let mut buckets: Vec<TrafficBucket> = (0..count)
            .map(|i| TrafficBucket {
                start_ms: i as f64 * bucket,
                ..TrafficBucket::default()
            })
            .collect();
        let at = |t: f64| (((t - origin) / bucket).floor() as usize).min(count - 1);
        for (t, f) in timed() {
            let b = &mut buckets[at(t)];
            let ends_message = f.message.is_some() && f.fin;
            match f.direction {
                Direction::ClientToServer => {
                    b.c2s_bytes += f.wire_len;
                    b.c2s_messages += u64::from(ends_message);
                }
                Direction::ServerToClient => {
                    b.s2c_bytes += f.wire_len;
                    b.s2c_messages += u64::from(ends_message);
                }
            }
        }
        let per_sec = 1000.0 / bucket;
        let mut peak_messages_per_sec = [0.0f64; 2];
        let mut peak_bytes_per_sec = [0.0f64; 2];
        for b in &buckets {
            peak_messages_per_sec[0] =
                peak_messages_per_sec[0].max(b.c2s_messages as f64 * per_sec);
            peak_messages_per_sec[1] =
                peak_messages_per_sec[1].max(b.s2c_messages as f64 * per_sec);
            peak_bytes_per_sec[0] = peak_bytes_per_sec[0].max(b.c2s_bytes as f64 * per_sec);
            peak_bytes_per_sec[1] = peak_bytes_per_sec[1].max(b.s2c_bytes as f64 * per_sec);
        }
        Traffic {
            bucket_ms: bucket,
            origin_ms: origin,
            buckets,
            peak_messages_per_sec,
            peak_bytes_per_sec,
            untimed_frames,
        }
    }
}
