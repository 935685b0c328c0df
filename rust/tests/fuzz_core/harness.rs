//! The harness: drives one connection the way the class does, measuring the heap it keeps and
//! checking the invariants after every call.

use std::io::ErrorKind;
use std::time::Instant;

use godot_websocket::core::connection::Connection;
use godot_websocket::core::state::ReadyState;

use crate::alloc::live;
use crate::case::{fail, Plan};
use crate::wire::{Sink, Wire};
use crate::written::valid_close_code;

pub struct Harness<'a> {
    pub wire: Wire,
    pub sink: Sink,
    /// Heap bytes the connection holds (allocated during its calls, minus what it handed out).
    pub held: i64,
    pub peak: i64,
    pub state: ReadyState,
    /// The connection was seen OPEN or CLOSING.
    pub opened: bool,
    /// Payload bytes of the messages the game sent successfully.
    pub sent_bytes: usize,
    pub received: Vec<(Vec<u8>, bool)>,
    /// Messages the game sent successfully.
    pub sent: Vec<(Vec<u8>, bool)>,
    pub now: Instant,
    pub t0: Instant,
    pub verbose: bool,
    pub plan: &'a Plan,
}

impl Harness<'_> {
    pub fn opened_seen(&self) -> bool {
        self.opened
    }

    /// Runs `f` on the connection, charging the heap it keeps to the connection.
    pub fn measured<R>(
        &mut self,
        conn: &mut Connection,
        f: impl FnOnce(&mut Connection) -> R,
    ) -> R {
        let before = live();
        let r = f(conn);
        self.held += live() - before;
        r
    }

    pub fn send(&mut self, conn: &mut Connection, data: Vec<u8>, text: bool) {
        self.sink.reserve();
        let ok = self.measured(conn, |c| c.send(&data, text).is_ok());
        if ok {
            if conn.state() != ReadyState::Open {
                fail("send succeeded on a connection that is not open".into());
            }
            self.sent_bytes += data.len();
            self.sent.push((data, text));
        }
        // The class writes right after a send.
        self.flush(conn);
        self.check(conn);
    }

    pub fn flush(&mut self, conn: &mut Connection) {
        self.sink.reserve();
        let sink = &mut self.sink;
        let before = live();
        if conn.wants_write() {
            if let Err(e) = conn.write_to(sink) {
                conn.on_io_error(&e);
            }
        }
        self.held += live() - before;
    }

    /// What `Session::poll` does.
    pub fn poll(&mut self, conn: &mut Connection) {
        let now = self.now;
        if conn.state() == ReadyState::Closed {
            self.measured(conn, |c| c.tick(now));
            return self.check(conn);
        }
        self.flush(conn);
        let mut idle = true;
        for _ in 0..256 {
            if !conn.wants_read() {
                break;
            }
            let wire = &mut self.wire;
            let before = live();
            let r = conn.read_from(wire);
            match r {
                Ok(0) => {
                    conn.on_eof();
                    self.held += live() - before;
                    break;
                }
                Ok(_) => {
                    idle = false;
                    conn.process(now);
                    self.held += live() - before;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.held += live() - before;
                    break;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {
                    self.held += live() - before;
                    continue;
                }
                Err(e) => {
                    conn.on_io_error(&e);
                    self.held += live() - before;
                    break;
                }
            }
            self.check(conn);
        }
        self.measured(conn, |c| {
            c.process(now);
            c.tick(now);
        });
        self.flush(conn);
        if idle {
            self.measured(conn, |c| c.release_idle_memory());
        }
        self.check(conn);
    }

    pub fn pop_all(&mut self, conn: &mut Connection) {
        let mut count = 0;
        let mut bytes = 0;
        while let Some(p) = conn.pop_packet() {
            // The packet's buffer leaves the connection.
            self.held -= p.data.capacity() as i64;
            count += 1;
            bytes += p.data.len();
            if p.data.len() > self.plan.inbound.max_message {
                fail(format!(
                    "a {}-byte packet over the {} limit",
                    p.data.len(),
                    self.plan.inbound.max_message
                ));
            }
            if p.text && std::str::from_utf8(&p.data).is_err() {
                fail("a text packet that is not UTF-8".into());
            }
            self.received.push((p.data, p.text));
        }
        let limit = self.plan.inbound.max_message.max(16 * 1024) + self.plan.inbound.max_message;
        if bytes > limit {
            fail(format!(
                "{count} unread packets held {bytes} bytes (limit {limit})"
            ));
        }
        self.check(conn);
    }

    /// Invariants after every call.
    pub fn check(&mut self, conn: &Connection) {
        let state = conn.state();
        use ReadyState::*;
        let forward = matches!(
            (self.state, state),
            (Connecting, _)
                | (Open, Open | Closing | Closed)
                | (Closing, Closing | Closed)
                | (Closed, Closed)
        );
        if !forward {
            fail(format!("state went from {:?} to {state:?}", self.state));
        }
        if self.verbose && self.state != state {
            eprintln!(
                "  {:>8.3} s: {:?} -> {state:?} (code {}, cause {:?})",
                (self.now - self.t0).as_secs_f64(),
                self.state,
                conn.close_code(),
                conn.cause().map(|c| c.to_string())
            );
        }
        self.state = state;
        self.opened |= matches!(state, Open | Closing);
        let code = conn.close_code();
        if !(code == -1 || code == 0 || u16::try_from(code).is_ok_and(valid_close_code)) {
            fail(format!("close code {code} reported"));
        }
        let plan = self.plan;
        if conn.packet_count() > plan.inbound.max_packets.max(1) {
            fail(format!(
                "{} packets queued (max_queued_packets {})",
                conn.packet_count(),
                plan.inbound.max_packets
            ));
        }
        if let Some(max) = plan.outbound.max_bytes {
            if conn.buffered_amount() > max {
                fail(format!(
                    "buffered_amount {} over outbound_buffer_size {max}",
                    conn.buffered_amount()
                ));
            }
        }
        if state == Closed
            && (conn.wants_read() || conn.wants_write() || conn.buffered_amount() != 0)
        {
            fail("CLOSED but still wants IO".into());
        }
        // Heap: read buffer (16 KiB, doubled at most once for an HTTP head), the message being
        // assembled and the inbox (twice the limit each, as Vecs grow by doubling), the outbound
        // queue (what the game may queue, plus up to 16 pongs and a head), queue slots, slack.
        let msg = plan.inbound.max_message as i64;
        let received = self.wire.pos as i64;
        let inbound = 2 * msg.min(received + 128 * 1024)
            + 2 * (msg.max(16 * 1024) + msg).min(2 * received + 32 * 1024);
        let queued = plan
            .outbound
            .max_bytes
            .unwrap_or(usize::MAX)
            .min(self.sent_bytes) as i64;
        let outbound = 2 * (queued + 16 * 1024);
        let slots = 128 * plan.inbound.max_packets.min(4096) as i64
            + 128 * plan.outbound.max_frames.min(4096) as i64;
        // A compressed connection adds its two contexts (zlib: 256 KiB to deflate with a 15-bit
        // window and memory level 8, 32 KiB window to inflate, plus state) and one scratch
        // buffer for the message being compressed.
        let contexts = if plan.deflate {
            512 * 1024 + 2 * (queued.min(80_000) + 1024)
        } else {
            0
        };
        let bound = 64 * 1024 + inbound + outbound + slots + 16 * 1024 + contexts;
        self.peak = self.peak.max(self.held);
        if self.held > bound {
            fail(format!(
                "the connection holds {} heap bytes, more than {bound} (max_message {msg}, {received} bytes received)",
                self.held
            ));
        }
    }

    pub fn check_closed(&mut self, conn: &Connection) {
        self.check(conn);
        // A closed connection keeps only its unread packets (none: we read them) and its
        // bookkeeping.
        if self.held > 4096 {
            fail(format!(
                "a CLOSED connection still holds {} heap bytes",
                self.held
            ));
        }
    }
}
