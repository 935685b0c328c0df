extends "res://tests/lib/sem_suite.gd"
# targets: @class WebSocketPeer
## Messages received before the connection left OPEN (godot#107442).
##
## Differs (README): the engine makes every unread message unreachable as soon as the state leaves
## OPEN (get_available_packet_count 0, get_packet FAILED) and erases them at CLOSED; ours keeps
## them readable in CLOSING and CLOSED until read, and get_available_packet_count counts them. Both
## sides: client (raw server) and server (engine client). Common to both classes: a reconnect
## starts with no packets, get_packet on an empty CLOSED peer is FAILED.


func tests() -> Array[Callable]:
	return [test_same_write_as_close, test_unread_then_remote_close, test_local_close, test_arriving_while_closing,
			test_abrupt_loss, test_protocol_error, test_server_side, test_reconnect_clears]


static func _frames(list: Array) -> PackedByteArray:
	var out := PackedByteArray()
	for f in list:
		out.append_array(RawPeer.frame(f[0], f[1]))
	return out


## Reads every packet, recording the count before each read: [[count, text-or-bytes, was_string], ...].
static func _read_all(p: Object) -> Array:
	var out := []
	while p.get_available_packet_count() > 0 and out.size() < 100:
		var n: int = p.get_available_packet_count()
		var data: PackedByteArray = p.get_packet()
		out.append([n, data.get_string_from_utf8() if p.was_string_packet() else data, p.was_string_packet()])
	return out


## Asserts the engine's loss (count 0, get_packet FAILED) or our keeping of `want`
## ([[count, text-or-bytes, was_string], ...]), then get_packet FAILED once all are read.
func _expect_kept(what: String, p: Object, want: Array) -> void:
	if is_engine:
		check_eq(differs(what, "unread messages lost: count 0, get_packet FAILED (godot#107442)", ""),
				[p.get_available_packet_count(), p.get_packet(), p.get_packet_error()], [0, PackedByteArray(), FAILED])
		return
	check_eq(differs(what, "", "every unread message readable, in order, with its type; count goes down by one"),
			_read_all(p), want)
	check_eq("%s: then count 0 and get_packet FAILED" % what, [p.get_available_packet_count(), p.get_packet(),
			p.get_packet_error()], [0, PackedByteArray(), FAILED])


## Three messages and the close frame in one write: they arrive in the poll that closes.
func test_same_write_as_close() -> bool:
	var pair := await raw_pair("same write as close")
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	raw.send_raw(_frames([[RawPeer.OP_TEXT, "a".to_utf8_buffer()], [RawPeer.OP_BINARY, PackedByteArray([1, 2])],
			[RawPeer.OP_TEXT, "c".to_utf8_buffer()], [RawPeer.OP_CLOSE, RawPeer.close_payload(1000, "done")]]))
	raw.sent_close = true
	await until_closed([c], [raw], 3000)
	check_eq("same write as close: CLOSED 1000 'done'", describe(c), "CLOSED(1000, 'done')")
	_expect_kept("same write as close: in CLOSED", c,
			[[3, "a", true], [2, PackedByteArray([1, 2]), false], [1, "c", true]])
	return true


## Two messages arrive and wait unread; the remote closes later.
func test_unread_then_remote_close() -> bool:
	var pair := await raw_pair("unread, then remote close")
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	raw.send_text("one")
	raw.send_text("two")
	await pump([c, raw], func(): return c.get_available_packet_count() >= 2, 2000)
	check_eq("unread, then remote close: 2 packets while OPEN", c.get_available_packet_count(), 2)
	await settle([c, raw], 100)
	raw.send_close(4001, "later")
	await until_closed([c], [raw], 3000)
	check_eq("unread, then remote close: CLOSED 4001 'later'", describe(c), "CLOSED(4001, 'later')")
	_expect_kept("unread, then remote close: in CLOSED", c, [[2, "one", true], [1, "two", true]])
	return true


## Unread messages, then our close(): readable in CLOSING, the rest still in CLOSED.
func test_local_close() -> bool:
	var pair := await raw_pair("local close")
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	raw.hang_up_on_close = false
	raw.send_text("x")
	raw.send_text("y")
	await pump([c, raw], func(): return c.get_available_packet_count() >= 2, 2000)
	c.close(1000, "bye")
	await pump([c, raw], func(): return raw.of(RawPeer.OP_CLOSE).size() > 0, 2000)
	check_eq("local close: CLOSING while the remote has not answered", state_name(c.get_ready_state()), "CLOSING")
	var what := "local close: in CLOSING"
	if is_engine:
		check_eq(differs(what, "count 0, get_packet FAILED (godot#107442)", ""),
				[c.get_available_packet_count(), c.get_packet(), c.get_packet_error()], [0, PackedByteArray(), FAILED])
	else:
		check_eq(differs(what, "", "count 2, the first message readable"),
				[c.get_available_packet_count(), c.get_packet().get_string_from_utf8(), c.was_string_packet(),
				c.get_available_packet_count()], [2, "x", true, 1])
	raw.send_close(1000, "bye")
	await until_closed([c], [raw], 3000)
	check_eq("local close: CLOSED with the echo", describe(c), "CLOSED(1000, 'bye')")
	_expect_kept("local close: in CLOSED", c, [[1, "y", true]])
	return true


