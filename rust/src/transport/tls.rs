//! A rustls client session over a non-blocking TCP socket.

use std::io::{self, IoSlice, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use rustls::{ClientConfig, ClientConnection};
use rustls_pki_types::ServerName;

use super::tls_config::describe;
use crate::core::error::WsError;

/// TLS over TCP. Plaintext written before the handshake finishes is held by rustls and sent
/// right after it.
#[derive(Debug)]
pub struct TlsStream {
    tcp: TcpStream,
    tls: ClientConnection,
    name: ServerName<'static>,
}

impl TlsStream {
    pub fn new(
        tcp: TcpStream,
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
    ) -> Result<TlsStream, WsError> {
        let tls = ClientConnection::new(config, name.clone())
            .map_err(|e| WsError::Tls(describe(&e, &name)))?;
        Ok(TlsStream { tcp, tls, name })
    }

    pub fn is_handshaking(&self) -> bool {
        self.tls.is_handshaking()
    }

    pub fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.tcp.peer_addr().ok()
    }

    /// Moves the handshake forward as far as the socket allows. `Err` says why TLS failed.
    pub fn drive(&mut self) -> Result<(), WsError> {
        self.write_records()
            .map_err(|e| WsError::ConnectionLost(e.to_string()))?;
        while self.tls.wants_read() {
            match self.tls.read_tls(&mut self.tcp) {
                Ok(0) => {
                    return Err(WsError::Tls(format!(
                        "{} closed the connection during the TLS handshake (is it a plain ws:// server?)",
                        self.name.to_str()
                    )))
                }
                Ok(_) => {
                    if let Err(e) = self.tls.process_new_packets() {
                        // Tell the server why before giving up (rustls queued an alert).
                        let _ = self.write_records();
                        return Err(WsError::Tls(describe(&e, &self.name)));
                    }
                    self.write_records()
                        .map_err(|e| WsError::ConnectionLost(e.to_string()))?;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(WsError::ConnectionLost(e.to_string())),
            }
            if !self.tls.is_handshaking() {
                break;
            }
        }
        Ok(())
    }

    /// Writes TLS records rustls has ready until the socket would block.
    fn write_records(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.tcp) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    pub fn shutdown(&mut self) {
        self.tls.send_close_notify();
        let _ = self.write_records();
        let _ = self.tcp.shutdown(std::net::Shutdown::Both);
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.tls.reader().read(buf) {
                Ok(n) => return Ok(n),
                // The TCP stream ended without close_notify: the WebSocket close handshake
                // already tells a clean end from a cut one, so report a plain end of stream.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if self.tls.read_tls(&mut self.tcp)? == 0 {
                return Ok(0);
            }
            if let Err(e) = self.tls.process_new_packets() {
                let _ = self.write_records();
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    describe(&e, &self.name),
                ));
            }
            self.write_records()?;
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let n = self.tls.writer().write_vectored(bufs)?;
        self.write_records()?;
        if n == 0 && bufs.iter().any(|b| !b.is_empty()) {
            // rustls's buffer is full because the socket is: try again later.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_records()
    }
}
