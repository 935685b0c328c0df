extends "res://tests/lib/suite.gd"
## Closing, with the class under test as the client: close codes and reasons both ways (they are the
## remote's values, -1 when no close frame arrived), abrupt closes and dropped TCP, refused
## connections, DNS failure, reuse after close, and unread packets after a remote close
## (a deliberate difference from the engine, godot#107442).


func tests() -> Array[Callable]:
	return [test_fresh, test_client_close, test_server_close, test_python_close, test_default_close_and_reuse,
			test_empty_close_frame, test_long_reason, test_invalid_close_code, test_client_abrupt, test_python_drop, test_engine_drop, test_refused,
			test_dns_failure, test_unread_after_remote_close]


func _engine_pair(label: String) -> Array:
	var srv := engine_server()
	var c = new_peer()
	var opened: bool = await open(c, srv.url("/"), [srv])
	await pump([c, srv], func(): return srv.peer() != null and srv.peer().get_ready_state() == OPEN)
	if not check("%s: connection opens" % label, opened and srv.peer() != null and srv.peer().get_ready_state() == OPEN,
			"client %s" % state_name(c.get_ready_state())):
		return []
	return [c, srv]


func test_fresh() -> bool:
	var p = new_peer()
	check_eq("fresh: get_close_code() is -1", p.get_close_code(), -1)
	p.close()
	check_eq("fresh: close() on a CLOSED peer keeps it CLOSED", p.get_ready_state(), CLOSED)
	check_eq("fresh: close() on a CLOSED peer keeps code -1", p.get_close_code(), -1)
	return true


func test_client_close() -> bool:
	var pair := await _engine_pair("client close")
	if pair.is_empty():
		return true
	var c = pair[0]
	var srv = pair[1]
	c.close(4001, "bye now")
	check_eq("client close: state is CLOSING right after close()", c.get_ready_state(), CLOSING)
	# The close code reports what the remote sent; ours does not count until it is echoed.
	check_eq("client close: code still -1 before the echo", c.get_close_code(), -1)
	check("client close: send while CLOSING fails", c.send_text("late") != OK)
	var closed: bool = await until_closed([c, srv.peer()], [srv])
	check("client close: both sides CLOSED", closed,
			"client %s, server %s" % [state_name(c.get_ready_state()), state_name(srv.peer().get_ready_state())])
	check_eq("client close: client code (remote's echo)", c.get_close_code(), 4001)
	check_eq("client close: client reason (remote's echo)", c.get_close_reason(), "bye now")
	check_eq("client close: server saw code 4001", srv.peer().get_close_code(), 4001)
	check_eq("client close: server saw reason", srv.peer().get_close_reason(), "bye now")
	return true


func test_server_close() -> bool:
	var pair := await _engine_pair("server close")
	if pair.is_empty():
		return true
	var c = pair[0]
	var srv = pair[1]
	srv.peer().close(4002, "srv")
	var closed: bool = await until_closed([c, srv.peer()], [srv])
	check("server close: both sides CLOSED", closed,
			"client %s, server %s" % [state_name(c.get_ready_state()), state_name(srv.peer().get_ready_state())])
	check_eq("server close: client code", c.get_close_code(), 4002)
	check_eq("server close: client reason", c.get_close_reason(), "srv")
	check_eq("server close: server got the echo", srv.peer().get_close_code(), 4002)
	return true


func test_python_close() -> bool:
	if not need_echo("python close"):
		return true
	var c = new_peer()
	check_eq("python close: connect_to_url OK", c.connect_to_url(py_url("/close?code=4003&reason=x")), OK)
	check("python close: CLOSED", await until_closed([c]), "state %s" % state_name(c.get_ready_state()))
	check_eq("python close: code", c.get_close_code(), 4003)
	check_eq("python close: reason", c.get_close_reason(), "x")
	return true


