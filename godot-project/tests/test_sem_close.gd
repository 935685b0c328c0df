extends "res://tests/lib/sem_suite.gd"
# targets: @class WebSocketPeer
## close(code, reason) against a well-behaved remote, the engine's WebSocketPeer:
## states on each side (the closing side shows CLOSING, the remote goes OPEN -> CLOSED), close
## code/reason are the remote's values (0 for an empty close frame, -1 after abrupt loss and on a
## fresh peer), close(-1), close while CONNECTING, reason length (123 bytes of multibyte chars).
## The class under test is the client; in test_remote_side it is the server (accept_stream) and
## the engine's client closes.
##
## Differs (README): a reason over 123 bytes (engine: never sent, stuck in CLOSING; ours: cut at a
## character boundary) and invalid close codes (engine: sent, its remote answers 1002, or cut to 16
## bits: 70000 -> 4464; ours: refused, nothing changes).


func tests() -> Array[Callable]:
	return [test_fresh, test_close_states, test_remote_side, test_close_zero, test_abrupt,
			test_close_connecting, test_server_close_connecting, test_reason_123, test_reason_over_123,
			test_invalid_codes, test_code_over_16_bits]


func test_fresh() -> bool:
	var p = new_peer()
	check_eq("fresh: close code -1, reason empty", [p.get_close_code(), p.get_close_reason()], [-1, ""])
	p.close(1000, "x")
	check_eq("fresh: close() keeps CLOSED, -1", [state_name(p.get_ready_state()), p.get_close_code()], ["CLOSED", -1])
	return true


## Polls until both are CLOSED; returns the distinct states `remote` went through, in order.
func _watch_remote(c: Object, remote: Object, others: Array) -> Array:
	var seen := [state_name(remote.get_ready_state())]
	await pump([c, remote] + others, func():
		if seen[-1] != state_name(remote.get_ready_state()):
			seen.append(state_name(remote.get_ready_state()))
		return c.get_ready_state() == CLOSED and remote.get_ready_state() == CLOSED, 3000)
	return seen


func test_close_states() -> bool:
	var pair := await engine_pair("close states")
	if pair.is_empty():
		return true
	var c = pair[0]
	var s: WebSocketPeer = pair[1]
	c.close(4001, "bye now ✓")
	check_eq("close states: closing side is CLOSING right after close()", state_name(c.get_ready_state()), "CLOSING")
	check_eq("close states: closing side's code -1 until the echo", [c.get_close_code(), c.get_close_reason()], [-1, ""])
	c.close(4002, "again")
	check_eq("close states: a second close() while CLOSING changes nothing", state_name(c.get_ready_state()), "CLOSING")
	check_eq("close states: send while CLOSING is FAILED", c.send_text("late"), FAILED)
	check_eq("close states: no packets in CLOSING", c.get_available_packet_count(), 0)
	var seen := await _watch_remote(c, s, [pair[2]])
	check_eq("close states: remote goes OPEN -> CLOSED (no visible CLOSING)", seen, ["OPEN", "CLOSED"])
	check_eq("close states: closing side CLOSED", state_name(c.get_ready_state()), "CLOSED")
	check_eq("close states: remote got code and reason", [s.get_close_code(), s.get_close_reason()], [4001, "bye now ✓"])
	check_eq("close states: closing side reports the echo", [c.get_close_code(), c.get_close_reason()], [4001, "bye now ✓"])
	return true


## The class under test as the remote: an engine client closes, ours answers.
func test_remote_side() -> bool:
	var srv := ws_server(cls)
	var e := WebSocketPeer.new()
	_peers.append(e)
	e.connect_to_url(srv.url("/"))
	await pump([e, srv], func(): return e.get_ready_state() != CONNECTING and srv.peer() != null and srv.peer().get_ready_state() == OPEN)
	if not check_eq("remote side: opens", [state_name(e.get_ready_state()), srv.peer() != null], ["OPEN", true]):
		return true
	var s = srv.peer()
	e.close(3003, "from engine")
	var seen := await _watch_remote(e, s, [srv])
	check_eq("remote side: the server goes OPEN -> CLOSED (no visible CLOSING)", seen, ["OPEN", "CLOSED"])
	check_eq("remote side: the server reports the closer's code and reason", [s.get_close_code(), s.get_close_reason()], [3003, "from engine"])
	check_eq("remote side: engine client got our echo", [state_name(e.get_ready_state()), e.get_close_code(), e.get_close_reason()],
			["CLOSED", 3003, "from engine"])

	# Abrupt loss seen from our side.
	var e2 := WebSocketPeer.new()
	_peers.append(e2)
	e2.connect_to_url(srv.url("/2"))
	await pump([e2, srv], func(): return srv.peers.size() == 2 and srv.peers[1].get_ready_state() == OPEN and e2.get_ready_state() == OPEN)
	if not check_eq("remote side: second connection opens", srv.peers.size() == 2 and srv.peers[1].get_ready_state() == OPEN, true):
		return true
	e2.close(-1)
	await until_closed([srv.peers[1]], [srv], 3000)
	check_eq("remote side: after the client's close(-1) the server is CLOSED with -1, ''", describe(srv.peers[1]), "CLOSED(-1, '')")
	return true


