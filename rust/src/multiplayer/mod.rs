//! The rules of the engine's WebSocket multiplayer protocol, without engine types: the peer id
//! message the server sends first, which connected peers a packet goes to, and the deadline of
//! a connection that has not finished its handshake. `class::multiplayer` drives them.

pub mod error;
pub mod id;
pub mod pending;
pub mod route;
