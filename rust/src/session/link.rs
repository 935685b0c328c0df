//! How a session reaches the remote: resolve and connect TCP, then (through an HTTP proxy) the
//! `CONNECT` exchange, then TLS for `wss://`, or a stream the game handed over. Each step is
//! non-blocking and has a deadline.

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Instant;

use rustls::ClientConfig;
use rustls_pki_types::ServerName;

use crate::core::config::Timeouts;
use crate::core::error::{Phase, ProxyFailure, WsError};
use crate::transport::tcp::{Connector, Progress};
use crate::transport::tls::TlsStream;
use crate::transport::tunnel::Tunnel;
use crate::transport::Transport;

/// What TLS a client connection needs once TCP is up.
pub type TlsTarget = (Arc<ClientConfig>, ServerName<'static>);

/// The HTTP proxy a client connection goes through: the TCP connection is to the proxy, and
/// `request` asks it for the tunnel. `proxy` and `target` (both `host:port`) are for messages.
/// Its `Debug` leaves the request out: it may carry credentials.
pub struct Hop {
    pub proxy: String,
    pub target: String,
    pub request: Vec<u8>,
}

impl std::fmt::Debug for Hop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hop")
            .field("proxy", &self.proxy)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl Hop {
    fn failure(&self, failure: ProxyFailure) -> WsError {
        WsError::Proxy {
            proxy: self.proxy.clone(),
            target: self.target.clone(),
            failure,
        }
    }
}

/// Where the link is.
#[derive(Debug)]
pub enum Link {
    /// Resolving and opening TCP (to the proxy, with `hop`); then TLS with this config and
    /// name, for `wss://`.
    Connecting {
        connector: Connector,
        hop: Option<Hop>,
        tls: Option<TlsTarget>,
    },
    /// Asking the proxy for the tunnel.
    Tunneling {
        tunnel: Box<Tunnel>,
        hop: Hop,
        tls: Option<TlsTarget>,
        deadline: Instant,
    },
    /// The TLS handshake.
    Securing {
        stream: Box<TlsStream>,
        deadline: Instant,
    },
    Up(Transport),
    Down,
}

/// What a step of the link produced.
pub enum Step {
    /// Still on the way (or already up, or down).
    Unchanged,
    /// The transport just came up.
    Ready,
    /// It could not be set up.
    Failed(WsError),
}

impl Link {
    /// The remote address, as far as it is known (the proxy's, through a proxy).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        match self {
            Link::Connecting { connector, .. } => connector.current_addr(),
            Link::Tunneling { tunnel, .. } => tunnel.peer_addr(),
            Link::Securing { stream, .. } => stream.peer_addr(),
            Link::Up(t) => t.peer_addr(),
            Link::Down => None,
        }
    }

    /// Moves the set-up forward; never blocks.
    pub fn advance(&mut self, timeouts: &Timeouts, now: Instant) -> Step {
        if let Link::Connecting {
            connector,
            hop,
            tls,
        } = self
        {
            match connector.poll(now) {
                Progress::Pending => return Step::Unchanged,
                Progress::Failed(e) => {
                    let e = match hop {
                        Some(hop) => hop.failure(ProxyFailure::Unreachable(Box::new(e))),
                        None => e,
                    };
                    return self.fail(e);
                }
                Progress::Connected(stream) => {
                    let tls = tls.take();
                    match hop.take() {
                        Some(mut hop) => {
                            let request = std::mem::take(&mut hop.request);
                            *self = Link::Tunneling {
                                tunnel: Box::new(Tunnel::new(stream, request)),
                                hop,
                                tls,
                                deadline: now + timeouts.proxy,
                            };
                        }
                        None => {
                            if let Some(step) = self.secure_or_up(stream, tls, timeouts, now) {
                                return step;
                            }
                        }
                    }
                }
            }
        }
        if let Link::Tunneling {
            tunnel,
            hop,
            tls,
            deadline,
        } = self
        {
            match tunnel.drive() {
                Err(failure) => {
                    let e = hop.failure(failure);
                    return self.fail(e);
                }
                Ok(false) if now >= *deadline => {
                    let secs = timeouts.proxy.as_secs();
                    let e = hop.failure(ProxyFailure::TimedOut { secs });
                    return self.fail(e);
                }
                Ok(false) => return Step::Unchanged,
                Ok(true) => {
                    let tls = tls.take();
                    let Link::Tunneling { tunnel, .. } = std::mem::replace(self, Link::Down) else {
                        unreachable!("matched above")
                    };
                    if let Some(step) = self.secure_or_up(tunnel.into_stream(), tls, timeouts, now)
                    {
                        return step;
                    }
                }
            }
        }
        if let Link::Securing { stream, deadline } = self {
            if let Err(e) = stream.drive() {
                return self.fail(e);
            }
            if stream.is_handshaking() {
                return if now >= *deadline {
                    self.fail(WsError::Timeout(Phase::Tls))
                } else {
                    Step::Unchanged
                };
            }
            let Link::Securing { stream, .. } = std::mem::replace(self, Link::Down) else {
                unreachable!("matched above")
            };
            *self = Link::Up(Transport::Tls(stream));
            return Step::Ready;
        }
        Step::Unchanged
    }

    /// A byte pipe to the target is up: start TLS on it (then `None`: go on driving), or it is
    /// the transport.
    fn secure_or_up(
        &mut self,
        stream: TcpStream,
        tls: Option<TlsTarget>,
        timeouts: &Timeouts,
        now: Instant,
    ) -> Option<Step> {
        match tls {
            None => {
                *self = Link::Up(Transport::Tcp(stream));
                Some(Step::Ready)
            }
            Some((config, name)) => match TlsStream::new(stream, config, name) {
                Ok(s) => {
                    *self = Link::Securing {
                        stream: Box::new(s),
                        deadline: now + timeouts.tls,
                    };
                    None
                }
                Err(e) => Some(self.fail(e)),
            },
        }
    }

    fn fail(&mut self, e: WsError) -> Step {
        *self = Link::Down;
        Step::Failed(e)
    }

    /// Ends the link (closing the transport, if any).
    pub fn shut(&mut self) {
        if let Link::Up(t) = self {
            t.shutdown();
        }
        *self = Link::Down;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::thread::JoinHandle;
    use std::time::Duration;

    const REQUEST: &[u8] = b"CONNECT target.invalid:80 HTTP/1.1\r\nHost: target.invalid:80\r\n\r\n";

    /// A proxy on a thread: accepts one connection, checks the request, sends `answer` (if any),
    /// then holds the connection until the client hangs up.
    fn proxy(answer: Option<&'static [u8]>) -> (u16, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 256];
            while !got.ends_with(b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            assert_eq!(got, REQUEST);
            if let Some(answer) = answer {
                s.write_all(answer).unwrap();
            }
            while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
        });
        (port, handle)
    }

    fn connecting(port: u16, now: Instant) -> Link {
        Link::Connecting {
            connector: Connector::start("127.0.0.1", port, Timeouts::default(), now),
            hop: Some(Hop {
                proxy: format!("127.0.0.1:{port}"),
                target: "target.invalid:80".into(),
                request: REQUEST.to_vec(),
            }),
            tls: None,
        }
    }

    /// Advances at the fixed time `now` until the link leaves `Unchanged` (or `stop` says so),
    /// for at most 5 s of real time.
    fn drive(link: &mut Link, now: Instant, stop: impl Fn(&Link) -> bool) -> Option<Step> {
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            match link.advance(&Timeouts::default(), now) {
                Step::Unchanged if stop(link) => return None,
                Step::Unchanged => std::thread::sleep(Duration::from_millis(1)),
                step => return Some(step),
            }
        }
        panic!("the link made no progress within 5 s");
    }

    fn proxy_failure(step: Option<Step>) -> ProxyFailure {
        match step {
            Some(Step::Failed(WsError::Proxy {
                failure, target, ..
            })) => {
                assert_eq!(target, "target.invalid:80");
                failure
            }
            Some(Step::Failed(e)) => panic!("not a proxy failure: {e}"),
            _ => panic!("did not fail"),
        }
    }

    #[test]
    fn a_200_answer_brings_the_transport_up_to_the_target() {
        let (port, proxy) = proxy(Some(b"HTTP/1.0 200 Connection established\r\n\r\n"));
        let mut link = connecting(port, Instant::now());
        assert!(matches!(
            drive(&mut link, Instant::now(), |_| false),
            Some(Step::Ready)
        ));
        assert!(matches!(link, Link::Up(Transport::Tcp(_))));
        link.shut();
        proxy.join().unwrap();
    }

    #[test]
    fn a_refusal_fails_with_the_status_line() {
        let (port, proxy) = proxy(Some(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"));
        let mut link = connecting(port, Instant::now());
        let failure = proxy_failure(drive(&mut link, Instant::now(), |_| false));
        assert_eq!(
            failure,
            ProxyFailure::Refused("407 Proxy Authentication Required".into())
        );
        assert!(matches!(link, Link::Down));
        proxy.join().unwrap();
    }

    #[test]
    fn a_proxy_nobody_listens_on_is_unreachable() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut link = connecting(port, Instant::now());
        match proxy_failure(drive(&mut link, Instant::now(), |_| false)) {
            ProxyFailure::Unreachable(inner) => {
                assert!(matches!(*inner, WsError::Connect(_)), "{inner}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_silent_proxy_times_out_at_the_deadline_in_virtual_time() {
        let (port, proxy) = proxy(None);
        let t0 = Instant::now();
        let mut link = connecting(port, t0);
        let tunneling = |l: &Link| matches!(l, Link::Tunneling { .. });
        assert!(drive(&mut link, t0, tunneling).is_none());
        let deadline = t0 + Timeouts::default().proxy;
        let just_before = deadline - Duration::from_millis(1);
        assert!(matches!(
            link.advance(&Timeouts::default(), just_before),
            Step::Unchanged
        ));
        let failure = proxy_failure(Some(link.advance(&Timeouts::default(), deadline)));
        assert_eq!(failure, ProxyFailure::TimedOut { secs: 10 });
        proxy.join().unwrap();
    }

    #[test]
    fn a_silent_tls_server_times_out_at_the_deadline_in_virtual_time() {
        // TCP completes in the listen backlog; nobody ever answers the client hello.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let settings = crate::transport::tls_config::TlsSettings::default();
        let tls = (
            crate::transport::tls_config::client_config(&settings).unwrap(),
            crate::transport::tls_config::server_name("localhost", &settings).unwrap(),
        );
        let t0 = Instant::now();
        let mut link = Link::Connecting {
            connector: Connector::start("127.0.0.1", port, Timeouts::default(), t0),
            hop: None,
            tls: Some(tls),
        };
        let securing = |l: &Link| matches!(l, Link::Securing { .. });
        assert!(drive(&mut link, t0, securing).is_none());
        // The deadline counts from the moment TCP came up (t0 here), not from the first byte.
        let deadline = t0 + Timeouts::default().tls;
        let just_before = deadline - Duration::from_millis(1);
        assert!(matches!(
            link.advance(&Timeouts::default(), just_before),
            Step::Unchanged
        ));
        assert!(matches!(
            link.advance(&Timeouts::default(), deadline),
            Step::Failed(WsError::Timeout(Phase::Tls))
        ));
        assert!(matches!(link, Link::Down));
        drop(listener);
    }
}
