//! The class: its properties, `create_client`, `create_server`, the per-peer getters, and the
//! helpers the other parts share (signals, reset).

use std::collections::VecDeque;
use std::time::Instant;

use godot::classes::multiplayer_peer::TransferMode;
use godot::classes::{MultiplayerPeerExtension, TcpServer};
use godot::global::{godot_error, Error};
use godot::prelude::*;

use super::client::Client;
use super::remote;
use super::server::Server;
use super::{Event, Incoming, Role};
use crate::class::args::OptTls;
use crate::class::error_map::{refuse_engine, refuse_mp};
use crate::class::peer::WebSocketPeer;
use crate::core::proxy::ProxySettings;
use crate::multiplayer::error::MpError;
use crate::multiplayer::id::SERVER_ID;

/// Godot's high-level multiplayer (RPCs, [MultiplayerSpawner], [MultiplayerSynchronizer]) over
/// WebSocket, built on [RustWebSocketPeer].
///
/// A drop-in replacement for the engine's [WebSocketMultiplayerPeer], wire-compatible with it:
/// an engine client can join a server of this class and the other way round. Switching is one
/// word: `multiplayer.multiplayer_peer = RustWebSocketMultiplayerPeer.new()` after
/// [method create_server] or [method create_client].
///
/// The server is peer 1; each client gets an id from [method MultiplayerPeer.generate_unique_id]
/// in the first message after the WebSocket handshake (4 bytes, little-endian); after that every
/// WebSocket message is one packet of the [MultiplayerAPI], without a header. Packets are always
/// reliable and ordered, on channel 0.
///
/// Where the engine's class loses something, this one does not: packets a peer sent just before
/// it left are delivered before [signal MultiplayerPeer.peer_disconnected]; a forced
/// [method MultiplayerPeer.disconnect_peer] emits [signal MultiplayerPeer.peer_disconnected];
/// connections are closed with a close frame; a client that never completes the handshake is
/// dropped after [member handshake_timeout] (also while waiting for its id), and
/// [method get_error_message] says why a client could not join.
#[derive(GodotClass)]
#[class(rename = RustWebSocketMultiplayerPeer, base = MultiplayerPeerExtension, tool, init)]
pub struct WebSocketMultiplayerPeer {
    base: Base<MultiplayerPeerExtension>,

    /// Sub-protocols to offer (client) or accept (server); copied into every
    /// [RustWebSocketPeer] this peer creates (see [member RustWebSocketPeer.supported_protocols]).
    #[var(usage_flags = [DEFAULT])]
    pub(super) supported_protocols: PackedStringArray,

    /// Extra HTTP header lines (`"Name: value"`) for the handshake; copied into every
    /// [RustWebSocketPeer] this peer creates (see [member RustWebSocketPeer.handshake_headers]).
    #[var(usage_flags = [DEFAULT])]
    pub(super) handshake_headers: PackedStringArray,

    /// Largest packet accepted from a remote, in bytes; copied into every connection (see
    /// [member RustWebSocketPeer.inbound_buffer_size]). Default 65535.
    #[var(usage_flags = [DEFAULT])]
    #[init(val = 65535)]
    pub(super) inbound_buffer_size: i32,

    /// Most bytes waiting to be written per connection; copied into every connection (see
    /// [member RustWebSocketPeer.outbound_buffer_size]). Default 65535.
    #[var(usage_flags = [DEFAULT])]
    #[init(val = 65535)]
    pub(super) outbound_buffer_size: i32,

    /// Most packets queued each way per connection; copied into every connection (see
    /// [member RustWebSocketPeer.max_queued_packets]). Default 4096.
    #[var(usage_flags = [DEFAULT])]
    #[init(val = 4096)]
    pub(super) max_queued_packets: i32,

    /// Seconds a new connection may take to become a peer: on the server from the accepted TCP
    /// connection through TLS and the WebSocket handshake; on a client from
    /// [method create_client] until the server's id arrived. A slower connection is dropped
    /// (a client then ends [constant MultiplayerPeer.CONNECTION_DISCONNECTED] and
    /// [method get_error_message] says so). Must be more than 0. Default 3.0.
    #[var(get, set, usage_flags = [DEFAULT])]
    #[init(val = 3.0)]
    pub(super) handshake_timeout: f64,

    /// Compress messages with permessage-deflate, as
    /// [member RustWebSocketPeer.compression_enabled] describes; copied into every connection
    /// this peer creates. Off by default (the engine's class cannot compress). Engine clients
    /// never offer it, so they join a compressing server uncompressed.
    #[var(usage_flags = [DEFAULT])]
    pub(super) compression_enabled: bool,

