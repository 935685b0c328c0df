//! The client side: one connection to the server, which must send our id first.

use std::time::{Duration, Instant};

use godot::global::{godot_error, godot_warn};
use godot::prelude::*;

use super::remote;
use super::{Event, Incoming, Role, WebSocketMultiplayerPeer};
use crate::class::peer::WebSocketPeer;
use crate::core::state::ReadyState;
use crate::multiplayer::error::MpError;
use crate::multiplayer::id::{self, SERVER_ID};
use crate::multiplayer::pending::{timeout_of, Deadline};

pub(super) struct Client {
    pub ws: Gd<WebSocketPeer>,
    deadline: Deadline,
    /// The server's id message arrived: CONNECTED.
    pub joined: bool,
    /// Left OPEN in an earlier poll; announced at the latest in this one.
    leaving: bool,
}

impl Client {
    pub fn new(ws: Gd<WebSocketPeer>, now: Instant) -> Self {
        Client {
            ws,
            deadline: Deadline::starting(now),
            joined: false,
            leaving: false,
        }
    }
}

impl WebSocketMultiplayerPeer {
    pub(super) fn poll_client(&mut self, now: Instant) -> Vec<Event> {
        let seconds = self.handshake_timeout;
        let inbox_empty = self.inbox.is_empty();
        let Role::Client(c) = &mut self.role else {
            return Vec::new();
        };
        let state = remote::poll(&mut c.ws);
        let mut joined_now = None;
        if !c.joined {
            match join(c, state, timeout_of(seconds), seconds, now) {
                Ok(Some(id)) => {
                    c.joined = true;
                    joined_now = Some(id);
                }
                Ok(None) => return Vec::new(),
                Err(e) => {
                    self.fail(e);
                    return Vec::new();
                }
            }
        }
        let mut incoming = Vec::new();
        while let Some(p) = remote::pop(&mut c.ws) {
            if !p.data.is_empty() {
                incoming.push(Incoming {
                    source: SERVER_ID,
                    data: p.data,
                });
            }
        }
        let leave = if c.leaving {
            true
        } else if state != ReadyState::Open {
            c.leaving = true;
            // Its last packets are read before it is announced (one poll is as long as the
            // API takes to read them).
            incoming.is_empty() && inbox_empty
        } else {
            false
        };
        let cause = if leave { remote::cause(&c.ws) } else { None };
        self.inbox.extend(incoming);

        let mut events = Vec::new();
        if let Some(id) = joined_now {
            self.unique_id = id;
            self.error = None;
            events.push(Event::Connected(SERVER_ID));
        }
        if leave {
            self.error = cause.map(MpError::ConnectionLost);
            // DISCONNECTED before the signal, so a handler may connect again.
            self.role = Role::Idle;
            self.unique_id = 0;
            events.push(Event::Disconnected(SERVER_ID));
        }
        events
    }

    /// Could not join: DISCONNECTED, the cause kept for `get_error_message()`.
    fn fail(&mut self, e: MpError) {
        match &e {
            MpError::InvalidId(_) => godot_error!("RustWebSocketMultiplayerPeer: {e}"),
            MpError::Timeout { .. } => godot_warn!("RustWebSocketMultiplayerPeer: {e}"),
            // The connection itself already warned with its cause.
            _ => {}
        }
        self.reset();
        self.error = Some(e);
    }
}

/// One step of joining: `Some(id)` once the server's id arrived, `None` while waiting.
fn join(
    c: &mut Client,
    state: ReadyState,
    timeout: Duration,
    seconds: f64,
    now: Instant,
) -> Result<Option<i32>, MpError> {
    match state {
        ReadyState::Open => {
            if let Some(p) = remote::pop(&mut c.ws) {
                return match id::decode(&p.data, p.text) {
                    Ok(id) => Ok(Some(id)),
                    Err(e) => {
                        remote::close(&mut c.ws, 1002, "invalid peer id");
                        Err(MpError::InvalidId(e))
                    }
                };
            }
        }
        ReadyState::Closing | ReadyState::Closed => {
            let why = remote::cause(&c.ws).unwrap_or_else(|| {
                let (code, reason) = remote::close_code(&c.ws);
                format!("the server closed the connection before sending an id (code {code} \"{reason}\")")
            });
            return Err(MpError::ConnectFailed(why));
        }
        ReadyState::Connecting => {}
    }
    if !c.deadline.passed(timeout, now) {
        return Ok(None);
    }
    let waiting_for = if state == ReadyState::Open {
        remote::close(&mut c.ws, 1000, "no peer id received");
        "the server to send this client's id"
    } else {
        remote::close(&mut c.ws, -1, "");
        "the connection and WebSocket handshake"
    };
    Err(MpError::Timeout {
        seconds,
        waiting_for,
    })
}
