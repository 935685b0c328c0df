extends "res://tests/lib/sem_suite.gd"
# targets: @class WebSocketPeer
## Close frames as the remote sends them: valid codes are reported and
## echoed with the same code and reason, an empty close frame is reported as 0 and echoed empty,
## invalid codes are answered with 1002, an invalid UTF-8 reason with 1007. The class under test
## is the client of a raw server, and in test_server_side the server of an engine client that
## closes with an invalid code.
##
## Differs (README): a close frame with a 1-byte payload (engine: reported as 0; ours: 1002) and
## codes 1012-1014 (engine/wslay: protocol error, 1002; ours: valid, IANA-registered, echoed).


func tests() -> Array[Callable]:
	return [test_valid_codes, test_empty_close, test_long_reason, test_invalid_codes, test_codes_1012_1014,
			test_one_byte_payload, test_invalid_utf8_reason, test_server_side]


## Raw server sends `payload` as a close frame; returns [client, raw] once the client is CLOSED
## and the raw server has seen the end of the connection (or [] when the pair did not open).
func _remote_close(label: String, payload: PackedByteArray) -> Array:
	var pair := await raw_pair(label)
	if pair.is_empty():
		return []
	var c = pair[0]
	var raw: RawPeer = pair[1]
	raw.send_frame(RawPeer.OP_CLOSE, payload)
	await until_closed([c], [raw], 3000)
	await pump([raw], func(): return raw.closed, SLOW_MACHINE_MS)
	return pair


static func _echo_reason(raw: RawPeer) -> String:
	var closes := raw.of(RawPeer.OP_CLOSE)
	return closes[0].payload.slice(2).get_string_from_utf8() if closes.size() > 0 else "<none>"


func test_valid_codes() -> bool:
	for code in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999]:
		var what := "remote close %d" % code
		var pair := await _remote_close(what, RawPeer.close_payload(code, "why ✓"))
		if pair.is_empty():
			continue
		check_eq("%s: CLOSED with the remote's code and reason" % what, describe(pair[0]), "CLOSED(%d, 'why ✓')" % code)
		check_eq("%s: echoed with the same code and reason" % what, [pair[1].close_code_received(), _echo_reason(pair[1])],
				[code, "why ✓"])
	return true


func test_empty_close() -> bool:
	var pair := await _remote_close("empty remote close", PackedByteArray())
	if pair.is_empty():
		return true
	check_eq("empty remote close: CLOSED with code 0, no reason", describe(pair[0]), "CLOSED(0, '')")
	check_eq("empty remote close: echoed with an empty close frame", pair[1].close_code_received(), 0)
	return true


func test_long_reason() -> bool:
	var reason := "€".repeat(41)  # 123 bytes, the most a close frame carries
	var pair := await _remote_close("remote reason 123 bytes", RawPeer.close_payload(4000, reason))
	if pair.is_empty():
		return true
	check_eq("remote reason 123 bytes: reported whole", [pair[0].get_close_code(), pair[0].get_close_reason()], [4000, reason])
	check_eq("remote reason 123 bytes: echoed whole", _echo_reason(pair[1]), reason)
	return true


func test_invalid_codes() -> bool:
	for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]:
		var what := "remote close %d" % code
		var pair := await _remote_close(what, RawPeer.close_payload(code, "bad"))
		if pair.is_empty():
			continue
		check_eq("%s: answered with 1002" % what, pair[1].close_code_received(), 1002)
		check_eq("%s: CLOSED 1002 'Protocol error'" % what, describe(pair[0]), "CLOSED(1002, 'Protocol error')")
		if code == 1005:
			check_eq("%s: the 1002 close frame carries no reason (the reason text is only reported locally)" % what,
					pair[1].of(RawPeer.OP_CLOSE).map(func(f): return f.payload.size()), [2])
	return true


func test_codes_1012_1014() -> bool:
	for code in [1012, 1014]:
		var what := "remote close %d" % code
		var pair := await _remote_close(what, RawPeer.close_payload(code, "later"))
		if pair.is_empty():
			continue
		if is_engine:
			check_eq(differs(what, "invalid for wslay, answered with 1002", ""),
					[pair[1].close_code_received(), describe(pair[0])], [1002, "CLOSED(1002, 'Protocol error')"])
		else:
			check_eq(differs(what, "", "a valid (IANA-registered) code, echoed"),
					[pair[1].close_code_received(), describe(pair[0])], [code, "CLOSED(%d, 'later')" % code])
	return true


func test_one_byte_payload() -> bool:
	var what := "remote close with a 1-byte payload"
	var pair := await _remote_close(what, PackedByteArray([3]))
	if pair.is_empty():
		return true
	if is_engine:
		check_eq(differs(what, "reported as code 0, echoed empty", ""), [describe(pair[0]), pair[1].close_code_received()],
				["CLOSED(0, '')", 0])
	else:
		check_eq(differs(what, "", "protocol error, answered with 1002"), [describe(pair[0]), pair[1].close_code_received()],
				["CLOSED(1002, 'Protocol error')", 1002])
	return true


func test_invalid_utf8_reason() -> bool:
	var payload := RawPeer.close_payload(1000)
	payload.append_array(PackedByteArray([0x61, 0xFF, 0xFE]))
	var pair := await _remote_close("remote reason not UTF-8", payload)
	if pair.is_empty():
		return true
	check_eq("remote reason not UTF-8: answered with 1007", pair[1].close_code_received(), 1007)
	check_eq("remote reason not UTF-8: the 1007 close frame carries no reason",
			pair[1].of(RawPeer.OP_CLOSE).map(func(f): return f.payload.size()), [2])
	check_eq("remote reason not UTF-8: CLOSED 1007 'Invalid frame payload data'", describe(pair[0]),
			"CLOSED(1007, 'Invalid frame payload data')")
	return true


## The class under test as the server; the engine client sends close(5000) (the engine does not
## check codes it sends).
func test_server_side() -> bool:
	var srv := ws_server(cls)
	var e := WebSocketPeer.new()
	_peers.append(e)
	e.connect_to_url(srv.url("/"))
	await pump([e, srv], func(): return e.get_ready_state() == OPEN and srv.peer() != null and srv.peer().get_ready_state() == OPEN)
	if not check("server side: opens", e.get_ready_state() == OPEN and srv.peer() != null):
		return true
	var s = srv.peer()
	e.close(5000, "bad")
	await until_closed([e, s], [srv], 3000)
	check_eq("server side: our server answers the client's 5000 with 1002", describe(s), "CLOSED(1002, 'Protocol error')")
	check_eq("server side: the engine client gets 1002 (no reason)", describe(e), "CLOSED(1002, '')")
	return true