func test_close_zero() -> bool:
	var pair := await engine_pair("close(0)")
	if pair.is_empty():
		return true
	var c = pair[0]
	var s: WebSocketPeer = pair[1]
	c.close(0, "ignored")
	check_eq("close(0): CLOSING", state_name(c.get_ready_state()), "CLOSING")
	await until_closed([c, s], [pair[2]], 3000)
	check_eq("close(0): remote reports 0 and no reason (empty close frame)", describe(s), "CLOSED(0, '')")
	check_eq("close(0): closer reports 0 from the empty echo", describe(c), "CLOSED(0, '')")
	return true


func test_abrupt() -> bool:
	var pair := await engine_pair("close(-1)")
	if pair.is_empty():
		return true
	var c = pair[0]
	var s: WebSocketPeer = pair[1]
	c.close(-1, "unused")
	check_eq("close(-1): CLOSED at once, code -1", describe(c), "CLOSED(-1, '')")
	await until_closed([s], [pair[2]], 3000)
	check_eq("close(-1): the remote sees an abrupt loss (-1)", describe(s), "CLOSED(-1, '')")

	pair = await engine_pair("remote close(-1)")
	if pair.is_empty():
		return true
	c = pair[0]
	pair[1].close(-1)
	await until_closed([c], [pair[2]], 3000)
	check_eq("remote close(-1): CLOSED with -1 after abrupt loss", describe(c), "CLOSED(-1, '')")
	check_eq("remote close(-1): reconnect resets code to -1 and CONNECTING",
			[c.connect_to_url(pair[2].url("/again")), state_name(c.get_ready_state()), c.get_close_code()], [OK, "CONNECTING", -1])
	return true


## Client close() while the server has not answered the upgrade: CLOSED at once.
func test_close_connecting() -> bool:
	var srv := engine_server()
	srv.accepting = false
	var c = new_peer()
	c.connect_to_url(srv.url("/"))
	await settle([c, srv], 100)
	check_eq("close while CONNECTING: still CONNECTING", state_name(c.get_ready_state()), "CONNECTING")
	c.close(1000, "nope")
	check_eq("close while CONNECTING: CLOSED at once, code -1", describe(c), "CLOSED(-1, '')")
	await settle([c, srv], 100)
	check_eq("close while CONNECTING: stays CLOSED", describe(c), "CLOSED(-1, '')")
	return true


## Server peer of the class under test closes before the handshake: the engine client sees -1.
func test_server_close_connecting() -> bool:
	var tcp := TCPServer.new()
	tcp.listen(0, "127.0.0.1")
	var e := WebSocketPeer.new()
	_peers.append(e)
	e.connect_to_url("ws://127.0.0.1:%d/" % tcp.get_local_port())
	await pump([e], func(): return tcp.is_connection_available())
	if not check("server close while CONNECTING: TCP accepted", tcp.is_connection_available()):
		return true
	var s = new_peer()
	check_eq("server close while CONNECTING: accept_stream OK", s.accept_stream(tcp.take_connection()), OK)
	check_eq("server close while CONNECTING: CONNECTING", state_name(s.get_ready_state()), "CONNECTING")
	s.close(1000, "nope")
	check_eq("server close while CONNECTING: CLOSED at once, code -1", describe(s), "CLOSED(-1, '')")
	await until_closed([e], [s], 3000)
	check_eq("server close while CONNECTING: engine client CLOSED with -1", describe(e), "CLOSED(-1, '')")
	tcp.stop()
	return true


