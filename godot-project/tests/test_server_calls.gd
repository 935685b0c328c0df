extends "res://tests/lib/suite.gd"
# targets: @class WebSocketPeer
## Misuse of accept_stream() (the server entry point) on the class under test: null, a stream
## that is no TCP connection, an unconnected StreamPeerTCP (engine: accepted, CLOSED at the first
## poll; RustWebSocketPeer deliberately refuses it), a second accept_stream or connect_to_url
## while CONNECTING or OPEN (ERR_ALREADY_IN_USE; the existing connection keeps working), reuse
## after CLOSED, malformed handshake_headers.

const REQUEST := "GET /first HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + \
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"


func tests() -> Array[Callable]:
	return [test_bad_streams, test_bad_streams_after_close, test_in_use_connecting, test_in_use_open,
			test_reuse_after_close, test_bad_handshake_headers]


## A TCP connection accepted from `tcp` (with its client, kept alive in `keep`); null on failure.
func _take(tcp: TCPServer, keep: Array) -> StreamPeerTCP:
	var client := StreamPeerTCP.new()
	client.connect_to_host("127.0.0.1", tcp.get_local_port())
	keep.append(client)
	await pump([client], func(): return tcp.is_connection_available(), 2000)
	return tcp.take_connection() if tcp.is_connection_available() else null


func test_bad_streams() -> bool:
	var p = new_peer()
	check_eq("accept_stream(null) is ERR_INVALID_PARAMETER", p.accept_stream(null), ERR_INVALID_PARAMETER)
	check_eq("accept_stream(null): stays CLOSED", p.get_ready_state(), CLOSED)
	check_eq("accept_stream(StreamPeerBuffer) is ERR_INVALID_PARAMETER", p.accept_stream(StreamPeerBuffer.new()), ERR_INVALID_PARAMETER)
	check_eq("accept_stream(StreamPeerBuffer): stays CLOSED", p.get_ready_state(), CLOSED)
	check_eq("accept_stream(StreamPeerTLS without a stream) is ERR_INVALID_PARAMETER",
			p.accept_stream(StreamPeerTLS.new()), ERR_INVALID_PARAMETER)
	check_eq("accept_stream(StreamPeerTLS without a stream): stays CLOSED", p.get_ready_state(), CLOSED)
	var err: int = p.accept_stream(StreamPeerTCP.new())
	if is_engine:
		check_eq("unconnected StreamPeerTCP (engine accepts it): OK", err, OK)
		p.poll()
		check_eq("unconnected StreamPeerTCP (engine): CLOSED after the first poll", p.get_ready_state(), CLOSED)
	else:
		check_eq("unconnected StreamPeerTCP (differs from engine): ERR_INVALID_PARAMETER", err, ERR_INVALID_PARAMETER)
		check_eq("unconnected StreamPeerTCP (differs from engine): stays CLOSED", p.get_ready_state(), CLOSED)
		# A refused call is reported by its return value and an error print, not as a connection cause.
		check_eq("refused calls leave get_error_message empty", p.get_error_message(), "")
	check_eq("after the bad calls: close code still -1", p.get_close_code(), -1)
	check_eq("after the bad calls: requested URL still empty", p.get_requested_url(), "")
	return true


## A peer that served a connection (closed with 4000) keeps what it reports when a later
## accept_stream() is refused. Engine: its reset runs before the type check.
func test_bad_streams_after_close() -> bool:
	var srv := ws_server(cls)
	var c := WebSocketPeer.new()
	_peers.append(c)
	c.connect_to_url(srv.url("/served"))
	await pump([c, srv], func(): return c.get_ready_state() == OPEN and srv.peer() != null and srv.peer().get_ready_state() == OPEN)
	var s = srv.peer()
	if not check("after close: served a connection", s != null and s.get_ready_state() == OPEN):
		return true
	c.close(4000, "done")
	await until_closed([c, s], [srv])
	check_eq("after close: server peer CLOSED with 4000", [state_name(s.get_ready_state()), s.get_close_code()], ["CLOSED", 4000])
	check_eq("after close: accept_stream(StreamPeerBuffer) is ERR_INVALID_PARAMETER", s.accept_stream(StreamPeerBuffer.new()), ERR_INVALID_PARAMETER)
	check_eq("after close: accept_stream(null) is ERR_INVALID_PARAMETER", s.accept_stream(null), ERR_INVALID_PARAMETER)
	check_eq("after close: still CLOSED", s.get_ready_state(), CLOSED)
	if is_engine:
		check_eq("after close (engine resets before the type check): close code -1", s.get_close_code(), -1)
	else:
		check_eq("after close (differs from engine): close code kept", [s.get_close_code(), s.get_close_reason()], [4000, "done"])
		check_eq("after close (differs from engine): requested URL kept", s.get_requested_url(), srv.url("/served"))
	return true


