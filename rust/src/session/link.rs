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
#[derive(Debug)]
pub struct Hop {
    pub proxy: String,
    pub target: String,
    pub request: Vec<u8>,
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
