//! The proxy settings of the class: `set_http_proxy` and `set_https_proxy`, named and behaving
//! as the engine's `HTTPClient` methods.

use godot::global::Error;
use godot::prelude::*;

use super::args::to_string;
use super::error_map::refuse_in;
use super::peer::WebSocketPeer;
use crate::core::proxy::Proxy;

/// What a `set_http_proxy`/`set_https_proxy` call of `class` does: parses `host` and `port`
/// into `slot` (cleared by an empty host or port -1), or reports the refusal and leaves `slot`
/// as it was.
pub(super) fn set_proxy(
    class: &str,
    method: &str,
    slot: &mut Option<Proxy>,
    host: &GString,
    port: i32,
) -> Error {
    match Proxy::from_setter(&to_string(host), port.into()) {
        Ok(proxy) => {
            *slot = proxy;
            Error::OK
        }
        Err(e) => refuse_in(class, method, &e),
    }
}

#[godot_api(secondary)]
impl WebSocketPeer {
    /// Sets the HTTP proxy for `ws://` URLs, as [method HTTPClient.set_http_proxy] does: later
    /// [method connect_to_url] calls open a `CONNECT host:port` tunnel through it (the host as
    /// the URL writes it; the proxy resolves it). An empty `host` or `port` -1 clears it.
    ///
    /// `host` is a name or IP address, optionally with credentials in front, as in proxy URLs:
    /// `"user:password@proxy.example"`. They are percent-decoded (write `%40` for `@`, `%3A`
    /// for `:`, `%25` for `%`; a raw `@` or `:` in the password also works, as the last `@` ends
    /// the credentials and the first `:` the user name) and sent as Basic
    /// `Proxy-Authorization`.
    ///
    /// Returns [constant ERR_INVALID_PARAMETER] (and changes nothing) for a line break in `host`
    /// (also percent-encoded), a user name with `:`, a `host` that is not a host name, or a port
    /// outside 1-65535. Not in the engine's [WebSocketPeer].
    #[func]
    fn set_http_proxy(&mut self, host: GString, port: i32) -> Error {
        set_proxy(
            "RustWebSocketPeer",
            "set_http_proxy",
            &mut self.proxies.http,
            &host,
            port,
        )
    }

    /// Sets the HTTP proxy for `wss://` URLs, as [method HTTPClient.set_https_proxy] does: the
    /// same arguments and rules as [method set_http_proxy]. TLS runs with the target inside the
    /// tunnel, and the certificate is checked against the URL's host, never the proxy's.
    #[func]
    fn set_https_proxy(&mut self, host: GString, port: i32) -> Error {
        set_proxy(
            "RustWebSocketPeer",
            "set_https_proxy",
            &mut self.proxies.https,
            &host,
            port,
        )
    }
}
