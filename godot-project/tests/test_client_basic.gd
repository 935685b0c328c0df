extends "res://tests/lib/suite.gd"
## Class shape and the opening handshake, with the class under test as the client:
## defaults, constants, API surface, CONNECTING -> OPEN against the engine and the Python server,
## requested URL, connected host/port, sub-protocol negotiation, handshake headers, Host header.


func tests() -> Array[Callable]:
	return [test_defaults, test_api_surface, test_open_engine, test_open_python,
			test_headers_python, test_protocol_python, test_protocol_engine, test_ipv6]


func test_defaults() -> bool:
	var p = new_peer()
	check("is PacketPeer", p is PacketPeer)
	check_eq("fresh: get_ready_state() is STATE_CLOSED", p.get_ready_state(), CLOSED)
	check_eq("fresh: get_close_code() is -1", p.get_close_code(), -1)
	check_eq("fresh: get_close_reason() is empty", p.get_close_reason(), "")
	check_eq("fresh: get_requested_url() is empty", p.get_requested_url(), "")
	check_eq("fresh: get_selected_protocol() is empty", p.get_selected_protocol(), "")
	check_eq("fresh: get_available_packet_count() is 0", p.get_available_packet_count(), 0)
	check_eq("fresh: get_current_outbound_buffered_amount() is 0",
			p.get_current_outbound_buffered_amount(), 0)
	check_eq("fresh: was_string_packet() is false", p.was_string_packet(), false)
	check_eq("default handshake_headers", p.handshake_headers, PackedStringArray())
	check_eq("default supported_protocols", p.supported_protocols, PackedStringArray())
	check_eq("default heartbeat_interval is float 0.0", p.heartbeat_interval, 0.0)
	check_eq("default inbound_buffer_size", p.inbound_buffer_size, 65535)
	check_eq("default outbound_buffer_size", p.outbound_buffer_size, 65535)
	check_eq("default max_queued_packets", p.max_queued_packets, 4096)
	check_eq("default encode_buffer_max_size (PacketPeer)", p.encode_buffer_max_size, 8 * 1024 * 1024)
	# Constants must be reachable through an instance, as scripts written for WebSocketPeer do.
	check_eq("constants STATE_CONNECTING..STATE_CLOSED are 0..3",
			[p.STATE_CONNECTING, p.STATE_OPEN, p.STATE_CLOSING, p.STATE_CLOSED], [0, 1, 2, 3])
	check_eq("constants WRITE_MODE_TEXT/BINARY are 0/1",
			[p.WRITE_MODE_TEXT, p.WRITE_MODE_BINARY], [0, 1])
	check_eq("ClassDB enums State and WriteMode",
			Array(ClassDB.class_get_enum_list(cls, true)).filter(func(e): return e in ["State", "WriteMode"]).size(), 2)
	# Setters: whitespace around protocol names is stripped; a negative heartbeat is refused.
	p.supported_protocols = PackedStringArray([" a ", "b\t"])
	check_eq("supported_protocols setter strips whitespace", p.supported_protocols, PackedStringArray(["a", "b"]))
	p.heartbeat_interval = 0.5
	p.heartbeat_interval = -1.0
	check_eq("negative heartbeat_interval is refused (value unchanged)", p.heartbeat_interval, 0.5)
	p.inbound_buffer_size = 1234
	p.outbound_buffer_size = 4321
	p.max_queued_packets = 77
	p.handshake_headers = PackedStringArray(["X-A: 1"])
	check_eq("properties store what was set",
			[p.inbound_buffer_size, p.outbound_buffer_size, p.max_queued_packets, p.handshake_headers],
			[1234, 4321, 77, PackedStringArray(["X-A: 1"])])
	return true


## Every method and property the engine binds on WebSocketPeer exists on the class under test with
## the same number of required arguments and the same default values.
func test_api_surface() -> bool:
	var missing := []
	var arity := []
	var defaults := []
	for m in ClassDB.class_get_method_list("WebSocketPeer", true):
		if not ClassDB.class_has_method(cls, m.name):
			missing.append(m.name)
			continue
		var ours = _method_info(m.name)
		var want_required: int = m.args.size() - m.default_args.size()
		var got_required: int = ours.args.size() - ours.default_args.size()
		if got_required != want_required or ours.args.size() < m.args.size():
			arity.append("%s(%d of %d required, want %d of %d)" % [m.name, got_required, ours.args.size(), want_required, m.args.size()])
		elif str(ours.default_args.slice(0, m.default_args.size())) != str(m.default_args):
			defaults.append("%s %s want %s" % [m.name, ours.default_args, m.default_args])
	check("API: every WebSocketPeer method exists", missing.is_empty(), "missing: %s" % [missing])
	check("API: same required argument counts", arity.is_empty(), ", ".join(arity))
	check("API: same default argument values", defaults.is_empty(), ", ".join(defaults))
	var props := []
	for prop in ClassDB.class_get_property_list("WebSocketPeer", true):
		if prop.usage & PROPERTY_USAGE_DEFAULT and not _has_property(prop.name):
			props.append(prop.name)
	check("API: every WebSocketPeer property exists", props.is_empty(), "missing: %s" % [props])
	return true


