//! The host's clock: the core takes time as durations since one per-process epoch.

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The instant all core timestamps count from.
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Now, as the core's duration since [`epoch`].
pub fn now() -> Duration {
    epoch().elapsed()
}

/// A core deadline as a tokio instant.
pub fn deadline(at: Duration) -> tokio::time::Instant {
    tokio::time::Instant::from_std(epoch() + at)
}

/// Milliseconds since the Unix epoch (wall clock), as the wire view reports them.
pub fn unix_millis() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}
