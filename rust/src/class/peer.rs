//! `RustWebSocketPeer`: the engine's `WebSocketPeer` API over our session.

use std::time::{Duration, Instant};

use godot::classes::{PacketPeerExtension, StreamPeer};
use godot::global::{godot_warn, Error};
use godot::prelude::*;

use super::args::{strings, OptTls};
use super::enums::WriteMode;
use super::error_map::{refuse, warn_ended};
use super::tls_options;
use crate::core::config::{InboundLimits, OutboundLimits, Timeouts};
use crate::core::error::WsError;
use crate::core::proxy::ProxySettings;
use crate::core::state::ReadyState;
use crate::core::url;
use crate::session::{Session, Settings};
use crate::transport::stream_peer::{StreamPeerIo, Unusable};

/// A WebSocket connection (RFC 6455), as a client or as the server side of an accepted stream.
///
/// A drop-in replacement for the engine's [WebSocketPeer]: the same methods, properties,
/// constants and error codes, so `WebSocketPeer.new()` becomes `RustWebSocketPeer.new()` and
/// nothing else changes. Call [method poll] regularly (every frame); messages are read with
/// [method PacketPeer.get_packet] or [method PacketPeer.get_var] and sent with [method send],
/// [method send_text] or [method PacketPeer.put_packet].
///
/// Differences from the engine's class, all on the side of not losing data and not hanging:
/// messages that arrived before a close stay readable after it; every wait (handshake, closing
/// handshake) has a deadline; invalid close codes are refused; a message larger than
/// [member inbound_buffer_size] closes the connection with 1009 even when fragmented; the reason
/// a connection failed is printed as a warning.
#[derive(GodotClass)]
#[class(rename = RustWebSocketPeer, base = PacketPeerExtension, tool, init)]
pub struct WebSocketPeer {
    base: Base<PacketPeerExtension>,

    /// Sub-protocols to offer (client) or accept (server), in order of preference. Surrounding
    /// whitespace is removed from each entry. Read when connecting.
    #[var(get, set, usage_flags = [DEFAULT])]
    pub(super) supported_protocols: PackedStringArray,

    /// Extra HTTP header lines (`"Name: value"`) for the handshake request (client) or the 101
    /// response (server). A line with a line break or no valid name is refused when connecting.
    #[var(usage_flags = [DEFAULT])]
    pub(super) handshake_headers: PackedStringArray,

    /// Largest message accepted, in bytes (all fragments together); a larger one closes the
    /// connection with code 1009. Read when the handshake completes. Default 65535.
    #[var(usage_flags = [DEFAULT])]
    #[init(val = 65535)]
    pub(super) inbound_buffer_size: i32,

    /// Most bytes of messages waiting to be written; a send that would exceed it fails with
    /// [constant ERR_OUT_OF_MEMORY]. `0` or less removes the limit. Read at each send. Default 65535.
    #[var(usage_flags = [DEFAULT])]
    #[init(val = 65535)]
    pub(super) outbound_buffer_size: i32,

    /// Most messages queued in each direction: sends fail with [constant ERR_OUT_OF_MEMORY] past
    /// it, and reading pauses (without dropping anything) while this many are unread. Default 4096.
    #[var(usage_flags = [DEFAULT])]
    #[init(val = 4096)]
    pub(super) max_queued_packets: i32,

    /// Seconds between keepalive pings while open; `0` turns them off. When a ping has had no
    /// answer by the next one, the connection is dropped (close code -1). Read at each poll;
    /// kept in whole milliseconds, as the engine does.
    #[var(get, set, usage_flags = [DEFAULT])]
    pub(super) heartbeat_interval: f64,

    /// Off by default, like the engine: every [method send] writes to the socket before it
    /// returns. When on, sends are queued and written together at the next [method poll] (or as
    /// soon as 64 KiB wait), so many small messages share one system call: much higher message
    /// rates, at the cost of up to one poll of latency. [method close] still writes at once.
    /// Takes effect at once; turning it off writes what is waiting.
    #[var(get, set, usage_flags = [DEFAULT])]
    pub(super) coalesce_writes: bool,

    /// Off by default: only proxies set with [method set_http_proxy] and [method set_https_proxy]
    /// are used, as in the engine's [HTTPClient], so a variable the game did not set cannot
    /// change where it connects. When on, a URL whose scheme has no proxy set goes through the
    /// one named by the environment variables `ws_proxy`, `WS_PROXY`, `http_proxy`,
    /// `HTTP_PROXY` (for `ws://`) or `wss_proxy`, `WSS_PROXY`, `https_proxy`, `HTTPS_PROXY` (for
    /// `wss://`), the first one set, e.g. `http://user:password@proxy:3128`; unless
    /// `no_proxy`/`NO_PROXY` lists the host (`*`, names with their subdomains, IP addresses
    /// and ranges, optional `:port`). Read at [method connect_to_url], which fails with
    /// [constant ERR_INVALID_PARAMETER] for a variable that is not an `http://` proxy.
    #[var(usage_flags = [DEFAULT])]
    pub(super) proxy_from_environment: bool,

