//! Connection tests: a client `Connection` against a scripted server over in-memory pipes, in
//! virtual time.

use std::time::{Duration, Instant};

use tungstenite::handshake::derive_accept_key;

use super::*;
use crate::core::close::RemoteClose;
use crate::core::handshake::client::ClientRequest;
use crate::core::testing::{raw_frame, Pipe};

/// A client connection and the server end of its wire.
struct Harness {
    conn: Connection,
    to_server: Pipe,
    to_client: Pipe,
    server: MessageReader,
    now: Instant,
}

impl Harness {
    fn connecting() -> Harness {
        let request = ClientRequest {
            host_header: "h".into(),
            resource: "/".into(),
            ..Default::default()
        };
        let (hs, bytes) = ClientHandshake::start(&request).unwrap();
        let mut h = Harness {
            conn: Connection::client(hs, bytes, Timeouts::default()),
            to_server: Pipe::default(),
            to_client: Pipe::default(),
            server: MessageReader::new(Role::Server, usize::MAX),
            now: Instant::now(),
        };
        h.conn.transport_ready(h.now);
        h.pump();
        h
    }

    fn open() -> Harness {
        let mut h = Harness::connecting();
        let response = h.accept_response();
        h.server_sends(&response);
        assert_eq!(h.conn.state(), ReadyState::Open);
        h
    }

    /// The server's 101 answer to the request the client has sent (which it takes off the wire).
    fn accept_response(&mut self) -> Vec<u8> {
        let request = String::from_utf8(std::mem::take(&mut self.to_server.data)).unwrap();
        let key = request
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap();
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            derive_accept_key(key.as_bytes())
        )
        .into_bytes()
    }

    /// What one `poll()` does: write, read until the transport is dry, process, write again.
    fn pump(&mut self) {
        let _ = self.conn.write_to(&mut self.to_server);
        while self.conn.wants_read() {
            match self.conn.read_from(&mut self.to_client) {
                Ok(0) => {
                    self.conn.on_eof();
                    break;
                }
                Ok(_) => self.conn.process(self.now),
                Err(_) => break,
            }
        }
        self.conn.process(self.now);
        self.conn.tick(self.now);
        let _ = self.conn.write_to(&mut self.to_server);
    }

    fn server_sends(&mut self, bytes: &[u8]) {
        self.to_client.data.extend_from_slice(bytes);
        self.pump();
    }

    /// Everything the client has sent since the last call, decoded as a server would.
    fn server_receives(&mut self) -> Vec<Incoming> {
        let mut events = Vec::new();
        let mut pos = 0;
        let mut data = std::mem::take(&mut self.to_server.data);
        while let (used, Ok(Some(event))) = self.server.read(&mut data[pos..]) {
            pos += used;
            events.push(event);
        }
        events
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.pump();
    }

    fn packets(&mut self) -> Vec<(Vec<u8>, bool)> {
        std::iter::from_fn(|| self.conn.pop_packet())
            .map(|p| (p.data, p.text))
            .collect()
    }
}

fn message(data: &[u8], text: bool) -> Incoming {
    Incoming::Message {
        data: data.to_vec(),
        text,
    }
}

fn close_frame(code: u16, reason: &str) -> Vec<u8> {
    let payload = [&code.to_be_bytes()[..], reason.as_bytes()].concat();
    raw_frame(0x8, true, &payload, None)
}

