extends "res://tests/lib/suite.gd"
# targets: @class WebSocketPeer
## The class used from a GDScript Thread, as networking code often does: created, connected,
## polled, read and closed on a thread that is not the main one; a peer handed from the main
## thread to a worker; a server side (TCPServer + accept_stream) run entirely on a worker.
## (Before gdext's experimental-threads feature was enabled, the first call from a thread
## aborted the whole Godot process.)

const THREAD_TIMEOUT_MS := 8000


func tests() -> Array[Callable]:
	return [test_client_on_thread, test_handed_to_thread, test_server_on_thread]


## Connects, echoes three messages through the Python echo server and closes, all on `peer`,
## polling with short sleeps; returns what happened.
func _echo_session(peer: Object, url: String) -> Dictionary:
	var out := {"connect": peer.connect_to_url(url), "opened": false, "echoes": [], "closed": false}
	var end := Time.get_ticks_msec() + THREAD_TIMEOUT_MS
	while peer.get_ready_state() == CONNECTING and Time.get_ticks_msec() < end:
		peer.poll()
		OS.delay_msec(1)
	out["opened"] = peer.get_ready_state() == OPEN
	if not out["opened"]:
		return out
	for i in 3:
		peer.send_text("thread %d" % i)
	while out["echoes"].size() < 3 and peer.get_ready_state() == OPEN and Time.get_ticks_msec() < end:
		peer.poll()
		while peer.get_available_packet_count() > 0:
			out["echoes"].append(peer.get_packet().get_string_from_utf8())
		OS.delay_msec(1)
	peer.close(1000, "done")
	while peer.get_ready_state() != CLOSED and Time.get_ticks_msec() < end:
		peer.poll()
		OS.delay_msec(1)
	out["closed"] = peer.get_ready_state() == CLOSED
	out["code"] = peer.get_close_code()
	return out


func _check_session(label: String, r: Dictionary) -> void:
	check_eq("%s: connect_to_url OK" % label, r.get("connect"), OK)
	check("%s: opens" % label, r.get("opened", false))
	check_eq("%s: three echoes in order" % label, r.get("echoes"), ["thread 0", "thread 1", "thread 2"])
	check("%s: closes with the server's echo" % label, r.get("closed", false) and r.get("code") == 1000,
			str(r))


## Runs `work` on a new Thread and waits for it (the work itself is bounded in time).
func _on_thread(work: Callable) -> Variant:
	var t := Thread.new()
	if t.start(work) != OK:
		return null
	return t.wait_to_finish()


func test_client_on_thread() -> bool:
	if not need_echo("client on a thread"):
		return false
	var url := py_url("/echo")
	var r = _on_thread(func(): return _echo_session(new_peer(), url))
	check("client on a thread: the thread ran", r is Dictionary)
	if r is Dictionary:
		_check_session("client on a thread", r)
	return true


func test_handed_to_thread() -> bool:
	if not need_echo("handed to a thread"):
		return false
	var peer = new_peer()
	peer.inbound_buffer_size = 1 << 20
	var url := py_url("/echo")
	var r = _on_thread(func(): return _echo_session(peer, url))
	check("handed to a thread: the thread ran", r is Dictionary)
	if r is Dictionary:
		_check_session("handed to a thread", r)
	check_eq("handed to a thread: back on the main thread, still readable: CLOSED",
			peer.get_ready_state(), CLOSED)
	return true


## The server side on a worker: listens, accepts one connection with accept_stream, echoes one
## message, then waits for the client's close. The main thread's client talks to it meanwhile.
func test_server_on_thread() -> bool:
	var port := free_port()
	var server_cls := cls
	var ready_flag := [false]
	var work := func() -> Dictionary:
		var out := {"listen": FAILED, "accepted": false, "echoed": false, "closed": false}
		var tcp := TCPServer.new()
		out["listen"] = tcp.listen(port, "127.0.0.1")
		ready_flag[0] = true
		var end := Time.get_ticks_msec() + THREAD_TIMEOUT_MS
		while not tcp.is_connection_available() and Time.get_ticks_msec() < end:
			OS.delay_msec(1)
		if not tcp.is_connection_available():
			return out
		var s = ClassDB.instantiate(server_cls)
		out["accepted"] = s.accept_stream(tcp.take_connection()) == OK
		while s.get_ready_state() != CLOSED and Time.get_ticks_msec() < end:
			s.poll()
			while s.get_available_packet_count() > 0:
				var m: PackedByteArray = s.get_packet()
				s.send(m, WebSocketPeer.WRITE_MODE_TEXT)
				out["echoed"] = true
			OS.delay_msec(1)
		out["closed"] = s.get_ready_state() == CLOSED
		out["code"] = s.get_close_code()
		tcp.stop()
		return out
	var t := Thread.new()
	if not check("server on a thread: thread starts", t.start(work) == OK):
		return false
	var wait_end := Time.get_ticks_msec() + THREAD_TIMEOUT_MS
	while not ready_flag[0] and Time.get_ticks_msec() < wait_end:
		OS.delay_msec(1)
	var c = new_peer()
	var opened: bool = await open(c, "ws://127.0.0.1:%d/" % port)
	check("server on a thread: client opens", opened, state_name(c.get_ready_state()))
	if opened:
		c.send_text("hello worker")
		var got := await receive(c, 1)
		check_eq("server on a thread: echo", got.map(func(m): return m[0].get_string_from_utf8()),
				["hello worker"])
		c.close(1000, "bye")
		await until_closed([c])
	else:
		c.close(-1)
	var r = t.wait_to_finish()
	check("server on a thread: the thread ran", r is Dictionary)
	if r is Dictionary:
		check_eq("server on a thread: listen OK", r.get("listen"), OK)
		check("server on a thread: accept_stream OK", r.get("accepted", false))
		check("server on a thread: echoed", r.get("echoed", false))
		check("server on a thread: CLOSED with the client's 1000", r.get("closed", false) and r.get("code") == 1000,
				str(r))
	return true
