//! The server side: accepts TCP connections (optionally TLS), turns them into WebSocket peers
//! with ids, reads their packets and notices when they leave.

use std::collections::BTreeMap;
use std::time::Instant;

use godot::classes::{StreamPeer, StreamPeerTls, TcpServer, TlsOptions};
use godot::global::{godot_error, Error};
use godot::prelude::*;

use super::remote::{self, Template};
use super::{Event, Incoming, Role, WebSocketMultiplayerPeer};
use crate::class::peer::WebSocketPeer;
use crate::core::proxy::ProxySettings;
use crate::core::state::ReadyState;
use crate::multiplayer::id;
use crate::multiplayer::pending::{timeout_of, Pending};
use crate::multiplayer::route::Route;

/// Close code for a client that completed its handshake while new connections are refused
/// (1013: try again later).
const REFUSED_CODE: i32 = 1013;

pub(super) struct Server {
    tcp: Gd<TcpServer>,
    tls: Option<Gd<TlsOptions>>,
    /// Connections still in TCP, TLS or WebSocket handshake, with the id they will get.
    pending: Pending<Gd<WebSocketPeer>>,
    /// Peers that were announced with `peer_connected`.
    peers: BTreeMap<i32, Remote>,
    /// Connections that left (already announced) finishing their closing handshake.
    closing: Vec<Gd<WebSocketPeer>>,
}

pub(super) struct Remote {
    pub ws: Gd<WebSocketPeer>,
    /// Left OPEN in an earlier poll; announced at the latest in the next one.
    leaving: bool,
}

impl Server {
    pub fn new(tcp: Gd<TcpServer>, tls: Option<Gd<TlsOptions>>) -> Self {
        Server {
            tcp,
            tls,
            pending: Pending::default(),
            peers: BTreeMap::new(),
            closing: Vec::new(),
        }
    }

    pub fn peer(&self, id: i32) -> Option<&Gd<WebSocketPeer>> {
        self.peers.get(&id).map(|r| &r.ws)
    }

    /// Marks a peer as gone: sends to it are skipped until it is announced and removed.
    pub fn mark_leaving(&mut self, id: i32) {
        if let Some(remote) = self.peers.get_mut(&id) {
            remote.leaving = true;
        }
    }

    /// Removes a peer (it will not be announced again).
    pub fn remove(&mut self, id: i32) -> Option<Gd<WebSocketPeer>> {
        let mut ws = self.peers.remove(&id)?.ws;
        if remote::state(&ws) != ReadyState::Closed {
            remote::poll(&mut ws);
            self.closing.push(ws.clone());
        }
        Some(ws)
    }

    /// Sends `data` along `route`. Peers that have left are skipped (they are about to be
    /// announced); a refused send is reported with the peer's id and the first error returned.
    pub fn send(&mut self, route: Route, data: &[u8]) -> Result<(), Error> {
        if let Route::One(target) = route {
            if !self.peers.contains_key(&target) {
                return Err(Error::ERR_INVALID_PARAMETER);
            }
        }
        let mut first = Ok(());
        for (&peer_id, remote) in self.peers.iter_mut() {
            if !route.includes(peer_id) || remote.leaving {
                continue;
            }
            if remote::state(&remote.ws) != ReadyState::Open {
                continue;
            }
            let err = remote::send(&mut remote.ws, data);
            if err != Error::OK {
                godot_error!(
                    "RustWebSocketMultiplayerPeer.put_packet(): a packet of {} bytes was not delivered to peer {peer_id}",
                    data.len()
                );
                if first.is_ok() {
                    first = Err(err);
                }
            }
        }
        first
    }

    /// Closes every connection with a close frame (written at once) and stops listening.
    pub fn shut_down(mut self) {
        for (_, mut ws) in self.pending.drain() {
            remote::close(&mut ws, 1001, "");
        }
        for remote in self.peers.values_mut() {
            remote::close(&mut remote.ws, 1001, "");
        }
        self.tcp.stop();
    }
}

impl WebSocketMultiplayerPeer {
    pub(super) fn server_mut(&mut self) -> Option<&mut Server> {
        match &mut self.role {
            Role::Server(s) => Some(s),
            _ => None,
        }
    }