    /// Off by default; when on, the client connection may use the proxy the environment names,
    /// as [member RustWebSocketPeer.proxy_from_environment] describes (copied into the
    /// [RustWebSocketPeer] that [method create_client] makes).
    #[var(usage_flags = [DEFAULT])]
    pub(super) proxy_from_environment: bool,
    /// Proxies set with `set_http_proxy` / `set_https_proxy`, for the client connection.
    pub(super) proxies: ProxySettings,

    pub(super) role: Role,
    pub(super) unique_id: i32,
    pub(super) target_peer: i32,
    #[init(val = TransferMode::RELIABLE)]
    pub(super) transfer_mode: TransferMode,
    pub(super) transfer_channel: i32,
    pub(super) refusing: bool,
    /// Packets read from the connections, oldest first, until the [MultiplayerAPI] takes them.
    pub(super) inbox: VecDeque<Incoming>,
    /// The packet handed out by the last `get_packet`; Godot reads it after we return.
    pub(super) current: Vec<u8>,
    /// Why the last client connection could not join or ended abnormally.
    pub(super) error: Option<MpError>,
    /// Counts `reset`s: events collected before one belong to a session that is gone.
    pub(super) generation: u32,
}

#[godot_api]
impl WebSocketMultiplayerPeer {
    /// Joins the server at `url` (`ws://` or `wss://`, see
    /// [method RustWebSocketPeer.connect_to_url] for `tls_client_options`). Returns
    /// [constant OK] when the attempt has started: the status is then
    /// [constant MultiplayerPeer.CONNECTION_CONNECTING] until the server's id arrives
    /// ([constant MultiplayerPeer.CONNECTION_CONNECTED], [signal MultiplayerPeer.peer_connected]
    /// with 1) or the attempt fails or takes longer than [member handshake_timeout]
    /// ([constant MultiplayerPeer.CONNECTION_DISCONNECTED], [method get_error_message] says why).
    ///
    /// Fails with [constant ERR_ALREADY_IN_USE] while connecting or connected,
    /// [constant ERR_INVALID_PARAMETER] for server [TLSOptions] or a URL that is not `ws://` or
    /// `wss://`.
    #[func]
    fn create_client(
        &mut self,
        url: GString,
        #[opt(default = OptTls(None))] tls_client_options: OptTls,
    ) -> Error {
        if !matches!(self.role, Role::Idle) {
            return refuse_mp("create_client", &MpError::AlreadyInUse);
        }
        if tls_client_options.0.as_ref().is_some_and(|o| o.is_server()) {
            let e = MpError::InvalidArgument("server TLSOptions cannot be used to connect".into());
            return refuse_mp("create_client", &e);
        }
        self.reset();
        self.error = None;
        let mut ws = remote::create(&self.template());
        let err = ws.bind_mut().connect_to_url(url, tls_client_options);
        if err != Error::OK {
            return err; // The connection reported why.
        }
        self.role = Role::Client(Box::new(Client::new(ws, Instant::now())));
        Error::OK
    }

    /// Listens for clients on `port` (0: a free port the system picks) at `bind_address`
    /// (`"*"`: every address; `"127.0.0.1"`, `"::1"`, ...). With `tls_server_options`
    /// ([method TLSOptions.server]) clients connect with `wss://`. The server is peer 1 and is
    /// [constant MultiplayerPeer.CONNECTION_CONNECTED] at once; each client that completes its
    /// handshake within [member handshake_timeout] gets an id and
    /// [signal MultiplayerPeer.peer_connected] is emitted.
    ///
    /// Fails with [constant ERR_ALREADY_IN_USE] while connecting or connected, or when the port
    /// is taken (the code [method TCPServer.listen] returns, with a message saying so), and
    /// with [constant ERR_INVALID_PARAMETER] for client [TLSOptions] or a port outside 0-65535.
    #[func]
    fn create_server(
        &mut self,
        port: i32,
        #[opt(default = "*")] bind_address: GString,
        #[opt(default = OptTls(None))] tls_server_options: OptTls,
    ) -> Error {
        if !matches!(self.role, Role::Idle) {
            return refuse_mp("create_server", &MpError::AlreadyInUse);
        }
        if tls_server_options
            .0
            .as_ref()
            .is_some_and(|o| !o.is_server())
        {
            let e = MpError::InvalidArgument(
                "client TLSOptions cannot serve; use TLSOptions.server(key, certificate)".into(),
            );
            return refuse_mp("create_server", &e);
        }
        let Ok(port16) = u16::try_from(port) else {
            let e = MpError::InvalidArgument(format!("port {port} is not in 0-65535"));
            return refuse_mp("create_server", &e);
        };
        let mut tcp = TcpServer::new_gd();
        let err = tcp.listen_ex(port16).bind_address(&bind_address).done();
        if err != Error::OK {
            let doing = format!("cannot listen on {bind_address} port {port}");
            return refuse_engine("create_server", &doing, err);
        }
        self.reset();
        self.error = None;
        self.role = Role::Server(Box::new(Server::new(tcp, tls_server_options.0)));
        self.unique_id = SERVER_ID;
        Error::OK
    }

