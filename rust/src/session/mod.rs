//! Drives a core `Connection` over a transport: what one `poll()` of the Godot class does.
//!
//! No engine types and no protocol rules live here: the session moves bytes between the
//! transport and the connection, applies the engine's write-on-send semantics, and drops the
//! transport when the connection is closed.

mod link;

use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::core::config::{InboundLimits, OutboundLimits, Timeouts};
use crate::core::connection::Connection;
use crate::core::deflate::DeflateSettings;
use crate::core::error::WsError;
use crate::core::handshake::client::{ClientHandshake, ClientRequest};
use crate::core::handshake::server::{ServerConfig, ServerHandshake};
use crate::core::proxy::{self, exchange, ProxySettings};
use crate::core::state::ReadyState;
use crate::core::url::Target;
use crate::transport::stream_peer::StreamPeerIo;
use crate::transport::tcp::Connector;
use crate::transport::tls_config::{self, TlsSettings};
use crate::transport::Transport;
use link::{Hop, Link, Step};

/// Reads per poll at most, so a remote that floods us cannot hold the game's frame.
const MAX_READS_PER_POLL: usize = 256;

/// A connection that read nothing for this long gives its buffers back. Not at once: a busy
/// connection often has a poll with nothing to read, and allocating the read buffer again on
/// the next message would cost more than the memory is worth.
const IDLE_RELEASE_AFTER: Duration = Duration::from_millis(250);

/// With write coalescing on, a send writes at once when this much is already waiting.
pub const COALESCE_FLUSH_BYTES: usize = 64 * 1024;

/// The per-connection settings taken from the class's properties.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub protocols: Vec<String>,
    pub headers: Vec<String>,
    pub inbound: InboundLimits,
    pub outbound: OutboundLimits,
    pub heartbeat: Option<Duration>,
    pub timeouts: Timeouts,
    /// For `wss://` (ignored for `ws://`, as the engine does).
    pub tls: TlsSettings,
    /// Write coalescing (see [`Session::set_coalesce`]).
    pub coalesce: bool,
    /// HTTP proxies for client connections (see `core::proxy`).
    pub proxy: ProxySettings,
    /// Offer (client) or accept (server) permessage-deflate.
    pub compression: bool,
    pub deflate: DeflateSettings,
}

/// A connection and the link it runs over.
#[derive(Debug)]
pub struct Session {
    conn: Connection,
    link: Link,
    timeouts: Timeouts,
    /// Sends queue until the next poll (or until [`COALESCE_FLUSH_BYTES`] wait) instead of
    /// being written at once.
    coalesce: bool,
    /// When something was last read; `None` once the buffers have been released.
    last_read: Option<Instant>,
    /// When a message was last sent; `None` once the compressor has been released.
    last_send: Option<Instant>,
}

impl Session {
    /// Starts a client connection to `target`, through an HTTP proxy when the settings (or,
    /// when they allow it, the process environment) name one. Fails only for problems found
    /// before any IO (bad headers, unusable TLS options, an unusable proxy from the
    /// environment); network failures show up later as a CLOSED connection.
    pub fn connect(target: &Target, settings: &Settings, now: Instant) -> Result<Session, WsError> {
        let env = |name: &str| std::env::var(name).ok();
        let proxy = proxy::route(&settings.proxy, target, &env)?;
        let tls = if target.secure {
            let invalid = |e: WsError| WsError::InvalidArgument(format!("TLS options: {e}"));
            let config = tls_config::client_config(&settings.tls).map_err(invalid)?;
            let name = tls_config::server_name(&target.host, &settings.tls).map_err(invalid)?;
            Some((config, name))
        } else {
            None
        };
        let request = ClientRequest {
            host_header: target.host_header.clone(),
            resource: target.resource.clone(),
            protocols: settings.protocols.clone(),
            headers: settings.headers.clone(),
            compression: settings.compression,
        };
        let (handshake, bytes) = ClientHandshake::start(&request)?;
        let mut conn = Connection::client(handshake, bytes, settings.timeouts);
        apply(&mut conn, settings);
        // Through a proxy, TCP goes to the proxy (its name resolved like any other, off the
        // frame), and the target's name goes unresolved into the CONNECT request.
        let (host, port) = proxy
            .as_ref()
            .map_or((target.host.as_str(), target.port), |p| {
                (p.host.as_str(), p.port)
            });
        let connector = Connector::start(host, port, settings.timeouts, now);
        let hop = proxy.map(|p| Hop {
            proxy: p.to_string(),
            target: exchange::authority(target),
            request: exchange::connect_request(target, &p),
        });
        let link = Link::Connecting {
            connector,
            hop,
            tls,
        };
        let mut session = Session {
            conn,
            link,
            timeouts: settings.timeouts,
            coalesce: settings.coalesce,
            last_read: None,
            last_send: None,
        };
        session.advance_link(now);
        Ok(session)
    }

    /// Takes over a stream the game accepted and waits for the client's upgrade request.
    /// Fails only when the configured response headers are malformed.
    pub fn accept(
        mut io: StreamPeerIo,
        settings: &Settings,
        now: Instant,
    ) -> Result<Session, WsError> {
        let config = ServerConfig {
            protocols: settings.protocols.clone(),
            headers: settings.headers.clone(),
            secure: io.is_tls(),
            compression: settings
                .compression
                .then_some(settings.deflate.receive_window_bits),
        };
        let handshake = ServerHandshake::new(config)?;
        let mut conn = Connection::server(handshake, settings.timeouts, now);
        apply(&mut conn, settings);
        io.set_no_delay(true);
        let link = Link::Up(Transport::StreamPeer(io));
        Ok(Session {
            conn,
            link,
            timeouts: settings.timeouts,
            coalesce: settings.coalesce,
            last_read: None,
            last_send: None,
        })
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The remote address: the one being connected to, then the connected one.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.link.peer_addr()
    }

