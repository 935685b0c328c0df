//! godot-websocket: an RFC 6455 WebSocket peer for Godot 4, registered as `RustWebSocketPeer`.
//!
//! `core` is the protocol without IO or engine types; `transport` moves bytes; `session` drives a
//! core connection over a transport; `class` is the Godot classes; `multiplayer` holds the
//! Godot-free rules of `RustWebSocketMultiplayerPeer` (id message, routing, deadlines).

pub mod class;
pub mod core;
pub mod multiplayer;
pub mod session;
pub mod transport;

use godot::init::{gdextension, ExtensionLibrary, InitStage};
use godot::obj::GodotClass;

/// The extension's entry point (`gdext_rust_init`).
struct GodotWebSocket;

#[gdextension]
unsafe impl ExtensionLibrary for GodotWebSocket {
    fn on_stage_init(stage: InitStage) {
        if stage == InitStage::Scene {
            class::enums::register(<class::peer::WebSocketPeer as GodotClass>::class_id());
        }
    }
}
