//! A Godot `StreamPeer` (a `StreamPeerTCP`, or a `StreamPeerTLS` over one) as a non-blocking
//! `Read + Write`, for connections the game accepted itself (`accept_stream`). The only engine
//! types in the transport layer.

use std::io::{self, IoSlice, Read, Write};
use std::net::{IpAddr, SocketAddr};

use godot::classes::stream_peer_tcp::Status as TcpStatus;
use godot::classes::stream_peer_tls::Status as TlsStatus;
use godot::classes::{StreamPeer, StreamPeerTcp, StreamPeerTls};
use godot::global::Error;
use godot::prelude::*;

/// Most bytes handed to the engine stream per write call (small frames are gathered).
const MAX_WRITE: usize = 64 * 1024;

/// Bytes asked of a StreamPeerTCP per read, at least and at most (the engine allocates that much
/// per call, so a small read asks little and a full one doubles the next).
const MIN_READ: usize = 512;
const MAX_READ: usize = 64 * 1024;

/// Why a stream cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub enum Unusable {
    /// Not a `StreamPeerTCP` or a `StreamPeerTLS` over one.
    WrongType(String),
    /// The TCP connection is not (or no longer) connected, or the TLS session failed.
    NotConnected(String),
}

/// The accepted stream and the TCP peer under it.
#[derive(Debug)]
pub struct StreamPeerIo {
    /// What we read and write: the TCP stream itself, or the TLS stream over it.
    stream: Gd<StreamPeer>,
    tcp: Gd<StreamPeerTcp>,
    tls: Option<Gd<StreamPeerTls>>,
    /// Reused for every write (see `write_vectored`).
    out: PackedByteArray,
    /// How much the next read asks for (see `MIN_READ`).
    read_hint: usize,
}

impl StreamPeerIo {
    /// Checks that `stream` can carry a WebSocket: a connected `StreamPeerTCP`, or a
    /// `StreamPeerTLS` (connected or still handshaking) over one.
    pub fn new(stream: Gd<StreamPeer>) -> Result<StreamPeerIo, Unusable> {
        let class = stream.get_class().to_string();
        let (tcp, tls) = match stream.clone().try_cast::<StreamPeerTcp>() {
            Ok(tcp) => (tcp, None),
            Err(other) => match other.try_cast::<StreamPeerTls>() {
                Ok(tls) => {
                    let base = tls
                        .get_stream()
                        .and_then(|s| s.try_cast::<StreamPeerTcp>().ok());
                    let Some(tcp) = base else {
                        return Err(Unusable::WrongType(
                            "the StreamPeerTLS has no StreamPeerTCP under it".into(),
                        ));
                    };
                    if !matches!(
                        tls.get_status(),
                        TlsStatus::HANDSHAKING | TlsStatus::CONNECTED
                    ) {
                        return Err(Unusable::NotConnected(format!(
                            "the StreamPeerTLS is in state {:?}",
                            tls.get_status()
                        )));
                    }
                    (tcp, Some(tls))
                }
                Err(_) => {
                    return Err(Unusable::WrongType(format!(
                        "a {class} cannot carry a WebSocket; pass a StreamPeerTCP or StreamPeerTLS"
                    )))
                }
            },
        };
        if tcp.get_status() != TcpStatus::CONNECTED {
            return Err(Unusable::NotConnected(format!(
                "the StreamPeerTCP is in state {:?}",
                tcp.get_status()
            )));
        }
        Ok(StreamPeerIo {
            stream,
            tcp,
            tls,
            out: PackedByteArray::new(),
            read_hint: MIN_READ,
        })
    }

    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Lets the engine stream move: reads the socket into its buffers, advances TLS, notices EOF.
    ///
    /// Plain TCP needs nothing here: a read notices EOF and errors itself (StreamPeerTCP's own
    /// `poll()` costs two system calls that the read makes unnecessary).
    pub fn poll(&mut self) {
        if let Some(tls) = &mut self.tls {
            tls.poll();
        }
    }

    pub fn peer_addr(&self) -> Option<SocketAddr> {
        let ip: IpAddr = self.tcp.get_connected_host().to_string().parse().ok()?;
        Some(SocketAddr::new(
            ip,
            u16::try_from(self.tcp.get_connected_port()).ok()?,
        ))
    }

