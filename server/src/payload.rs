//! Incompressible download payload, cut from one random block made at start-up.

use bytes::Bytes;
use rand::RngCore;

/// Size of the random block. Larger than any common compressor's window (gzip's is
/// 32 KiB, brotli's at most 16 MiB but rarely above 4 MiB on proxies), so a middlebox
/// cannot shrink it.
const BLOCK: usize = 4 << 20;

/// A block of random bytes and a cursor-free way to slice it.
#[derive(Debug, Clone)]
pub struct Payload {
    block: Bytes,
}

impl Payload {
    /// Makes a new random block.
    pub fn new() -> Self {
        let mut buf = vec![0u8; BLOCK];
        rand::rng().fill_bytes(&mut buf);
        Self {
            block: Bytes::from(buf),
        }
    }

    /// The piece of at most `len` bytes starting at `offset` (mod the block), never
    /// crossing the block's end.
    pub fn piece(&self, offset: u64, len: usize) -> Bytes {
        let start = (offset % self.block.len() as u64) as usize;
        let end = (start + len).min(self.block.len());
        self.block.slice(start..end)
    }
}

impl Default for Payload {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_wrap_and_never_exceed_the_asked_length() {
        let p = Payload::new();
        assert_eq!(p.piece(0, 100).len(), 100);
        assert_eq!(p.piece(BLOCK as u64 - 10, 100).len(), 10);
        assert_eq!(p.piece(BLOCK as u64, 5), p.piece(0, 5));
    }
}