func test_default_close_and_reuse() -> bool:
	var pair := await _engine_pair("default close")
	if pair.is_empty():
		return true
	var c = pair[0]
	var srv = pair[1]
	c.close()
	var closed: bool = await until_closed([c, srv.peer()], [srv])
	check("default close: both sides CLOSED", closed)
	check_eq("default close: client code 1000", c.get_close_code(), 1000)
	check_eq("default close: client reason empty", c.get_close_reason(), "")
	check_eq("default close: server saw 1000", srv.peer().get_close_code(), 1000)
	# The same object connects again; a new connection starts with a clean close code.
	check_eq("reuse: connect_to_url on a CLOSED peer returns OK", c.connect_to_url(srv.url("/again")), OK)
	check_eq("reuse: close code reset to -1", c.get_close_code(), -1)
	await pump([c, srv], func(): return c.get_ready_state() != CONNECTING)
	check_eq("reuse: opens again", c.get_ready_state(), OPEN)
	check_eq("reuse: new requested URL", c.get_requested_url(), srv.url("/again"))
	return true


func test_empty_close_frame() -> bool:
	var pair := await _engine_pair("close(0)")
	if pair.is_empty():
		return true
	var c = pair[0]
	var srv = pair[1]
	# Code 0 sends a close frame without status; the receiver reports 0 (not 1005), and so does
	# the sender once the (equally empty) echo arrives.
	c.close(0)
	var closed: bool = await until_closed([c, srv.peer()], [srv])
	check("close(0): both sides CLOSED", closed)
	check_eq("close(0): server reports code 0", srv.peer().get_close_code(), 0)
	check_eq("close(0): client reports code 0", c.get_close_code(), 0)
	return true


## Close reasons are limited to 123 bytes. Engine: a longer one is never sent and the peer stays
## CLOSING. RustWebSocketPeer deliberately cuts it at a character boundary and closes normally.
func test_long_reason() -> bool:
	var pair := await _engine_pair("long reason")
	if pair.is_empty():
		return true
	var c = pair[0]
	var srv = pair[1]
	c.close(4001, "€".repeat(50))  # 150 bytes of 3-byte characters
	check_eq("long reason: CLOSING right after close()", c.get_ready_state(), CLOSING)
	if is_engine:
		return true  # the engine's peer now waits forever; nothing else to observe without a timer
	var closed: bool = await until_closed([c, srv.peer()], [srv])
	check("long reason (differs from engine): both sides CLOSED", closed,
			"client %s, server %s" % [state_name(c.get_ready_state()), state_name(srv.peer().get_ready_state())])
	check_eq("long reason (differs from engine): server gets 41 whole characters (123 bytes)",
			srv.peer().get_close_reason(), "€".repeat(41))
	check_eq("long reason (differs from engine): server gets the code", srv.peer().get_close_code(), 4001)
	return true


## Codes that may not be sent (1005, 999). Engine: sent anyway, the engine server answers 1002.
## RustWebSocketPeer deliberately refuses them: the connection stays OPEN.
func test_invalid_close_code() -> bool:
	var pair := await _engine_pair("invalid code")
	if pair.is_empty():
		return true
	var c = pair[0]
	var srv = pair[1]
	c.close(1005)
	if is_engine:
		await until_closed([c, srv.peer()], [srv])
		check_eq("close(1005) (engine sends it): the server answers 1002", c.get_close_code(), 1002)
		return true
	check_eq("close(1005) (differs from engine): refused, still OPEN", c.get_ready_state(), OPEN)
	c.close(999)
	check_eq("close(999) (differs from engine): refused, still OPEN", c.get_ready_state(), OPEN)
	check_eq("invalid code: send still works", c.send_text("alive"), OK)
	var got := await receive(srv.peer(), 1, [c, srv])
	check_eq("invalid code: server receives", got.map(func(m): return m[0].get_string_from_utf8()), ["alive"])
	check_eq("invalid code: server still OPEN", srv.peer().get_ready_state(), OPEN)
	return true


