//! The Godot class: maps the engine's `WebSocketPeer` API onto a session. Knows nothing of
//! sockets or frames.

mod args;
pub mod enums;
mod error_map;
pub mod multiplayer;
mod packet_peer;
pub mod peer;
mod status;
mod tls_options;
