//! A client and a server [`Connection`] wired in memory, with a virtual clock.
//!
//! After quinn-proto's test `Pair`: one struct owns both ends and the time.
//! [`Pair::connect`] runs the core's handshake machines against each other, so
//! both ends hold whatever they negotiated; [`Pair::drive`] then moves every
//! pending output byte of each end into the other (in chunks of
//! [`Pair::chunk`] bytes, to exercise splits) and tells both the time, until
//! nothing moves. What each end receives lands in its [`End::events`] as owned
//! [`Message`]s, and the violation it failed with in [`End::error`].
//!
//! Shared by the core's integration tests (`mod pair;`) and by the browser
//! tests of `wasm-client` (`#[path = ...] mod pair;`): it needs nothing but
//! `framewire_core`.

use std::time::Duration;

use framewire_core::deflate::DeflateConfig;
use framewire_core::handshake::{
    Acceptance, ClientHandshake, ClientRequest, ClientStep, HandshakeInfo, ServerHandshake,
    ServerHandshakeConfig, ServerStep,
};
use framewire_core::{Config, Connection, Limits, Message, ProtocolError};

/// The `Sec-WebSocket-Key` the client sends (RFC 6455's sample).
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The client's mask-key seed.
pub const SEED: [u8; 32] = [9; 32];

/// Rounds of [`Pair::drive`], or clock jumps of [`Pair::run_until_idle_or`],
/// after which the pair is taken to loop forever.
const MAX_STEPS: usize = 10_000;

/// How to build a [`Pair`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairConfig {
    /// The client's connection config (limits, timers).
    pub client: Config,
    /// The server's connection config (limits, timers).
    pub server: Config,
    /// permessage-deflate the client offers, if any.
    pub client_deflate: Option<DeflateConfig>,
    /// permessage-deflate the server accepts, if any.
    pub server_deflate: Option<DeflateConfig>,
    /// Most bytes moved at once, handshake included; `None` moves all that is pending.
    pub chunk: Option<usize>,
    /// The clock's reading when the handshake starts.
    pub start: Duration,
}

impl Default for PairConfig {
    fn default() -> Self {
        Self {
            client: Config::default(),
            server: Config::default(),
            client_deflate: None,
            server_deflate: None,
            chunk: None,
            start: Duration::ZERO,
        }
    }
}

impl PairConfig {
    /// Both ends with `limits` and default timers, no extension.
    pub fn with_limits(limits: Limits) -> Self {
        let config = Config {
            limits,
            ..Config::default()
        };
        Self {
            client: config.clone(),
            server: config,
            ..Self::default()
        }
    }

    /// Both ends offering and accepting permessage-deflate with `deflate`.
    pub fn deflate(deflate: DeflateConfig) -> Self {
        Self {
            client_deflate: Some(deflate),
            server_deflate: Some(deflate),
            ..Self::default()
        }
    }
}

/// One end of a [`Pair`]: its connection and what it has received.
#[derive(Debug)]
pub struct End {
    /// The connection, to send with (or to poke at directly).
    pub conn: Connection,
    /// What its handshake machine settled.
    pub info: HandshakeInfo,
    /// Messages received and not yet taken, in order.
    pub events: Vec<Message>,
    /// The violation (or timeout) the connection failed with, if it did.
    pub error: Option<ProtocolError>,
    /// Every byte this end has sent since the last [`End::take_wire`].
    pub wire: Vec<u8>,
}

impl End {
    fn new(conn: Connection, info: HandshakeInfo) -> Self {
        Self {
            conn,
            info,
            events: Vec::new(),
            error: None,
            wire: Vec::new(),
        }
    }

    /// Polls the connection until it needs input, keeping events and the failure.
    pub fn poll(&mut self) {
        loop {
            // Owned messages straight from the core (the reassembled buffer
            // handed over); `poll_event` is the same decoder lending instead.
            match self.conn.poll_message() {
                Ok(Some(m)) => self.events.push(m),
                Ok(None) => {
                    if !self.conn.has_pending_work() {
                        return;
                    }
                }
                Err(e) => {
                    assert!(
                        self.error.is_none(),
                        "failed twice: {:?} then {e:?}",
                        self.error
                    );
                    self.error = Some(e);
                }
            }
        }
    }

    /// Feeds `bytes` as if they came from the peer (forged or altered frames), then polls.
    pub fn receive(&mut self, bytes: &[u8]) {
        self.conn.feed(bytes);
        self.poll();
    }

    /// Takes the pending output without delivering it (to alter it, say).
    pub fn take_output(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while !self.conn.pending_output().is_empty() {
            let part = self.conn.pending_output();
            out.extend_from_slice(part);
            let n = part.len();
            self.conn.consume_output(n);
        }
        out
    }

    /// The messages received so far, leaving none.
    pub fn take_events(&mut self) -> Vec<Message> {
        std::mem::take(&mut self.events)
    }

    /// The bytes sent so far, leaving none.
    pub fn take_wire(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.wire)
    }
}

