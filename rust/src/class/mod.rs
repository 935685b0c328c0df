//! The Godot class: maps the engine's `WebSocketPeer` API onto a session. Knows nothing of
//! sockets or frames.

mod args;
pub mod enums;
mod error_map;
mod packet_peer;
pub mod peer;
mod proxy;
mod status;
mod tls_options;
