extends "res://tests/lib/sem_suite.gd"
# targets: @class WebSocketPeer
## Sending limits and the PacketPeer layer, with the class under test as the client of an engine
## server: outbound_buffer_size (exactly N OK, N+1 ERR_OUT_OF_MEMORY,
## <= 0 disables it, read at each send), max_queued_packets = 0 refuses every send,
## get_current_outbound_buffered_amount (0 when idle, 0 unless OPEN), put_var/get_var of several
## Variant types, put_var's encode_buffer_max_size and objects, empty packets, get_packet_error
## after get_packet; max_queued_packets = 1 with a message still being written.

const MIB := 1024 * 1024


func tests() -> Array[Callable]:
	return [test_exact_limit, test_limit_disabled, test_limit_change_while_open, test_zero_queued_packets,
			test_one_queued_packet, test_buffered_amount, test_var_round_trip, test_var_limits, test_empty_packets,
			test_packet_error]


func _big_server(p: WebSocketPeer) -> void:
	p.inbound_buffer_size = 8 * MIB
	p.outbound_buffer_size = 8 * MIB


func test_exact_limit() -> bool:
	var pair := await engine_pair("outbound exact", func(p): p.outbound_buffer_size = 100)
	if pair.is_empty():
		return true
	var c = pair[0]
	var s: WebSocketPeer = pair[1]
	var srv = pair[2]
	check_eq("outbound exact: send(100 bytes) with outbound_buffer_size 100 is OK", c.send(zeros(100, 1)), OK)
	check_eq("outbound exact: send(101 bytes) is ERR_OUT_OF_MEMORY", c.send(zeros(101, 2)), ERR_OUT_OF_MEMORY)
	check_eq("outbound exact: send_text of 101 bytes is ERR_OUT_OF_MEMORY", c.send_text("x".repeat(101)), ERR_OUT_OF_MEMORY)
	check_eq("outbound exact: put_packet of 101 bytes is ERR_OUT_OF_MEMORY", c.put_packet(zeros(101, 3)), ERR_OUT_OF_MEMORY)
	check_eq("outbound exact: still OPEN after the refusals", state_name(c.get_ready_state()), "OPEN")
	check_eq("outbound exact: send_text of 100 bytes is OK", c.send_text("y".repeat(100)), OK)
	var got := await receive(s, 2, [c, srv])
	await settle([c, srv], 100)
	got.append_array(drain(s))
	check_eq("outbound exact: only the two accepted messages arrive",
			got.map(func(m): return [m[0].size(), m[0][0], m[1]]), [[100, 1, false], [100, 121, true]])
	return true


func test_limit_disabled() -> bool:
	for limit in [0, -5]:
		var label := "outbound_buffer_size %d" % limit
		var pair := await engine_pair(label, func(p): p.outbound_buffer_size = limit, _big_server)
		if pair.is_empty():
			continue
		var c = pair[0]
		var big := Crypto.new().generate_random_bytes(MIB)
		check_eq("%s: no limit, send(1 MiB) is OK" % label, c.send(big), OK)
		check_eq("%s: a second 1 MiB send right after is OK" % label, c.send(big), OK)
		var got := await receive(pair[1], 2, [c, pair[2]], 10000)
		check("%s: both arrive intact" % label, got.size() == 2 and got[0][0] == big and got[1][0] == big,
				"got %d messages" % got.size())
	return true


## The limit is read at each send.
func test_limit_change_while_open() -> bool:
	var pair := await engine_pair("outbound change", func(p): p.outbound_buffer_size = 100)
	if pair.is_empty():
		return true
	var c = pair[0]
	check_eq("outbound change: send(101) refused with limit 100", c.send(zeros(101)), ERR_OUT_OF_MEMORY)
	c.outbound_buffer_size = 1000
	check_eq("outbound change: limit raised to 1000 while OPEN, send(101) OK at once", c.send(zeros(101)), OK)
	c.outbound_buffer_size = 50
	check_eq("outbound change: limit lowered to 50 while OPEN, send(51) refused at once", c.send(zeros(51)), ERR_OUT_OF_MEMORY)
	check_eq("outbound change: send(50) OK", c.send(zeros(50)), OK)
	var got := await receive(pair[1], 2, [c, pair[2]])
	check_eq("outbound change: the accepted messages arrive", got.map(func(m): return m[0].size()), [101, 50])
	return true


