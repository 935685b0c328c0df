//! The client's proxies: `set_http_proxy` and `set_https_proxy`, as on `RustWebSocketPeer`,
//! copied into the connection `create_client` makes.

use godot::global::Error;
use godot::prelude::*;

use super::peer::WebSocketMultiplayerPeer;
use crate::class::proxy::set_proxy;

#[godot_api(secondary)]
impl WebSocketMultiplayerPeer {
    /// Sets the HTTP proxy [method create_client] uses for `ws://` URLs, with the arguments and
    /// rules of [method RustWebSocketPeer.set_http_proxy] (credentials as
    /// `"user:password@host"`; an empty `host` or `port` -1 clears it). Read when
    /// [method create_client] is called. Returns [constant ERR_INVALID_PARAMETER] (and changes
    /// nothing) for an unusable host or port. Not in the engine's [WebSocketMultiplayerPeer].
    #[func]
    fn set_http_proxy(&mut self, host: GString, port: i32) -> Error {
        let slot = &mut self.proxies.http;
        set_proxy(
            "RustWebSocketMultiplayerPeer",
            "set_http_proxy",
            slot,
            &host,
            port,
        )
    }

    /// Sets the HTTP proxy [method create_client] uses for `wss://` URLs: the same arguments
    /// and rules as [method set_http_proxy]; the server's certificate is checked against the
    /// URL's host, never the proxy's.
    #[func]
    fn set_https_proxy(&mut self, host: GString, port: i32) -> Error {
        let slot = &mut self.proxies.https;
        set_proxy(
            "RustWebSocketMultiplayerPeer",
            "set_https_proxy",
            slot,
            &host,
            port,
        )
    }
}
