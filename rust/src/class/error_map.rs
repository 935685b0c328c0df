//! The one place where a core `WsError` becomes a Godot `Error` code and a message.

use godot::global::{godot_error, godot_warn, Error};

use crate::core::error::{ProxyFailure, WsError};
use crate::multiplayer::error::MpError;

/// The `Error` code a GDScript caller gets for `e` (the engine's code where it has one).
pub fn code_for(e: &WsError) -> Error {
    match e {
        WsError::InvalidUrl(_) | WsError::InvalidHeader(_) | WsError::InvalidArgument(_) => {
            Error::ERR_INVALID_PARAMETER
        }
        WsError::AlreadyInUse => Error::ERR_ALREADY_IN_USE,
        WsError::OutboundFull { .. } | WsError::TooManyQueued { .. } => Error::ERR_OUT_OF_MEMORY,
        WsError::Resolve(_) => Error::ERR_CANT_RESOLVE,
        WsError::Connect(_) => Error::ERR_CANT_CONNECT,
        WsError::Timeout(_) => Error::ERR_TIMEOUT,
        WsError::NotOpen
        | WsError::Handshake(_)
        | WsError::Protocol { .. }
        | WsError::MessageTooBig { .. }
        | WsError::ConnectionLost(_) => Error::FAILED,
        WsError::Tls(_) => Error::ERR_CANT_CONNECT,
        WsError::Proxy { failure, .. } => match failure {
            ProxyFailure::Unreachable(why) => code_for(why),
            ProxyFailure::TimedOut { .. } => Error::ERR_TIMEOUT,
            ProxyFailure::Refused(_) => Error::ERR_CANT_CONNECT,
            ProxyFailure::BadAnswer(_) | ProxyFailure::Closed { .. } | ProxyFailure::Lost(_) => {
                Error::FAILED
            }
        },
    }
}

/// Reports a refused call with `push_error` and returns its code.
pub fn refuse(method: &str, e: &WsError) -> Error {
    refuse_in("RustWebSocketPeer", method, e)
}

/// `refuse` for a method of `class`.
pub fn refuse_in(class: &str, method: &str, e: &WsError) -> Error {
    godot_error!("{class}.{method}(): {e}");
    code_for(e)
}

/// Reports why a connection ended abnormally, as a warning (the call that started it had
/// already returned OK).
pub fn warn_ended(url: &str, e: &WsError) {
    if url.is_empty() {
        godot_warn!("RustWebSocketPeer: connection ended: {e}");
    } else {
        godot_warn!("RustWebSocketPeer: connection to {url} ended: {e}");
    }
}

/// The `Error` code for a refused multiplayer call or a failed join.
pub fn code_for_mp(e: &MpError) -> Error {
    match e {
        MpError::AlreadyInUse => Error::ERR_ALREADY_IN_USE,
        MpError::NotConnected => Error::ERR_UNCONFIGURED,
        MpError::UnknownPeer(_) | MpError::InvalidArgument(_) => Error::ERR_INVALID_PARAMETER,
        MpError::InvalidId(_) => Error::ERR_INVALID_DATA,
        MpError::Timeout { .. } => Error::ERR_TIMEOUT,
        MpError::ConnectFailed(_) => Error::ERR_CANT_CONNECT,
        MpError::ConnectionLost(_) => Error::ERR_CONNECTION_ERROR,
    }
}

/// Reports a refused multiplayer call with `push_error` and returns its code.
pub fn refuse_mp(method: &str, e: &MpError) -> Error {
    godot_error!("RustWebSocketMultiplayerPeer.{method}(): {e}");
    code_for_mp(e)
}

/// Reports an engine call that failed inside a multiplayer call, with what we were doing, and
/// passes its code on (the engine's class returns the same code, silently).
pub fn refuse_engine(method: &str, doing: &str, code: Error) -> Error {
    godot_error!("RustWebSocketMultiplayerPeer.{method}(): {doing}: {code:?}");
    code
}
