extends "res://tests/lib/suite.gd"
## Small messages both ways with the class under test as the client: text vs binary, every send
## method, put_var/get_var, empty messages, the PacketPeer empty-put quirk, reading an empty queue.
## Server sides: the engine's WebSocketPeer (to see what exactly arrives) and the Python echo server.


func tests() -> Array[Callable]:
	return [test_client_to_engine, test_engine_to_client, test_var_round_trip, test_empty_messages,
			test_python_echo_types]


## Opens the class under test against a fresh engine server; returns [client, server] or [] after
## a failed check.
func _engine_pair(label: String) -> Array:
	var srv := engine_server()
	var c = new_peer()
	var opened: bool = await open(c, srv.url("/"), [srv])
	await pump([c, srv], func(): return srv.peer() != null and srv.peer().get_ready_state() == OPEN)
	if not check("%s: connection opens" % label, opened and srv.peer() != null and srv.peer().get_ready_state() == OPEN,
			"client %s" % state_name(c.get_ready_state())):
		return []
	return [c, srv]


static func _texts(msgs: Array) -> Array:
	return msgs.map(func(m): return [m[0].get_string_from_utf8(), m[1]])


func test_client_to_engine() -> bool:
	var pair := await _engine_pair("c->s")
	if pair.is_empty():
		return true
	var c = pair[0]
	var srv = pair[1]
	var s: WebSocketPeer = srv.peer()
	check_eq("c->s: send_text returns OK", c.send_text("héllo ✓"), OK)
	check_eq("c->s: send WRITE_MODE_TEXT returns OK", c.send("as text".to_utf8_buffer(), TEXT), OK)
	check_eq("c->s: send WRITE_MODE_BINARY returns OK", c.send(PackedByteArray([0, 1, 2, 255]), BINARY), OK)
	check_eq("c->s: send default mode returns OK", c.send(PackedByteArray([7, 8])), OK)
	check_eq("c->s: put_packet returns OK", c.put_packet(PackedByteArray([9, 9, 9])), OK)
	var got := await receive(s, 5, [c, srv])
	check_eq("c->s: 5 messages arrive", got.size(), 5)
	if got.size() == 5:
		check_eq("c->s: send_text arrives as text, UTF-8", [got[0][0].get_string_from_utf8(), got[0][1]], ["héllo ✓", true])
		check_eq("c->s: send(WRITE_MODE_TEXT) arrives as text", [got[1][0].get_string_from_utf8(), got[1][1]], ["as text", true])
		check_eq("c->s: send(WRITE_MODE_BINARY) arrives as binary", got[2], [PackedByteArray([0, 1, 2, 255]), false])
		check_eq("c->s: send() defaults to binary", got[3], [PackedByteArray([7, 8]), false])
		check_eq("c->s: put_packet sends binary", got[4], [PackedByteArray([9, 9, 9]), false])
	check_eq("c->s: client still OPEN", c.get_ready_state(), OPEN)
	return true


func test_engine_to_client() -> bool:
	var pair := await _engine_pair("s->c")
	if pair.is_empty():
		return true
	var c = pair[0]
	var srv = pair[1]
	var s: WebSocketPeer = srv.peer()
	s.send_text("from server ✓")
	s.send(PackedByteArray([1, 2, 3]))
	s.send("text bytes".to_utf8_buffer(), TEXT)
	await pump([c, srv], func(): return c.get_available_packet_count() >= 3)
	check_eq("s->c: get_available_packet_count counts complete messages", c.get_available_packet_count(), 3)
	var p1: PackedByteArray = c.get_packet()
	check_eq("s->c: text message content", p1.get_string_from_utf8(), "from server ✓")
	check_eq("s->c: get_packet_error OK", c.get_packet_error(), OK)
	check_eq("s->c: was_string_packet true after text", c.was_string_packet(), true)
	check_eq("s->c: count decreases on read", c.get_available_packet_count(), 2)
	check_eq("s->c: binary message content", c.get_packet(), PackedByteArray([1, 2, 3]))
	check_eq("s->c: was_string_packet false after binary", c.was_string_packet(), false)
	check_eq("s->c: text-mode bytes", c.get_packet().get_string_from_utf8(), "text bytes")
	check_eq("s->c: was_string_packet true again", c.was_string_packet(), true)
	# Reading from an empty queue while OPEN: empty result and ERR_UNAVAILABLE, connection unharmed.
	check_eq("s->c: get_packet on empty queue returns empty", c.get_packet(), PackedByteArray())
	check_eq("s->c: get_packet_error on empty queue is ERR_UNAVAILABLE", c.get_packet_error(), ERR_UNAVAILABLE)
	check_eq("s->c: still OPEN after reading an empty queue", c.get_ready_state(), OPEN)
	return true


