//! One WebSocket connection, without IO: bytes in through `read_from`, bytes out through
//! `write_to`, time in through `tick(now)`. The driver lends it a transport on every poll.
//!
//! It owns the ready state, the handshake, both queues, the close handshake and the heartbeat.
//! It never blocks, reads no clock and touches no socket, so every rule here is unit-tested with
//! in-memory streams and virtual time.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use tungstenite::protocol::frame::coding::{Control, Data, OpCode};

use super::config::{InboundLimits, OutboundLimits, Timeouts};
use super::deflate::{Agreement, DeflateSettings, Deflater, Inflater};
use super::error::{Phase, WsError};
use super::frame::{self, random_mask};
use super::handshake::client::ClientHandshake;
use super::handshake::server::ServerHandshake;
use super::heartbeat::{Beat, Heartbeat};
use super::inbox::{Inbox, Packet};
use super::outbound::Outbound;
use super::read_buffer::ReadBuffer;
use super::reader::{Incoming, MessageReader};
use super::state::{ReadyState, Role};

/// How long a remote we are failing (HTTP error answer, or a close frame after a protocol
/// error) is given to read our last words and hang up.
const LINGER: Duration = Duration::from_secs(1);

/// The compression scratch buffer is kept between sends up to this capacity.
const SCRATCH_KEEP: usize = 64 * 1024;

/// The upgrade still to be completed.
#[derive(Debug)]
enum Handshake {
    Client(ClientHandshake),
    Server(ServerHandshake),
}

/// A WebSocket connection's whole state.
#[derive(Debug)]
pub struct Connection {
    role: Role,
    state: ReadyState,
    handshake: Option<Handshake>,
    rx: ReadBuffer,
    reader: MessageReader,
    tx: Outbound,
    inbox: Inbox,
    /// Limits to apply when the handshake completes, and the ones in force since.
    inbound_next: InboundLimits,
    inbound: InboundLimits,
    outbound: OutboundLimits,
    timeouts: Timeouts,
    deadline: Option<(Phase, Instant)>,
    heartbeat: Heartbeat,
    close_sent: bool,
    close_received: bool,
    /// We sent a close (or an HTTP error) because the remote broke the protocol: finish once it
    /// is written.
    failing: bool,
    /// The failing connection's last words are out; it now only waits for the remote to go.
    lingering: bool,
    close_code: i32,
    close_reason: String,
    protocol: String,
    /// permessage-deflate, when negotiated: our compressor (the inflater is in the reader).
    deflate: Option<Deflater>,
    /// The extensions in force, as the server's answer states them; kept after close, like
    /// the protocol.
    extensions: String,
    deflate_settings: DeflateSettings,
    /// Compressed payload of the message being sent, before it is framed (kept between sends,
    /// released when idle).
    scratch: Vec<u8>,
    /// Server side: the URL the client asked for.
    requested_url: String,
    cause: Option<WsError>,
    /// The remote ended the stream while frames it sent were still waiting behind a full
    /// inbox: they are handled first, then the connection ends (see `on_eof`).
    eof: bool,
}

impl Connection {
    /// A client connection whose upgrade request is already queued. It stays CONNECTING until
    /// the transport is up (`transport_ready`) and the response has been read.
    pub fn client(handshake: ClientHandshake, request: Vec<u8>, timeouts: Timeouts) -> Self {
        let mut conn = Connection::new(Role::Client, timeouts);
        conn.handshake = Some(Handshake::Client(handshake));
        conn.tx.push_raw(request);
        conn
    }

    /// The server side of a connection whose transport is already up: it waits for the client's
    /// request, within the handshake deadline from `now`.
    pub fn server(handshake: ServerHandshake, timeouts: Timeouts, now: Instant) -> Self {
        let mut conn = Connection::new(Role::Server, timeouts);
        conn.handshake = Some(Handshake::Server(handshake));
        conn.deadline = Some((Phase::Handshake, now + timeouts.accept));
        conn
    }

    fn new(role: Role, timeouts: Timeouts) -> Self {
        Connection {
            role,
            state: ReadyState::Connecting,
            handshake: None,
            rx: ReadBuffer::default(),
            reader: MessageReader::new(role, InboundLimits::default().max_message),
            tx: Outbound::default(),
            inbox: Inbox::default(),
            inbound_next: InboundLimits::default(),
            inbound: InboundLimits::default(),
            outbound: OutboundLimits::default(),
            timeouts,
            deadline: None,
            heartbeat: Heartbeat::default(),
            close_sent: false,
            close_received: false,
            failing: false,
            lingering: false,
            close_code: -1,
            close_reason: String::new(),
            protocol: String::new(),
            deflate: None,
            extensions: String::new(),
            deflate_settings: DeflateSettings::default(),
            scratch: Vec::new(),
            requested_url: String::new(),
            cause: None,
            eof: false,
        }
    }

