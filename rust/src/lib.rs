//! godot-websocket: an RFC 6455 WebSocket peer for Godot 4, registered as `RustWebSocketPeer`.
//!
//! `core` is the protocol without IO or engine types; `transport` moves bytes; `session` drives a
//! core connection over a transport; `class` is the Godot class.

pub mod core;
