extends "res://tests/lib/suite.gd"
## Misuse of the class under test as a client: invalid URLs and TLS options, sending in the wrong
## state, connect_to_url while CONNECTING or OPEN (the existing connection must keep working),
## messages over outbound_buffer_size.

const BAD_URLS := ["", "http://127.0.0.1:1234/", "ftp://x/", "ws://", "ws://[::1",
		"ws://127.0.0.1:0/", "ws://127.0.0.1:99999/"]


func tests() -> Array[Callable]:
	return [test_bad_urls, test_url_without_scheme, test_header_line_break, test_server_tls_options, test_send_while_closed, test_connect_while_connecting,
			test_connect_while_open, test_outbound_limit]


func test_bad_urls() -> bool:
	for url in BAD_URLS:
		var p = new_peer()
		check_eq("connect_to_url(\"%s\") is ERR_INVALID_PARAMETER" % url, p.connect_to_url(url), ERR_INVALID_PARAMETER)
		check_eq("connect_to_url(\"%s\") stays CLOSED" % url, p.get_ready_state(), CLOSED)
	return true


## The engine reads a URL without a scheme as ws:// (so a typo connects somewhere, godot#81839);
## RustWebSocketPeer deliberately refuses it.
func test_url_without_scheme() -> bool:
	var p = new_peer()
	var url := "127.0.0.1:%d/" % free_port()
	var err: int = p.connect_to_url(url)
	if is_engine:
		check_eq("URL without scheme (godot#81839, engine reads it as ws://): OK", err, OK)
	else:
		check_eq("URL without scheme (differs from engine, godot#81839): ERR_INVALID_PARAMETER", err, ERR_INVALID_PARAMETER)
		check_eq("URL without scheme (differs from engine, godot#81839): stays CLOSED", p.get_ready_state(), CLOSED)
	return true


## A line break in handshake_headers would inject request lines: the engine sends it as is,
## RustWebSocketPeer deliberately refuses it.
func test_header_line_break() -> bool:
	var p = new_peer()
	p.handshake_headers = PackedStringArray(["X-A: 1\r\nX-Injected: 2"])
	var err: int = p.connect_to_url("ws://127.0.0.1:%d/" % free_port())
	if is_engine:
		check_eq("handshake_headers with CRLF (engine sends it as is): OK", err, OK)
	else:
		check_eq("handshake_headers with CRLF (differs from engine): ERR_INVALID_PARAMETER", err, ERR_INVALID_PARAMETER)
		check_eq("handshake_headers with CRLF (differs from engine): stays CLOSED", p.get_ready_state(), CLOSED)
	return true


func test_server_tls_options() -> bool:
	var crypto := Crypto.new()
	var key := crypto.generate_rsa(2048)
	var cert := crypto.generate_self_signed_certificate(key, "CN=localhost")
	var p = new_peer()
	check_eq("connect_to_url with TLSOptions.server() is ERR_INVALID_PARAMETER",
			p.connect_to_url("ws://127.0.0.1:1/", TLSOptions.server(key, cert)), ERR_INVALID_PARAMETER)
	check_eq("connect_to_url with TLSOptions.server() stays CLOSED", p.get_ready_state(), CLOSED)
	return true


func test_send_while_closed() -> bool:
	var p = new_peer()
	check("CLOSED: send_text fails", p.send_text("x") != OK)
	check("CLOSED: send fails", p.send(PackedByteArray([1])) != OK)
	check("CLOSED: send(empty) fails", p.send(PackedByteArray()) != OK)
	check("CLOSED: put_packet fails", p.put_packet(PackedByteArray([1])) != OK)
	check("CLOSED: put_var fails", p.put_var(1) != OK)
	check("CLOSED: get_packet fails", p.get_packet().is_empty() and p.get_packet_error() != OK)
	check_eq("CLOSED: still CLOSED", p.get_ready_state(), CLOSED)
	return true