func test_zero_queued_packets() -> bool:
	var pair := await engine_pair("max_queued_packets 0")
	if pair.is_empty():
		return true
	var c = pair[0]
	var s: WebSocketPeer = pair[1]
	c.max_queued_packets = 0
	check_eq("max_queued_packets 0: send is ERR_OUT_OF_MEMORY", c.send(PackedByteArray([1])), ERR_OUT_OF_MEMORY)
	check_eq("max_queued_packets 0: send_text is ERR_OUT_OF_MEMORY", c.send_text("x"), ERR_OUT_OF_MEMORY)
	check_eq("max_queued_packets 0: empty send is ERR_OUT_OF_MEMORY", c.send(PackedByteArray()), ERR_OUT_OF_MEMORY)
	check_eq("max_queued_packets 0: put_packet is ERR_OUT_OF_MEMORY", c.put_packet(PackedByteArray([1])), ERR_OUT_OF_MEMORY)
	check_eq("max_queued_packets 0: put_var is ERR_OUT_OF_MEMORY", c.put_var(1), ERR_OUT_OF_MEMORY)
	check_eq("max_queued_packets 0: still OPEN", state_name(c.get_ready_state()), "OPEN")
	c.max_queued_packets = 4096
	check_eq("max_queued_packets back to 4096: send_text OK at once", c.send_text("after"), OK)
	var got := await receive(s, 1, [c, pair[2]])
	check_eq("max_queued_packets: only the accepted message arrives", texts(got), [["after", true]])

	# Set before connecting: the handshake still completes; sends fail the same way.
	pair = await engine_pair("max_queued_packets 0 from the start", func(p): p.max_queued_packets = 0)
	if pair.is_empty():
		return true
	c = pair[0]
	check_eq("max_queued_packets 0 from the start: send_text is ERR_OUT_OF_MEMORY", c.send_text("x"), ERR_OUT_OF_MEMORY)
	c.close(-1)
	return true


## max_queued_packets counts messages not yet fully written: with 1, a second send fails while a
## 4 MiB message is still going out, and works once it is written.
func test_one_queued_packet() -> bool:
	var pair := await engine_pair("max_queued_packets 1", func(p):
		p.max_queued_packets = 1
		p.outbound_buffer_size = 0, _big_server)
	if pair.is_empty():
		return true
	var c = pair[0]
	var s: WebSocketPeer = pair[1]
	check_eq("max_queued_packets 1: send(4 MiB) OK", c.send(zeros(4 * MIB, 1)), OK)
	var still_queued: bool = c.get_current_outbound_buffered_amount() > 0
	check("max_queued_packets 1: the message is still being written", still_queued,
			"buffered %d" % c.get_current_outbound_buffered_amount())
	if still_queued:
		check_eq("max_queued_packets 1: a second send is ERR_OUT_OF_MEMORY meanwhile", c.send_text("second"), ERR_OUT_OF_MEMORY)
	var got := []
	await pump([c, pair[2]], func():
		got.append_array(drain(s))
		return got.size() >= 1 and c.get_current_outbound_buffered_amount() == 0, 10000)
	check_eq("max_queued_packets 1: once written, send_text OK", c.send_text("third"), OK)
	await pump([c, pair[2]], func():
		got.append_array(drain(s))
		return got.size() >= 2, 3000)
	check_eq("max_queued_packets 1: the remote got the 4 MiB message and 'third' only",
			got.map(func(m): return m[0].size()), [4 * MIB, 5])
	return true