    // ---- settings -------------------------------------------------------------------------

    /// Inbound limits, applied when the handshake completes (changing them while open has no
    /// effect on this connection, as in the engine).
    pub fn set_inbound_limits(&mut self, limits: InboundLimits) {
        self.inbound_next = limits;
    }

    /// Outbound limits, used from the next send.
    pub fn set_outbound_limits(&mut self, limits: OutboundLimits) {
        self.outbound = limits;
    }

    /// How our compressor works if permessage-deflate is negotiated (before the handshake).
    pub fn set_deflate_settings(&mut self, settings: DeflateSettings) {
        self.deflate_settings = settings;
    }

    /// Heartbeat interval (`None`/zero = off), used from the next tick.
    pub fn set_heartbeat(&mut self, interval: Option<Duration>) {
        self.heartbeat.set_interval(interval);
    }

    // ---- state ----------------------------------------------------------------------------

    pub fn state(&self) -> ReadyState {
        self.state
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// The close code the remote sent (0 for a close frame without one), or the code we closed
    /// with after a protocol error; -1 when no close frame was received.
    pub fn close_code(&self) -> i32 {
        self.close_code
    }

    pub fn close_reason(&self) -> &str {
        &self.close_reason
    }

    pub fn selected_protocol(&self) -> &str {
        &self.protocol
    }

    /// The extensions in force, as the server's answer states them ("" when none).
    pub fn selected_extensions(&self) -> &str {
        &self.extensions
    }

    /// Whether the deflate and inflate contexts exist (for memory tests).
    pub fn deflate_contexts_allocated(&self) -> (bool, bool) {
        match &self.deflate {
            Some(d) => (d.is_allocated(), self.reader.inflater_allocated()),
            None => (false, false),
        }
    }

    /// Server side: `ws://` or `wss://` + the request's Host + its target, once it has arrived.
    pub fn requested_url(&self) -> &str {
        &self.requested_url
    }

    /// Why the connection failed or ended abnormally, if it did.
    pub fn cause(&self) -> Option<&WsError> {
        self.cause.as_ref()
    }

    /// Payload bytes of messages not yet fully written; 0 unless open (as the engine reports).
    pub fn buffered_amount(&self) -> usize {
        if self.state == ReadyState::Open {
            self.tx.buffered_amount()
        } else {
            0
        }
    }

    /// Unread messages, in any state.
    pub fn packet_count(&self) -> usize {
        self.inbox.len()
    }

    pub fn pop_packet(&mut self) -> Option<Packet> {
        self.inbox.pop()
    }

    // ---- IO -------------------------------------------------------------------------------

    /// The transport is connected: the handshake deadline starts now.
    pub fn transport_ready(&mut self, now: Instant) {
        if self.state == ReadyState::Connecting {
            self.deadline = Some((Phase::Handshake, now + self.timeouts.handshake));
        }
    }

    /// Whether the connection can take more bytes now (false while unread messages are
    /// piling up: the remote is then held back by TCP flow control, nothing is dropped).
    pub fn wants_read(&self) -> bool {
        match self.state {
            ReadyState::Connecting => self.handshake.is_some(),
            // A failing connection keeps reading, to drop what the remote still sends.
            ReadyState::Open | ReadyState::Closing => {
                self.failing || (!self.eof && !self.close_received && !self.inbox_full())
            }
            ReadyState::Closed => false,
        }
    }

    fn inbox_full(&self) -> bool {
        self.inbox.len() >= self.inbound.max_packets.max(1)
            || self.inbox.bytes() >= self.inbound.max_message.max(ReadBuffer::CHUNK)
    }

    pub fn wants_write(&self) -> bool {
        !self.tx.is_empty() && self.state != ReadyState::Closed
    }

    /// Reads once from `r` into the read buffer; `Ok(0)` is end of stream.
    pub fn read_from(&mut self, r: &mut dyn Read) -> io::Result<usize> {
        self.rx.read_from(r)
    }

    /// Whether the last `read_from` returned less than the buffer had room for.
    pub fn last_read_was_short(&self) -> bool {
        self.rx.last_read_was_short()
    }

    /// Payload bytes queued and not yet written (in any state).
    pub fn queued_bytes(&self) -> usize {
        self.tx.buffered_amount()
    }

    /// Frees buffers that hold nothing (call when a poll found nothing to read): an idle
    /// connection then costs only its bookkeeping.
    pub fn release_idle_memory(&mut self) {
        self.rx.release_if_empty();
        self.tx.shrink_if_empty();
        self.inbox.shrink_if_empty();
        self.scratch = Vec::new();
        self.reader.release_idle();
        if let Some(d) = self.deflate.as_mut() {
            d.release_idle();
        }
    }

    /// Frees the compressor (the next message starts a fresh deflate context, which the remote
    /// reads like any other). Call when nothing has been sent for a while: it is the larger half
    /// of a compressed connection's memory.
    pub fn release_compressor(&mut self) {
        if let Some(d) = self.deflate.as_mut() {
            d.release();
        }
    }

    /// Writes queued bytes until `w` would block; then applies any state change that follows
    /// (a flushed close frame).
    pub fn write_to(&mut self, w: &mut dyn Write) -> io::Result<usize> {
        let n = self.tx.write_to(w)?;
        self.finish_if_done();
        Ok(n)
    }

    /// Handles what has been read: the handshake response, then frames, as far as the inbox
    /// allows.
    pub fn process(&mut self, now: Instant) {
        loop {
            match self.state {
                ReadyState::Connecting => {
                    if !self.process_handshake(now) {
                        return;
                    }
                }
                ReadyState::Open | ReadyState::Closing => {
                    if self.failing {
                        return self.skim();
                    }
                    if self.close_received || self.inbox_full() {
                        return;
                    }
                    if self.rx.is_empty() {
                        return self.end_if_eof();
                    }
                    let (used, outcome) = self.reader.read(self.rx.data_mut());
                    self.rx.consume(used);
                    match outcome {
                        Ok(Some(event)) => self.on_incoming(event, now),
                        Ok(None) => return self.end_if_eof(),
                        Err(e) => return self.on_read_error(e, now),
                    }
                }
                ReadyState::Closed => return,
            }
        }
    }

    /// Returns true when the connection opened and processing should go on.
    fn process_handshake(&mut self, now: Instant) -> bool {
        if self.failing {
            // A refused client: drop whatever else it sends (see the Refusal arm).
            self.rx.discard();
            return false;
        }
        match &self.handshake {
            None => false,
            Some(Handshake::Client(hs)) => match hs.read_response(self.rx.data_mut()) {
                Ok(None) => false,
                Ok(Some(accepted)) => {
                    self.rx.consume(accepted.head_len);
                    self.open(accepted.protocol, accepted.deflate, now);
                    true
                }
                Err(e) => {
                    self.fail(e);
                    false
                }
            },
            Some(Handshake::Server(hs)) => match hs.read_request(self.rx.data_mut()) {
                Ok(None) => false,
                Ok(Some(upgrade)) => {
                    self.rx.consume(upgrade.head_len);
                    self.requested_url = upgrade.requested_url;
                    // Frames we send from now on queue behind the 101 response.
                    self.tx.push_raw(upgrade.response);
                    self.open(upgrade.protocol, upgrade.deflate, now);
                    true
                }
                Err(refusal) => {
                    // Answer with the HTTP error, then keep reading (and dropping) until the
                    // client hangs up or LINGER passes: closing a socket with unread input makes
                    // the kernel send a reset, which can destroy the answer before it is read.
                    self.tx.push_raw(refusal.response);
                    self.cause = Some(refusal.why);
                    self.failing = true;
                    let until = self
                        .deadline
                        .map_or(now + LINGER, |(_, at)| at.min(now + LINGER));
                    self.deadline = Some((Phase::Handshake, until));
                    false
                }
            },
        }
    }

    fn open(&mut self, protocol: String, deflate: Option<Agreement>, now: Instant) {
        self.handshake = None;
        if let Some(agreement) = deflate {
            let (ours, theirs) = agreement.directions(self.role == Role::Server);
            self.reader.set_inflater(Inflater::new(theirs));
            self.deflate = Some(Deflater::new(ours, self.deflate_settings));
            self.extensions = agreement.to_string();
        }
        self.state = ReadyState::Open;
        self.protocol = protocol;
        self.inbound = self.inbound_next;
        self.reader.set_max_message(self.inbound.max_message);
        self.deadline = None;
        self.heartbeat.start(now);
    }

    /// The remote closed the stream.
    pub fn on_eof(&mut self) {
        let open = matches!(self.state, ReadyState::Open | ReadyState::Closing);
        if open && !self.failing && !self.close_received && !self.rx.is_empty() {
            // Frames that arrived before the end are waiting behind a full inbox: the remote's
            // last messages and its close frame are handled first (`process`, as the game reads).
            self.eof = true;
            return;
        }
        self.lost_stream();
    }

    /// The stream ended and everything that came before it has been handled.
    fn end_if_eof(&mut self) {
        if self.eof {
            self.lost_stream();
        }
    }

    fn lost_stream(&mut self) {
        let why = match self.state {
            ReadyState::Connecting => {
                let remote = match self.role {
                    Role::Client => "server",
                    Role::Server => "client",
                };
                WsError::Handshake(format!(
                    "the {remote} closed the connection during the handshake"
                ))
            }
            _ => WsError::ConnectionLost(
                "the remote closed the TCP connection without a closing handshake".into(),
            ),
        };
        self.fail(why);
    }

    /// The transport failed.
    pub fn on_io_error(&mut self, error: &io::Error) {
        let why = match self.state {
            ReadyState::Connecting => WsError::Handshake(format!("transport error: {error}")),
            _ => WsError::ConnectionLost(error.to_string()),
        };
        self.fail(why);
    }

    /// Ends the connection because the transport could not be set up (or another cause found
    /// outside the core).
    pub fn abort(&mut self, cause: WsError) {
        self.fail(cause);
    }

    /// Deadlines and the heartbeat.
    pub fn tick(&mut self, now: Instant) {
        if self.failing && self.close_sent && !self.tx.has_close() && !self.lingering {
            // Our close frame is out. Give the remote LINGER to read it and hang up: closing
            // with its bytes unread would reset the connection and could destroy the frame.
            self.lingering = true;
            let until = self
                .deadline
                .map_or(now + LINGER, |(_, at)| at.min(now + LINGER));
            self.deadline = Some((Phase::Closing, until));
        }
        if let Some((phase, at)) = self.deadline {
            if now >= at {
                return self.fail(WsError::Timeout(phase));
            }
        }
        if self.state != ReadyState::Open {
            return;
        }
        match self.heartbeat.tick(now) {
            Beat::Idle => {}
            Beat::SendPing => self.queue_control(Control::Ping, &[]),
            Beat::TimedOut => self.fail(WsError::Timeout(Phase::Heartbeat)),
        }
    }

    // ---- API ------------------------------------------------------------------------------

    /// Queues one message. The caller writes it out right after (`write_to`).
    pub fn send(&mut self, payload: &[u8], text: bool) -> Result<(), WsError> {
        if self.state != ReadyState::Open {
            return Err(WsError::NotOpen);
        }
        let limits = self.outbound;
        if self.tx.frame_count() >= limits.max_frames {
            return Err(WsError::TooManyQueued {
                limit: limits.max_frames,
            });
        }
        if let Some(limit) = limits.max_bytes {
            let queued = self.tx.buffered_amount();
            if queued.saturating_add(payload.len()) > limit {
                return Err(WsError::OutboundFull {
                    queued,
                    size: payload.len(),
                    limit,
                });
            }
        }
        let opcode = OpCode::Data(if text { Data::Text } else { Data::Binary });
        let mask = self.mask();
        let mut bytes = self.tx.take_buffer();
        match self.deflate.as_mut() {
            // An empty message stays as it is (RFC 7692 section 6 lets any message go
            // uncompressed); compressed it would be one byte longer.
            Some(d) if !payload.is_empty() && d.active() => {
                self.scratch.clear();
                d.compress(payload, &mut self.scratch);
                frame::encode_with_rsv1(&mut bytes, opcode, &self.scratch, mask, true);
                if self.scratch.capacity() > SCRATCH_KEEP {
                    self.scratch = Vec::new();
                }
            }
            _ => frame::encode(&mut bytes, opcode, payload, mask),
        }
        // The limits and buffered amount count the game's bytes, compressed or not.
        self.tx.push_data(bytes, payload.len());
        Ok(())
    }

    // ---- internals ------------------------------------------------------------------------

    fn mask(&self) -> Option<[u8; 4]> {
        (self.role == Role::Client).then(random_mask)
    }

    fn queue_control(&mut self, control: Control, payload: &[u8]) {
        let mut bytes = Vec::new();
        frame::encode(&mut bytes, OpCode::Control(control), payload, self.mask());
        match control {
            Control::Pong => self.tx.push_pong(bytes),
            _ => self.tx.push_ping(bytes),
        }
    }

    fn on_incoming(&mut self, event: Incoming, now: Instant) {
        match event {
            Incoming::Message { data, text } => self.inbox.push(Packet { data, text }),
            Incoming::Ping(payload) => {
                if !self.close_sent {
                    self.queue_control(Control::Pong, &payload);
                }
            }
            Incoming::Pong(_) => self.heartbeat.on_pong(),
            Incoming::Close(remote) => self.on_remote_close(remote, now),
        }
    }

    /// Ends the connection abruptly because of `cause` (kept if one is already known).
    fn fail(&mut self, cause: WsError) {
        if self.state == ReadyState::Closed {
            return;
        }
        self.cause.get_or_insert(cause);
        self.to_closed();
    }

    fn to_closed(&mut self) {
        self.state = ReadyState::Closed;
        // A message being assembled is dropped with its buffer.
        self.reader = MessageReader::new(self.role, self.inbound.max_message);
        // The compression contexts go with the connection.
        self.deflate = None;
        self.scratch = Vec::new();
        self.handshake = None;
        self.deadline = None;
        self.tx.clear();
        self.rx.release();
    }
}

mod closing;

#[cfg(test)]
mod tests;
