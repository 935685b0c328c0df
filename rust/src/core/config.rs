//! Limits and deadlines of one connection, checked before they reach the code that relies on them.

use std::time::Duration;

/// Limits on what the remote may send us. Latched when the handshake completes, as the engine does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InboundLimits {
    /// Largest message (all fragments together) we accept; a larger one closes with 1009.
    /// From `inbound_buffer_size` (default 65535). The engine checks single frames only and stalls
    /// or desyncs on larger fragmented messages; a per-message limit has neither problem.
    pub max_message: usize,
    /// Complete unread messages we hold before we stop reading the socket (backpressure, never
    /// drops). From `max_queued_packets` (default 4096).
    pub max_packets: usize,
}

impl Default for InboundLimits {
    fn default() -> Self {
        InboundLimits {
            max_message: 65535,
            max_packets: 4096,
        }
    }
}

/// Limits on what we queue for the remote; read at every send, as the engine does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutboundLimits {
    /// Payload bytes of messages not yet fully written, including the new one; `None` = no limit.
    /// From `outbound_buffer_size` (default 65535; `<= 0` disables it).
    pub max_bytes: Option<usize>,
    /// Frames waiting to be written (data and control) before a send is refused.
    /// From `max_queued_packets` (default 4096).
    pub max_frames: usize,
}

impl Default for OutboundLimits {
    fn default() -> Self {
        OutboundLimits {
            max_bytes: Some(65535),
            max_frames: 4096,
        }
    }
}

impl OutboundLimits {
    /// Builds the limits from the engine's integer properties.
    pub fn from_engine(outbound_buffer_size: i64, max_queued_packets: i64) -> Self {
        OutboundLimits {
            max_bytes: usize::try_from(outbound_buffer_size)
                .ok()
                .filter(|&n| n > 0),
            // The engine compares unsigned, so a negative limit means "unlimited".
            max_frames: usize::try_from(max_queued_packets).unwrap_or(usize::MAX),
        }
    }
}

impl InboundLimits {
    /// Builds the limits from the engine's integer properties (negative values count as 0).
    pub fn from_engine(inbound_buffer_size: i64, max_queued_packets: i64) -> Self {
        InboundLimits {
            max_message: usize::try_from(inbound_buffer_size).unwrap_or(0),
            max_packets: usize::try_from(max_queued_packets).unwrap_or(0),
        }
    }
}

/// Deadlines. The engine has none except TCP connect; every wait here ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Host name resolution. Default 30 s.
    pub resolve: Duration,
    /// TCP connect, per address tried (the engine's `connect_timeout_seconds` default). Default 30 s.
    pub connect: Duration,
    /// Through an HTTP proxy: from the TCP connection to the proxy being up to its complete
    /// answer to `CONNECT`. Default 10 s.
    pub proxy: Duration,
    /// The TLS handshake of a `wss://` connection. Default 10 s.
    pub tls: Duration,
    /// From the TCP connection (or TLS session) being up to the 101 response (client) or to the upgrade request
    /// being answered (server). Default 10 s.
    pub handshake: Duration,
    /// Server side: from `accept_stream` to a complete upgrade request. Default 5 s (the engine
    /// waits forever; its multiplayer peer uses 3 s). Ends slow or silent clients.
    pub accept: Duration,
    /// From our close frame to the remote's answer; then the transport is dropped. Default 10 s.
    pub closing: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            resolve: Duration::from_secs(30),
            connect: Duration::from_secs(30),
            proxy: Duration::from_secs(10),
            tls: Duration::from_secs(10),
            handshake: Duration::from_secs(10),
            accept: Duration::from_secs(5),
            closing: Duration::from_secs(10),
        }
    }
}
