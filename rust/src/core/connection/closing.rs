//! The closing handshake: a local `close()`, the remote's close frame, failing the connection
//! after a protocol error, and when all of that ends in CLOSED.

use std::time::Instant;

use tungstenite::protocol::frame::coding::{Control, OpCode};

use super::Connection;
use crate::core::close::{self, LocalClose, RemoteClose};
use crate::core::error::{Phase, WsError};
use crate::core::frame;
use crate::core::reader::{ReadError, Skim};
use crate::core::state::ReadyState;

impl Connection {
    /// `close(code, reason)` as the engine defines it: a negative code drops the connection at
    /// once; otherwise a close frame is queued (or the connection is dropped while connecting).
    /// Returns whether the reason had to be shortened to fit a close frame.
    pub fn close(&mut self, code: i32, reason: &str, now: Instant) -> Result<bool, WsError> {
        if code < 0 {
            self.to_closed();
            return Ok(false);
        }
        match self.state {
            ReadyState::Connecting => {
                self.to_closed();
                Ok(false)
            }
            ReadyState::Closing | ReadyState::Closed => Ok(false),
            ReadyState::Open => {
                let local = close::local_close(code, reason).map_err(WsError::InvalidArgument)?;
                let truncated = matches!(
                    local,
                    LocalClose::Status {
                        truncated: true,
                        ..
                    }
                );
                self.queue_close(&local);
                self.state = ReadyState::Closing;
                self.deadline = Some((Phase::Closing, now + self.timeouts.closing));
                Ok(truncated)
            }
        }
    }

    pub(super) fn queue_close(&mut self, close: &LocalClose) {
        let mut bytes = Vec::new();
        let payload = close::encode_payload(close);
        frame::encode(
            &mut bytes,
            OpCode::Control(Control::Close),
            &payload,
            self.mask(),
        );
        self.tx.push_close(bytes);
        self.close_sent = true;
    }

    pub(super) fn on_remote_close(&mut self, remote: RemoteClose, now: Instant) {
        self.close_received = true;
        self.close_code = i32::from(remote.code);
        self.close_reason = remote.reason;
        if !self.close_sent {
            // Echo the remote's status, as the engine does.
            let echo = match remote.code {
                0 => LocalClose::Empty,
                code => LocalClose::Status {
                    code,
                    reason: self.close_reason.clone(),
                    truncated: false,
                },
            };
            self.queue_close(&echo);
            self.state = ReadyState::Closing;
            self.deadline = Some((Phase::Closing, now + self.timeouts.closing));
        }
        self.finish_if_done();
    }

    pub(super) fn on_read_error(&mut self, error: ReadError, now: Instant) {
        let (code, cause) = match error {
            ReadError::Protocol { code, detail } => (code, WsError::Protocol { code, detail }),
            ReadError::TooBig { size, limit } => (
                close::code::MESSAGE_TOO_BIG,
                WsError::MessageTooBig { size, limit },
            ),
        };
        if self.close_sent {
            // We are already closing; the remote only made it worse.
            return self.fail(cause);
        }
        // The frame carries the code only, as the engine's does; the reason text is for our
        // own get_close_reason().
        let reason = close::reason_for(code);
        self.queue_close(&LocalClose::Status {
            code,
            reason: String::new(),
            truncated: false,
        });
        self.close_code = i32::from(code);
        self.close_reason = reason.into();
        self.cause = Some(cause);
        self.failing = true;
        self.state = ReadyState::Closing;
        self.deadline = Some((Phase::Closing, now + self.timeouts.closing));
        self.skim();
    }

    /// While failing: steps over whatever the remote still sends until its close frame (then
    /// CLOSED as soon as ours is out) or until the framing is lost (then the input is dropped
    /// unread and the connection lingers; see `tick`).
    pub(super) fn skim(&mut self) {
        if self.close_received {
            return self.rx.discard();
        }
        let (used, found) = self.reader.skim(self.rx.data_mut());
        match found {
            Skim::More => self.rx.consume(used),
            Skim::Lost | Skim::Close => {
                self.rx.discard();
                if found == Skim::Close {
                    self.close_received = true;
                    self.finish_if_done();
                }
            }
        }
    }

    /// CLOSED once our close frame is written and either the remote's arrived or we are
    /// failing the connection.
    pub(super) fn finish_if_done(&mut self) {
        let active = matches!(self.state, ReadyState::Open | ReadyState::Closing);
        if active && self.close_sent && !self.tx.has_close() && self.close_received {
            self.to_closed();
        }
    }
}
