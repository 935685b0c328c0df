extends "res://tests/lib/suite.gd"
# targets: @class WebSocketPeer
## Hostile or broken clients against the class under test as the SERVER, through a raw
## StreamPeerTCP: garbage, POST, `GET /` without version, missing or malformed key, version 8,
## a request head over 16 KiB, a client dripping its request one byte every 300 ms, a client
## closing mid-request. Each time a second, well-behaved client on the same TCPServer must open
## and echo while the bad one is pending.
##
## Engine: a bad request is dropped without an HTTP answer; a malformed key is not checked; an
## oversized head or a slow client keeps the peer CONNECTING forever; `GET /` without a version
## crashes Godot (never sent to the engine). RustWebSocketPeer deliberately answers 400/426/431,
## closes (code -1, get_error_message() says why) and drops clients that take over 5 s.

const KEY := "dGhlIHNhbXBsZSBub25jZQ=="
const GOOD := "GET /x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + \
		"Sec-WebSocket-Key: " + KEY + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
const BAD_REQUEST := "HTTP/1.1 400 Bad Request"
## Our server side's deadline for a client's whole upgrade request, from accept_stream().
const ACCEPT_DEADLINE_MS := 5000


func tests() -> Array[Callable]:
	return [test_garbage, test_post, test_get_without_version, test_missing_key, test_malformed_key,
			test_version_8, test_oversized_unterminated, test_oversized_complete, test_slow_client,
			test_close_mid_request]


## Connects a raw client to a fresh echo server made of the class under test; returns
## [server, raw client, the server's peer for it] or [] (a failed check) when that did not work.
func _setup(label: String) -> Array:
	var srv := ws_server(cls, Callable(), true)
	var raw := RawClient.new()
	raw.connect_to(srv.port)
	await pump([raw, srv], func(): return raw.is_connected_to_server() and srv.peer() != null)
	if not check("%s: raw client connected and accepted" % label, raw.is_connected_to_server() and srv.peer() != null):
		return []
	return [srv, raw, srv.peer()]


## A well-behaved engine client on the same server opens and gets an echo.
func _bystander(label: String, srv: WsServer, others: Array) -> void:
	var c := WebSocketPeer.new()
	_peers.append(c)
	c.connect_to_url(srv.url("/bystander"))
	await pump([c, srv] + others, func(): return c.get_ready_state() != CONNECTING)
	if check_eq("%s: a well-behaved client meanwhile opens" % label, state_name(c.get_ready_state()), "OPEN"):
		c.send_text("unaffected")
		var got := await receive(c, 1, [srv] + others)
		check_eq("%s: and gets its echo" % label, got.map(func(m): return m[0].get_string_from_utf8()), ["unaffected"])
	c.close()


## Sends `data`; expects (ours) the HTTP answer `status` with header line `header` (if not "")
## and get_error_message() containing `why`, then CLOSED -1. engine_answers: the engine accepts
## this request (101); otherwise the engine drops it without an answer.
func _bad_request(label: String, data: PackedByteArray, status: String, why: String, header := "",
		engine_answers := false) -> void:
	var setup := await _setup(label)
	if setup.is_empty():
		return
	var srv: WsServer = setup[0]
	var raw: RawClient = setup[1]
	var s = setup[2]
	raw.send(data)
	await _bystander(label, srv, [raw])
	await pump([raw, srv], func(): return s.get_ready_state() != CONNECTING and (raw.closed or s.get_ready_state() == OPEN), 3000)
	if is_engine and engine_answers:
		check_eq("%s (engine does not check this): engine answers 101" % label, raw.status_line(), "HTTP/1.1 101 Switching Protocols")
		check_eq("%s (engine does not check this): engine peer OPEN" % label, state_name(s.get_ready_state()), "OPEN")
		return
	check_eq("%s: server peer CLOSED" % label, state_name(s.get_ready_state()), "CLOSED")
	check_eq("%s: close code -1" % label, s.get_close_code(), -1)
	check("%s: TCP connection closed by the server" % label, raw.closed)
	if is_engine:
		check_eq("%s: engine drops it without an HTTP answer" % label, raw.received.size(), 0)
		return
	check_eq("%s: HTTP answer (differs from engine)" % label, raw.status_line(), status)
	if header != "":
		check("%s: answer has \"%s\"" % [label, header], raw.header_lines().has(header), "headers %s" % [raw.header_lines()])
	check("%s: get_error_message says \"%s\"" % [label, why], s.get_error_message().contains(why),
			"got \"%s\"" % s.get_error_message())


func test_garbage() -> bool:
	# Binary junk (a TLS ClientHello start) without spaces or line breaks, then an empty line.
	var junk := PackedByteArray([0x16, 3, 1, 0, 0xa5, 1, 0, 0, 0xa1, 3, 3, 0xff, 0xfe, 0x80, 0x7f, 0])
	junk.append_array("\r\n\r\n".to_ascii_buffer())
	await _bad_request("garbage", junk, BAD_REQUEST, "malformed HTTP request")
	return true


func test_post() -> bool:
	await _bad_request("POST", GOOD.replace("GET", "POST").to_ascii_buffer(), BAD_REQUEST, "malformed HTTP request")
	return true


func test_get_without_version() -> bool:
	if is_engine:
		print("# test_get_without_version skipped for the engine: `GET /` crashes Godot's server (its request-line parser reads a version that is not there)")
		return true
	var req := "GET /\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n\r\n" % KEY
	await _bad_request("GET / without version", req.to_ascii_buffer(), BAD_REQUEST, "malformed HTTP request")
	return true