    /// Proxies set with `set_http_proxy` / `set_https_proxy`.
    pub(super) proxies: ProxySettings,
    /// The server side's deadline for the upgrade request, when the multiplayer peer that made
    /// this connection sets one (its `handshake_timeout`); else the default.
    pub(super) accept_timeout: Option<Duration>,

    /// Compress messages with the permessage-deflate extension (RFC 7692). Off by default, so
    /// the behaviour matches the engine's class, which has no compression. Read when
    /// [method connect_to_url] or [method accept_stream] is called.
    ///
    /// Client: the upgrade request offers `permessage-deflate; client_max_window_bits`; if the
    /// server accepts, messages are compressed both ways, otherwise the connection works
    /// uncompressed. Server: the first offer in the client's list that can be honoured is
    /// accepted (window sizes 9 to 15 bits, with or without context takeover; an offer that
    /// would force an 8-bit window on us is declined); browsers always offer it.
    /// [method get_selected_extensions] shows what was agreed.
    ///
    /// Messages stay whole: [member inbound_buffer_size] limits the inflated size of a message
    /// (a larger one closes with 1009 as soon as inflating passes it), and
    /// [member outbound_buffer_size] and [method get_current_outbound_buffered_amount] count the
    /// bytes given to [method send], before compression. Empty messages are sent uncompressed.
    /// Each compressed connection holds a compressor and a decompressor, made at the first
    /// message that needs them and freed when it closes; the compressor is also freed after
    /// 250 ms without a send (the next message then starts from an empty history, which the
    /// remote reads like any other), the decompressor when idle if no context carries over.
    #[var(usage_flags = [DEFAULT])]
    pub(super) compression_enabled: bool,

    pub(super) session: Option<Session>,
    pub(super) requested_url: GString,
    /// Whether the failure of the current connection was already reported.
    pub(super) reported: bool,
    /// The packet handed out by the last `get_packet`; Godot reads it after we return.
    pub(super) current_packet: Vec<u8>,
    pub(super) was_string: bool,
}

#[godot_api]
impl WebSocketPeer {
    /// Connects to a `ws://` or `wss://` URL. Returns [constant OK] when the attempt has started:
    /// name resolution, TCP, TLS and the handshake then progress in [method poll], and a failure
    /// shows up as [constant STATE_CLOSED] with close code -1 and a warning saying why.
    ///
    /// `tls_client_options` decides how a `wss://` server is checked: `null` or
    /// [method TLSOptions.client] checks its certificate against the trusted roots (the project
    /// setting `network/tls/certificate_bundle_override`, else Mozilla's list) and the URL's host;
    /// `TLSOptions.client(chain)` trusts only `chain` (a self-signed certificate works);
    /// `TLSOptions.client(chain, name)` expects the certificate to be for `name`;
    /// [method TLSOptions.client_unsafe] checks nothing, and `client_unsafe(chain)` checks the
    /// chain but not the name. Ignored for `ws://`.
    ///
    /// Through an HTTP proxy ([method set_http_proxy], [method set_https_proxy],
    /// [member proxy_from_environment]) the connection is a `CONNECT` tunnel to the URL's host
    /// and port, and a `wss://` server's certificate is still checked against the URL's host.
    ///
    /// Fails with [constant ERR_INVALID_PARAMETER] for a URL that is not `ws://` or `wss://`, has
    /// no host or a bad port, for server [TLSOptions] or an unreadable trusted chain, for
    /// malformed [member handshake_headers] and for an unusable proxy from the environment; with
    /// [constant ERR_ALREADY_IN_USE] while connecting or open.
    #[func]
    pub(super) fn connect_to_url(
        &mut self,
        url: GString,
        #[opt(default = OptTls(None))] tls_client_options: OptTls,
    ) -> Error {
        let url_text = url.to_string();
        if url_text.is_empty() {
            return refuse(
                "connect_to_url",
                &WsError::InvalidUrl("the URL is empty".into()),
            );
        }
        if tls_client_options.0.as_ref().is_some_and(|o| o.is_server()) {
            let e = WsError::InvalidArgument("server TLSOptions cannot be used to connect".into());
            return refuse("connect_to_url", &e);
        }
        if matches!(self.state(), ReadyState::Connecting | ReadyState::Open) {
            return refuse("connect_to_url", &WsError::AlreadyInUse);
        }
        self.reset();
        let target = match url::parse(&url_text) {
            Ok(t) => t,
            Err(e) => return refuse("connect_to_url", &e),
        };
        self.requested_url = url;
        let mut settings = self.settings();
        if target.secure {
            settings.tls = tls_options::settings_for(tls_client_options.0.as_ref());
        }
        match Session::connect(&target, &settings, Instant::now()) {
            Ok(session) => {
                self.session = Some(session);
                self.report_failure();
                Error::OK
            }
            Err(e) => refuse("connect_to_url", &e),
        }
    }