#[test]
fn opens_and_exchanges_messages_both_ways() {
    let mut h = Harness::open();
    h.conn.send(b"hello", true).unwrap();
    h.conn.send(&[1, 2, 3], false).unwrap();
    h.conn.send(b"", false).unwrap();
    h.pump();
    // The server reader only accepts masked frames, so this also checks the client masks.
    assert_eq!(
        h.server_receives(),
        vec![
            message(b"hello", true),
            message(&[1, 2, 3], false),
            message(b"", false)
        ]
    );
    let frames = [
        raw_frame(0x1, true, "héllo".as_bytes(), None),
        raw_frame(0x2, true, &[9; 70000], None),
    ]
    .concat();
    h.conn.set_inbound_limits(InboundLimits {
        max_message: 100_000,
        max_packets: 10,
    });
    h.server_sends(&frames);
    // Limits latch at the handshake, so the 70000-byte frame exceeds the default 65535.
    assert_eq!(h.conn.close_code(), 1009);
    // The rest of the frame is dropped unread while the remote is given time to hang up.
    assert_eq!(h.conn.state(), ReadyState::Closing);
    assert!(h.conn.wants_read());
    h.to_client.eof = true;
    h.pump();
    assert_eq!(h.conn.state(), ReadyState::Closed);
    assert_eq!(h.conn.close_code(), 1009, "the code we closed with stays");
    assert_eq!(h.packets(), vec![("héllo".as_bytes().to_vec(), true)]);
}

#[test]
fn handshake_leftovers_and_a_thousand_messages_keep_their_order() {
    let mut h = Harness::connecting();
    h.conn.set_inbound_limits(InboundLimits {
        max_message: 65535,
        max_packets: 4096,
    });
    let mut bytes = h.accept_response();
    let expected: Vec<(Vec<u8>, bool)> = (0..1000u32)
        .map(|i| (vec![(i % 251) as u8; (i as usize * 37) % 3000], i % 3 == 0))
        .collect();
    for (data, text) in &expected {
        let data = if *text {
            vec![b'a'; data.len()]
        } else {
            data.clone()
        };
        bytes.extend(raw_frame(if *text { 1 } else { 2 }, true, &data, None));
    }
    h.server_sends(&bytes);
    // Unread bytes past inbound_buffer_size hold reading back, so drain as a game would.
    let mut got = Vec::new();
    for _ in 0..1000 {
        got.extend(h.packets());
        h.pump();
    }
    assert_eq!(got.len(), 1000);
    for ((data, text), (gdata, gtext)) in expected.iter().zip(&got) {
        assert_eq!((data.len(), text), (gdata.len(), gtext));
        if !text {
            assert_eq!(data, gdata);
        }
    }
}

#[test]
fn local_close_waits_for_the_echo_and_reports_the_remote_code() {
    let mut h = Harness::open();
    assert_eq!(h.conn.close(4001, "bye now", h.now), Ok(false));
    assert_eq!(h.conn.state(), ReadyState::Closing);
    assert_eq!(
        h.conn.close_code(),
        -1,
        "our own code is not reported before the echo"
    );
    h.pump();
    let close = RemoteClose {
        code: 4001,
        reason: "bye now".into(),
    };
    assert_eq!(h.server_receives(), vec![Incoming::Close(close)]);
    assert!(h.conn.send(b"late", true).is_err());
    h.server_sends(
        &[
            raw_frame(0x1, true, b"in flight", None),
            close_frame(4001, "bye now"),
        ]
        .concat(),
    );
    assert_eq!(h.conn.state(), ReadyState::Closed);
    assert_eq!(
        (h.conn.close_code(), h.conn.close_reason()),
        (4001, "bye now")
    );
    assert_eq!(
        h.packets(),
        vec![(b"in flight".to_vec(), true)],
        "data sent before the echo is kept"
    );
    assert!(h.conn.cause().is_none());
}

#[test]
fn remote_close_is_echoed_and_earlier_messages_stay_readable() {
    let mut h = Harness::open();
    h.server_sends(
        &[
            raw_frame(0x1, true, b"last words", None),
            close_frame(4002, "srv"),
        ]
        .concat(),
    );
    assert_eq!(h.conn.state(), ReadyState::Closed);
    assert_eq!((h.conn.close_code(), h.conn.close_reason()), (4002, "srv"));
    assert_eq!(
        h.server_receives(),
        vec![Incoming::Close(RemoteClose {
            code: 4002,
            reason: "srv".into()
        })]
    );
    assert_eq!(h.conn.packet_count(), 1);
    assert_eq!(h.packets(), vec![(b"last words".to_vec(), true)]);
}

