//! The multiplayer peer's view of one `RustWebSocketPeer` connection: create it with the
//! template settings, poll it, read and write packets, close it.

use std::time::Duration;

use godot::global::Error;
use godot::prelude::*;

use crate::class::args::engine_ip_string;
use crate::class::peer::WebSocketPeer;
use crate::core::inbox::Packet;
use crate::core::proxy::ProxySettings;
use crate::core::state::ReadyState;

/// The settings copied into every connection, as the engine copies them from its template peer.
#[derive(Clone)]
pub(super) struct Template {
    pub protocols: PackedStringArray,
    pub headers: PackedStringArray,
    pub inbound_buffer_size: i32,
    pub outbound_buffer_size: i32,
    pub max_queued_packets: i32,
    /// Used by a client connection only (an accepted one has no use for a proxy).
    pub proxies: ProxySettings,
    /// An accepted connection's deadline for its upgrade request: the multiplayer peer's
    /// `handshake_timeout`, which bounds the whole handshake (so it may exceed the default).
    pub accept_timeout: Duration,
    pub compression: bool,
}

/// A new `RustWebSocketPeer` with the template's settings.
pub(super) fn create(t: &Template) -> Gd<WebSocketPeer> {
    let mut ws = WebSocketPeer::new_gd();
    {
        let mut p = ws.bind_mut();
        p.set_supported_protocols(t.protocols.clone());
        p.handshake_headers = t.headers.clone();
        p.inbound_buffer_size = t.inbound_buffer_size;
        p.outbound_buffer_size = t.outbound_buffer_size;
        p.max_queued_packets = t.max_queued_packets;
        p.proxies = t.proxies.clone();
        p.proxy_from_environment = t.proxies.from_environment;
        p.accept_timeout = Some(t.accept_timeout);
        p.compression_enabled = t.compression;
    }
    ws
}

pub(super) fn state(ws: &Gd<WebSocketPeer>) -> ReadyState {
    ws.bind().state()
}

pub(super) fn poll(ws: &mut Gd<WebSocketPeer>) -> ReadyState {
    let mut p = ws.bind_mut();
    p.poll();
    p.state()
}

/// The next unread message (also after the connection closed: nothing that arrived is lost).
pub(super) fn pop(ws: &mut Gd<WebSocketPeer>) -> Option<Packet> {
    ws.bind_mut()
        .session_mut()
        .and_then(|s| s.connection_mut().pop_packet())
}

/// Sends one binary message; refusals are reported by the peer (push_error) and returned.
pub(super) fn send(ws: &mut Gd<WebSocketPeer>, data: &[u8]) -> Error {
    ws.bind_mut().send_bytes("put_packet", data, false)
}

/// Starts the closing handshake (the close frame is written at once); nothing for a connection
/// that is already closing or closed.
pub(super) fn close(ws: &mut Gd<WebSocketPeer>, code: i32, reason: &str) {
    let mut p = ws.bind_mut();
    if matches!(p.state(), ReadyState::Connecting | ReadyState::Open) {
        p.close(code, GString::from(reason));
    }
}

/// Why the connection failed or ended without a closing handshake, if it did.
pub(super) fn cause(ws: &Gd<WebSocketPeer>) -> Option<String> {
    let p = ws.bind();
    let conn = p.session.as_ref()?.connection();
    conn.cause().map(|c| c.to_string())
}

/// The remote's close code and reason (-1 when there was no closing handshake).
pub(super) fn close_code(ws: &Gd<WebSocketPeer>) -> (i32, String) {
    let p = ws.bind();
    p.session.as_ref().map_or((-1, String::new()), |s| {
        let c = s.connection();
        (c.close_code(), c.close_reason().to_owned())
    })
}

pub(super) fn address(ws: &Gd<WebSocketPeer>) -> GString {
    ws.bind()
        .peer_addr()
        .map(|a| GString::from(&engine_ip_string(a.ip())))
        .unwrap_or_default()
}

pub(super) fn port(ws: &Gd<WebSocketPeer>) -> i32 {
    ws.bind().peer_addr().map_or(0, |a| i32::from(a.port()))
}