    /// The [RustWebSocketPeer] of peer `peer_id` (on a client, 1 is the connection to the
    /// server), for its address, close code or settings. `null` and an error for an id that is
    /// not connected. Do not close or poll it yourself: use
    /// [method MultiplayerPeer.disconnect_peer].
    #[func]
    fn get_peer(&self, peer_id: i32) -> Option<Gd<WebSocketPeer>> {
        let found = self.peer_ws(peer_id);
        if found.is_none() {
            refuse_mp("get_peer", &MpError::UnknownPeer(peer_id));
        }
        found
    }

    /// The IP address of peer `id`, or `""` and an error for an id that is not connected.
    #[func]
    fn get_peer_address(&self, id: i32) -> GString {
        match self.peer_ws(id) {
            Some(ws) => remote::address(&ws),
            None => {
                refuse_mp("get_peer_address", &MpError::UnknownPeer(id));
                GString::new()
            }
        }
    }

    /// The remote port of peer `id`, or 0 and an error for an id that is not connected.
    #[func]
    fn get_peer_port(&self, id: i32) -> i32 {
        match self.peer_ws(id) {
            Some(ws) => remote::port(&ws),
            None => {
                refuse_mp("get_peer_port", &MpError::UnknownPeer(id));
                0
            }
        }
    }

    /// Why the last attempt to join could not complete, or why the connection to the server was
    /// lost, in words (for example `timed out after 3 s waiting for the server to send this
    /// client's id`, `the server sent an invalid peer id: a message of 3 bytes instead of 4`,
    /// `could not join the server: could not connect: ... Connection refused`). Empty after a
    /// successful join and a normal close. Not in the engine's class.
    #[func]
    fn get_error_message(&self) -> GString {
        self.error
            .as_ref()
            .map(|e| GString::from(&e.to_string()))
            .unwrap_or_default()
    }

    /// The getter of [member handshake_timeout].
    #[func]
    pub(super) fn get_handshake_timeout(&self) -> f64 {
        self.handshake_timeout
    }

    /// The setter of [member handshake_timeout]: a value that is not more than 0 seconds is
    /// refused with an error (the old one stays), as the engine does.
    #[func]
    pub(super) fn set_handshake_timeout(&mut self, timeout: f64) {
        if !timeout.is_finite() || timeout <= 0.0 {
            godot_error!(
                "RustWebSocketMultiplayerPeer.handshake_timeout: {timeout} is not a number of seconds > 0"
            );
            return;
        }
        self.handshake_timeout = timeout;
    }
}

impl WebSocketMultiplayerPeer {
    pub(super) fn peer_ws(&self, id: i32) -> Option<Gd<WebSocketPeer>> {
        match &self.role {
            Role::Server(s) => s.peer(id).cloned(),
            Role::Client(c) if id == SERVER_ID => Some(c.ws.clone()),
            _ => None,
        }
    }
}

impl WebSocketMultiplayerPeer {
    /// Emits the events in order. Handlers (the [MultiplayerAPI]) call back into this object
    /// while the signal is emitted; `base_mut()` allows that, and nothing of our state is
    /// borrowed here. A peer that left is removed once announced. A handler that closes or
    /// re-creates this peer ends the list: the rest belongs to a session that is gone.
    pub(super) fn emit(&mut self, events: Vec<Event>) {
        let generation = self.generation;
        for event in events {
            if self.generation != generation {
                return;
            }
            let (name, id) = match event {
                Event::Connected(id) => ("peer_connected", id),
                Event::Disconnected(id) => ("peer_disconnected", id),
            };
            self.base_mut()
                .emit_signal(&StringName::from(name), &[i64::from(id).to_variant()]);
            if let (Event::Disconnected(id), Role::Server(srv)) = (event, &mut self.role) {
                if self.generation == generation {
                    srv.remove(id);
                }
            }
        }
    }

    /// Whether a packet from `source` waits in the inbox.
    pub(super) fn has_unread_from(&self, source: i32) -> bool {
        self.inbox.iter().any(|p| p.source == source)
    }

    /// Back to no connection: no signal (as the engine's `close()`).
    pub(super) fn reset(&mut self) {
        self.role = Role::Idle;
        self.unique_id = 0;
        self.inbox.clear();
        // `current` stays: the MultiplayerAPI may still be reading the last packet handed out
        // (a handler that closes this peer runs while it does); the next get_packet replaces it.
        self.generation = self.generation.wrapping_add(1);
    }
}
