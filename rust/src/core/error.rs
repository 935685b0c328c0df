//! Why an operation was refused or a connection ended: one variant per cause.
//!
//! The core reports causes; `class::error_map` is the only place they become Godot `Error` codes.

use std::fmt;

/// The phase of a connection in which a deadline passed or a failure happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Resolving the host name.
    Resolve,
    /// Opening the TCP connection.
    Connect,
    /// The TLS handshake.
    Tls,
    /// The HTTP upgrade (request and 101 response).
    Handshake,
    /// Waiting for the remote's answer to our close frame.
    Closing,
    /// Waiting for the pong to a heartbeat ping.
    Heartbeat,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Resolve => "name resolution",
            Phase::Connect => "TCP connect",
            Phase::Tls => "TLS handshake",
            Phase::Handshake => "WebSocket handshake",
            Phase::Closing => "closing handshake",
            Phase::Heartbeat => "heartbeat (no pong)",
        })
    }
}

/// Everything that can go wrong, from local misuse to a remote breaking the protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WsError {
    /// The URL could not be parsed or is not a usable WebSocket URL.
    InvalidUrl(String),
    /// TLS could not be set up, or the server's certificate was refused.
    Tls(String),
    /// A handshake header line the caller supplied is malformed.
    InvalidHeader(String),
    /// Another argument is out of range.
    InvalidArgument(String),
    /// The peer is already connecting or connected.
    AlreadyInUse,
    /// Sending needs an open connection.
    NotOpen,
    /// The message would push the bytes waiting to be written past `outbound_buffer_size`.
    OutboundFull {
        queued: usize,
        size: usize,
        limit: usize,
    },
    /// `max_queued_packets` frames are already waiting to be written.
    TooManyQueued { limit: usize },
    /// The host name could not be resolved.
    Resolve(String),
    /// No address of the host accepted a TCP connection.
    Connect(String),
    /// A deadline passed.
    Timeout(Phase),
    /// The remote answered the upgrade with something other than a valid 101 response, or sent a
    /// request we cannot accept.
    Handshake(String),
    /// The remote broke RFC 6455; we closed with the given code.
    Protocol { code: u16, detail: String },
    /// A message larger than `inbound_buffer_size` arrived; we closed with 1009.
    MessageTooBig { size: u64, limit: usize },
    /// The transport failed or the remote went away without a closing handshake.
    ConnectionLost(String),
    /// The HTTP proxy (`proxy`, as `host:port`) did not open the tunnel to `target`.
    Proxy {
        proxy: String,
        target: String,
        failure: ProxyFailure,
    },
}

/// How the `CONNECT` exchange with an HTTP proxy failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxyFailure {
    /// Resolving the proxy's name or connecting to it failed (the cause inside).
    Unreachable(Box<WsError>),
    /// No complete answer within the deadline (whole seconds).
    TimedOut { secs: u64 },
    /// The proxy answered with a status other than 2xx: its status line, e.g.
    /// `407 Proxy Authentication Required`.
    Refused(String),
    /// The answer is not HTTP, its head is too long, or bytes followed it before we spoke.
    BadAnswer(String),
    /// The proxy closed the connection after `received` bytes of an incomplete answer.
    Closed { received: usize },
    /// The socket failed during the exchange.
    Lost(String),
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WsError::InvalidUrl(why) => write!(f, "invalid WebSocket URL: {why}"),
            WsError::Tls(why) => write!(f, "TLS: {why}"),
            WsError::InvalidHeader(why) => write!(f, "invalid handshake header: {why}"),
            WsError::InvalidArgument(why) => write!(f, "invalid argument: {why}"),
            WsError::AlreadyInUse => write!(f, "the peer is already connecting or connected"),
            WsError::NotOpen => write!(f, "the connection is not open"),
            WsError::OutboundFull { queued, size, limit } => write!(
                f,
                "outbound buffer full: {queued} bytes queued + {size} would exceed outbound_buffer_size {limit}"
            ),
            WsError::TooManyQueued { limit } => {
                write!(f, "{limit} frames already queued (max_queued_packets)")
            }
            WsError::Resolve(why) => write!(f, "could not resolve host: {why}"),
            WsError::Connect(why) => write!(f, "could not connect: {why}"),
            WsError::Timeout(phase) => write!(f, "timed out during {phase}"),
            WsError::Handshake(why) => write!(f, "handshake failed: {why}"),
            WsError::Protocol { code, detail } => {
                write!(f, "protocol error (closed with {code}): {detail}")
            }
            WsError::MessageTooBig { size, limit } => write!(
                f,
                "message of {size}+ bytes exceeds inbound_buffer_size {limit} (closed with 1009)"
            ),
            WsError::ConnectionLost(why) => write!(f, "connection lost: {why}"),
            WsError::Proxy {
                proxy,
                target,
                failure,
            } => match failure {
                ProxyFailure::Unreachable(why) => write!(f, "proxy {proxy} unreachable: {why}"),
                ProxyFailure::TimedOut { secs } => write!(
                    f,
                    "proxy {proxy} timed out: no complete answer to CONNECT {target} within {secs} s"
                ),
                ProxyFailure::Refused(status) => {
                    write!(f, "proxy {proxy} refused CONNECT {target}: {status}")
                }
                ProxyFailure::BadAnswer(why) => {
                    write!(f, "proxy {proxy} sent an invalid answer to CONNECT {target}: {why}")
                }
                ProxyFailure::Closed { received: 0 } => write!(
                    f,
                    "proxy {proxy} closed the connection without answering CONNECT {target}"
                ),
                ProxyFailure::Closed { received } => write!(
                    f,
                    "proxy {proxy} closed the connection in the middle of its answer to CONNECT \
                     {target} (after {received} bytes)"
                ),
                ProxyFailure::Lost(why) => {
                    write!(f, "proxy {proxy}: connection lost during CONNECT {target}: {why}")
                }
            },
        }
    }
}

impl std::error::Error for WsError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_failures_say_it_was_the_proxy() {
        let e = |failure| WsError::Proxy {
            proxy: "127.0.0.1:3128".into(),
            target: "example.com:443".into(),
            failure,
        };
        let cases = [
            (
                e(ProxyFailure::Refused("407 Proxy Authentication Required".into())),
                "proxy 127.0.0.1:3128 refused CONNECT example.com:443: 407 Proxy Authentication Required",
            ),
            (
                e(ProxyFailure::Unreachable(Box::new(WsError::Connect("refused".into())))),
                "proxy 127.0.0.1:3128 unreachable: could not connect: refused",
            ),
            (
                e(ProxyFailure::TimedOut { secs: 10 }),
                "proxy 127.0.0.1:3128 timed out: no complete answer to CONNECT example.com:443 within 10 s",
            ),
            (
                e(ProxyFailure::Closed { received: 0 }),
                "proxy 127.0.0.1:3128 closed the connection without answering CONNECT example.com:443",
            ),
            (
                e(ProxyFailure::Closed { received: 17 }),
                "proxy 127.0.0.1:3128 closed the connection in the middle of its answer to CONNECT \
                 example.com:443 (after 17 bytes)",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
    }
}