func test_missing_key() -> bool:
	var req := GOOD.replace("Sec-WebSocket-Key: %s\r\n" % KEY, "")
	await _bad_request("missing key", req.to_ascii_buffer(), BAD_REQUEST, "Sec-WebSocket-Key")
	return true


func test_malformed_key() -> bool:
	await _bad_request("malformed key", GOOD.replace(KEY, "not-base64-of-16-bytes").to_ascii_buffer(),
			BAD_REQUEST, "Sec-WebSocket-Key", "", true)
	return true


func test_version_8() -> bool:
	await _bad_request("version 8", GOOD.replace("Version: 13", "Version: 8").to_ascii_buffer(),
			"HTTP/1.1 426 Upgrade Required", "Sec-WebSocket-Version", "Sec-WebSocket-Version: 13")
	return true


## An over-long head. Engine: its limit is 4 KiB, past it the peer stays CONNECTING (printing an
## error on every poll, so it is only watched briefly).
func _oversized(label: String, data: PackedByteArray) -> void:
	if not is_engine:
		await _bad_request(label, data, "HTTP/1.1 431 Request Header Fields Too Large", "longer than")
		return
	var setup := await _setup(label)
	if setup.is_empty():
		return
	setup[1].send(data)
	await pump([setup[1], setup[0]], func(): return setup[2].get_ready_state() != CONNECTING, 300)
	check_eq("%s: engine peer stays CONNECTING" % label, state_name(setup[2].get_ready_state()), "CONNECTING")
	check_eq("%s: engine sends nothing" % label, setup[1].received.size(), 0)


func test_oversized_unterminated() -> bool:
	# 17 KiB of header that never ends: the server must not wait for more.
	var req := "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + "a".repeat(17 * 1024)
	await _oversized("oversized head (unterminated)", req.to_ascii_buffer())
	return true


func test_oversized_complete() -> bool:
	# A complete request whose head is over 16 KiB, sent in one piece.
	var req := GOOD.replace("Host: h\r\n", "Host: h\r\nX-Big: %s\r\n" % "a".repeat(17 * 1024))
	await _oversized("oversized head (complete)", req.to_ascii_buffer())
	return true


## One byte every 300 ms: RustWebSocketPeer drops it 5 s after accept_stream (engine: waits forever).
func test_slow_client() -> bool:
	var start := Time.get_ticks_msec()  # before accept_stream, which starts the 5 s
	var setup := await _setup("slow client")
	if setup.is_empty():
		return true
	var srv: WsServer = setup[0]
	var raw: RawClient = setup[1]
	var s = setup[2]
	raw.drip(GOOD.to_ascii_buffer(), 300)
	await _bystander("slow client", srv, [raw])
	await pump([raw, srv], func(): return s.get_ready_state() != CONNECTING, 3500 - (Time.get_ticks_msec() - start))
	check_eq("slow client: still CONNECTING after 3.5 s", state_name(s.get_ready_state()), "CONNECTING")
	if is_engine:
		await pump([raw, srv], func(): return s.get_ready_state() != CONNECTING, 5500 - (Time.get_ticks_msec() - start))
		check_eq("slow client: engine still CONNECTING after 5.5 s (no deadline)", state_name(s.get_ready_state()), "CONNECTING")
		return true
	var closed_at := [-1]
	await pump([raw, srv], func():
		if s.get_ready_state() == CLOSED and closed_at[0] < 0:
			closed_at[0] = Time.get_ticks_msec()
		return closed_at[0] >= 0 and raw.closed, ACCEPT_DEADLINE_MS + 2 * SLOW_MACHINE_MS - (Time.get_ticks_msec() - start))
	check_eq("slow client (differs from engine): CLOSED by the 5 s deadline", state_name(s.get_ready_state()), "CLOSED")
	# Exact rule: core/connection/tests.rs `a_silent_client_is_dropped_at_the_accept_deadline`.
	check_ms("slow client (differs from engine): 5 s after accept_stream", closed_at[0] - start,
			ACCEPT_DEADLINE_MS - CLOCK_SLACK_MS, ACCEPT_DEADLINE_MS + SLOW_MACHINE_MS)
	check_eq("slow client: close code -1", s.get_close_code(), -1)
	check("slow client: TCP connection closed", raw.closed)
	check("slow client: request was still incomplete", raw.drip_left() > 0, "%d bytes left" % raw.drip_left())
	check("slow client: get_error_message says timed out", s.get_error_message().contains("timed out"),
			"got \"%s\"" % s.get_error_message())
	return true


func test_close_mid_request() -> bool:
	var setup := await _setup("closed mid-request")
	if setup.is_empty():
		return true
	var srv: WsServer = setup[0]
	var raw: RawClient = setup[1]
	var s = setup[2]
	raw.send_text(GOOD.substr(0, 40))
	await pump([raw, srv], func(): return false, 100)
	check_eq("closed mid-request: CONNECTING while the request is partial", state_name(s.get_ready_state()), "CONNECTING")
	raw.close()
	await _bystander("closed mid-request", srv, [])
	await pump([srv], func(): return s.get_ready_state() == CLOSED, 2000)
	check_eq("closed mid-request: server peer CLOSED", state_name(s.get_ready_state()), "CLOSED")
	check_eq("closed mid-request: close code -1", s.get_close_code(), -1)
	if not is_engine:
		check("closed mid-request: get_error_message set", s.get_error_message() != "", "empty")
	return true
