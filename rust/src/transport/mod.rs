//! Byte streams a connection runs over, behind one `Read + Write` type.
//!
//! Everything here is non-blocking: a read or write that cannot make progress returns
//! `WouldBlock`, which the session treats as "not now".

pub mod stream_peer;
pub mod tcp;
pub mod tls;
pub mod tls_config;
pub mod tunnel;
mod x509;

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};

use stream_peer::StreamPeerIo;
use tls::TlsStream;

/// A connected transport.
#[derive(Debug)]
pub enum Transport {
    /// A plain TCP socket we opened ourselves (client side).
    Tcp(TcpStream),
    /// TLS over a TCP socket we opened (`wss://` client).
    Tls(Box<TlsStream>),
    /// A stream the game accepted and handed over (server side).
    StreamPeer(StreamPeerIo),
}

impl Transport {
    /// The remote address, when there is one.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        match self {
            Transport::Tcp(s) => s.peer_addr().ok(),
            Transport::Tls(s) => s.peer_addr(),
            Transport::StreamPeer(s) => s.peer_addr(),
        }
    }

    pub fn set_no_delay(&mut self, enabled: bool) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.set_nodelay(enabled),
            Transport::Tls(s) => s.tcp().set_nodelay(enabled),
            Transport::StreamPeer(s) => {
                s.set_no_delay(enabled);
                Ok(())
            }
        }
    }

    /// Whether a read that returned less than asked took everything there was (so reading
    /// again now would only block). Not for TLS: a record boundary also shortens a read.
    pub fn short_read_means_drained(&self) -> bool {
        match self {
            Transport::Tcp(_) => true,
            Transport::Tls(_) => false,
            Transport::StreamPeer(s) => !s.is_tls(),
        }
    }

    /// Frees buffers that hold nothing (see `Connection::release_idle_memory`).
    pub fn release_idle_memory(&mut self) {
        if let Transport::StreamPeer(s) = self {
            s.release_idle_memory();
        }
    }

    /// Gives a transport that buffers inside the engine its chance to move bytes.
    pub fn poll(&mut self) {
        if let Transport::StreamPeer(s) = self {
            s.poll();
        }
    }

    /// Ends the stream (best effort: the remote may already be gone).
    pub fn shutdown(&mut self) {
        match self {
            Transport::Tcp(s) => {
                let _ = s.shutdown(Shutdown::Both);
            }
            Transport::Tls(s) => s.shutdown(),
            Transport::StreamPeer(s) => s.shutdown(),
        }
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => s.read(buf),
            Transport::Tls(s) => s.read(buf),
            Transport::StreamPeer(s) => s.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => s.write(buf),
            Transport::Tls(s) => s.write(buf),
            Transport::StreamPeer(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => s.write_vectored(bufs),
            Transport::Tls(s) => s.write_vectored(bufs),
            Transport::StreamPeer(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.flush(),
            Transport::Tls(s) => s.flush(),
            Transport::StreamPeer(s) => s.flush(),
        }
    }
}
