//! The ready state of a connection, with the engine's numbering.

/// Where a connection is in its life. The numbers are the engine's `WebSocketPeer.State` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadyState {
    /// Resolving, connecting or running the HTTP upgrade.
    Connecting = 0,
    /// Messages flow both ways.
    Open = 1,
    /// A close frame was sent or received; waiting for the handshake to finish.
    Closing = 2,
    /// Nothing flows; the transport is gone.
    Closed = 3,
}

/// Which end of the connection we are: it decides masking and the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Client,
    Server,
}
