//! How a session reaches the remote: resolve and connect TCP, then TLS for `wss://`, or a
//! stream the game handed over. Each step is non-blocking and has a deadline.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use rustls::ClientConfig;
use rustls_pki_types::ServerName;

use crate::core::config::Timeouts;
use crate::core::error::{Phase, WsError};
use crate::transport::tcp::{Connector, Progress};
use crate::transport::tls::TlsStream;
use crate::transport::Transport;

/// What TLS a client connection needs once TCP is up.
pub type TlsTarget = (Arc<ClientConfig>, ServerName<'static>);

/// Where the link is.
#[derive(Debug)]
pub enum Link {
    /// Resolving and opening TCP; then TLS with this config and name, for `wss://`.
    Connecting {
        connector: Connector,
        tls: Option<TlsTarget>,
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
    /// The remote address, as far as it is known.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        match self {
            Link::Connecting { connector, .. } => connector.current_addr(),
            Link::Securing { stream, .. } => stream.peer_addr(),
            Link::Up(t) => t.peer_addr(),
            Link::Down => None,
        }
    }

    /// Moves the set-up forward; never blocks.
    pub fn advance(&mut self, timeouts: &Timeouts, now: Instant) -> Step {
        if let Link::Connecting { connector, tls } = self {
            match connector.poll(now) {
                Progress::Pending => return Step::Unchanged,
                Progress::Failed(e) => return self.fail(e),
                Progress::Connected(stream) => match tls.take() {
                    None => {
                        *self = Link::Up(Transport::Tcp(stream));
                        return Step::Ready;
                    }
                    Some((config, name)) => match TlsStream::new(stream, config, name) {
                        Ok(s) => {
                            *self = Link::Securing {
                                stream: Box::new(s),
                                deadline: now + timeouts.tls,
                            }
                        }
                        Err(e) => return self.fail(e),
                    },
                },
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
