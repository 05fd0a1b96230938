//! The bytes of a handshake head as they arrive: bounded by the head limit and
//! timed by the handshake timeout.

use std::time::Duration;

/// Received bytes of a head (and what follows it), with the deadline.
#[derive(Debug)]
pub(crate) struct HeadBuffer {
    buf: Vec<u8>,
    filled: usize,
    /// `input_buffer` never grows the buffer past this many bytes.
    cap: usize,
    timeout: Duration,
    deadline: Option<Duration>,
    timed_out: bool,
    ended: bool,
}

impl HeadBuffer {
    /// An empty buffer that lends room for at most `cap` bytes and times out `timeout`
    /// after the first [`Self::handle_timeout`].
    pub(crate) fn new(cap: usize, timeout: Duration) -> Self {
        Self {
            buf: Vec::new(),
            filled: 0,
            cap,
            timeout,
            deadline: None,
            timed_out: false,
            ended: false,
        }
    }

    /// Room for at least one and up to `min` more bytes, within the cap. Empty only
    /// when the cap is reached (the machines report that before asking for more).
    pub(crate) fn input_buffer(&mut self, min: usize) -> &mut [u8] {
        let end = (self.filled + min.max(1)).min(self.cap.max(self.filled));
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        &mut self.buf[self.filled..]
    }

    /// Records `n` bytes written into [`Self::input_buffer`].
    pub(crate) fn commit(&mut self, n: usize) {
        self.filled = (self.filled + n).min(self.buf.len());
    }

    /// Appends `data` whole: bytes after a head are frames and must not be lost,
    /// so the cap bounds only what [`Self::input_buffer`] lends.
    pub(crate) fn feed(&mut self, data: &[u8]) {
        self.buf.truncate(self.filled);
        self.buf.extend_from_slice(data);
        self.filled = self.buf.len();
    }

    /// Everything received so far.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[..self.filled]
    }

    /// Moves the received bytes out.
    pub(crate) fn into_bytes(mut self) -> Vec<u8> {
        self.buf.truncate(self.filled);
        self.buf
    }

    /// Records that the peer ended its side of the transport.
    pub(crate) fn end(&mut self) {
        self.ended = true;
    }

    /// True once the peer ended its side of the transport.
    pub(crate) fn ended(&self) -> bool {
        self.ended
    }

    /// Starts the deadline at the first call; marks it passed at `now >= deadline`.
    pub(crate) fn handle_timeout(&mut self, now: Duration) {
        match self.deadline {
            None => self.deadline = Some(now + self.timeout),
            Some(at) if now >= at => self.timed_out = true,
            Some(_) => {}
        }
    }

    /// When [`Self::handle_timeout`] should next be called (`None` before its first call).
    pub(crate) fn poll_timeout(&self) -> Option<Duration> {
        self.deadline.filter(|_| !self.timed_out)
    }

    /// True once the deadline has passed.
    pub(crate) fn timed_out(&self) -> bool {
        self.timed_out
    }

    /// The handshake timeout.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_buffer_stops_at_the_cap_but_feed_keeps_every_byte() {
        let mut head = HeadBuffer::new(10, Duration::from_secs(1));
        assert_eq!(head.input_buffer(4096).len(), 10);
        head.commit(8);
        assert_eq!(head.input_buffer(4096).len(), 2);
        head.commit(2);
        assert!(head.input_buffer(4096).is_empty());
        head.feed(&[7; 100]);
        assert_eq!(head.bytes().len(), 110);
    }

    #[test]
    fn deadline_starts_at_the_first_clock_reading() {
        let mut head = HeadBuffer::new(10, Duration::from_secs(2));
        assert_eq!(head.poll_timeout(), None);
        head.handle_timeout(Duration::from_secs(5));
        assert_eq!(head.poll_timeout(), Some(Duration::from_secs(7)));
        head.handle_timeout(Duration::from_secs(6));
        assert!(!head.timed_out());
        head.handle_timeout(Duration::from_secs(7));
        assert!(head.timed_out());
        assert_eq!(head.poll_timeout(), None);
    }
}