func _method_info(name: String) -> Dictionary:
	var c := cls
	while c != "":
		for m in ClassDB.class_get_method_list(c, true):
			if m.name == name:
				return m
		c = ClassDB.get_parent_class(c)
	return {}


func _has_property(name: String) -> bool:
	var c := cls
	while c != "":
		for prop in ClassDB.class_get_property_list(c, true):
			if prop.name == name:
				return true
		c = ClassDB.get_parent_class(c)
	return false


func test_open_engine() -> bool:
	var srv := engine_server()
	var c = new_peer()
	# Fragment and credentials are part of what the caller passed; the server must not see them.
	var url := "ws://127.0.0.1:%d/some/path?x=1&y=2#frag" % srv.port
	check_eq("engine: connect_to_url returns OK", c.connect_to_url(url), OK)
	check_eq("engine: state right after connect_to_url is CONNECTING", c.get_ready_state(), CONNECTING)
	check_eq("engine: get_requested_url while CONNECTING is the URL as passed", c.get_requested_url(), url)
	var states := [c.get_ready_state()]
	await pump([c, srv], func():
		if states.back() != c.get_ready_state():
			states.append(c.get_ready_state())
		return c.get_ready_state() != CONNECTING and srv.peer() != null and srv.peer().get_ready_state() != CONNECTING)
	check_eq("engine: states seen CONNECTING -> OPEN", states.map(state_name), ["CONNECTING", "OPEN"])
	check_eq("engine: server side is OPEN", srv.peer().get_ready_state() if srv.peer() else -1, OPEN)
	check_eq("engine: get_requested_url after open is unchanged", c.get_requested_url(), url)
	check_eq("engine: get_connected_host", c.get_connected_host(), "127.0.0.1")
	check_eq("engine: get_connected_port", c.get_connected_port(), srv.port)
	check_eq("engine: get_selected_protocol empty when none offered", c.get_selected_protocol(), "")
	if srv.peer():
		# Built by the server from the Host header and the request target: proves both were sent.
		check_eq("engine: server saw Host and target (no fragment)", srv.peer().get_requested_url(),
				"ws://127.0.0.1:%d/some/path?x=1&y=2" % srv.port)
		check_eq("engine: server sees the client's loopback address", srv.peer().get_connected_host(), "127.0.0.1")
	return true


func test_open_python() -> bool:
	if not need_echo("python open"):
		return true
	var c = new_peer()
	var url := py_url("/echo")
	check_eq("python: connect_to_url returns OK", c.connect_to_url(url), OK)
	check_eq("python: state right after connect_to_url is CONNECTING", c.get_ready_state(), CONNECTING)
	var states := [c.get_ready_state()]
	await pump([c], func():
		if states.back() != c.get_ready_state():
			states.append(c.get_ready_state())
		return c.get_ready_state() != CONNECTING)
	check_eq("python: states seen CONNECTING -> OPEN", states.map(state_name), ["CONNECTING", "OPEN"])
	check_eq("python: get_requested_url", c.get_requested_url(), url)
	check_eq("python: get_connected_host", c.get_connected_host(), "127.0.0.1")
	check_eq("python: get_connected_port", c.get_connected_port(), echo_port)
	c.send_text("ping?")
	var got := await receive(c, 1)
	check_eq("python: first echo", got.map(func(m): return m[0].get_string_from_utf8()), ["ping?"])
	return true