    /// Runs the server side of a connection the game accepted: `stream` is a connected
    /// [StreamPeerTCP] from [method TCPServer.take_connection], or a [StreamPeerTLS] on which
    /// [method StreamPeerTLS.accept_stream] was called with [method TLSOptions.server] (it may
    /// still be handshaking). The client's upgrade request is read and answered in [method poll];
    /// the sub-protocol is the first of the client's that [member supported_protocols] lists.
    ///
    /// A client that has not completed the upgrade within 5 seconds is dropped, and a bad
    /// request gets an HTTP error answer (400, 426 or 431) before the connection closes; the
    /// engine's class waits forever and drops bad requests silently.
    ///
    /// Fails with [constant ERR_INVALID_PARAMETER] for `null`, another kind of stream, a stream
    /// that is not connected, or malformed [member handshake_headers]; with
    /// [constant ERR_ALREADY_IN_USE] while connecting or open. A failed call changes nothing.
    #[func]
    pub(super) fn accept_stream(&mut self, stream: Option<Gd<StreamPeer>>) -> Error {
        let Some(stream) = stream else {
            return refuse(
                "accept_stream",
                &WsError::InvalidArgument("the stream is null".into()),
            );
        };
        if matches!(self.state(), ReadyState::Connecting | ReadyState::Open) {
            return refuse("accept_stream", &WsError::AlreadyInUse);
        }
        let io = match StreamPeerIo::new(stream) {
            Ok(io) => io,
            Err(Unusable::WrongType(why) | Unusable::NotConnected(why)) => {
                return refuse("accept_stream", &WsError::InvalidArgument(why))
            }
        };
        match Session::accept(io, &self.settings(), Instant::now()) {
            Ok(session) => {
                self.reset();
                self.session = Some(session);
                Error::OK
            }
            Err(e) => refuse("accept_stream", &e),
        }
    }

    /// Sends `message` as one binary frame, or as text with [constant WRITE_MODE_TEXT] (the
    /// bytes are then expected to be UTF-8). The bytes are written before the call returns when
    /// the socket accepts them. Fails with [constant FAILED] when not open and with
    /// [constant ERR_OUT_OF_MEMORY] when [member outbound_buffer_size] or
    /// [member max_queued_packets] would be exceeded.
    #[func]
    fn send(
        &mut self,
        message: PackedByteArray,
        #[opt(default = WriteMode::Binary)] write_mode: WriteMode,
    ) -> Error {
        self.send_bytes("send", message.as_slice(), write_mode == WriteMode::Text)
    }

    /// Sends `message` as a UTF-8 text frame.
    #[func]
    fn send_text(&mut self, message: GString) -> Error {
        let bytes = message.to_utf8_buffer();
        self.send_bytes("send_text", bytes.as_slice(), true)
    }

    /// Whether the last packet read with [method PacketPeer.get_packet] was a text message.
    #[func]
    fn was_string_packet(&self) -> bool {
        self.was_string
    }

    /// Moves the connection forward: connects, completes handshakes, writes what is queued,
    /// reads what arrived, answers pings, sends heartbeats and enforces deadlines. Never blocks.
    #[func]
    pub(super) fn poll(&mut self) {
        let inbound = self.inbound_limits();
        let heartbeat = heartbeat(self.heartbeat_interval);
        let Some(session) = self.session.as_mut() else {
            return;
        };
        // What the engine reads on every poll: inbound limits (latched by the core when the
        // handshake completes) and the heartbeat interval.
        let conn = session.connection_mut();
        conn.set_inbound_limits(inbound);
        conn.set_heartbeat(heartbeat);
        session.poll(Instant::now());
        self.report_failure();
    }

