extends "res://tests/lib/sem_suite.gd"
# targets: @class WebSocketPeer
## Control frames as a hand-written raw server sends them, with the class
## under test as the client: pings are answered with a pong carrying the same payload and never
## show up as packets, unsolicited pongs are ignored, frames after a close frame are ignored, and
## control frames BETWEEN the fragments of a message (RFC 6455 section 5.4 allows them).
##
## Differs (README): a ping or pong between fragments (engine: its payload is spliced into the
## message; ours: the message arrives intact), an oversized or fragmented control frame
## (engine: dropped abruptly, -1; ours: closed with 1002), and what follows our protocol-error close
## (engine: CLOSED at once; ours: waits up to 1 s for the remote to hang up).

## How long our class waits, after its protocol-error close frame, for the remote to hang up.
const LINGER_MS := 1000


func tests() -> Array[Callable]:
	return [test_ping_payloads, test_unsolicited_pong, test_ping_between_fragments,
			test_pings_between_binary_fragments, test_pong_between_fragments, test_close_between_fragments,
			test_frames_after_close, test_bad_control_frames, test_after_protocol_error]


## One write with several frames: they reach the client in one piece.
static func _frames(list: Array) -> PackedByteArray:
	var out := PackedByteArray()
	for f in list:
		out.append_array(RawPeer.frame(f[0], f[1], f[2] if f.size() > 2 else true))
	return out


func test_ping_payloads() -> bool:
	var pair := await raw_pair("ping")
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	var p125 := PackedByteArray()
	for i in 125:
		p125.append(i)
	raw.send_raw(_frames([[RawPeer.OP_PING, PackedByteArray()], [RawPeer.OP_PING, "abc".to_utf8_buffer()],
			[RawPeer.OP_PING, p125]]))
	await pump([c, raw], func(): return raw.of(RawPeer.OP_PONG).size() >= 3, 2000)
	var pongs := raw.of(RawPeer.OP_PONG)
	check_eq("ping: three pongs, each with its ping's payload (empty, 'abc', 125 bytes)",
			pongs.map(func(f): return f.payload), [PackedByteArray(), "abc".to_utf8_buffer(), p125])
	check("ping: pongs from the client are masked and final", pongs.all(func(f): return f.masked and f.fin),
			"%s" % [pongs.map(func(f): return [f.masked, f.fin])])
	check_eq("ping: nothing visible to the script", c.get_available_packet_count(), 0)
	check_eq("ping: still OPEN", describe(c), "OPEN(-1, '')")
	return true


func test_unsolicited_pong() -> bool:
	var pair := await raw_pair("unsolicited pong")
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	raw.send_frame(RawPeer.OP_PONG, "x".to_utf8_buffer())
	raw.send_text("after")
	var got := await receive(c, 1, [raw])
	check_eq("unsolicited pong: ignored, the next message arrives alone", texts(got), [["after", true]])
	await settle([c, raw], 100)
	check_eq("unsolicited pong: no answer from the client", raw.frames.size(), 0)
	check_eq("unsolicited pong: still OPEN", describe(c), "OPEN(-1, '')")
	return true


## "Hel" + ping "pp" + "lo " + "World": a ping between the fragments of a text message.
func test_ping_between_fragments() -> bool:
	var pair := await raw_pair("ping between fragments")
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	raw.send_raw(_frames([[RawPeer.OP_TEXT, "Hel".to_utf8_buffer(), false], [RawPeer.OP_PING, "pp".to_utf8_buffer()],
			[RawPeer.OP_CONT, "lo ".to_utf8_buffer(), false], [RawPeer.OP_CONT, "World".to_utf8_buffer()]]))
	var got := await receive(c, 1, [raw])
	await settle([c, raw], 100)
	got.append_array(drain(c))
	var what := "ping between fragments"
	if is_engine:
		check_eq(differs(what, "the ping's payload is spliced into the message", ""), texts(got), [["Helpplo World", true]])
	else:
		check_eq(differs(what, "", "the message arrives intact"), texts(got), [["Hello World", true]])
	check_eq("ping between fragments: answered with a pong carrying its payload", raw.payload_texts(RawPeer.OP_PONG), ["pp"])
	check_eq("ping between fragments: still OPEN", describe(c), "OPEN(-1, '')")
	return true