#[test]
fn empty_close_frame_reports_zero() {
    let mut h = Harness::open();
    h.server_sends(&raw_frame(0x8, true, b"", None));
    assert_eq!(h.conn.close_code(), 0);
    assert_eq!(
        h.server_receives(),
        vec![Incoming::Close(RemoteClose {
            code: 0,
            reason: String::new()
        })]
    );
}

#[test]
fn protocol_errors_close_with_the_matching_code() {
    for (bytes, code, reason) in [
        (vec![0xc1, 0x00], 1002, "Protocol error"),
        (
            raw_frame(0x1, true, b"\xc3\x28", None),
            1007,
            "Invalid frame payload data",
        ),
    ] {
        let mut h = Harness::open();
        h.server_sends(&bytes);
        assert_eq!(h.conn.state(), ReadyState::Closing, "{bytes:02x?}");
        // The remote gets LINGER to read our close frame and hang up, then it is dropped.
        h.advance(Duration::ZERO);
        h.advance(LINGER - Duration::from_millis(1));
        assert_eq!(h.conn.state(), ReadyState::Closing);
        h.advance(Duration::from_millis(1));
        assert_eq!(h.conn.state(), ReadyState::Closed, "{bytes:02x?}");
        assert_eq!((h.conn.close_code(), h.conn.close_reason()), (code, reason));
        assert!(matches!(h.conn.cause(), Some(WsError::Protocol { .. })));
        let sent = h.server_receives();
        assert!(
            matches!(&sent[..], [Incoming::Close(RemoteClose { code: c, .. })] if i32::from(*c) == code),
            "{sent:?}"
        );
    }
}