## After our close frame, before the remote's: a message the remote sent meanwhile (RFC 6455 lets
## it) is delivered too.
func test_arriving_while_closing() -> bool:
	var pair := await raw_pair("arriving while closing")
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	raw.hang_up_on_close = false
	c.close(1000)
	await pump([c, raw], func(): return raw.of(RawPeer.OP_CLOSE).size() > 0, 2000)
	raw.send_raw(_frames([[RawPeer.OP_TEXT, "in flight".to_utf8_buffer()], [RawPeer.OP_CLOSE, RawPeer.close_payload(1000)]]))
	raw.sent_close = true
	await until_closed([c], [raw], 3000)
	check_eq("arriving while closing: CLOSED 1000", describe(c), "CLOSED(1000, '')")
	_expect_kept("arriving while closing: in CLOSED", c, [[1, "in flight", true]])
	return true


## Messages, then the TCP connection goes without a close frame.
func test_abrupt_loss() -> bool:
	var pair := await raw_pair("abrupt loss")
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	raw.send_text("kept?")
	await pump([c, raw], func(): return c.get_available_packet_count() >= 1, 2000)
	raw.stop()
	await until_closed([c], [raw], 3000)
	check_eq("abrupt loss: CLOSED -1", describe(c), "CLOSED(-1, '')")
	_expect_kept("abrupt loss: in CLOSED", c, [[1, "kept?", true]])
	return true


## A valid message, then a protocol error (masked server frame) in the same write.
func test_protocol_error() -> bool:
	var pair := await raw_pair("before a protocol error")
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	var bytes := RawPeer.frame(RawPeer.OP_TEXT, "good".to_utf8_buffer())
	bytes.append_array(RawPeer.frame(RawPeer.OP_TEXT, "masked".to_utf8_buffer(), true, true))
	raw.send_raw(bytes)
	await until_closed([c], [raw], 3000)
	check_eq("before a protocol error: CLOSED 1002", describe(c), "CLOSED(1002, 'Protocol error')")
	_expect_kept("before a protocol error: in CLOSED", c, [[1, "good", true]])
	return true


## The class under test as the server: the engine client sends two messages and closes at once.
func test_server_side() -> bool:
	var srv := ws_server(cls)
	var e := WebSocketPeer.new()
	_peers.append(e)
	e.connect_to_url(srv.url("/"))
	await pump([e, srv], func(): return e.get_ready_state() == OPEN and srv.peer() != null and srv.peer().get_ready_state() == OPEN)
	if not check("server side: opens", e.get_ready_state() == OPEN and srv.peer() != null):
		return true
	var s = srv.peer()
	e.send_text("hello")
	e.send(PackedByteArray([9]))
	e.close(4002, "gone")
	await until_closed([e, s], [srv], 3000)
	check_eq("server side: server CLOSED with the client's code", describe(s), "CLOSED(4002, 'gone')")
	check_eq("server side: client CLOSED with the echo", describe(e), "CLOSED(4002, 'gone')")
	_expect_kept("server side: in CLOSED", s, [[2, "hello", true], [1, PackedByteArray([9]), false]])
	return true


## Unread packets of a finished connection do not carry over to the next one.
func test_reconnect_clears() -> bool:
	var pair := await raw_pair("reconnect")
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	raw.send_raw(_frames([[RawPeer.OP_TEXT, "old".to_utf8_buffer()], [RawPeer.OP_CLOSE, RawPeer.close_payload(1000)]]))
	raw.sent_close = true
	await until_closed([c], [raw], 3000)
	check_eq("reconnect: CLOSED with %d unread" % (0 if is_engine else 1), c.get_available_packet_count(), 0 if is_engine else 1)
	var raw2 := raw_server()
	check_eq("reconnect: connect_to_url OK", c.connect_to_url(raw2.url("/")), OK)
	check_eq("reconnect: no packets while CONNECTING", c.get_available_packet_count(), 0)
	await pump([c, raw2], func(): return c.get_ready_state() != CONNECTING)
	raw2.send_text("new")
	var got := await receive(c, 1, [raw2])
	check_eq("reconnect: only the new connection's message", texts(got), [["new", true]])
	return true