func test_reason_123() -> bool:
	var pair := await engine_pair("reason 123 bytes")
	if pair.is_empty():
		return true
	var c = pair[0]
	var s: WebSocketPeer = pair[1]
	var reason := "€".repeat(41)  # 123 bytes
	c.close(4000, reason)
	await until_closed([c, s], [pair[2]], 3000)
	check_eq("reason 123 bytes: remote gets it whole", [state_name(s.get_ready_state()), s.get_close_code(), s.get_close_reason()],
			["CLOSED", 4000, reason])
	check_eq("reason 123 bytes: closer CLOSED with the echo", [state_name(c.get_ready_state()), c.get_close_code(), c.get_close_reason()],
			["CLOSED", 4000, reason])
	return true


## 126 bytes ("€" x 42) and 124 bytes ("a" + "€" x 41).
func test_reason_over_123() -> bool:
	for reason in ["€".repeat(42), "a" + "€".repeat(41)]:
		var size: int = reason.to_utf8_buffer().size()
		var what := "close reason of %d bytes" % size
		var pair := await engine_pair(what)
		if pair.is_empty():
			continue
		var c = pair[0]
		var s: WebSocketPeer = pair[1]
		c.close(4000, reason)
		check_eq("%s: CLOSING right after close()" % what, state_name(c.get_ready_state()), "CLOSING")
		if is_engine:
			await settle([c, s, pair[2]], 500)
			check_eq(differs(what, "stays CLOSING (close frame never sent), remote stays OPEN", ""),
					[state_name(c.get_ready_state()), state_name(s.get_ready_state())], ["CLOSING", "OPEN"])
			c.close(-1)
			check_eq(differs(what, "close(-1) then ends it", ""), describe(c), "CLOSED(-1, '')")
			continue
		await until_closed([c, s], [pair[2]], 3000)
		var want: String = reason.left(41) if size == 126 else "a" + "€".repeat(40)
		check_eq(differs(what, "", "cut at a character boundary (%d bytes), both CLOSED" % want.to_utf8_buffer().size()),
				[state_name(c.get_ready_state()), describe(s)], ["CLOSED", "CLOSED(4000, '%s')" % want])
		check_eq(differs(what, "", "closer gets the cut reason echoed"), c.get_close_reason(), want)
	return true


func test_invalid_codes() -> bool:
	for code in [1005, 999, 5000, 1004]:
		var what := "close(%d)" % code
		var pair := await engine_pair(what)
		if pair.is_empty():
			continue
		var c = pair[0]
		var s: WebSocketPeer = pair[1]
		c.close(code, "r")
		if is_engine:
			await until_closed([c, s], [pair[2]], 3000)
			check_eq(differs(what, "sends it, the engine remote answers 1002 'Protocol error'", ""),
					[describe(c), describe(s)], ["CLOSED(1002, '')", "CLOSED(1002, 'Protocol error')"])
			continue
		check_eq(differs(what, "", "refused, still OPEN, code -1"), describe(c), "OPEN(-1, '')")
		check_eq(differs(what, "", "the connection still carries data"), c.send_text("alive"), OK)
		var got := await receive(s, 1, [c, pair[2]])
		check_eq(differs(what, "", "remote receives it and stays OPEN"), [texts(got), state_name(s.get_ready_state())],
				[[["alive", true]], "OPEN"])
	return true


## close(70000): the engine sends it cut to 16 bits (4464, a valid code); ours refuses it.
func test_code_over_16_bits() -> bool:
	var what := "close(70000)"
	var pair := await engine_pair(what)
	if pair.is_empty():
		return true
	var c = pair[0]
	var s: WebSocketPeer = pair[1]
	c.close(70000, "big")
	if is_engine:
		await until_closed([c, s], [pair[2]], 3000)
		check_eq(differs(what, "sent as 4464 (cut to 16 bits), a clean close", ""), [describe(c), describe(s)],
				["CLOSED(4464, 'big')", "CLOSED(4464, 'big')"])
		return true
	check_eq(differs(what, "", "refused, still OPEN, code -1"), describe(c), "OPEN(-1, '')")
	await settle([c, pair[2]], 100)
	check_eq(differs(what, "", "the remote stays OPEN"), state_name(s.get_ready_state()), "OPEN")
	return true
