//! A quiet connection packed down to what it needs until the peer speaks
//! again or a timer falls due ([`Connection::park`]).
//!
//! A parked connection holds no buffer and no configuration (the host keeps
//! one shared and hands it back to [`Parked::unpark`]): its role, the agreed
//! extension state (the compression history and, for clients, the mask
//! generator, boxed as in the connection) and its timers.

use std::time::Duration;

use super::{Connection, Held, Inflater, Timers};
use crate::config::Config;
use crate::connection::DeflateFootprint;
use crate::role::Role;
use crate::sender::ParkedSender;

/// A quiet, open connection without its buffers and configuration, for a host
/// that keeps many idle connections; [`Parked::unpark`] gives the connection back.
///
/// Its times are nanoseconds since the connection's start in a `u64` each
/// (584 years) rather than `Duration`s: 56 bytes in all instead of 88.
#[derive(Debug)]
pub struct Parked {
    tx: ParkedSender,
    inflater: Option<Box<Inflater>>,
    /// When the connection last read the clock ([`NEVER`]: never).
    now: u64,
    last_rx: u64,
    last_ping: u64,
}

/// `Parked::now` of a connection that never read the clock.
const NEVER: u64 = u64::MAX;

/// `d` in nanoseconds, saturating below [`NEVER`].
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).map_or(NEVER - 1, |n| n.min(NEVER - 1))
}

impl Connection {
    /// Packs a quiet connection down to a [`Parked`] one: open (no close sent
    /// or received), no input buffer and no partial message (a connection
    /// frees them at the first timer that finds it quiet, see
    /// [`Connection::handle_timeout`]), no output left, no message half compressed
    /// or inflated, no input since its last timer. Any other connection is
    /// given back unchanged.
    #[allow(
        clippy::result_large_err,
        reason = "the connection given back is the connection itself, moved, not an error"
    )]
    pub fn park(mut self) -> Result<Parked, Self> {
        self.release_held();
        if !self.can_park() {
            return Err(self);
        }
        let Self {
            role,
            tx,
            inflater,
            timers,
            ..
        } = self;
        Ok(Parked {
            tx: tx.park(role),
            inflater,
            now: timers.now.map_or(NEVER, nanos),
            last_rx: nanos(timers.last_rx),
            last_ping: nanos(timers.last_ping),
        })
    }

    /// True when [`Self::park`] would pack the connection down (no event is
    /// lent: it is polled until it needs input).
    pub fn can_park(&self) -> bool {
        self.held == Held::Nothing
            && self.failure.is_none()
            && self.partial.is_none()
            && self.peek.is_none()
            && self.message.capacity() == 0
            && self.input.buf.is_empty()
            && !self.inflating()
            && !self
                .inflater
                .as_ref()
                .is_some_and(|i| i.decompressor.holds_state())
            && !self.timers.received
            && self.timers.close_sent_at.is_none()
            && self.tx.can_park()
    }
}

impl Parked {
    /// The connection again, open, with `config` (the one it ran with:
    /// its limits and timers), as it was when parked.
    pub fn unpark(self, config: &Config) -> Connection {
        let timers = self.timers();
        let role = self.tx.role();
        let tx = self.tx.unpark(config.limits.max_pending_output);
        Connection::assemble(role, config.clone(), tx, self.inflater, timers)
    }

    /// Its timers as they were: no input since the last timer, no close sent.
    fn timers(&self) -> Timers {
        Timers {
            now: (self.now != NEVER).then(|| Duration::from_nanos(self.now)),
            last_rx: Duration::from_nanos(self.last_rx),
            received: false,
            last_ping: Duration::from_nanos(self.last_ping),
            close_sent_at: None,
        }
    }

    /// Our role.
    pub fn role(&self) -> Role {
        self.tx.role()
    }

    /// When [`Connection::handle_timeout`] should next be called once
    /// unparked (with the same `config`): the keepalive ping or the idle
    /// timeout, as [`Connection::poll_timeout`] says for the connection.
    pub fn poll_timeout(&self, config: &Config) -> Option<Duration> {
        self.timers().open_deadline(config)
    }

    /// What permessage-deflate holds, when it is on: only the history kept for
    /// context takeover (a parked connection holds no zlib state).
    pub fn deflate_footprint(&self) -> Option<DeflateFootprint> {
        let inflater = &self.inflater.as_deref()?.decompressor;
        let compressor = self.tx.compressor()?;
        Some(DeflateFootprint {
            zlib_states: 0,
            history_bytes: inflater.history_len() + compressor.history_len(),
        })
    }
}
