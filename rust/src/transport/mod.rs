//! Byte streams a connection runs over, behind one `Read + Write` type.
//!
//! Everything here is non-blocking: a read or write that cannot make progress returns
//! `WouldBlock`, which the session treats as "not now".

pub mod tcp;

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};

/// A connected transport.
#[derive(Debug)]
pub enum Transport {
    /// A plain TCP socket we opened ourselves (client side).
    Tcp(TcpStream),
}

impl Transport {
    /// The remote address, when there is one.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        match self {
            Transport::Tcp(s) => s.peer_addr().ok(),
        }
    }

    pub fn set_no_delay(&self, enabled: bool) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.set_nodelay(enabled),
        }
    }

    /// Ends the stream (best effort: the remote may already be gone).
    pub fn shutdown(&mut self) {
        match self {
            Transport::Tcp(s) => {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.flush(),
        }
    }
}
