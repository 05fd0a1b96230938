//! Large frames kept in wasm memory, by id, until the page asks for their bytes or lets
//! them go. Copying a 16 MiB frame out into a fresh JavaScript array costs the page more
//! than decoding it (the browser maps the new array's pages on first touch), and the table
//! rarely reads more of it than a preview: `pushPacked` keeps such a frame here and hands
//! the page its id (`www/loader.js` takes the bytes out on the first read of `bytes` or
//! `payload`; the table releases them when the frame leaves it).

/// Bytes held at most; a frame that would pass it is copied out as a small one is.
pub const MAX_STORED: usize = 128 << 20;

/// Frames kept by id, ids never reused (so a stale id finds nothing).
#[derive(Debug, Default)]
pub struct Store {
    /// The next id.
    next: u64,
    /// Held frames, in order of id.
    held: Vec<(u64, Vec<u8>)>,
    /// Bytes held.
    bytes: usize,
}

impl Store {
    /// An empty store.
    pub const fn new() -> Self {
        Self {
            next: 0,
            held: Vec::new(),
            bytes: 0,
        }
    }

    /// Keeps `frame` and returns its id, or gives it back when it would pass [`MAX_STORED`].
    pub fn keep(&mut self, frame: Vec<u8>) -> Result<u64, Vec<u8>> {
        if self.bytes + frame.len() > MAX_STORED {
            return Err(frame);
        }
        let id = self.next;
        self.next += 1;
        self.bytes += frame.len();
        self.held.push((id, frame));
        Ok(id)
    }

    fn find(&self, id: u64) -> Option<usize> {
        self.held.binary_search_by_key(&id, |(k, _)| *k).ok()
    }

    /// Bytes `from..to` (clamped to the frame) of frame `id`, if held.
    pub fn slice(&self, id: u64, from: usize, to: usize) -> Option<&[u8]> {
        let f = &self.held[self.find(id)?].1;
        let to = to.min(f.len());
        Some(&f[from.min(to)..to])
    }

    /// Frame `id`, no longer held, if it was.
    pub fn take(&mut self, id: u64) -> Option<Vec<u8>> {
        let (_, f) = self.held.remove(self.find(id)?);
        self.bytes -= f.len();
        Some(f)
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_or_released_id_finds_nothing_and_its_bytes_are_no_longer_counted() {
        let mut s = Store::default();
        let a = s.keep(vec![1; 10]).unwrap();
        let b = s.keep(vec![2; 20]).unwrap();
        assert_eq!(s.bytes(), 30);
        assert_eq!(s.slice(b, 18, 99), Some(&[2, 2][..]));
        assert_eq!(s.slice(b, 25, 30), Some(&[][..]));
        assert_eq!(s.take(a), Some(vec![1; 10]));
        assert_eq!((s.take(a), s.slice(a, 0, 1), s.bytes()), (None, None, 20));
        let c = s.keep(vec![3; 5]).unwrap();
        assert!(c != a && c != b, "ids are not reused");
        assert_eq!(s.take(b).map(|f| f.len()), Some(20));
        assert_eq!(s.bytes(), 5);
    }

    #[test]
    fn a_frame_past_the_bound_is_given_back() {
        let mut s = Store::default();
        s.keep(vec![0; MAX_STORED - 4]).unwrap();
        assert_eq!(s.keep(vec![7; 5]), Err(vec![7; 5]));
        assert!(s.keep(vec![7; 4]).is_ok());
        assert_eq!(s.bytes(), MAX_STORED);
    }
}