func test_client_abrupt() -> bool:
	var pair := await _engine_pair("close(-1)")
	if pair.is_empty():
		return true
	var c = pair[0]
	var srv = pair[1]
	c.close(-1)
	check_eq("close(-1): client CLOSED immediately", c.get_ready_state(), CLOSED)
	check_eq("close(-1): client code stays -1", c.get_close_code(), -1)
	var closed: bool = await until_closed([srv.peer()], [srv])
	check("close(-1): server notices", closed, "server %s" % state_name(srv.peer().get_ready_state()))
	check_eq("close(-1): server code -1 (no close frame)", srv.peer().get_close_code(), -1)
	return true


func test_python_drop() -> bool:
	if not need_echo("python drop"):
		return true
	var c = new_peer()
	check_eq("python drop: connect_to_url OK", c.connect_to_url(py_url("/drop")), OK)
	check("python drop: CLOSED", await until_closed([c]), "state %s" % state_name(c.get_ready_state()))
	check_eq("python drop: code -1", c.get_close_code(), -1)
	check_eq("python drop: reason empty", c.get_close_reason(), "")
	return true


func test_engine_drop() -> bool:
	var pair := await _engine_pair("engine drop")
	if pair.is_empty():
		return true
	var c = pair[0]
	var srv = pair[1]
	srv.peer().close(-1)
	check("engine drop: client CLOSED", await until_closed([c], [srv]), "state %s" % state_name(c.get_ready_state()))
	check_eq("engine drop: code -1", c.get_close_code(), -1)
	check_eq("engine drop: reason empty", c.get_close_reason(), "")
	return true


func test_refused() -> bool:
	var c = new_peer()
	check_eq("refused: connect_to_url returns OK", c.connect_to_url("ws://127.0.0.1:%d/" % free_port()), OK)
	check_eq("refused: CONNECTING first", c.get_ready_state(), CONNECTING)
	check("refused: CLOSED within 5 s", await until_closed([c], [], 5000), "state %s" % state_name(c.get_ready_state()))
	check_eq("refused: code -1", c.get_close_code(), -1)
	return true


func test_dns_failure() -> bool:
	var c = new_peer()
	check_eq("dns: connect_to_url(ws://does-not-exist.invalid) returns OK", c.connect_to_url("ws://does-not-exist.invalid"), OK)
	check("dns: CLOSED within 15 s", await until_closed([c], [], 15000), "state %s" % state_name(c.get_ready_state()))
	check_eq("dns: code -1", c.get_close_code(), -1)
	return true


## The server sends 5 messages and closes at once; the client reads nothing until it is CLOSED.
## Engine: unread packets are lost when the peer leaves OPEN (godot#107442).
## RustWebSocketPeer: deliberately keeps them readable until read.
func test_unread_after_remote_close() -> bool:
	if not need_echo("unread after close"):
		return true
	var c = new_peer()
	check_eq("unread after close: connect OK", c.connect_to_url(py_url("/send_then_close?n=5")), OK)
	check("unread after close: CLOSED", await until_closed([c]), "state %s" % state_name(c.get_ready_state()))
	check_eq("unread after close: code 1000", c.get_close_code(), 1000)
	check_eq("unread after close: reason", c.get_close_reason(), "done")
	if is_engine:
		check_eq("unread after close (godot#107442, engine loses them): count 0", c.get_available_packet_count(), 0)
		check_eq("unread after close (godot#107442, engine): get_packet fails", [c.get_packet(), c.get_packet_error()],
				[PackedByteArray(), FAILED])
		return true
	check_eq("unread after close (differs from engine, godot#107442): 5 packets still readable",
			c.get_available_packet_count(), 5)
	var texts := []
	while c.get_available_packet_count() > 0 and texts.size() < 10:
		texts.append([c.get_packet().get_string_from_utf8(), c.was_string_packet()])
	check_eq("unread after close (differs from engine, godot#107442): content, order, text type",
			texts, [["m0", true], ["m1", true], ["m2", true], ["m3", true], ["m4", true]])
	check_eq("unread after close: count 0 once read", c.get_available_packet_count(), 0)
	return true
