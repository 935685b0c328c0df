//! The `PacketPeer` virtuals, through which `get_packet`, `put_packet`, `get_var`, `put_var`
//! and `get_available_packet_count` reach the connection, and the two pointer helpers the
//! multiplayer peer's packet virtuals share with them. The only `unsafe` code of the crate.

use godot::classes::IPacketPeerExtension;
use godot::global::{godot_error, Error};
use godot::meta::conv::RawPtr;

use super::peer::WebSocketPeer;
use crate::core::state::ReadyState;

#[godot::prelude::godot_api]
impl IPacketPeerExtension for WebSocketPeer {
    /// Hands Godot the next unread message. It stays valid until the next call (it is kept in
    /// `current_packet`). Unread messages stay readable after the connection closes.
    unsafe fn get_packet_rawptr(
        &mut self,
        r_buffer: RawPtr<*mut RawPtr<*const u8>>,
        r_buffer_size: RawPtr<*mut i32>,
    ) -> Error {
        let open = self.state() == ReadyState::Open;
        let packet = self
            .session_mut()
            .and_then(|s| s.connection_mut().pop_packet());
        let Some(packet) = packet else {
            if open {
                return Error::ERR_UNAVAILABLE;
            }
            godot_error!(
                "RustWebSocketPeer.get_packet(): no packet to read and the connection is not open"
            );
            return Error::FAILED;
        };
        let Ok(size) = i32::try_from(packet.data.len()) else {
            godot_error!("RustWebSocketPeer.get_packet(): packet larger than 2 GiB");
            return Error::ERR_OUT_OF_MEMORY;
        };
        self.set_was_string(packet.text);
        self.current_packet = packet.data;
        // SAFETY: as `hand_out` requires: Godot's pointers, and the buffer lives in
        // `self.current_packet` until the next call.
        unsafe { hand_out(&self.current_packet, size, r_buffer, r_buffer_size) };
        Error::OK
    }

    /// Sends one binary message (what `put_packet` and `put_var` do).
    unsafe fn put_packet_rawptr(
        &mut self,
        p_buffer: RawPtr<*const u8>,
        p_buffer_size: i32,
    ) -> Error {
        // SAFETY: Godot's buffer of `p_buffer_size` bytes, valid for this call.
        let payload = unsafe { borrow_in(&p_buffer, p_buffer_size) };
        self.send_bytes("put_packet", payload, false)
    }

    fn get_available_packet_count(&self) -> i32 {
        let n = self.session_ref_count();
        i32::try_from(n).unwrap_or(i32::MAX)
    }

    fn get_max_packet_size(&self) -> i32 {
        self.max_packet_size()
    }
}

/// Points Godot's `r_buffer`/`r_buffer_size` at `data` (`size` = its length).
///
/// # Safety
/// `r_buffer` and `r_buffer_size` must be the valid out-pointers Godot passes to a
/// `_get_packet` virtual (a `const uint8_t**` and an `int32_t*`), and `data` must stay alive
/// and unchanged until Godot's next call into the same object.
pub(super) unsafe fn hand_out(
    data: &[u8],
    size: i32,
    r_buffer: RawPtr<*mut RawPtr<*const u8>>,
    r_buffer_size: RawPtr<*mut i32>,
) {
    // SAFETY: the caller guarantees both pointers are Godot's valid out-pointers; we write the
    // real C types through them.
    unsafe {
        *(r_buffer.ptr() as *mut *const u8) = data.as_ptr();
        *r_buffer_size.ptr() = size;
    }
}

/// The bytes Godot passes to a `_put_packet` virtual (empty for a null or empty buffer).
///
/// # Safety
/// `p_buffer` must point at `p_buffer_size` readable bytes that stay valid for the returned
/// lifetime (Godot guarantees this for the duration of the virtual call).
pub(super) unsafe fn borrow_in(p_buffer: &RawPtr<*const u8>, p_buffer_size: i32) -> &[u8] {
    let len = usize::try_from(p_buffer_size).unwrap_or(0);
    if len == 0 || p_buffer.ptr().is_null() {
        return &[];
    }
    // SAFETY: non-null, non-empty, and readable for `len` bytes as the caller guarantees.
    unsafe { std::slice::from_raw_parts(p_buffer.ptr(), len) }
}
