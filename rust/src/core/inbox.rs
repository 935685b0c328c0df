//! Complete messages received and not yet read by the game.

use std::collections::VecDeque;

/// One received message.
#[derive(Debug, PartialEq, Eq)]
pub struct Packet {
    pub data: Vec<u8>,
    pub text: bool,
}

/// The inbound queue. Unlike the engine, it keeps its packets when the connection closes, so the
/// last messages a server sends before closing are still readable (godot#107442).
#[derive(Debug, Default)]
pub struct Inbox {
    packets: VecDeque<Packet>,
    bytes: usize,
}

impl Inbox {
    pub fn push(&mut self, packet: Packet) {
        self.bytes += packet.data.len();
        self.packets.push_back(packet);
    }

    pub fn pop(&mut self) -> Option<Packet> {
        let p = self.packets.pop_front()?;
        self.bytes -= p.data.len();
        Some(p)
    }

    pub fn len(&self) -> usize {
        self.packets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// Payload bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Gives back the queue's memory when it is empty.
    pub fn shrink_if_empty(&mut self) {
        if self.packets.is_empty() {
            self.packets = VecDeque::new();
        }
    }

    pub fn clear(&mut self) {
        self.packets.clear();
        self.bytes = 0;
    }
}
