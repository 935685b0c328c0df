extends "res://tests/lib/suite.gd"
## Volume with the class under test as the client: 1 MiB binary and text messages both ways, and
## order + content of 1000 mixed text/binary messages (0..4 KiB) echoed by the Python server and by
## the engine server.

## Buffer size on both ends for the 1 MiB tests. inbound_buffer_size is the engine's per-frame limit
## and outbound_buffer_size its per-send limit, so both must exceed the message size.
const BIG := 4 * 1024 * 1024
const MIB := 1024 * 1024
const MIXED_COUNT := 1000


func tests() -> Array[Callable]:
	return [test_mib_engine, test_mib_python, test_mixed_python, test_mixed_engine]


func _big_buffers(p: Object) -> void:
	p.inbound_buffer_size = BIG
	p.outbound_buffer_size = BIG


## About 1 MiB of UTF-8 text with multi-byte characters, so frame/read boundaries split them.
static func _mib_text() -> String:
	var chunk := "héllo wörld ✓ 0123456789 ~ "
	return chunk.repeat(MIB / chunk.to_utf8_buffer().size() + 1)


func test_mib_engine() -> bool:
	var srv := engine_server(_big_buffers)
	var c = new_peer()
	_big_buffers(c)
	var opened: bool = await open(c, srv.url("/"), [srv])
	await pump([c, srv], func(): return srv.peer() != null and srv.peer().get_ready_state() == OPEN)
	if not check("1MiB engine: opens", opened and srv.peer() != null, "client %s" % state_name(c.get_ready_state())):
		return true
	var s: WebSocketPeer = srv.peer()
	var bin := Crypto.new().generate_random_bytes(MIB)
	var text := _mib_text()
	check_eq("1MiB engine: client send 1 MiB binary returns OK", c.send(bin), OK)
	check_eq("1MiB engine: client send_text ~1 MiB returns OK", c.send_text(text), OK)
	var got := await receive(s, 2, [c, srv], 15000)
	check("1MiB engine: c->s binary intact", got.size() >= 1 and got[0][0] == bin and not got[0][1],
			"got %d messages, first %s" % [got.size(), Check.show(got[0][0]) if got.size() > 0 else "-"])
	check("1MiB engine: c->s text intact", got.size() >= 2 and got[1][0].get_string_from_utf8() == text and got[1][1],
			"got %d messages" % got.size())
	s.send(bin)
	s.send_text(text)
	got = await receive(c, 2, [srv], 15000)
	check("1MiB engine: s->c binary intact", got.size() >= 1 and got[0][0] == bin and not got[0][1],
			"got %d messages, first %s" % [got.size(), Check.show(got[0][0]) if got.size() > 0 else "-"])
	check("1MiB engine: s->c text intact", got.size() >= 2 and got[1][0].get_string_from_utf8() == text and got[1][1],
			"got %d messages" % got.size())
	check_eq("1MiB engine: still OPEN", c.get_ready_state(), OPEN)
	return true


func test_mib_python() -> bool:
	if not need_echo("1MiB python"):
		return true
	var c = new_peer()
	_big_buffers(c)
	var opened: bool = await open(c, py_url("/echo"))
	if not check("1MiB python: opens", opened, "state %s" % state_name(c.get_ready_state())):
		return true
	var bin := Crypto.new().generate_random_bytes(MIB)
	var text := _mib_text()
	check_eq("1MiB python: send 1 MiB binary returns OK", c.send(bin), OK)
	check_eq("1MiB python: send_text ~1 MiB returns OK", c.send_text(text), OK)
	var got := await receive(c, 2, [], 15000)
	check("1MiB python: binary echo intact", got.size() >= 1 and got[0][0] == bin and not got[0][1],
			"got %d messages, state %s" % [got.size(), state_name(c.get_ready_state())])
	check("1MiB python: text echo intact", got.size() >= 2 and got[1][0].get_string_from_utf8() == text and got[1][1],
			"got %d messages" % got.size())
	return true


## MIXED_COUNT messages [bytes, is_text] of 0..4096 bytes, reproducible (fixed seed).
static func _mixed_messages() -> Array:
	var rng := RandomNumberGenerator.new()
	rng.seed = 6455
	var pool := Crypto.new().generate_random_bytes(8192)
	var text_pool := "abc ✓ é 😀 0123456789 ".repeat(200)
	var out := []
	for i in MIXED_COUNT:
		var n := rng.randi_range(0, 4096) if i % 10 != 0 else rng.randi_range(0, 3)  # some tiny/empty ones
		if rng.randi() % 2 == 0:
			var start := rng.randi_range(0, pool.size() - n)
			out.append([pool.slice(start, start + n), false])
		else:
			# substr counts characters; multi-byte ones keep the byte size at or above n/4.
			out.append([text_pool.substr(rng.randi_range(0, 100), n / 4 + 1).to_utf8_buffer(), true])
	return out


## Sends all messages at once (the outbound limit is raised for that), then reads echoes while
## polling; reports the first difference in order, content or type.
func _mixed_round_trip(label: String, c: Object, others: Array) -> void:
	var msgs := _mixed_messages()
	var send_errors := 0
	for m in msgs:
		var err: int = c.send(m[0], TEXT if m[1] else BINARY)
		send_errors += int(err != OK)
	check_eq("%s: all %d sends return OK" % [label, MIXED_COUNT], send_errors, 0)
	var got := await receive(c, msgs.size(), others, 20000)
	check_eq("%s: %d messages echoed" % [label, MIXED_COUNT], got.size(), msgs.size())
	var first_bad := -1
	for i in mini(got.size(), msgs.size()):
		if got[i][0] != msgs[i][0] or got[i][1] != msgs[i][1]:
			first_bad = i
			break
	var detail := ""
	if first_bad >= 0:
		detail = "message %d: got %s text=%s, want %s text=%s" % [first_bad, Check.show(got[first_bad][0]),
				got[first_bad][1], Check.show(msgs[first_bad][0]), msgs[first_bad][1]]
	check("%s: order, content and type preserved" % label, first_bad == -1, detail)
	check_eq("%s: still OPEN" % label, c.get_ready_state(), OPEN)


func test_mixed_python() -> bool:
	if not need_echo("mixed python"):
		return true
	var c = new_peer()
	c.outbound_buffer_size = BIG  # ~2 MB are queued at once; inbound keeps its default (backpressure)
	var opened: bool = await open(c, py_url("/echo"))
	if check("mixed python: opens", opened, "state %s" % state_name(c.get_ready_state())):
		await _mixed_round_trip("mixed python", c, [])
	return true


func test_mixed_engine() -> bool:
	var srv := engine_server(func(s: WebSocketPeer): s.outbound_buffer_size = BIG, true)
	var c = new_peer()
	c.outbound_buffer_size = BIG
	var opened: bool = await open(c, srv.url("/"), [srv])
	if check("mixed engine: opens", opened, "state %s" % state_name(c.get_ready_state())):
		await _mixed_round_trip("mixed engine", c, [srv])
	return true