## A binary message in three fragments with two pings between them, then a second message.
func test_pings_between_binary_fragments() -> bool:
	var pair := await raw_pair("pings between binary fragments")
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	raw.send_raw(_frames([[RawPeer.OP_BINARY, PackedByteArray([1, 2]), false], [RawPeer.OP_PING, PackedByteArray([7])],
			[RawPeer.OP_CONT, PackedByteArray([3]), false], [RawPeer.OP_PING, PackedByteArray([8, 9])],
			[RawPeer.OP_CONT, PackedByteArray([4])], [RawPeer.OP_TEXT, "next".to_utf8_buffer()]]))
	var got := await receive(c, 2, [raw])
	var what := "two pings between binary fragments"
	if is_engine:
		check_eq(differs(what, "both ping payloads spliced in", ""), got.map(func(m): return [m[0], m[1]]),
				[[PackedByteArray([1, 2, 7, 3, 8, 9, 4]), false], [PackedByteArray("next".to_utf8_buffer()), true]])
	else:
		check_eq(differs(what, "", "the message arrives intact, then the next one"), got.map(func(m): return [m[0], m[1]]),
				[[PackedByteArray([1, 2, 3, 4]), false], [PackedByteArray("next".to_utf8_buffer()), true]])
	await pump([c, raw], func(): return raw.of(RawPeer.OP_PONG).size() >= 2, SLOW_MACHINE_MS)
	check_eq("two pings between binary fragments: two pongs, in order", raw.of(RawPeer.OP_PONG).map(func(f): return f.payload),
			[PackedByteArray([7]), PackedByteArray([8, 9])])
	return true


func test_pong_between_fragments() -> bool:
	var pair := await raw_pair("pong between fragments")
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	raw.send_raw(_frames([[RawPeer.OP_TEXT, "ab".to_utf8_buffer(), false], [RawPeer.OP_PONG, "qq".to_utf8_buffer()],
			[RawPeer.OP_CONT, "cd".to_utf8_buffer()]]))
	var got := await receive(c, 1, [raw])
	await settle([c, raw], 100)
	got.append_array(drain(c))
	var what := "pong between fragments"
	if is_engine:
		check_eq(differs(what, "the pong's payload is spliced into the message", ""), texts(got), [["abqqcd", true]])
	else:
		check_eq(differs(what, "", "the message arrives intact"), texts(got), [["abcd", true]])
	check_eq("pong between fragments: no answer to a pong", raw.frames.size(), 0)
	check_eq("pong between fragments: still OPEN", describe(c), "OPEN(-1, '')")
	return true


## A close frame in the middle of a fragmented message: the close handshake wins, the unfinished
## message is never delivered.
func test_close_between_fragments() -> bool:
	var pair := await raw_pair("close between fragments")
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	raw.hang_up_on_close = false
	raw.send_raw(_frames([[RawPeer.OP_TEXT, "part".to_utf8_buffer(), false],
			[RawPeer.OP_CLOSE, RawPeer.close_payload(4000, "mid")], [RawPeer.OP_CONT, "rest".to_utf8_buffer()]]))
	raw.sent_close = true
	await pump([c, raw], func(): return raw.of(RawPeer.OP_CLOSE).size() > 0, 2000)
	check_eq("close between fragments: the client echoes 4000 'mid'", raw.of(RawPeer.OP_CLOSE).map(func(f): return f.payload.slice(2).get_string_from_utf8()),
			["mid"])
	check_eq("close between fragments: echo code", raw.close_code_received(), 4000)
	raw.stop()
	await until_closed([c], [raw], 3000)
	check_eq("close between fragments: CLOSED with the remote's code and reason", describe(c), "CLOSED(4000, 'mid')")
	check_eq("close between fragments: the unfinished message is not delivered", c.get_available_packet_count(), 0)
	return true


## Frames after a close frame are ignored: close + text in one write.
func test_frames_after_close() -> bool:
	var pair := await raw_pair("frames after close")
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	raw.send_raw(_frames([[RawPeer.OP_CLOSE, RawPeer.close_payload(1000, "end")], [RawPeer.OP_TEXT, "late".to_utf8_buffer()],
			[RawPeer.OP_PING, "p".to_utf8_buffer()]]))
	raw.sent_close = true
	await until_closed([c], [raw], 3000)
	check_eq("frames after close: CLOSED 1000 'end'", describe(c), "CLOSED(1000, 'end')")
	check_eq("frames after close: the text after the close is not delivered", c.get_available_packet_count(), 0)
	check_eq("frames after close: the ping after the close is not answered", raw.of(RawPeer.OP_PONG).size(), 0)
	check_eq("frames after close: the client echoed 1000", raw.close_code_received(), 1000)
	return true


