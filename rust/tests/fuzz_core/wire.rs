//! The wire: the connection's read side (random chunks) and write side (throttled).

use std::io::{self, ErrorKind, IoSlice, Read, Write};

use crate::rng::Rng;

/// The connection's read side: bytes the remote has sent so far, given out in random chunks.
pub struct Wire {
    pub data: Vec<u8>,
    pub pos: usize,
    pub eof: bool,
    /// An error the next read returns (once).
    pub error: Option<ErrorKind>,
    pub rng: Rng,
    pub max_chunk: usize,
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(kind) = self.error.take() {
            return Err(kind.into());
        }
        if self.pos == self.data.len() {
            return if self.eof {
                Ok(0)
            } else {
                Err(ErrorKind::WouldBlock.into())
            };
        }
        if self.rng.one_in(16) {
            return Err(ErrorKind::WouldBlock.into());
        }
        let left = self.data.len() - self.pos;
        let n = buf.len().min(left).min(self.rng.range(1, self.max_chunk));
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The connection's write side: takes at most `budget` bytes, into space reserved beforehand (so
/// writing allocates nothing the heap accounting would charge to the connection).
pub struct Sink {
    pub out: Vec<u8>,
    pub budget: usize,
    pub error: Option<ErrorKind>,
}

impl Sink {
    pub fn room(&self) -> usize {
        self.budget.min(self.out.capacity() - self.out.len())
    }
    /// Called outside any measured call.
    pub fn reserve(&mut self) {
        if self.out.capacity() - self.out.len() < 1 << 15 {
            self.out.reserve(1 << 16);
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if let Some(kind) = self.error.take() {
            return Err(kind.into());
        }
        if bufs.iter().all(|b| b.is_empty()) {
            return Ok(0);
        }
        if self.room() == 0 {
            return Err(ErrorKind::WouldBlock.into());
        }
        let mut n = 0;
        for b in bufs {
            let k = b.len().min(self.room());
            self.out.extend_from_slice(&b[..k]);
            self.budget -= k;
            n += k;
            if k < b.len() {
                break;
            }
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