func test_buffered_amount() -> bool:
	var fresh = new_peer()
	check_eq("buffered amount: 0 on a fresh peer", fresh.get_current_outbound_buffered_amount(), 0)
	var srv := engine_server(_big_server)
	var c = new_peer()
	c.outbound_buffer_size = 0
	c.connect_to_url(srv.url("/"))
	check_eq("buffered amount: 0 while CONNECTING", c.get_current_outbound_buffered_amount(), 0)
	await pump([c, srv], func(): return c.get_ready_state() != CONNECTING and srv.peer() != null and srv.peer().get_ready_state() == OPEN)
	if not check_eq("buffered amount: opens", state_name(c.get_ready_state()), "OPEN"):
		return true
	var s: WebSocketPeer = srv.peer()
	check_eq("buffered amount: 0 when OPEN and idle", c.get_current_outbound_buffered_amount(), 0)
	var big := zeros(4 * MIB, 1)
	c.send(big)
	var queued: int = c.get_current_outbound_buffered_amount()
	check("buffered amount: > 0 right after a 4 MiB send the socket cannot take at once", queued > 0, "got %d" % queued)
	check("buffered amount: at most the unwritten message", queued <= 4 * MIB, "got %d" % queued)
	var got := []
	await pump([c, srv], func():
		got.append_array(drain(s))
		return got.size() >= 1 and c.get_current_outbound_buffered_amount() == 0, 10000)
	check_eq("buffered amount: back to 0 once written (idle)", c.get_current_outbound_buffered_amount(), 0)
	check_eq("buffered amount: the message arrived", got.map(func(m): return m[0].size()), [4 * MIB])
	c.send(big)
	c.send(big)
	c.close(1000)
	check_eq("buffered amount: CLOSING right after close()", state_name(c.get_ready_state()), "CLOSING")
	check_eq("buffered amount: 0 in CLOSING even with data queued", c.get_current_outbound_buffered_amount(), 0)
	await pump([c, srv], func():
		drain(s)
		return c.get_ready_state() == CLOSED, 10000)
	check_eq("buffered amount: CLOSED", state_name(c.get_ready_state()), "CLOSED")
	check_eq("buffered amount: 0 when CLOSED", c.get_current_outbound_buffered_amount(), 0)
	return true


func test_var_round_trip() -> bool:
	var pair := await engine_pair("var")
	if pair.is_empty():
		return true
	var c = pair[0]
	var s: WebSocketPeer = pair[1]
	var srv = pair[2]
	var values := [null, true, -7, 2.5, "ünï ✓", &"name", Vector2(1.5, -2), Vector3i(1, 2, 3), Color(0.25, 0.5, 1, 1),
			Rect2(1, 2, 3, 4), Transform2D(0.5, Vector2(3, 4)), NodePath("a/b:c"),
			[1, "two", [3.0]], {"k": {"n": 1}, 2: PackedInt32Array([1, 2])}, PackedByteArray([0, 255]),
			PackedStringArray(["x", "y"]), PackedFloat64Array([0.5, 1e100])]
	var errors := []
	for v in values:
		errors.append(c.put_var(v))
	check("var: put_var returns OK for %d values" % values.size(), errors.all(func(e): return e == OK), "errors %s" % [errors])
	var got := []
	var types := []
	await pump([c, srv], func():
		while s.get_available_packet_count() > 0:
			got.append(s.get_var())
			types.append(s.was_string_packet())
		return got.size() >= values.size(), 3000)
	check_eq("var: client -> engine server, every value equal", got, values)
	check("var: put_var sends binary messages", types.size() == values.size() and not types.has(true), "was_string %s" % [types])
	for v in values:
		s.put_var(v)
	got = []
	await pump([srv, c], func():
		while c.get_available_packet_count() > 0:
			got.append(c.get_var())
		return got.size() >= values.size(), 3000)
	check_eq("var: engine server -> client, get_var equal", got, values)
	check_eq("var: typeof preserved (StringName, Vector3i, NodePath)",
			[5, 7, 11].map(func(i): return typeof(got[i])) if got.size() == values.size() else [],
			[TYPE_STRING_NAME, TYPE_VECTOR3I, TYPE_NODE_PATH])
	return true