func test_var_round_trip() -> bool:
	var pair := await _engine_pair("var")
	if pair.is_empty():
		return true
	var c = pair[0]
	var srv = pair[1]
	var s: WebSocketPeer = srv.peer()
	var value := {"name": "ünïcode", "n": 42, "f": 1.5, "list": [1, "two", Vector2(3, 4)], "bytes": PackedByteArray([5, 6])}
	check_eq("var: client put_var returns OK", c.put_var(value), OK)
	await pump([c, srv], func(): return s.get_available_packet_count() >= 1)
	check_eq("var: server get_var equals the Dictionary", s.get_var(), value)
	check_eq("var: put_var sends binary", s.was_string_packet(), false)
	s.put_var(value)
	await pump([c, srv], func(): return c.get_available_packet_count() >= 1)
	check_eq("var: client get_var equals the Dictionary", c.get_var(), value)
	return true


func test_empty_messages() -> bool:
	var pair := await _engine_pair("empty")
	if pair.is_empty():
		return true
	var c = pair[0]
	var srv = pair[1]
	var s: WebSocketPeer = srv.peer()
	check_eq("empty: send(PackedByteArray()) returns OK", c.send(PackedByteArray()), OK)
	check_eq("empty: send_text(\"\") returns OK", c.send_text(""), OK)
	# PacketPeer quirk: put_packet of an empty array returns OK and sends nothing at all.
	check_eq("empty: put_packet(PackedByteArray()) returns OK", c.put_packet(PackedByteArray()), OK)
	c.send_text("marker")
	var got := await receive(s, 3, [c, srv])
	check_eq("empty: c->s zero-length binary, zero-length text, then marker (put_packet([]) sent nothing)",
			_texts(got), [["", false], ["", true], ["marker", true]])
	s.send(PackedByteArray())
	s.send_text("")
	s.send_text("end")
	got = await receive(c, 3, [srv])
	check_eq("empty: s->c zero-length binary and text arrive as packets", _texts(got), [["", false], ["", true], ["end", true]])
	if got.size() >= 1:
		check_eq("empty: zero-length packet is an empty PackedByteArray", got[0][0], PackedByteArray())
	return true


func test_python_echo_types() -> bool:
	if not need_echo("python echo"):
		return true
	var c = new_peer()
	var opened: bool = await open(c, py_url("/echo"))
	if not check("python echo: opens", opened, "state %s" % state_name(c.get_ready_state())):
		return true
	c.send_text("text ✓")
	c.send(PackedByteArray([0, 255, 128]))
	c.send("mode text".to_utf8_buffer(), TEXT)
	c.put_packet(PackedByteArray([42]))
	c.send(PackedByteArray())
	c.send_text("")
	c.put_var({"k": [1, 2]})
	var got := await receive(c, 7)
	check_eq("python echo: 7 messages come back", got.size(), 7)
	if got.size() == 7:
		check_eq("python echo: send_text", [got[0][0].get_string_from_utf8(), got[0][1]], ["text ✓", true])
		check_eq("python echo: binary", got[1], [PackedByteArray([0, 255, 128]), false])
		check_eq("python echo: WRITE_MODE_TEXT", [got[2][0].get_string_from_utf8(), got[2][1]], ["mode text", true])
		check_eq("python echo: put_packet", got[3], [PackedByteArray([42]), false])
		check_eq("python echo: empty binary", got[4], [PackedByteArray(), false])
		check_eq("python echo: empty text", got[5], [PackedByteArray(), true])
		check_eq("python echo: put_var bytes decode", bytes_to_var(got[6][0]), {"k": [1, 2]})
	return true
