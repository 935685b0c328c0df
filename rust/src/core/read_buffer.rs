//! The bytes read from the transport and not yet parsed.

use std::io::{self, Read};

/// A read buffer that is allocated on the first read, compacted as it is consumed, and freed
/// when the connection ends, so an idle or closed peer costs almost nothing.
#[derive(Debug, Default)]
pub struct ReadBuffer {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// The last read returned less than there was room for.
    short: bool,
}

impl ReadBuffer {
    /// Bytes asked of the transport per read on a busy connection.
    pub const CHUNK: usize = 16 * 1024;
    /// The stack buffer of a read with nothing allocated, and the buffer then allocated when
    /// little came (a handshake, a few small messages).
    const PROBE: usize = 2 * 1024;
    const SMALL: usize = 4 * 1024;

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Unparsed bytes (mutable: payloads are unmasked in place).
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.end]
    }

    pub fn consume(&mut self, n: usize) {
        self.start += n;
        debug_assert!(self.start <= self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Drops every unparsed byte (the buffer itself stays).
    pub fn discard(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// One read from `r` into free space; `Ok(0)` is end of stream.
    pub fn read_from(&mut self, r: &mut dyn Read) -> io::Result<usize> {
        if self.buf.is_empty() {
            return self.first_read(r);
        }
        if !self.short && self.buf.len() < Self::CHUNK {
            // The last read filled what room there was: more is coming, read in full chunks.
            self.buf.resize(Self::CHUNK, 0);
        }
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                // Only an HTTP head can fill a whole buffer unparsed; its size is capped elsewhere.
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        let room = self.buf.len() - self.end;
        let n = r.read(&mut self.buf[self.end..])?;
        self.end += n;
        self.short = n < room;
        Ok(n)
    }

    /// Whether the last read returned less than there was room for.
    pub fn last_read_was_short(&self) -> bool {
        self.short
    }

    /// A read with no buffer allocated (a new or idle connection): into the stack first, so a
    /// poll that finds nothing allocates nothing; then a small buffer, or a full chunk when the
    /// probe came back full.
    fn first_read(&mut self, r: &mut dyn Read) -> io::Result<usize> {
        let mut probe = [0u8; Self::PROBE];
        let n = r.read(&mut probe)?;
        self.short = n < probe.len();
        if n > 0 {
            let size = if self.short { Self::SMALL } else { Self::CHUNK };
            self.buf = vec![0; size];
            self.buf[..n].copy_from_slice(&probe[..n]);
            self.start = 0;
            self.end = n;
        }
        Ok(n)
    }

    /// Frees the memory when nothing is waiting in it (an idle connection keeps no buffer).
    pub fn release_if_empty(&mut self) {
        if self.is_empty() {
            self.release();
        }
    }

    /// Frees the memory.
    pub fn release(&mut self) {
        *self = ReadBuffer::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacts_and_grows() {
        let mut b = ReadBuffer::default();
        let data = vec![7u8; ReadBuffer::CHUNK + 10];
        let mut src: &[u8] = &data;
        assert_eq!(
            b.read_from(&mut src).unwrap(),
            ReadBuffer::PROBE,
            "a full probe"
        );
        assert_eq!(b.buf.len(), ReadBuffer::CHUNK, "then a full chunk");
        let rest = ReadBuffer::CHUNK - ReadBuffer::PROBE;
        assert_eq!(b.read_from(&mut src).unwrap(), rest);
        b.consume(5);
        assert_eq!(b.read_from(&mut src).unwrap(), 5, "compacted to make room");
        assert_eq!(b.data_mut().len(), ReadBuffer::CHUNK);
        assert_eq!(
            b.read_from(&mut src).unwrap(),
            5,
            "grew when full and unparsed"
        );
        b.consume(ReadBuffer::CHUNK + 5);
        assert!(b.is_empty());
        b.release();
        assert_eq!(b.buf.capacity(), 0);
    }

    #[test]
    fn an_idle_read_allocates_nothing_and_a_small_one_little() {
        let mut b = ReadBuffer::default();
        let mut nothing: &[u8] = &[];
        assert_eq!(b.read_from(&mut nothing).unwrap(), 0);
        assert_eq!(b.buf.capacity(), 0);
        let mut small: &[u8] = &[1, 2, 3];
        assert_eq!(b.read_from(&mut small).unwrap(), 3);
        assert_eq!(b.buf.len(), ReadBuffer::SMALL);
        assert_eq!(b.data_mut(), &[1, 2, 3]);
        // A read that fills the small buffer's room makes the next one a full chunk.
        let big = vec![9u8; ReadBuffer::CHUNK];
        let mut src: &[u8] = &big;
        assert_eq!(b.read_from(&mut src).unwrap(), ReadBuffer::SMALL - 3);
        b.read_from(&mut src).unwrap();
        assert_eq!(b.buf.len(), ReadBuffer::CHUNK);
    }
}