    pub fn set_no_delay(&mut self, enabled: bool) {
        self.tcp.set_no_delay(enabled);
    }

    /// Gives back the write array's memory (an idle connection keeps no buffer).
    pub fn release_idle_memory(&mut self) {
        if !self.out.is_empty() {
            self.out = PackedByteArray::new();
        }
    }

    pub fn shutdown(&mut self) {
        match &mut self.tls {
            Some(tls) => tls.disconnect_from_stream(),
            None => self.tcp.disconnect_from_host(),
        }
    }

    /// `Ok(true)` ready for data, `Ok(false)` TLS still handshaking, `Err` gone.
    fn ready(&self) -> io::Result<bool> {
        if let Some(tls) = &self.tls {
            return match tls.get_status() {
                TlsStatus::CONNECTED => Ok(true),
                TlsStatus::HANDSHAKING => Ok(false),
                TlsStatus::DISCONNECTED => Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "TLS stream closed",
                )),
                other => Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    format!("TLS stream is {other:?}"),
                )),
            };
        }
        match self.tcp.get_status() {
            TcpStatus::CONNECTED => Ok(true),
            TcpStatus::ERROR => Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "TCP stream error",
            )),
            _ => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "TCP stream closed",
            )),
        }
    }
}

/// Turns a `[Error, value]` array from the engine into the error code and the value.
fn split_result(result: &VarArray) -> (i64, Variant) {
    let code = result
        .get(0)
        .and_then(|v| v.try_to::<i64>().ok())
        .unwrap_or(Error::FAILED.ord() as i64);
    (code, result.get(1).unwrap_or_default())
}

impl Read for StreamPeerIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Ask the status first: the engine's TLS stream prints an error when asked for its
        // available bytes once it is no longer connected.
        match self.ready() {
            Ok(true) => {}
            Ok(false) => return Err(io::ErrorKind::WouldBlock.into()),
            // A stream that went away reads as end of stream.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
            Err(e) => return Err(e),
        }
        let want = if self.tls.is_some() {
            // Only what is decrypted already: asking for more would block in the TLS layer.
            let available = usize::try_from(self.stream.get_available_bytes()).unwrap_or(0);
            if available == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            available.min(buf.len()).min(i32::MAX as usize)
        } else {
            // StreamPeerTCP reads without blocking: OK with no bytes when there are none,
            // ERR_FILE_EOF when the remote has closed (one system call in all). The engine
            // allocates what we ask for on every call, so ask for about what came last time.
            buf.len().min(self.read_hint)
        };
        let (code, value) = split_result(&self.stream.get_partial_data(want as i32));
        if code == Error::ERR_FILE_EOF.ord() as i64 {
            return Ok(0);
        }
        if code != Error::OK.ord() as i64 {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                format!("StreamPeer read error {code}"),
            ));
        }
        let bytes: PackedByteArray = value.try_to().unwrap_or_default();
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes.as_slice()[..n]);
        self.read_hint = if n == want {
            (want * 2).min(MAX_READ)
        } else {
            (n * 2).clamp(MIN_READ, MAX_READ)
        };
        if n == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }
}

impl Write for StreamPeerIo {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    /// Gathers the slices (up to 64 KiB) into one engine call: each call costs an allocation of
    /// a `PackedByteArray` and an `Array`, so fewer, larger calls are cheaper.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if !self.ready()? {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let total: usize = bufs.iter().map(|b| b.len()).sum::<usize>().min(MAX_WRITE);
        if total == 0 {
            return Ok(0);
        }
        // One array kept for all writes: same-size writes (a stream of equal messages) then
        // cost no allocation at all.
        let data = &mut self.out;
        if data.len() != total {
            data.resize(total);
        }
        let out = data.as_mut_slice();
        let mut at = 0;
        for b in bufs {
            let n = b.len().min(total - at);
            out[at..at + n].copy_from_slice(&b[..n]);
            at += n;
            if at == total {
                break;
            }
        }
        let (code, value) = split_result(&self.stream.put_partial_data(&self.out));
        if code != Error::OK.ord() as i64 {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                format!("StreamPeer write error {code}"),
            ));
        }
        match value.try_to::<i64>().unwrap_or(0) {
            0 => Err(io::ErrorKind::WouldBlock.into()),
            n => Ok(usize::try_from(n).unwrap_or(0).min(total)),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
