//! The `CONNECT` exchange over a non-blocking TCP connection to an HTTP proxy: write the request,
//! read the answer head; afterwards the same socket is a byte pipe to the target.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};

use crate::core::error::ProxyFailure;
use crate::core::proxy::exchange::{read_answer, MAX_ANSWER_HEAD};

/// A tunnel being opened. Its `Debug` leaves the request out: it may carry credentials.
pub struct Tunnel {
    tcp: TcpStream,
    request: Vec<u8>,
    sent: usize,
    answer: Vec<u8>,
}

impl std::fmt::Debug for Tunnel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tunnel")
            .field("tcp", &self.tcp)
            .field("sent", &self.sent)
            .field("answer", &self.answer.len())
            .finish_non_exhaustive()
    }
}

impl Tunnel {
    /// `request` is the `CONNECT` request (`core::proxy::exchange::connect_request`).
    pub fn new(tcp: TcpStream, request: Vec<u8>) -> Tunnel {
        Tunnel {
            tcp,
            request,
            sent: 0,
            answer: Vec::new(),
        }
    }

    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.tcp.peer_addr().ok()
    }

    /// Moves the exchange forward without blocking: `Ok(true)` once the proxy said yes.
    pub fn drive(&mut self) -> Result<bool, ProxyFailure> {
        while self.sent < self.request.len() {
            match self.tcp.write(&self.request[self.sent..]) {
                Ok(0) => return Err(ProxyFailure::Lost("the socket took no bytes".into())),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ProxyFailure::Lost(e.to_string())),
            }
        }
        if !self.request.is_empty() {
            // Sent: the credentials need not stay in memory.
            self.request.fill(0);
            self.request = Vec::new();
            self.sent = 0;
        }
        let mut chunk = [0u8; 2048];
        loop {
            // Never more than one byte past the limit: enough to tell "too long".
            let room = (MAX_ANSWER_HEAD + 1 - self.answer.len()).min(chunk.len());
            match self.tcp.read(&mut chunk[..room]) {
                Ok(0) => {
                    return Err(ProxyFailure::Closed {
                        received: self.answer.len(),
                    })
                }
                Ok(n) => self.answer.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ProxyFailure::Lost(e.to_string())),
            }
            if let Some(head_len) = read_answer(&self.answer)? {
                // The target speaks only after we do (the WebSocket request, or the TLS hello),
                // so bytes after the answer cannot be the target's: the proxy misbehaves.
                let extra = self.answer.len() - head_len;
                if extra > 0 {
                    return Err(ProxyFailure::BadAnswer(format!(
                        "{extra} bytes followed its 200 answer before the tunnel was used"
                    )));
                }
                return Ok(true);
            }
        }
    }

    /// The socket, now a tunnel to the target.
    pub fn into_stream(self) -> TcpStream {
        self.tcp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::{Duration, Instant};

    /// A tunnel to a listener whose accepted side the test scripts.
    fn pair() -> (Tunnel, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        client.set_nonblocking(true).unwrap();
        let (server, _) = listener.accept().unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        (
            Tunnel::new(
                client,
                b"CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\n\r\n".to_vec(),
            ),
            server,
        )
    }

    /// Drives until the tunnel is open or fails (bounded).
    fn drive(t: &mut Tunnel) -> Result<bool, ProxyFailure> {
        let until = Instant::now() + Duration::from_secs(5);
        loop {
            match t.drive() {
                Ok(false) if Instant::now() < until => std::thread::sleep(Duration::from_millis(1)),
                other => return other,
            }
        }
    }

    fn read_request(server: &mut TcpStream) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        while !got.ends_with(b"\r\n\r\n") {
            let n = server.read(&mut buf).unwrap();
            assert!(n > 0, "client hung up");
            got.extend_from_slice(&buf[..n]);
        }
        got
    }

    #[test]
    fn sends_the_request_and_opens_on_200_then_carries_bytes() {
        let (mut t, mut server) = pair();
        assert_eq!(t.drive(), Ok(false));
        assert_eq!(
            read_request(&mut server),
            b"CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\n\r\n"
        );
        server
            .write_all(b"HTTP/1.0 200 Connection established\r\n\r\n")
            .unwrap();
        assert_eq!(drive(&mut t), Ok(true));
        let mut stream = t.into_stream();
        stream.write_all(b"hello").unwrap();
        let mut buf = [0u8; 5];
        server.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hello");
    }

    #[test]
    fn refusal_early_close_and_stray_bytes_fail() {
        let (mut t, mut server) = pair();
        t.drive().unwrap();
        read_request(&mut server);
        server
            .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
            .unwrap();
        assert_eq!(
            drive(&mut t),
            Err(ProxyFailure::Refused(
                "407 Proxy Authentication Required".into()
            ))
        );

        let (mut t, mut server) = pair();
        t.drive().unwrap();
        read_request(&mut server);
        server.write_all(b"HTTP/1.1 200 OK\r\nVia: x").unwrap();
        drop(server);
        assert_eq!(drive(&mut t), Err(ProxyFailure::Closed { received: 23 }));

        let (mut t, mut server) = pair();
        t.drive().unwrap();
        read_request(&mut server);
        server.write_all(b"HTTP/1.1 200 OK\r\n\r\nextra").unwrap();
        assert!(matches!(drive(&mut t), Err(ProxyFailure::BadAnswer(_))));
    }

    #[test]
    fn an_endless_head_stops_at_the_limit() {
        let (mut t, mut server) = pair();
        t.drive().unwrap();
        read_request(&mut server);
        let mut head = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        head.resize(MAX_ANSWER_HEAD * 2, b'a');
        let writer = std::thread::spawn(move || {
            let _ = server.write_all(&head);
            server
        });
        match drive(&mut t) {
            Err(ProxyFailure::BadAnswer(why)) => assert!(why.contains("longer than"), "{why}"),
            other => panic!("{other:?}"),
        }
        drop(t);
        drop(writer.join().unwrap());
    }
}