## encode_buffer_max_size (PacketPeer): refused/rounded values, and put_var over it; objects are
## sent as an ID without full_objects.
func test_var_limits() -> bool:
	var p = new_peer()
	check_eq("var limits: encode_buffer_max_size default 8 MiB", p.encode_buffer_max_size, 8 * MIB)
	p.encode_buffer_max_size = 5000
	check_eq("var limits: 5000 is rounded up to 8192", p.encode_buffer_max_size, 8192)
	p.encode_buffer_max_size = 100
	check_eq("var limits: under 1024 is refused (unchanged)", p.encode_buffer_max_size, 8192)
	var pair := await engine_pair("var limits", func(c): c.encode_buffer_max_size = 1024)
	if pair.is_empty():
		return true
	var c = pair[0]
	var s: WebSocketPeer = pair[1]
	check_eq("var limits: put_var of a 2000-byte array over a 1024 limit is ERR_OUT_OF_MEMORY", c.put_var(zeros(2000)), ERR_OUT_OF_MEMORY)
	check_eq("var limits: put_var of a small value is OK", c.put_var(zeros(100, 5)), OK)
	var obj := RefCounted.new()
	check_eq("var limits: put_var(object) without full_objects is OK", c.put_var(obj), OK)
	var got := []
	await pump([c, pair[2]], func():
		while s.get_available_packet_count() > 0:
			got.append(s.get_var())
		return got.size() >= 2, 3000)
	check_eq("var limits: only the small array and the object arrive", got.size(), 2)
	if got.size() == 2:
		check_eq("var limits: the array", got[0], zeros(100, 5))
		check("var limits: the object arrives as EncodedObjectAsID with its id", got[1] is EncodedObjectAsID
				and got[1].object_id == obj.get_instance_id(), "got %s" % [got[1]])
	return true


## put_packet of an empty array is OK without sending anything (PacketPeer short-circuit), even on
## a CLOSED peer; send of an empty array is an empty message (FAILED when not OPEN).
func test_empty_packets() -> bool:
	var fresh = new_peer()
	check_eq("empty packets: put_packet(empty) on a CLOSED peer is OK", fresh.put_packet(PackedByteArray()), OK)
	check_eq("empty packets: send(empty) on a CLOSED peer is FAILED", fresh.send(PackedByteArray()), FAILED)
	var pair := await engine_pair("empty packets")
	if pair.is_empty():
		return true
	var c = pair[0]
	var s: WebSocketPeer = pair[1]
	check_eq("empty packets: put_packet(empty) OK", c.put_packet(PackedByteArray()), OK)
	check_eq("empty packets: send(empty, text) OK", c.send(PackedByteArray(), TEXT), OK)
	check_eq("empty packets: send_text('') OK", c.send_text(""), OK)
	c.send_text("end")
	var got := await receive(s, 3, [c, pair[2]])
	check_eq("empty packets: two empty text messages then 'end' (put_packet sent nothing)", texts(got),
			[["", true], ["", true], ["end", true]])
	return true


func test_packet_error() -> bool:
	var fresh = new_peer()
	check_eq("packet error: get_packet on a CLOSED peer is empty", fresh.get_packet(), PackedByteArray())
	check_eq("packet error: then get_packet_error is FAILED", fresh.get_packet_error(), FAILED)
	var pair := await engine_pair("packet error")
	if pair.is_empty():
		return true
	var c = pair[0]
	var s: WebSocketPeer = pair[1]
	var srv = pair[2]
	check_eq("packet error: get_packet on an empty queue while OPEN is empty", c.get_packet(), PackedByteArray())
	check_eq("packet error: then ERR_UNAVAILABLE", c.get_packet_error(), ERR_UNAVAILABLE)
	s.send_text("one")
	s.put_var([1, 2])
	await pump([c, srv], func(): return c.get_available_packet_count() >= 2)
	check_eq("packet error: get_packet returns the message", c.get_packet().get_string_from_utf8(), "one")
	check_eq("packet error: then OK", c.get_packet_error(), OK)
	c.get_packet()
	c.get_packet()
	check_eq("packet error: ERR_UNAVAILABLE again once the queue is empty", c.get_packet_error(), ERR_UNAVAILABLE)
	s.put_var({"a": 1})
	await pump([c, srv], func(): return c.get_available_packet_count() >= 1)
	check_eq("packet error: get_var reads the value", c.get_var(), {"a": 1})
	check_eq("packet error: get_var does not update get_packet_error (still ERR_UNAVAILABLE)", c.get_packet_error(), ERR_UNAVAILABLE)
	return true
