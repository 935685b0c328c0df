//! `RustWebSocketMultiplayerPeer`: the engine's `WebSocketMultiplayerPeer` over
//! `RustWebSocketPeer` connections. The id message, routing and deadlines are the Godot-free
//! rules of `crate::multiplayer`; this layer owns the connections and emits the signals.
//! `peer` holds the class and its methods, `virtuals` what the MultiplayerAPI calls, `server`
//! and `client` the two roles' polls, `remote` one connection, `proxy` the client's proxies.

use client::Client;
use server::Server;

mod client;
mod peer;
mod proxy;
mod remote;
mod server;
mod virtuals;

pub use peer::WebSocketMultiplayerPeer;

/// What this peer is doing.
#[derive(Default)]
enum Role {
    #[default]
    Idle,
    Server(Box<Server>),
    Client(Box<Client>),
}

/// A packet from a connected peer.
struct Incoming {
    source: i32,
    data: Vec<u8>,
}

/// A signal to emit once the state is consistent again (signals re-enter the class).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    Connected(i32),
    Disconnected(i32),
}