    /// Closes the connection with `code` and `reason` (at most 123 bytes of UTF-8; longer is
    /// cut with a warning). The state becomes [constant STATE_CLOSING] until the remote answers,
    /// then [constant STATE_CLOSED]. A negative code drops the connection at once without a
    /// closing handshake; `0` sends a close frame without a code. Codes that may not be sent
    /// (outside 1000-1003, 1007-1014, 3000-4999) are refused with an error and change nothing.
    #[func]
    pub(super) fn close(
        &mut self,
        #[opt(default = 1000)] code: i32,
        #[opt(default = "")] reason: GString,
    ) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        let reason = String::from_utf8_lossy(reason.to_utf8_buffer().as_slice()).into_owned();
        match session.close(code, &reason, Instant::now()) {
            Ok(true) => godot_warn!("RustWebSocketPeer.close(): reason cut to 123 bytes"),
            Ok(false) => {}
            Err(e) => {
                refuse("close", &e);
            }
        }
        self.report_failure();
    }

    #[func]
    fn get_supported_protocols(&self) -> PackedStringArray {
        self.supported_protocols.clone()
    }

    #[func]
    pub(super) fn set_supported_protocols(&mut self, protocols: PackedStringArray) {
        self.supported_protocols = protocols
            .as_slice()
            .iter()
            .map(|p| GString::from(p.to_string().trim()))
            .collect();
    }

    #[func]
    fn get_coalesce_writes(&self) -> bool {
        self.coalesce_writes
    }

    #[func]
    fn set_coalesce_writes(&mut self, on: bool) {
        self.coalesce_writes = on;
        if let Some(session) = self.session.as_mut() {
            session.set_coalesce(on);
        }
    }

    #[func]
    fn get_heartbeat_interval(&self) -> f64 {
        self.heartbeat_interval
    }

    #[func]
    fn set_heartbeat_interval(&mut self, interval: f64) {
        if !(interval >= 0.0) || !interval.is_finite() {
            godot_error!(
                "RustWebSocketPeer.heartbeat_interval: {interval} is not a number of seconds >= 0"
            );
            return;
        }
        // Kept in whole milliseconds, as the engine does (0.0005 turns the heartbeat off).
        self.heartbeat_interval = (interval * 1000.0).trunc() / 1000.0;
    }
}

impl WebSocketPeer {
    pub(super) fn state(&self) -> ReadyState {
        self.session
            .as_ref()
            .map_or(ReadyState::Closed, |s| s.connection().state())
    }

    pub(super) fn session_mut(&mut self) -> Option<&mut Session> {
        self.session.as_mut()
    }

    pub(super) fn session_ref_count(&self) -> usize {
        self.session
            .as_ref()
            .map_or(0, |s| s.connection().packet_count())
    }

    pub(super) fn set_was_string(&mut self, text: bool) {
        self.was_string = text;
    }

    pub(super) fn max_packet_size(&self) -> i32 {
        self.inbound_buffer_size.max(0)
    }

    /// Sends through the session with the current outbound limits; reports refusals.
    pub(super) fn send_bytes(&mut self, method: &str, payload: &[u8], text: bool) -> Error {
        let limits = self.outbound_limits();
        let Some(session) = self.session.as_mut() else {
            return refuse(method, &WsError::NotOpen);
        };
        session.connection_mut().set_outbound_limits(limits);
        let result = session.send(payload, text);
        self.report_failure();
        match result {
            Ok(()) => Error::OK,
            Err(e) => refuse(method, &e),
        }
    }

    fn reset(&mut self) {
        self.session = None;
        self.requested_url = GString::new();
        self.reported = false;
        self.was_string = false;
        self.current_packet = Vec::new();
    }

    pub(super) fn peer_addr(&self) -> Option<std::net::SocketAddr> {
        self.session.as_ref().and_then(Session::peer_addr)
    }

    fn outbound_limits(&self) -> OutboundLimits {
        OutboundLimits::from_engine(
            self.outbound_buffer_size.into(),
            self.max_queued_packets.into(),
        )
    }

    fn inbound_limits(&self) -> InboundLimits {
        InboundLimits::from_engine(
            self.inbound_buffer_size.into(),
            self.max_queued_packets.into(),
        )
    }

    fn settings(&self) -> Settings {
        Settings {
            protocols: strings(&self.supported_protocols),
            headers: strings(&self.handshake_headers),
            inbound: self.inbound_limits(),
            outbound: self.outbound_limits(),
            heartbeat: heartbeat(self.heartbeat_interval),
            coalesce: self.coalesce_writes,
            compression: self.compression_enabled,
            deflate: Default::default(),
            timeouts: Timeouts {
                accept: self.accept_timeout.unwrap_or(Timeouts::default().accept),
                ..Timeouts::default()
            },
            tls: Default::default(),
            proxy: ProxySettings {
                from_environment: self.proxy_from_environment,
                ..self.proxies.clone()
            },
        }
    }

    /// Warns once per connection when it ended for a reason other than a closing handshake.
    fn report_failure(&mut self) {
        if self.reported {
            return;
        }
        let Some(session) = &self.session else { return };
        let conn = session.connection();
        if conn.state() != ReadyState::Closed {
            return;
        }
        self.reported = true;
        if let Some(cause) = conn.cause() {
            warn_ended(&self.requested_url.to_string(), cause);
        }
    }
}

fn heartbeat(seconds: f64) -> Option<Duration> {
    (seconds > 0.0)
        .then(|| Duration::try_from_secs_f64(seconds).ok())
        .flatten()
}
