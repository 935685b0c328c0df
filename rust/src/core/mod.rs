//! The Godot-free WebSocket core: everything about the protocol, nothing about sockets or the
//! engine. `Connection` is driven with bytes and time; the other modules are its parts.

pub mod close;
pub mod config;
pub mod connection;
pub mod deflate;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod heartbeat;
pub mod inbox;
pub mod outbound;
pub mod proxy;
pub mod read_buffer;
pub mod reader;
pub mod state;
pub mod url;

#[cfg(test)]
pub mod testing;