## Peer `s` took `first` and waits for its request: a second accept_stream() and connect_to_url()
## are refused; `first` then completes; the refused stream still works with another peer.
func test_in_use_connecting() -> bool:
	var tcp := TCPServer.new()
	tcp.listen(0, "127.0.0.1")
	var keep := []
	var first := await _take(tcp, keep)
	var second := await _take(tcp, keep)
	if not check("in use (CONNECTING): two TCP connections taken", first != null and second != null):
		tcp.stop()
		return true
	var s = new_peer()
	check_eq("in use (CONNECTING): first accept_stream OK", s.accept_stream(first), OK)
	check_eq("in use (CONNECTING): state CONNECTING", s.get_ready_state(), CONNECTING)
	check_eq("in use (CONNECTING): accept_stream again is ERR_ALREADY_IN_USE", s.accept_stream(second), ERR_ALREADY_IN_USE)
	check_eq("in use (CONNECTING): connect_to_url is ERR_ALREADY_IN_USE", s.connect_to_url("ws://127.0.0.1:%d/" % free_port()), ERR_ALREADY_IN_USE)
	check_eq("in use (CONNECTING): still CONNECTING", s.get_ready_state(), CONNECTING)
	keep[0].put_data(REQUEST.to_ascii_buffer())
	var answer := PackedByteArray()
	await pump([s] + keep, func():
		if keep[0].get_available_bytes() > 0:
			answer.append_array(keep[0].get_data(keep[0].get_available_bytes())[1])
		return s.get_ready_state() != CONNECTING and answer.size() > 0)
	check_eq("in use (CONNECTING): the first connection opens", state_name(s.get_ready_state()), "OPEN")
	check_eq("in use (CONNECTING): its client got 101", answer.get_string_from_utf8().get_slice("\r\n", 0), "HTTP/1.1 101 Switching Protocols")
	check_eq("in use (CONNECTING): requested URL is the first request's", s.get_requested_url(), "ws://h/first")
	var other = new_peer()
	check_eq("in use (CONNECTING): the refused stream is untouched: another peer takes it", other.accept_stream(second), OK)
	keep[1].put_data(REQUEST.replace("/first", "/second").to_ascii_buffer())
	await pump([other] + keep, func(): return other.get_ready_state() != CONNECTING)
	check_eq("in use (CONNECTING): and opens", state_name(other.get_ready_state()), "OPEN")
	tcp.stop()
	return true


func test_in_use_open() -> bool:
	var srv := ws_server(cls, Callable(), true)
	var c := WebSocketPeer.new()
	_peers.append(c)
	c.connect_to_url(srv.url("/open"))
	await pump([c, srv], func(): return c.get_ready_state() == OPEN and srv.peer() != null and srv.peer().get_ready_state() == OPEN)
	var s = srv.peer()
	if not check("in use (OPEN): connection opens", s != null and s.get_ready_state() == OPEN):
		return true
	var listener := TCPServer.new()
	listener.listen(0, "127.0.0.1")
	var keep := []
	var extra := await _take(listener, keep)
	check("in use (OPEN): a second TCP connection to offer", extra != null)
	check_eq("in use (OPEN): accept_stream(tcp) is ERR_ALREADY_IN_USE", s.accept_stream(extra), ERR_ALREADY_IN_USE)
	check_eq("in use (OPEN): accept_stream(null) is ERR_INVALID_PARAMETER", s.accept_stream(null), ERR_INVALID_PARAMETER)
	check_eq("in use (OPEN): connect_to_url is ERR_ALREADY_IN_USE", s.connect_to_url(srv.url("/x")), ERR_ALREADY_IN_USE)
	check_eq("in use (OPEN): still OPEN", s.get_ready_state(), OPEN)
	check_eq("in use (OPEN): requested URL unchanged", s.get_requested_url(), srv.url("/open"))
	c.send_text("still echoing")
	var got := await receive(c, 1, [srv])
	check_eq("in use (OPEN): echo still works", got.map(func(m): return m[0].get_string_from_utf8()), ["still echoing"])
	listener.stop()
	return true


## The same object serves again after CLOSED; the new connection starts clean.
func test_reuse_after_close() -> bool:
	var srv := ws_server(cls, Callable(), true)
	var c1 := WebSocketPeer.new()
	_peers.append(c1)
	c1.connect_to_url(srv.url("/one"))
	await pump([c1, srv], func(): return c1.get_ready_state() == OPEN and srv.peer() != null and srv.peer().get_ready_state() == OPEN)
	var s = srv.peer()
	if not check("reuse: first connection opens", s != null and s.get_ready_state() == OPEN):
		return true
	c1.close(4005, "one")
	await until_closed([c1, s], [srv])
	check_eq("reuse: first connection CLOSED with 4005", s.get_close_code(), 4005)
	var keep := []
	var conn := await _take(srv.tcp, keep)
	check_eq("reuse: accept_stream on the CLOSED peer is OK", s.accept_stream(conn), OK)
	check_eq("reuse: close code reset to -1", s.get_close_code(), -1)
	check_eq("reuse: CONNECTING", s.get_ready_state(), CONNECTING)
	keep[0].put_data(REQUEST.replace("/first", "/two").to_ascii_buffer())
	await pump([s] + keep, func(): return s.get_ready_state() != CONNECTING)
	check_eq("reuse: opens again", state_name(s.get_ready_state()), "OPEN")
	check_eq("reuse: new requested URL", s.get_requested_url(), "ws://h/two")
	return true


## A line break in handshake_headers would inject response lines: the engine sends it as is,
## RustWebSocketPeer deliberately refuses accept_stream().
func test_bad_handshake_headers() -> bool:
	var tcp := TCPServer.new()
	tcp.listen(0, "127.0.0.1")
	var keep := []
	var conn := await _take(tcp, keep)
	var s = new_peer()
	s.handshake_headers = PackedStringArray(["X-A: 1\r\nX-Injected: 2"])
	var err: int = s.accept_stream(conn)
	if is_engine:
		check_eq("handshake_headers with CRLF (engine sends it as is): OK", err, OK)
	else:
		check_eq("handshake_headers with CRLF (differs from engine): ERR_INVALID_PARAMETER", err, ERR_INVALID_PARAMETER)
		check_eq("handshake_headers with CRLF (differs from engine): stays CLOSED", s.get_ready_state(), CLOSED)
	tcp.stop()
	return true