#[test]
fn after_a_protocol_error_the_remotes_close_reply_ends_it_at_once() {
    // The rest of the bad frame, a frame with a reserved opcode and a fragment are stepped over
    // without a look; the close frame behind them is the remote's answer: no lingering.
    let mut h = Harness::open();
    let bad = raw_frame(0x1, true, b"ok \xff and more", None);
    h.server_sends(&bad[..6]);
    assert_eq!(h.conn.state(), ReadyState::Closing);
    let mut rest = bad[6..].to_vec();
    rest.extend(raw_frame(0x3, true, &[1; 300], None));
    rest.extend(raw_frame(0x2, false, &[2; 70000], None));
    rest.extend(close_frame(1000, ""));
    for chunk in rest.chunks(7) {
        h.server_sends(chunk);
    }
    assert_eq!(h.conn.state(), ReadyState::Closed);
    assert_eq!(
        (h.conn.close_code(), h.conn.close_reason()),
        (1007, "Invalid frame payload data")
    );

    // An invalid close frame is the remote's close too: answer 1002, then CLOSED.
    let mut h = Harness::open();
    h.server_sends(&close_frame(1005, ""));
    assert_eq!(h.conn.state(), ReadyState::Closed);
    assert_eq!(h.conn.close_code(), 1002);
    let sent = h.server_receives();
    assert!(
        matches!(&sent[..], [Incoming::Close(RemoteClose { code: 1002, .. })]),
        "{sent:?}"
    );

    // A length no frame can have: the framing is lost, the remote gets LINGER.
    let mut h = Harness::open();
    h.server_sends(&[0x83, 0x00]);
    h.server_sends(&[0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    h.server_sends(&close_frame(1000, ""));
    h.advance(Duration::ZERO);
    assert_eq!(h.conn.state(), ReadyState::Closing);
    h.advance(LINGER);
    assert_eq!(h.conn.state(), ReadyState::Closed);
}

#[test]
fn pings_are_answered_with_their_payload() {
    let mut h = Harness::open();
    h.server_sends(&raw_frame(0x9, true, b"are you there", None));
    assert_eq!(
        h.server_receives(),
        vec![Incoming::Pong(b"are you there".to_vec())]
    );
    assert_eq!(h.conn.packet_count(), 0, "control frames are not packets");
}

#[test]
fn outbound_limits_are_checked_per_send() {
    let mut h = Harness::open();
    h.conn.set_outbound_limits(OutboundLimits {
        max_bytes: Some(10),
        max_frames: 4096,
    });
    assert_eq!(h.conn.send(&[0; 10], false), Ok(()));
    h.to_server.data.clear();
    assert!(matches!(
        h.conn.send(&[0; 11], false),
        Err(WsError::OutboundFull { .. })
    ));
    h.conn.set_outbound_limits(OutboundLimits {
        max_bytes: None,
        max_frames: 0,
    });
    assert_eq!(
        h.conn.send(&[0; 1], false),
        Err(WsError::TooManyQueued { limit: 0 })
    );
    h.conn
        .set_outbound_limits(OutboundLimits::from_engine(0, 4096));
    assert_eq!(
        h.conn.send(&vec![0; 1 << 20], false),
        Ok(()),
        "outbound_buffer_size 0 disables the limit"
    );
}

#[test]
fn sending_needs_an_open_connection() {
    let mut h = Harness::connecting();
    assert_eq!(h.conn.send(b"x", true), Err(WsError::NotOpen));
    h.conn.close(1000, "", h.now).unwrap();
    assert_eq!(
        h.conn.state(),
        ReadyState::Closed,
        "close while connecting drops the connection"
    );
    assert_eq!(h.conn.send(b"x", true), Err(WsError::NotOpen));
}

#[test]
fn invalid_close_codes_are_refused_and_change_nothing() {
    let mut h = Harness::open();
    for code in [1005, 999, 5000, 70000] {
        assert!(matches!(
            h.conn.close(code, "", h.now),
            Err(WsError::InvalidArgument(_))
        ));
        assert_eq!(h.conn.state(), ReadyState::Open);
    }
    assert_eq!(h.conn.close(1000, &"€".repeat(50), h.now), Ok(true));
    h.pump();
    let sent = h.server_receives();
    assert!(
        matches!(&sent[..], [Incoming::Close(c)] if c.reason.len() == 123),
        "{sent:?}"
    );
}

#[test]
fn abrupt_loss_reports_minus_one() {
    let mut h = Harness::open();
    h.to_client.eof = true;
    h.pump();
    assert_eq!(h.conn.state(), ReadyState::Closed);
    assert_eq!(h.conn.close_code(), -1);
    assert!(matches!(h.conn.cause(), Some(WsError::ConnectionLost(_))));
    let mut h = Harness::open();
    h.conn.close(-1, "", h.now).unwrap();
    assert_eq!(
        (h.conn.state(), h.conn.close_code()),
        (ReadyState::Closed, -1)
    );
}

#[test]
fn every_wait_has_a_deadline() {
    let mut h = Harness::connecting();
    h.advance(Timeouts::default().handshake);
    assert_eq!(h.conn.cause(), Some(&WsError::Timeout(Phase::Handshake)));

    let mut h = Harness::open();
    h.conn.close(1000, "", h.now).unwrap();
    h.advance(Timeouts::default().closing - Duration::from_millis(1));
    assert_eq!(h.conn.state(), ReadyState::Closing);
    h.advance(Duration::from_millis(1));
    assert_eq!(
        (h.conn.state(), h.conn.close_code()),
        (ReadyState::Closed, -1)
    );
    assert_eq!(h.conn.cause(), Some(&WsError::Timeout(Phase::Closing)));
}

#[test]
fn heartbeat_pings_and_drops_a_silent_remote() {
    let mut h = Harness::open();
    h.conn.set_heartbeat(Some(Duration::from_secs(1)));
    h.advance(Duration::from_millis(1001));
    assert_eq!(h.server_receives(), vec![Incoming::Ping(vec![])]);
    h.server_sends(&raw_frame(0xA, true, b"", None));
    h.advance(Duration::from_millis(1001));
    assert_eq!(h.server_receives(), vec![Incoming::Ping(vec![])]);
    assert_eq!(h.conn.state(), ReadyState::Open);
    h.advance(Duration::from_millis(1001));
    assert_eq!(
        (h.conn.state(), h.conn.close_code()),
        (ReadyState::Closed, -1)
    );
    assert_eq!(h.conn.cause(), Some(&WsError::Timeout(Phase::Heartbeat)));
}

#[test]
fn unread_packets_hold_back_reading_without_dropping() {
    let mut h = Harness::connecting();
    h.conn.set_inbound_limits(InboundLimits {
        max_message: 1000,
        max_packets: 2,
    });
    let mut bytes = h.accept_response();
    for i in 0..5u8 {
        bytes.extend(raw_frame(0x2, true, &[i], None));
    }
    h.server_sends(&bytes);
    assert_eq!(h.conn.packet_count(), 2);
    assert!(!h.conn.wants_read());
    let mut got = Vec::new();
    for _ in 0..5 {
        h.pump();
        got.push(h.conn.pop_packet().unwrap().data[0]);
    }
    assert_eq!(got, vec![0, 1, 2, 3, 4]);
}

#[test]
fn unread_bytes_hold_back_reading_without_dropping() {
    // The packet limit is far away; what holds reading back is the bytes waiting to be read:
    // as much as the largest message allowed (at least a read buffer's worth).
    let max_message = ReadBuffer::CHUNK + 3616;
    let mut h = Harness::connecting();
    h.conn.set_inbound_limits(InboundLimits {
        max_message,
        max_packets: 1000,
    });
    let mut bytes = h.accept_response();
    for i in 0..10u8 {
        bytes.extend(raw_frame(0x2, true, &[i; 5000], None));
    }
    h.server_sends(&bytes);
    assert_eq!(h.conn.packet_count(), max_message.div_ceil(5000));
    assert!(!h.conn.wants_read());
    let mut got = Vec::new();
    for _ in 0..10 {
        h.pump();
        let packet = h.conn.pop_packet().unwrap();
        assert_eq!(packet.data.len(), 5000);
        got.push(packet.data[0]);
    }
    assert_eq!(got, (0..10).collect::<Vec<u8>>());
}

#[test]
fn failed_handshake_reports_why() {
    let mut h = Harness::connecting();
    h.to_server.data.clear();
    h.server_sends(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(h.conn.state(), ReadyState::Closed);
    assert!(matches!(h.conn.cause(), Some(WsError::Handshake(m)) if m.contains("404")));
}

/// Moves bytes between two connections until neither has anything to say (bounded).
fn exchange(client: &mut Connection, server: &mut Connection, now: Instant) {
    let (mut c2s, mut s2c) = (Pipe::default(), Pipe::default());
    for _ in 0..100 {
        let _ = client.write_to(&mut c2s);
        let _ = server.write_to(&mut s2c);
        if c2s.data.is_empty() && s2c.data.is_empty() {
            return;
        }
        while server.wants_read() && server.read_from(&mut c2s).is_ok_and(|n| n > 0) {
            server.process(now);
        }
        while client.wants_read() && client.read_from(&mut s2c).is_ok_and(|n| n > 0) {
            client.process(now);
        }
    }
    panic!("the connections kept talking for 100 rounds");
}

fn server_conn(protocols: &[&str], now: Instant) -> Connection {
    use crate::core::handshake::server::{ServerConfig, ServerHandshake};
    let config = ServerConfig {
        protocols: protocols.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    Connection::server(
        ServerHandshake::new(config).unwrap(),
        Timeouts::default(),
        now,
    )
}

fn client_conn(protocols: &[&str], now: Instant) -> Connection {
    let request = ClientRequest {
        host_header: "example.com:9000".into(),
        resource: "/room".into(),
        protocols: protocols.iter().map(|s| s.to_string()).collect(),
        headers: vec![],
        compression: false,
    };
    let (hs, bytes) = ClientHandshake::start(&request).unwrap();
    let mut c = Connection::client(hs, bytes, Timeouts::default());
    c.transport_ready(now);
    c
}

#[test]
fn our_client_and_server_agree() {
    let now = Instant::now();
    let (mut client, mut server) = (client_conn(&["chat", "v2"], now), server_conn(&["v2"], now));
    exchange(&mut client, &mut server, now);
    assert_eq!(
        (client.state(), server.state()),
        (ReadyState::Open, ReadyState::Open)
    );
    assert_eq!(
        (client.selected_protocol(), server.selected_protocol()),
        ("v2", "v2")
    );
    assert_eq!(server.requested_url(), "ws://example.com:9000/room");
    client.send(b"ping?", true).unwrap();
    server.send(&[0xff; 1000], false).unwrap();
    exchange(&mut client, &mut server, now);
    assert_eq!(
        server.pop_packet(),
        Some(Packet {
            data: b"ping?".to_vec(),
            text: true
        })
    );
    assert_eq!(
        client.pop_packet(),
        Some(Packet {
            data: vec![0xff; 1000],
            text: false
        })
    );
    server.close(4000, "done", now).unwrap();
    exchange(&mut client, &mut server, now);
    assert_eq!(
        (client.state(), server.state()),
        (ReadyState::Closed, ReadyState::Closed)
    );
    assert_eq!((client.close_code(), server.close_code()), (4000, 4000));
}

#[test]
fn a_refused_client_gets_an_http_error_then_the_connection_closes() {
    let now = Instant::now();
    let (mut client, mut server) = (client_conn(&["nope"], now), server_conn(&["v2"], now));
    exchange(&mut client, &mut server, now);
    // The answer is out; the server waits for the client to hang up (a close with unread
    // input would reset the connection and could destroy the answer)...
    assert_eq!(server.state(), ReadyState::Connecting);
    assert!(
        server.wants_read(),
        "it keeps draining what the client sends"
    );
    // ...for at most LINGER, and keeps the refusal as the cause.
    let mut lingering = server_conn(&["v2"], now);
    lingering
        .read_from(&mut &b"GET / HTTP/1.0\r\n\r\n"[..])
        .unwrap();
    lingering.process(now);
    lingering.tick(now + LINGER);
    assert_eq!(lingering.state(), ReadyState::Closed);
    assert!(matches!(lingering.cause(), Some(WsError::Handshake(_))));
    server.on_eof();
    assert_eq!(server.state(), ReadyState::Closed);
    assert!(
        matches!(server.cause(), Some(WsError::Handshake(m)) if m.contains("sub-protocol")),
        "{:?}",
        server.cause()
    );
    assert_eq!(server.close_code(), -1);
    // The client read the 400 answer and failed with it.
    assert!(
        matches!(client.cause(), Some(WsError::Handshake(m)) if m.contains("400")),
        "{:?}",
        client.cause()
    );
}

#[test]
fn a_silent_client_is_dropped_at_the_accept_deadline() {
    let now = Instant::now();
    let mut server = server_conn(&[], now);
    server.tick(now + Timeouts::default().accept - Duration::from_millis(1));
    assert_eq!(server.state(), ReadyState::Connecting);
    server.tick(now + Timeouts::default().accept);
    assert_eq!(
        (server.state(), server.cause()),
        (
            ReadyState::Closed,
            Some(&WsError::Timeout(Phase::Handshake))
        )
    );
}

#[test]
fn frames_read_before_the_end_of_the_stream_wait_for_a_full_inbox() {
    // Found by fuzzing: a remote sends a burst and its close frame, then hangs up, while
    // max_queued_packets holds reading back. The frames already read were dropped at the end of
    // the stream (last messages lost, close code -1 instead of the remote's).
    for with_close in [true, false] {
        let mut h = Harness::connecting();
        h.conn.set_inbound_limits(InboundLimits {
            max_message: 1000,
            max_packets: 1,
        });
        let mut bytes = h.accept_response();
        for i in 0..3u8 {
            bytes.extend(raw_frame(0x2, true, &[i], None));
        }
        if with_close {
            bytes.extend(close_frame(4000, "bye"));
        }
        h.to_client.eof = true;
        h.server_sends(&bytes);
        let mut got = Vec::new();
        for _ in 0..5 {
            got.extend(h.packets().into_iter().map(|(d, _)| d[0]));
            h.pump();
        }
        assert_eq!(got, vec![0, 1, 2], "with close: {with_close}");
        assert_eq!(h.conn.state(), ReadyState::Closed);
        if with_close {
            assert_eq!((h.conn.close_code(), h.conn.close_reason()), (4000, "bye"));
            assert!(h.conn.cause().is_none());
        } else {
            assert_eq!(h.conn.close_code(), -1);
            assert!(matches!(h.conn.cause(), Some(WsError::ConnectionLost(_))));
        }
    }
}

#[test]
fn a_closed_connection_drops_the_message_it_was_assembling() {
    // Found by fuzzing: the part of a message received before the connection failed stayed
    // allocated (up to inbound_buffer_size) for as long as the CLOSED peer lived.
    let mut h = Harness::open();
    h.server_sends(&raw_frame(0x2, false, &[7; 5000], None));
    assert!(!format!("{:?}", h.conn.reader).contains("message: None"));
    h.to_client.eof = true;
    h.pump();
    assert_eq!(h.conn.state(), ReadyState::Closed);
    assert!(format!("{:?}", h.conn.reader).contains("message: None"));
}

/// Client and server connections with compression as given, opened.
fn deflate_pair(
    client_offers: bool,
    server_accepts: bool,
    now: Instant,
) -> (Connection, Connection) {
    use crate::core::handshake::server::{ServerConfig, ServerHandshake};
    let request = ClientRequest {
        host_header: "h".into(),
        resource: "/".into(),
        compression: client_offers,
        ..Default::default()
    };
    let (hs, bytes) = ClientHandshake::start(&request).unwrap();
    let mut client = Connection::client(hs, bytes, Timeouts::default());
    client.transport_ready(now);
    let config = ServerConfig {
        compression: server_accepts.then_some(15),
        ..Default::default()
    };
    let mut server = Connection::server(
        ServerHandshake::new(config).unwrap(),
        Timeouts::default(),
        now,
    );
    exchange(&mut client, &mut server, now);
    assert_eq!(
        (client.state(), server.state()),
        (ReadyState::Open, ReadyState::Open)
    );
    (client, server)
}

/// What `from` writes for one queued message.
fn wire_of(from: &mut Connection) -> Vec<u8> {
    let mut pipe = Pipe::default();
    from.write_to(&mut pipe).unwrap();
    pipe.data
}

fn deliver(to: &mut Connection, bytes: Vec<u8>, now: Instant) {
    let mut pipe = Pipe::default();
    pipe.data = bytes;
    while to.wants_read() && to.read_from(&mut pipe).is_ok_and(|n| n > 0) {
        to.process(now);
    }
}

#[test]
fn compressed_messages_both_ways_are_smaller_on_the_wire_and_counted_uncompressed() {
    let now = Instant::now();
    let (mut client, mut server) = deflate_pair(true, true, now);
    assert_eq!(client.selected_extensions(), "permessage-deflate");
    assert_eq!(server.selected_extensions(), "permessage-deflate");
    assert_eq!(
        client.deflate_contexts_allocated(),
        (false, false),
        "none before a message"
    );
    let state = "{\"tick\":1,\"players\":[{\"id\":7,\"pos\":[1.5,2.5],\"hp\":100}]}".repeat(20);
    for round in 0..3 {
        client.send(state.as_bytes(), true).unwrap();
        assert_eq!(
            client.buffered_amount(),
            state.len(),
            "the game's bytes are counted"
        );
        let wire = wire_of(&mut client);
        assert_eq!(wire[0], 0xc1, "FIN + RSV1 + text");
        assert!(
            wire.len() < state.len() / 4,
            "round {round}: {} bytes",
            wire.len()
        );
        deliver(&mut server, wire, now);
        let p = server.pop_packet().unwrap();
        assert_eq!((p.data.as_slice(), p.text), (state.as_bytes(), true));
        server.send(&p.data, false).unwrap();
        let wire = wire_of(&mut server);
        assert_eq!(wire[0], 0xc2);
        deliver(&mut client, wire, now);
        assert_eq!(client.pop_packet().unwrap().data, state.as_bytes());
    }
    assert_eq!(client.deflate_contexts_allocated(), (true, true));
    // Context takeover: the context is the state, so idle release keeps it.
    client.release_idle_memory();
    assert_eq!(client.deflate_contexts_allocated(), (true, true));
    // Empty messages go uncompressed; pings never are.
    client.send(b"", false).unwrap();
    assert_eq!(wire_of(&mut client)[0], 0x82);
    server.close(1000, "", now).unwrap();
    exchange(&mut client, &mut server, now);
    assert_eq!(
        (client.state(), server.state()),
        (ReadyState::Closed, ReadyState::Closed)
    );
    assert_eq!(
        client.deflate_contexts_allocated(),
        (false, false),
        "freed at close"
    );
    assert_eq!(
        client.selected_extensions(),
        "permessage-deflate",
        "kept after close"
    );
}

#[test]
fn compression_needs_both_sides_and_never_changes_an_uncompressed_connection() {
    let now = Instant::now();
    for (offer, accept) in [(true, false), (false, true), (false, false)] {
        let (mut client, mut server) = deflate_pair(offer, accept, now);
        assert_eq!(
            (client.selected_extensions(), server.selected_extensions()),
            ("", "")
        );
        client.send(b"hello", true).unwrap();
        let wire = wire_of(&mut client);
        assert_eq!(wire[0], 0x81);
        deliver(&mut server, wire, now);
        assert_eq!(server.pop_packet().unwrap().data, b"hello");
        // RSV1 on a connection without the extension: 1002.
        let mut frame = raw_frame(0x1, true, b"x", None);
        frame[0] |= 0x40;
        deliver(&mut client, frame, now);
        assert_eq!(client.state(), ReadyState::Closing);
        assert!(
            matches!(client.cause(), Some(WsError::Protocol { code: 1002, detail }) if detail.contains("RSV1")),
            "{:?}",
            client.cause()
        );
    }
}

#[test]
fn a_compression_bomb_or_corrupt_stream_closes_the_connection_with_a_reason() {
    let now = Instant::now();
    let (mut client, mut server) = deflate_pair(true, true, now);
    // 16 MiB of zeros, about 16 KiB on the wire, to a client whose limit is 65535.
    let bomb = vec![0u8; 16 << 20];
    server.set_outbound_limits(OutboundLimits {
        max_bytes: None,
        max_frames: 10,
    });
    server.send(&bomb, false).unwrap();
    let wire = wire_of(&mut server);
    assert!(wire.len() < 64 * 1024, "{}", wire.len());
    deliver(&mut client, wire, now);
    assert!(
        matches!(
            client.cause(),
            Some(WsError::MessageTooBig { limit: 65535, .. })
        ),
        "{:?}",
        client.cause()
    );
    assert_eq!(client.close_code(), 1009);
    let (mut client, _server) = deflate_pair(true, true, now);
    let mut frame = raw_frame(0x2, true, &[0xff, 0xff, 0xff], None);
    frame[0] |= 0x40;
    deliver(&mut client, frame, now);
    assert_eq!(client.close_code(), 1007);
    assert!(
        client
            .cause()
            .is_some_and(|c| c.to_string().contains("corrupt permessage-deflate data")),
        "{:?}",
        client.cause()
    );
}

#[test]
fn the_compressor_can_be_released_between_messages_and_the_remote_still_reads_them() {
    let now = Instant::now();
    let (mut client, mut server) = deflate_pair(true, true, now);
    let text = b"{\"state\":[1,2,3,4,5,6,7,8,9]} {\"state\":[1,2,3,4,5,6,7,8,9]}";
    let mut sizes = Vec::new();
    for release in [false, false, true, false] {
        if release {
            client.release_compressor();
            assert_eq!(client.deflate_contexts_allocated(), (false, false));
        }
        client.send(text, true).unwrap();
        let wire = wire_of(&mut client);
        sizes.push(wire.len());
        deliver(&mut server, wire, now);
        assert_eq!(server.pop_packet().unwrap().data, text);
    }
    // A fresh context costs the history: the message after the release is as long as the first.
    assert_eq!(sizes[2], sizes[0]);
    assert!(sizes[1] < sizes[0] && sizes[3] < sizes[0], "{sizes:?}");
}
