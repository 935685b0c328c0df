//! The read-only side of the class: state, addresses, protocol, close code and reason, and why a
//! connection failed.

use godot::global::godot_error;
use godot::prelude::*;

use super::args::engine_ip_string;
use super::enums::State;
use super::peer::WebSocketPeer;
use crate::core::state::Role;

#[godot_api(secondary)]
impl WebSocketPeer {
    /// The remote IP address, or `""` when there is no TCP connection. Through an HTTP proxy,
    /// the proxy's address (the TCP connection is to the proxy).
    #[func]
    fn get_connected_host(&self) -> GString {
        self.peer_addr()
            .map(|a| GString::from(&engine_ip_string(a.ip())))
            .unwrap_or_default()
    }

    /// The remote port, or `0` when there is no TCP connection (the proxy's, through a proxy).
    #[func]
    fn get_connected_port(&self) -> i32 {
        self.peer_addr().map_or(0, |a| i32::from(a.port()))
    }

    /// The sub-protocol agreed in the handshake, or `""`.
    #[func]
    fn get_selected_protocol(&self) -> GString {
        self.session
            .as_ref()
            .map(|s| GString::from(s.connection().selected_protocol()))
            .unwrap_or_default()
    }

    /// The WebSocket extensions in force on this connection, as the server's handshake answer
    /// states them: `"permessage-deflate"` plus the parameters agreed (for example
    /// `"permessage-deflate; server_no_context_takeover; client_max_window_bits=12"`), or `""`
    /// when none were agreed (always `""` with [member compression_enabled] off). Kept after the
    /// connection closes, like [method get_selected_protocol]. Not in the engine's class.
    #[func]
    fn get_selected_extensions(&self) -> GString {
        self.session
            .as_ref()
            .map(|s| GString::from(s.connection().selected_extensions()))
            .unwrap_or_default()
    }

    /// Client: the URL passed to [method connect_to_url], exactly as given. Server: `ws://` or
    /// `wss://` + the request's Host header + its path and query, once the request has arrived.
    #[func]
    fn get_requested_url(&self) -> GString {
        match &self.session {
            Some(s) if s.connection().role() == Role::Server => {
                GString::from(s.connection().requested_url())
            }
            _ => self.requested_url.clone(),
        }
    }

    /// Turns Nagle's algorithm off (`true`, the default for new connections) or on.
    #[func]
    fn set_no_delay(&mut self, enabled: bool) {
        let result = match self.session.as_mut() {
            Some(s) => s.set_no_delay(enabled),
            None => Err(std::io::Error::other("no connection")),
        };
        if let Err(e) = result {
            godot_error!("RustWebSocketPeer.set_no_delay(): {e}");
        }
    }

    /// Payload bytes of messages not yet fully written to the socket (0 unless open).
    #[func]
    fn get_current_outbound_buffered_amount(&self) -> i32 {
        let n = self
            .session
            .as_ref()
            .map_or(0, |s| s.connection().buffered_amount());
        i32::try_from(n).unwrap_or(i32::MAX)
    }

    /// The connection's state.
    #[func]
    fn get_ready_state(&self) -> State {
        self.state().into()
    }

    /// The close code the remote sent (0 if its close frame had none), or the code we closed
    /// with after a protocol error; -1 when the connection ended without a closing handshake.
    #[func]
    fn get_close_code(&self) -> i32 {
        self.session
            .as_ref()
            .map_or(-1, |s| s.connection().close_code())
    }

    /// The close reason that goes with [method get_close_code].
    #[func]
    fn get_close_reason(&self) -> GString {
        self.session
            .as_ref()
            .map(|s| GString::from(s.connection().close_reason()))
            .unwrap_or_default()
    }

    /// Why the current (or last) connection failed or ended without a closing handshake, in
    /// words: for example `could not resolve host: ...`, `could not connect: ... Connection
    /// refused`, `timed out during TLS handshake`, `TLS: the certificate of example.com has
    /// expired`, `handshake failed: server answered HTTP 403 Forbidden instead of 101 Switching
    /// Protocols`, `protocol error (closed with 1002): ...`. Failures of an HTTP proxy begin with `proxy
    /// HOST:PORT`: `... unreachable: could not connect: ...`, `... refused CONNECT host:443: 407
    /// Proxy Authentication Required` (the proxy's status line), `... timed out: ...`, `... sent
    /// an invalid answer ...`, `... closed the connection ...`. Empty while all is well and after
    /// a normal close. Not in the engine's class, which only reports close code -1.
    #[func]
    fn get_error_message(&self) -> GString {
        let cause = self.session.as_ref().and_then(|s| s.connection().cause());
        cause
            .map(|c| GString::from(&c.to_string()))
            .unwrap_or_default()
    }
}