## Control frames RFC 6455 forbids: payload over 125 bytes, FIN=0.
func test_bad_control_frames() -> bool:
	var cases := [
		["ping of 126 bytes", RawPeer.frame(RawPeer.OP_PING, zeros(126, 1))],
		["ping with FIN=0", RawPeer.frame(RawPeer.OP_PING, "x".to_utf8_buffer(), false)],
		["close with FIN=0", RawPeer.frame(RawPeer.OP_CLOSE, RawPeer.close_payload(1000), false)],
		["close of 126 bytes", RawPeer.frame(RawPeer.OP_CLOSE, RawPeer.close_payload(1000, "r".repeat(124)))],
	]
	for case in cases:
		var what: String = case[0]
		var pair := await raw_pair(what)
		if pair.is_empty():
			continue
		var c = pair[0]
		var raw: RawPeer = pair[1]
		raw.send_raw(case[1])
		await until_closed([c], [raw], 3000)
		await pump([raw], func(): return raw.closed, SLOW_MACHINE_MS)
		if is_engine:
			check_eq(differs(what, "dropped abruptly (-1)", ""), describe(c), "CLOSED(-1, '')")
			check_eq(differs(what, "no close frame sent", ""), raw.close_code_received(), -1)
		else:
			check_eq(differs(what, "", "closed with 1002"), describe(c), "CLOSED(1002, 'Protocol error')")
			check_eq(differs(what, "", "the remote receives 1002"), raw.close_code_received(), 1002)
		check_eq("%s: nothing delivered" % what, c.get_available_packet_count(), 0)
	return true


## After we close because the remote broke the protocol (a masked frame from the server): the
## engine is CLOSED once its 1002 is written; ours drains what the remote still sends until it
## hangs up, at most 1 s.
func test_after_protocol_error() -> bool:
	for hang_up in [true, false]:
		var what := "after our 1002, remote %s" % ("hangs up" if hang_up else "stays silent")
		var pair := await raw_pair(what)
		if pair.is_empty():
			continue
		var c = pair[0]
		var raw: RawPeer = pair[1]
		raw.hang_up_on_close = false
		# Before the masked frame: the client's close frame (and its 1 s wait) comes after this.
		var before_error := Time.get_ticks_msec()
		raw.send_frame(RawPeer.OP_TEXT, "masked".to_utf8_buffer(), true, true)
		await pump([c, raw], func(): return raw.of(RawPeer.OP_CLOSE).size() > 0 or c.get_ready_state() == CLOSED, SLOW_MACHINE_MS)
		await pump([c, raw], func(): return raw.of(RawPeer.OP_CLOSE).size() > 0, SLOW_MACHINE_MS)
		check_eq("%s: the client sent 1002" % what, raw.close_code_received(), 1002)
		var state_after_send := state_name(c.get_ready_state())
		raw.send_text("still talking")
		if hang_up:
			raw.stop()
		# Count the client's polls until it is CLOSED (each pump round polls it once).
		var polls := [0]
		await pump([c, raw], func():
			polls[0] += 1
			return c.get_ready_state() == CLOSED, LINGER_MS + 2 * SLOW_MACHINE_MS)
		var elapsed := Time.get_ticks_msec() - before_error
		check_eq("%s: CLOSED 1002 'Protocol error'" % what, describe(c), "CLOSED(1002, 'Protocol error')")
		check_eq("%s: nothing delivered" % what, c.get_available_packet_count(), 0)
		if is_engine:
			check_eq(differs(what, "CLOSED as soon as the close frame is written", ""), state_after_send, "CLOSED")
		elif hang_up:
			check_eq(differs(what, "", "CLOSING until the remote hangs up"), state_after_send, "CLOSING")
			# Sooner than the 1 s wait could end (it starts after `before_error`): the hang-up did it.
			check(differs(what, "", "then CLOSED at once, before the 1 s wait could end"),
					elapsed < LINGER_MS - CLOCK_SLACK_MS, "after %d ms, %d polls" % [elapsed, polls[0]])
		else:
			check_eq(differs(what, "", "CLOSING while the remote is silent"), state_after_send, "CLOSING")
			# Exact rule: core/connection/tests.rs `protocol_errors_close_with_the_matching_code`.
			check_ms(differs(what, "", "CLOSED 1 s after the close frame"), elapsed,
					LINGER_MS - CLOCK_SLACK_MS, LINGER_MS + SLOW_MACHINE_MS)
	return true