func test_headers_python() -> bool:
	if not need_echo("python headers"):
		return true
	var c = new_peer()
	c.handshake_headers = PackedStringArray(["X-Test-Header: hello there", "Authorization: Bearer t0k"])
	var opened: bool = await open(c, py_url("/headers?a=1&b=%20"))
	check("headers: opens", opened, "state %s" % state_name(c.get_ready_state()))
	var got := await receive(c, 1)
	var h = JSON.parse_string(got[0][0].get_string_from_utf8()) if got.size() == 1 else null
	if not check("headers: server reported the request headers as JSON", h is Dictionary, "got %s" % [got]):
		return true
	check_eq("headers: custom header X-Test-Header arrives verbatim", h.get("x-test-header"), "hello there")
	check_eq("headers: custom header Authorization arrives", h.get("authorization"), "Bearer t0k")
	check_eq("headers: Host has the non-default port", h.get("host"), "127.0.0.1:%d" % echo_port)
	check_eq("headers: request target with query", h.get("path"), "/headers?a=1&b=%20")
	check_eq("headers: Sec-WebSocket-Version 13", h.get("sec-websocket-version"), "13")
	check_eq("headers: Upgrade websocket", str(h.get("upgrade")).to_lower(), "websocket")
	check_eq("headers: key is base64 of 16 bytes", Marshalls.base64_to_raw(str(h.get("sec-websocket-key"))).size(), 16)
	check("headers: no Sec-WebSocket-Protocol without supported_protocols",
			not h.has("sec-websocket-protocol"), "sent %s" % h.get("sec-websocket-protocol"))
	# The engine never offers permessage-deflate; offering it would change what servers send.
	check("headers: no Sec-WebSocket-Extensions", not h.has("sec-websocket-extensions"),
			"sent %s" % h.get("sec-websocket-extensions"))
	return true


func test_protocol_python() -> bool:
	if not need_echo("python protocol"):
		return true
	var c = new_peer()
	c.supported_protocols = PackedStringArray(["x-none", "chat"])
	var opened: bool = await open(c, py_url("/protocol?accept=chat"))
	check("protocol: opens when the server selects one we offered", opened, "state %s" % state_name(c.get_ready_state()))
	check_eq("protocol: get_selected_protocol", c.get_selected_protocol(), "chat")
	# Offering protocols to a server that answers without one fails the handshake (engine rule).
	var d = new_peer()
	d.supported_protocols = PackedStringArray(["chat"])
	var opened_d: bool = await open(d, py_url("/echo"))
	check("protocol: handshake fails when the server selects none of ours", not opened_d and d.get_ready_state() == CLOSED,
			"state %s" % state_name(d.get_ready_state()))
	check_eq("protocol: failed handshake close code is -1", d.get_close_code(), -1)
	return true


func test_protocol_engine() -> bool:
	var srv := engine_server(func(s: WebSocketPeer): s.supported_protocols = PackedStringArray(["a", "b"]))
	var c = new_peer()
	# The server walks the client's list in the client's order: "b" wins over "a".
	c.supported_protocols = PackedStringArray(["zz", "b", "a"])
	var opened: bool = await open(c, srv.url("/"), [srv])
	check("engine protocol: opens", opened, "state %s" % state_name(c.get_ready_state()))
	check_eq("engine protocol: client get_selected_protocol (client's order)", c.get_selected_protocol(), "b")
	await pump([c, srv], func(): return srv.peer() != null and srv.peer().get_ready_state() == OPEN)
	check_eq("engine protocol: server agrees", srv.peer().get_selected_protocol() if srv.peer() else "", "b")
	return true


## IPv6 loopback. The engine writes the Host header without brackets (its server then reports
## "ws://::1:PORT/..."); RustWebSocketPeer deliberately writes "[::1]:PORT".
func test_ipv6() -> bool:
	var srv := engine_server(Callable(), false, "::1")
	if not srv.tcp.is_listening():
		print("# test_ipv6 skipped: cannot listen on ::1 (no IPv6 loopback)")
		return true
	var c = new_peer()
	var opened: bool = await open(c, srv.url("/v6"), [srv])
	await pump([c, srv], func(): return srv.peer() != null and srv.peer().get_ready_state() == OPEN)
	if not check("ipv6: opens", opened and srv.peer() != null, "state %s" % state_name(c.get_ready_state())):
		return true
	# IPAddress's text form, which the engine returns: all eight groups, no "::" shortening.
	check_eq("ipv6: get_connected_host in the engine's IPAddress form", c.get_connected_host(), "0:0:0:0:0:0:0:1")
	check_eq("ipv6: get_connected_port", c.get_connected_port(), srv.port)
	var want_host := "::1" if is_engine else "[::1]"
	check_eq("ipv6: Host header %s" % ("(engine: no brackets)" if is_engine else "with brackets (differs from engine)"),
			srv.peer().get_requested_url(), "ws://%s:%d/v6" % [want_host, srv.port])
	return true