/// A client and a server connected in memory, and the time they both see.
#[derive(Debug)]
pub struct Pair {
    /// The client end.
    pub client: End,
    /// The server end.
    pub server: End,
    /// The virtual clock: what [`Pair::drive`] tells both ends.
    pub now: Duration,
    /// Most bytes moved at once (`usize::MAX`: all that is pending).
    pub chunk: usize,
}

impl Pair {
    /// Runs a [`ClientHandshake`] (fixed [`KEY`] and [`SEED`]) against a
    /// [`ServerHandshake`] that accepts, moving bytes in chunks of
    /// `config.chunk`, and returns both ends, driven once. Panics when the
    /// handshake does not succeed.
    pub fn connect(config: PairConfig) -> Self {
        let chunk = config.chunk.unwrap_or(usize::MAX);
        assert!(chunk > 0, "chunks of 0 bytes never move anything");
        let now = config.start;
        let request = ClientRequest {
            host: "localhost".into(),
            path: "/".into(),
            ..ClientRequest::default()
        };
        let mut client = ClientHandshake::with_key_and_seed(
            config.client,
            request,
            config.client_deflate,
            KEY.into(),
            SEED,
        )
        .expect("the client's request");
        client.handle_timeout(now);
        let options = ServerHandshakeConfig {
            deflate: config.server_deflate,
            ..ServerHandshakeConfig::default()
        };
        let mut server = ServerHandshake::new(config.server, options);
        server.handle_timeout(now);

        let pending = loop {
            let out = client.pending_output();
            assert!(!out.is_empty(), "the server wants more than the request");
            let n = out.len().min(chunk);
            server.feed(&out[..n]);
            client.consume_output(n);
            match server.step() {
                ServerStep::NeedInput(next) => server = next,
                ServerStep::Request(pending) => break pending,
                ServerStep::Declined(d) => panic!("the server declined: {d:?}"),
            }
        };
        let upgraded = pending
            .accept(Acceptance::default())
            .unwrap_or_else(|d| panic!("the server refused the upgrade: {d:?}"));
        let mut response = &upgraded.response[..];
        let established = loop {
            assert!(
                !response.is_empty(),
                "the client wants more than the answer"
            );
            let n = response.len().min(chunk);
            client.feed(&response[..n]);
            response = &response[n..];
            match client.step() {
                ClientStep::NeedInput(next) => client = next,
                ClientStep::Established(e) => break e,
                other => panic!("the client did not connect: {other:?}"),
            }
        };
        assert!(response.is_empty(), "the answer has bytes the client left");

        let mut pair = Self {
            client: End::new(established.connection, established.info),
            server: End::new(upgraded.connection, upgraded.info),
            now,
            chunk,
        };
        pair.drive();
        pair
    }

    /// Tells both ends the time, then moves each one's pending output into the
    /// other (polling the receiver after every chunk), until a round moves
    /// nothing. Panics if traffic never stops.
    pub fn drive(&mut self) {
        for _ in 0..MAX_STEPS {
            for end in [&mut self.client, &mut self.server] {
                end.conn.handle_timeout(self.now);
                end.poll();
            }
            let moved = transfer(&mut self.client, &mut self.server, self.chunk)
                + transfer(&mut self.server, &mut self.client, self.chunk);
            if moved == 0 {
                return;
            }
        }
        panic!("traffic never stops after {MAX_STEPS} rounds");
    }

    /// Moves the clock `d` forward, then [`Self::drive`]s.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.drive();
    }

    /// The earlier of both ends' [`Connection::poll_timeout`], if either has one.
    pub fn next_timeout(&self) -> Option<Duration> {
        [&self.client, &self.server]
            .into_iter()
            .filter_map(|end| end.conn.poll_timeout())
            .min()
    }

    /// Drives, then jumps the clock to [`Self::next_timeout`] and drives again,
    /// until no timer is set (true: idle) or the next one is after `deadline`
    /// (false, with the clock moved to `deadline` and driven). Panics when the
    /// timers do not settle within a bounded number of jumps.
    pub fn run_until_idle_or(&mut self, deadline: Duration) -> bool {
        self.drive();
        for _ in 0..MAX_STEPS {
            match self.next_timeout() {
                None => return true,
                Some(t) if t > deadline => {
                    self.now = self.now.max(deadline);
                    self.drive();
                    return false;
                }
                Some(t) => {
                    self.now = self.now.max(t);
                    self.drive();
                }
            }
        }
        panic!("timers still firing after {MAX_STEPS} jumps");
    }
}

/// Moves `from`'s pending output into `to` in chunks of `chunk` bytes, polling
/// `to` after each: the bytes moved.
fn transfer(from: &mut End, to: &mut End, chunk: usize) -> usize {
    let mut moved = 0;
    loop {
        let out = from.conn.pending_output();
        if out.is_empty() {
            return moved;
        }
        let n = out.len().min(chunk);
        from.wire.extend_from_slice(&out[..n]);
        to.conn.feed(&out[..n]);
        from.conn.consume_output(n);
        to.poll();
        moved += n;
    }
}