    pub fn set_no_delay(&mut self, enabled: bool) -> io::Result<()> {
        match &mut self.link {
            Link::Up(t) => t.set_no_delay(enabled),
            _ => Err(io::Error::new(ErrorKind::NotConnected, "no TCP connection")),
        }
    }

    /// One step: finish connecting, write, read what arrived, handle timers, write replies.
    pub fn poll(&mut self, now: Instant) {
        self.advance_link(now);
        let Link::Up(transport) = &mut self.link else {
            self.conn.tick(now);
            return;
        };
        transport.poll();
        flush(&mut self.conn, transport);
        let mut got_data = false;
        for _ in 0..MAX_READS_PER_POLL {
            if !self.conn.wants_read() {
                break;
            }
            match self.conn.read_from(transport) {
                Ok(0) => {
                    self.conn.on_eof();
                    break;
                }
                Ok(_) => {
                    got_data = true;
                    self.conn.process(now);
                    if self.conn.last_read_was_short() && transport.short_read_means_drained() {
                        // The stream had no more than that: asking again would only be told
                        // "would block" (one system call per poll saved).
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.conn.on_io_error(&e);
                    break;
                }
            }
        }
        // Messages read earlier may be waiting behind a full inbox that the game has drained.
        self.conn.process(now);
        self.conn.tick(now);
        flush(&mut self.conn, transport);
        if got_data {
            self.last_read = Some(now);
        } else if self
            .last_read
            .is_none_or(|at| now.duration_since(at) >= IDLE_RELEASE_AFTER)
        {
            self.conn.release_idle_memory();
            transport.release_idle_memory();
            self.last_read = None;
        }
        if self
            .last_send
            .is_some_and(|at| now.duration_since(at) >= IDLE_RELEASE_AFTER)
        {
            // Nothing sent for a while: the compressor (permessage-deflate) goes too.
            self.conn.release_compressor();
            self.last_send = None;
        }
        self.shut_if_closed();
    }

    /// Write coalescing: when on, `send` leaves the bytes queued for the next `poll` (or
    /// writes once [`COALESCE_FLUSH_BYTES`] are waiting), so many small messages share one
    /// system call. Turning it off writes what is waiting.
    pub fn set_coalesce(&mut self, on: bool) {
        if self.coalesce && !on {
            self.flush_now();
        }
        self.coalesce = on;
    }

    /// Queues a message and writes it right away when the socket takes it (engine semantics:
    /// bytes leave before the call returns).
    pub fn send(&mut self, payload: &[u8], text: bool) -> Result<(), WsError> {
        match self.conn.send(payload, text) {
            // Coalescing must not make the limits bite earlier than writing at once would: bytes
            // held back for the next poll are written first, then the send is tried again.
            Err(WsError::OutboundFull { .. } | WsError::TooManyQueued { .. })
                if self.coalesce && self.conn.wants_write() =>
            {
                self.flush_now();
                self.conn.send(payload, text)?;
            }
            result => result?,
        }
        self.last_send = Some(Instant::now());
        if !self.coalesce || self.conn.queued_bytes() >= COALESCE_FLUSH_BYTES {
            self.flush_now();
        }
        Ok(())
    }

    /// `close(code, reason)`; the close frame is written right away too.
    pub fn close(&mut self, code: i32, reason: &str, now: Instant) -> Result<bool, WsError> {
        let truncated = self.conn.close(code, reason, now)?;
        self.flush_now();
        Ok(truncated)
    }

    /// Writes what is queued now, as far as the socket takes it.
    pub fn flush_now(&mut self) {
        if let Link::Up(transport) = &mut self.link {
            flush(&mut self.conn, transport);
        }
        self.shut_if_closed();
    }

    fn advance_link(&mut self, now: Instant) {
        if self.conn.state() == ReadyState::Closed {
            return self.shut_if_closed();
        }
        match self.link.advance(&self.timeouts, now) {
            Step::Unchanged => {}
            Step::Ready => self.conn.transport_ready(now),
            Step::Failed(e) => self.conn.abort(e),
        }
    }

    fn shut_if_closed(&mut self) {
        if self.conn.state() == ReadyState::Closed {
            self.link.shut();
        }
    }
}

impl Drop for Session {
    /// A peer freed right after a coalesced send still gets its bytes out, as far as the socket
    /// takes them without waiting (what write-on-send would have done).
    fn drop(&mut self) {
        if self.coalesce && self.conn.wants_write() {
            self.flush_now();
        }
    }
}

fn apply(conn: &mut Connection, settings: &Settings) {
    conn.set_inbound_limits(settings.inbound);
    conn.set_outbound_limits(settings.outbound);
    conn.set_heartbeat(settings.heartbeat);
    conn.set_deflate_settings(settings.deflate);
}

/// Writes what the connection has queued; a transport error ends the connection.
fn flush(conn: &mut Connection, transport: &mut Transport) {
    if conn.wants_write() {
        if let Err(e) = conn.write_to(transport) {
            conn.on_io_error(&e);
        }
    }
}