## A server that never answers the upgrade request keeps the client CONNECTING; then it starts
## answering and the original connection must complete and carry data.
func test_connect_while_connecting() -> bool:
	var srv := engine_server()
	srv.accepting = false  # TCP connects (listen backlog) but the HTTP upgrade gets no answer
	var c = new_peer()
	var url := srv.url("/first")
	check_eq("CONNECTING: connect_to_url OK", c.connect_to_url(url), OK)
	await pump([c, srv], func(): return false, 200)  # give the TCP connect time to complete
	check_eq("CONNECTING: still CONNECTING without an answer", c.get_ready_state(), CONNECTING)
	check("CONNECTING: send_text fails", c.send_text("x") != OK)
	check("CONNECTING: send fails", c.send(PackedByteArray([1])) != OK)
	check("CONNECTING: put_packet fails", c.put_packet(PackedByteArray([1])) != OK)
	check_eq("CONNECTING: connect_to_url again is ERR_ALREADY_IN_USE",
			c.connect_to_url(srv.url("/second")), ERR_ALREADY_IN_USE)
	check_eq("CONNECTING: still CONNECTING after the refused call", c.get_ready_state(), CONNECTING)
	check_eq("CONNECTING: requested URL unchanged", c.get_requested_url(), url)
	srv.accepting = true
	await pump([c, srv], func(): return c.get_ready_state() != CONNECTING)
	check_eq("CONNECTING: original connection opens", c.get_ready_state(), OPEN)
	if srv.peer():
		check_eq("CONNECTING: server saw the first URL", srv.peer().get_requested_url(), url)
	await _exchange("CONNECTING", c, srv)
	return true


func test_connect_while_open() -> bool:
	var srv := engine_server()
	var c = new_peer()
	var opened: bool = await open(c, srv.url("/"), [srv])
	if not check("OPEN: connection opens", opened, "state %s" % state_name(c.get_ready_state())):
		return true
	check_eq("OPEN: connect_to_url again is ERR_ALREADY_IN_USE", c.connect_to_url(srv.url("/other")), ERR_ALREADY_IN_USE)
	check_eq("OPEN: still OPEN", c.get_ready_state(), OPEN)
	check_eq("OPEN: requested URL unchanged", c.get_requested_url(), srv.url("/"))
	await _exchange("OPEN", c, srv)  # polls the server, so a second connection would show up
	check_eq("OPEN: no second connection reached the server", srv.peers.size(), 1)
	return true


## Both directions still work on `c` (connected to engine server `srv`).
func _exchange(label: String, c: Object, srv: EngineServer) -> void:
	await pump([c, srv], func(): return srv.peer() != null and srv.peer().get_ready_state() == OPEN)
	if not check("%s: server side OPEN" % label, srv.peer() != null and srv.peer().get_ready_state() == OPEN):
		return
	check_eq("%s: send still works" % label, c.send_text("still here"), OK)
	var got := await receive(srv.peer(), 1, [c, srv])
	check_eq("%s: server receives it" % label, got.map(func(m): return m[0].get_string_from_utf8()), ["still here"])
	srv.peer().send_text("you too")
	got = await receive(c, 1, [srv])
	check_eq("%s: client receives" % label, got.map(func(m): return m[0].get_string_from_utf8()), ["you too"])


## outbound_buffer_size caps the size of one send: one byte more fails with ERR_OUT_OF_MEMORY and
## leaves the connection usable; exactly the limit is accepted.
func test_outbound_limit() -> bool:
	if not need_echo("outbound limit"):
		return true
	var c = new_peer()
	c.outbound_buffer_size = 1000
	var opened: bool = await open(c, py_url("/echo"))
	if not check("outbound limit: opens", opened, "state %s" % state_name(c.get_ready_state())):
		return true
	var over := PackedByteArray()
	over.resize(1001)
	check_eq("outbound limit: 1001 bytes > outbound_buffer_size is ERR_OUT_OF_MEMORY", c.send(over), ERR_OUT_OF_MEMORY)
	check_eq("outbound limit: still OPEN after the refused send", c.get_ready_state(), OPEN)
	var exact := PackedByteArray()
	exact.resize(1000)
	exact.fill(7)
	check_eq("outbound limit: exactly outbound_buffer_size is OK", c.send(exact), OK)
	var got := await receive(c, 1)
	check("outbound limit: only the accepted message is echoed", got.size() == 1 and got[0][0] == exact,
			"got %d messages" % got.size())
	return true
