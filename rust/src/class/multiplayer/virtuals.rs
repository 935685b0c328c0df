//! The `MultiplayerPeer` virtuals the [MultiplayerAPI] calls: packets, target peer, status,
//! polling, disconnecting.

use std::time::Instant;

use godot::classes::multiplayer_peer::{ConnectionStatus, TransferMode};
use godot::classes::IMultiplayerPeerExtension;
use godot::global::{godot_error, Error};
use godot::meta::conv::RawPtr;
use godot::prelude::*;

use super::{remote, Event, Role, WebSocketMultiplayerPeer};
use crate::class::error_map::refuse_mp;
use crate::class::packet_peer::{borrow_in, hand_out};
use crate::core::state::ReadyState;
use crate::multiplayer::error::MpError;
use crate::multiplayer::id::SERVER_ID;
use crate::multiplayer::route::Route;

/// What the engine's class reports as its largest packet: `outbound_buffer_size` minus the 9
/// bytes of Godot 3's packet header (4.x sends none).
const ENGINE_HEADER: i32 = 9;

#[godot_api]
impl IMultiplayerPeerExtension for WebSocketMultiplayerPeer {
    /// Hands Godot the next packet; it stays valid until the next call.
    unsafe fn get_packet_rawptr(
        &mut self,
        r_buffer: RawPtr<*mut RawPtr<*const u8>>,
        r_buffer_size: RawPtr<*mut i32>,
    ) -> Error {
        let Some(packet) = self.inbox.pop_front() else {
            if self.get_connection_status() != ConnectionStatus::CONNECTED {
                return refuse_mp("get_packet", &MpError::NotConnected);
            }
            return Error::ERR_UNAVAILABLE;
        };
        let Ok(size) = i32::try_from(packet.data.len()) else {
            godot_error!("RustWebSocketMultiplayerPeer.get_packet(): packet larger than 2 GiB");
            return Error::ERR_OUT_OF_MEMORY;
        };
        self.current = packet.data;
        // SAFETY: Godot's out-pointers; the buffer lives in `self.current` until the next call.
        unsafe { hand_out(&self.current, size, r_buffer, r_buffer_size) };
        Error::OK
    }

    /// Sends one packet to the target peer (server: one peer, everyone, or everyone but one;
    /// client: always the server).
    unsafe fn put_packet_rawptr(
        &mut self,
        p_buffer: RawPtr<*const u8>,
        p_buffer_size: i32,
    ) -> Error {
        if self.get_connection_status() != ConnectionStatus::CONNECTED {
            return refuse_mp("put_packet", &MpError::NotConnected);
        }
        // SAFETY: Godot's buffer of `p_buffer_size` bytes, valid for this call.
        let data = unsafe { borrow_in(&p_buffer, p_buffer_size) };
        let route = Route::of(self.target_peer);
        match &mut self.role {
            Role::Server(srv) => {
                if let Route::One(target) = route {
                    if srv.peer(target).is_none() {
                        return refuse_mp("put_packet", &MpError::UnknownPeer(target));
                    }
                }
                srv.send(route, data).err().unwrap_or(Error::OK)
            }
            Role::Client(c) => {
                if remote::state(&c.ws) != ReadyState::Open {
                    // Leaving: announced at the next poll; nothing can be delivered any more.
                    return Error::FAILED;
                }
                remote::send(&mut c.ws, data)
            }
            Role::Idle => Error::ERR_UNCONFIGURED,
        }
    }

    fn get_available_packet_count(&self) -> i32 {
        i32::try_from(self.inbox.len()).unwrap_or(i32::MAX)
    }

    fn get_max_packet_size(&self) -> i32 {
        self.outbound_buffer_size.saturating_sub(ENGINE_HEADER)
    }

    fn get_packet_channel(&self) -> i32 {
        0
    }

    fn get_packet_mode(&self) -> TransferMode {
        TransferMode::RELIABLE
    }

    fn set_transfer_channel(&mut self, channel: i32) {
        self.transfer_channel = channel;
    }

    fn get_transfer_channel(&self) -> i32 {
        self.transfer_channel
    }

    fn set_transfer_mode(&mut self, mode: TransferMode) {
        self.transfer_mode = mode;
    }

    fn get_transfer_mode(&self) -> TransferMode {
        self.transfer_mode
    }

    fn set_target_peer(&mut self, peer: i32) {
        self.target_peer = peer;
    }

    fn get_packet_peer(&self) -> i32 {
        match self.inbox.front() {
            Some(p) => p.source,
            None => {
                godot_error!("RustWebSocketMultiplayerPeer.get_packet_peer(): no packet to read");
                SERVER_ID
            }
        }
    }

    fn is_server(&self) -> bool {
        matches!(self.role, Role::Server(_))
    }

    fn poll(&mut self) {
        let now = Instant::now();
        let events = match &self.role {
            Role::Idle => return,
            Role::Server(_) => self.poll_server(now),
            Role::Client(_) => self.poll_client(now),
        };
        self.emit(events);
    }

    /// Ends everything at once: DISCONNECTED when it returns, no signal (as the engine). Every
    /// connection gets a close frame first (the engine's class just drops them).
    fn close(&mut self) {
        match std::mem::take(&mut self.role) {
            Role::Server(srv) => srv.shut_down(),
            Role::Client(mut c) => remote::close(&mut c.ws, 1000, ""),
            Role::Idle => {}
        }
        self.reset();
    }

    /// Closes the connection of `peer` (code 1000). Without `force` it is announced with
    /// `peer_disconnected` at a following poll, once its closing handshake is under way; with
    /// `force` it is removed and announced at once, and its unread packets are dropped (the
    /// engine's class announces nothing then).
    fn disconnect_peer(&mut self, peer: i32, force: bool) {
        let mut events = Vec::new();
        match &mut self.role {
            Role::Server(srv) => {
                let Some(ws) = srv.peer(peer) else {
                    refuse_mp("disconnect_peer", &MpError::UnknownPeer(peer));
                    return;
                };
                let mut ws = ws.clone();
                remote::close(&mut ws, 1000, "");
                if force {
                    // Gone now: what it sent and was not read yet goes with it.
                    srv.mark_leaving(peer);
                    self.inbox.retain(|p| p.source != peer);
                    events.push(Event::Disconnected(peer));
                }
            }
            Role::Client(c) if peer == SERVER_ID => {
                remote::close(&mut c.ws, 1000, "");
                if force {
                    let joined = c.joined;
                    self.reset();
                    if joined {
                        events.push(Event::Disconnected(SERVER_ID));
                    }
                }
            }
            _ => {
                refuse_mp("disconnect_peer", &MpError::UnknownPeer(peer));
                return;
            }
        }
        self.emit(events);
    }

    fn get_unique_id(&self) -> i32 {
        self.unique_id
    }

    fn set_refuse_new_connections(&mut self, enable: bool) {
        self.refusing = enable;
    }

    fn is_refusing_new_connections(&self) -> bool {
        self.refusing
    }

    fn is_server_relay_supported(&self) -> bool {
        true
    }

    fn get_connection_status(&self) -> ConnectionStatus {
        match &self.role {
            Role::Idle => ConnectionStatus::DISCONNECTED,
            Role::Server(_) => ConnectionStatus::CONNECTED,
            Role::Client(c) if c.joined => ConnectionStatus::CONNECTED,
            Role::Client(_) => ConnectionStatus::CONNECTING,
        }
    }
}
