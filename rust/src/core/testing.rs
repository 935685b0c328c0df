//! Test doubles shared by the core's unit tests: raw frames, a throttled writer, an in-memory pipe.

use std::io::{self, Read, Write};

use super::frame::apply_mask;

/// Builds one frame by hand: `opcode`, FIN bit, payload, optional mask (no other checks).
pub fn raw_frame(opcode: u8, fin: bool, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![(if fin { 0x80 } else { 0 }) | opcode];
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(m | n as u8),
        n if n < 65536 => {
            out.push(m | 126);
            out.extend((n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend((n as u64).to_be_bytes());
        }
    }
    if let Some(key) = mask {
        out.extend(key);
    }
    let body = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[body..], key, 0);
    }
    out
}

/// A writer that accepts a set number of bytes and then answers `WouldBlock`.
pub struct ChokedWriter {
    pub data: Vec<u8>,
    budget: usize,
}

impl ChokedWriter {
    pub fn new(budget: usize) -> Self {
        ChokedWriter {
            data: Vec::new(),
            budget,
        }
    }

    pub fn allow(&mut self, more: usize) {
        self.budget += more;
    }
}

impl Write for ChokedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.budget == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.budget);
        self.budget -= n;
        self.data.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One direction of an in-memory connection: bytes written are read back; empty reads block
/// until `eof` is set.
#[derive(Default)]
pub struct Pipe {
    pub data: Vec<u8>,
    pub eof: bool,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.data.is_empty() {
            return if self.eof {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        let n = buf.len().min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data.drain(..n);
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.data.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
