extends "res://tests/lib/suite.gd"
# targets: @class WebSocketPeer
## Sub-protocol negotiation with the class under test as the SERVER: the first of the CLIENT's
## protocols that the server supports wins; no overlap, or a list on one side only, refuses the
## client. Engine: the refused client is dropped without an answer. RustWebSocketPeer deliberately
## answers HTTP 400 first (and says why in get_error_message()).

## [label, server supported_protocols, client protocols, selected protocol or null = refused]
const CASES := [
	["neither side", [], [], ""],
	["overlap", ["chat", "superchat"], ["superchat"], "superchat"],
	["client order wins", ["a", "b"], ["b", "a"], "b"],
	["client order wins over server order", ["x", "y", "z"], ["q", "z", "x"], "z"],
	["none in common", ["a"], ["x", "y"], null],
	["client offers, server has none", [], ["x"], null],
	["server requires, client offers none", ["a"], [], null],
]


func tests() -> Array[Callable]:
	return [test_godot_clients, test_python_client, test_node_client, test_raw_list_spacing]


func _server(protocols: Array) -> WsServer:
	return ws_server(cls, func(p): p.supported_protocols = PackedStringArray(protocols), true)


## One case with one Godot client class.
func _case(client_cls: String, label: String, ours: Array, theirs: Array, want: Variant) -> void:
	var name := "%s, %s client" % [label, "engine" if client_cls == "WebSocketPeer" else "rust"]
	var srv := _server(ours)
	var c = ClassDB.instantiate(client_cls)
	_peers.append(c)
	c.supported_protocols = PackedStringArray(theirs)
	c.connect_to_url(srv.url("/p"))
	await pump([c, srv], func():
		return c.get_ready_state() != CONNECTING and srv.peer() != null \
				and srv.peer().get_ready_state() != CONNECTING)
	var s = srv.peer()
	if not check("%s: server got the connection" % name, s != null):
		return
	if want != null:
		check_eq("%s: both OPEN" % name, [state_name(c.get_ready_state()), state_name(s.get_ready_state())], ["OPEN", "OPEN"])
		check_eq("%s: server get_selected_protocol" % name, s.get_selected_protocol(), want)
		check_eq("%s: client get_selected_protocol" % name, c.get_selected_protocol(), want)
		c.send_text("after negotiation")
		var got := await receive(c, 1, [srv])
		check_eq("%s: echo works" % name, got.map(func(m): return m[0].get_string_from_utf8()), ["after negotiation"])
		return
	await until_closed([c, s], [srv], 3000)
	check_eq("%s: refused: server CLOSED" % name, state_name(s.get_ready_state()), "CLOSED")
	check_eq("%s: refused: server close code -1" % name, s.get_close_code(), -1)
	check_eq("%s: refused: client CLOSED" % name, state_name(c.get_ready_state()), "CLOSED")
	if not is_engine:
		check("%s: refused: server get_error_message names the sub-protocol (differs from engine)" % name,
				s.get_error_message().contains("sub-protocol"), "got \"%s\"" % s.get_error_message())
	if client_cls == "RustWebSocketPeer":
		var msg: String = c.get_error_message()
		if is_engine:
			check("%s: refused: engine server drops without an answer" % name,
					msg.contains("closed the connection during the handshake"), "client says \"%s\"" % msg)
		else:
			check("%s: refused: client saw HTTP 400 (differs from engine)" % name, msg.contains("400"), "client says \"%s\"" % msg)


func test_godot_clients() -> bool:
	var classes := ["WebSocketPeer"]
	if ClassDB.class_exists("RustWebSocketPeer"):
		classes.append("RustWebSocketPeer")
	for client_cls in classes:
		for c in CASES:
			await _case(client_cls, c[0], c[1], c[2], c[3])
	return true


## External client: the protocol is in the 101 response; a refusal is HTTP 400 (engine: no answer).
func _external(kind: String, label: String, ours: Array, theirs: Array, want: Variant) -> void:
	var name := "%s, %s client" % [label, kind]
	var srv := _server(ours)
	var proc := ext_client(kind, srv.url("/p"), PackedStringArray(["--protocols", ",".join(theirs)]))
	var res = await client_result(proc, [srv])
	if not check("%s: reported a result" % name, res is Dictionary, proc.error if proc.error != "" else "no result"):
		return
	if want != null:
		check("%s: opened, echo ok" % name, res.ok, "result %s" % JSON.stringify(res))
		check_eq("%s: selected protocol" % name, res.protocol, want)
		check_eq("%s: Sec-WebSocket-Protocol header" % name, res.headers.get("sec-websocket-protocol"), want)
		return
	check_eq("%s: refused: not opened" % name, res.opened, false)
	if is_engine:
		check_eq("%s: refused: engine drops without an HTTP answer" % name, int(res.status), 0)
	else:
		check_eq("%s: refused: HTTP 400 (differs from engine)" % name, int(res.status), 400)
		check_eq("%s: refused: Connection: close" % name, str(res.headers.get("connection")).to_lower(), "close")
	var s = srv.peer()
	if check("%s: server got the connection" % name, s != null):
		await until_closed([s], [srv], 2000)
		check_eq("%s: refused: server CLOSED with -1" % name, [state_name(s.get_ready_state()), s.get_close_code()], ["CLOSED", -1])


func test_python_client() -> bool:
	for c in CASES.slice(1):
		await _external("python", c[0], c[1], c[2], c[3])
	return true


func test_node_client() -> bool:
	# Node `ws` sends its list in the given order; one success and one refusal are enough here.
	await _external("node", "client order wins", ["a", "b"], ["b", "a"], "b")
	await _external("node", "client offers, server has none", [], ["x"], null)
	return true


## The offer list may have spaces, and come in several header lines (RFC 6455 4.1).
func test_raw_list_spacing() -> bool:
	var srv := _server(["two", "three"])
	var raw := RawClient.new()
	raw.connect_to(srv.port)
	await pump([raw, srv], func(): return raw.is_connected_to_server())
	raw.send_text("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
			"Sec-WebSocket-Protocol: one ,  three\r\nSec-WebSocket-Protocol: two\r\n\r\n")
	await pump([raw, srv], func(): return raw.received.get_string_from_utf8().contains("\r\n\r\n") or raw.closed)
	check_eq("raw list: status", raw.status_line(), "HTTP/1.1 101 Switching Protocols")
	check("raw list: first supported of the client's list, spaces trimmed",
			raw.header_lines().has("Sec-WebSocket-Protocol: three"), "headers %s" % [raw.header_lines()])
	check_eq("raw list: server get_selected_protocol", srv.peer().get_selected_protocol() if srv.peer() else "", "three")
	return true