    pub(super) fn template(&self) -> Template {
        Template {
            protocols: self.supported_protocols.clone(),
            headers: self.handshake_headers.clone(),
            inbound_buffer_size: self.inbound_buffer_size,
            outbound_buffer_size: self.outbound_buffer_size,
            max_queued_packets: self.max_queued_packets,
            proxies: ProxySettings {
                from_environment: self.proxy_from_environment,
                ..self.proxies.clone()
            },
            accept_timeout: timeout_of(self.handshake_timeout),
            compression: self.compression_enabled,
        }
    }

    /// One server poll: accept, advance pending connections, read peers, notice departures.
    pub(super) fn poll_server(&mut self, now: Instant) -> Vec<Event> {
        let template = self.template();
        let refusing = self.refusing;
        let timeout = timeout_of(self.handshake_timeout);
        let mut events = Vec::new();

        // Every waiting connection is taken (the engine takes one per poll).
        let mut fresh = Vec::new();
        if let Some(srv) = self.server_mut() {
            while srv.tcp.is_connection_available() {
                match srv.tcp.take_connection() {
                    // Refusing: the client learns at once instead of waiting for its timeout.
                    Some(mut tcp) if refusing => tcp.disconnect_from_host(),
                    Some(tcp) => fresh.push(tcp),
                    None => break,
                }
            }
        }
        for tcp in fresh {
            let new_id = {
                let base = self.base();
                let Role::Server(srv) = &self.role else { break };
                id::pick(
                    || i64::from(base.generate_unique_id()),
                    |id| srv.peers.contains_key(&id) || srv.pending.contains(id),
                )
            };
            let Some(srv) = self.server_mut() else { break };
            let stream: Gd<StreamPeer> = match &srv.tls {
                None => tcp.upcast(),
                Some(options) => {
                    let mut tls = StreamPeerTls::new_gd();
                    if tls.accept_stream(&tcp, options) != Error::OK {
                        continue; // The engine printed why.
                    }
                    tls.upcast()
                }
            };
            let mut ws = remote::create(&template);
            // Our peer drives a TLS stream that is still handshaking; the deadline below
            // covers TCP, TLS and the WebSocket upgrade together.
            if ws.bind_mut().accept_stream(Some(stream)) == Error::OK {
                srv.pending.push(new_id, now, ws);
            }
        }

        let Some(srv) = self.server_mut() else {
            return events;
        };
        // Too slow: dropped (the TCP connection closes when the peer is freed).
        drop(srv.pending.take_expired(timeout, now));
        let mut opened = Vec::new();
        srv.pending.retain(|pid, ws| match remote::poll(ws) {
            ReadyState::Connecting => true,
            ReadyState::Open => {
                opened.push((pid, ws.clone()));
                false
            }
            ReadyState::Closing | ReadyState::Closed => false,
        });
        for (pid, mut ws) in opened {
            if refusing {
                remote::close(&mut ws, REFUSED_CODE, "new connections are refused");
                srv.closing.push(ws);
                continue;
            }
            // The id first, then the peer exists for the API (which may send to it from its
            // peer_connected handler).
            if remote::send(&mut ws, &id::encode(pid)) != Error::OK {
                godot_error!("RustWebSocketMultiplayerPeer: could not send peer {pid} its id");
                continue;
            }
            srv.peers.insert(pid, Remote { ws, leaving: false });
            events.push(Event::Connected(pid));
        }

        // Read every peer; packets a leaving peer sent are delivered before it is announced.
        let mut incoming = Vec::new();
        let mut left = Vec::new();
        for (&pid, remote) in srv.peers.iter_mut() {
            let state = remote::poll(&mut remote.ws);
            while let Some(p) = remote::pop(&mut remote.ws) {
                if !p.data.is_empty() {
                    incoming.push(Incoming {
                        source: pid,
                        data: p.data,
                    });
                }
            }
            if remote.leaving {
                left.push((pid, true));
            } else if state != ReadyState::Open {
                remote.leaving = true;
                left.push((pid, false));
            }
        }
        srv.closing
            .retain_mut(|ws| remote::poll(ws) != ReadyState::Closed);
        self.inbox.extend(incoming);

        for (pid, waited) in left {
            // Its last packets are read before it is announced (the API drops packets from
            // peers it no longer knows); one poll is as long as that takes. It stays among the
            // peers (sends to it are skipped) until `emit` has announced it, so the handlers
            // of this poll's earlier events still find it.
            if !waited && self.has_unread_from(pid) {
                continue;
            }
            events.push(Event::Disconnected(pid));
        }
        events
    }
}
