//! Why a multiplayer call was refused or a connection to the server ended.

use std::fmt;

use super::id::IdError;

/// One variant per cause; `class::error_map` turns them into Godot `Error` codes.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum MpError {
    /// `create_client`/`create_server` while already connecting or connected.
    AlreadyInUse,
    /// A call that needs a connected peer (sending, reading).
    NotConnected,
    /// No connected peer has this id.
    UnknownPeer(i32),
    /// An argument is out of range (e.g. TLS options of the wrong kind).
    InvalidArgument(String),
    /// The server's first message was not a valid peer id.
    InvalidId(IdError),
    /// The server did not complete the handshake and send our id in time.
    Timeout {
        seconds: f64,
        waiting_for: &'static str,
    },
    /// The connection to the server ended before it sent our id.
    ConnectFailed(String),
    /// The connection to the server ended without a closing handshake.
    ConnectionLost(String),
}

impl fmt::Display for MpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MpError::AlreadyInUse => {
                write!(f, "already connecting or connected; call close() first")
            }
            MpError::NotConnected => write!(f, "not connected"),
            MpError::UnknownPeer(id) => write!(f, "no connected peer has id {id}"),
            MpError::InvalidArgument(why) => write!(f, "invalid argument: {why}"),
            MpError::InvalidId(e) => write!(f, "the server sent an invalid peer id: {e}"),
            MpError::Timeout {
                seconds,
                waiting_for,
            } => {
                write!(f, "timed out after {seconds} s waiting for {waiting_for}")
            }
            MpError::ConnectFailed(why) => write!(f, "could not join the server: {why}"),
            MpError::ConnectionLost(why) => write!(f, "connection to the server lost: {why}"),
        }
    }
}

impl std::error::Error for MpError {}
