//! The Godot classes: `RustWebSocketPeer` maps the engine's `WebSocketPeer` API onto a session;
//! `multiplayer` is `RustWebSocketMultiplayerPeer`, which drives several of them. Knows nothing
//! of sockets or frames.

mod args;
pub mod enums;
mod error_map;
pub mod multiplayer;
mod packet_peer;
pub mod peer;
mod proxy;
mod status;
mod tls_options;
