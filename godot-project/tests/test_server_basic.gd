extends "res://tests/lib/suite.gd"
# targets: @class WebSocketPeer
## The class under test as the SERVER (TCPServer.take_connection() + accept_stream()), with
## clients: the engine's WebSocketPeer, RustWebSocketPeer, Python `websockets` and Node `ws`
## (external processes, tests/peers/ws_client.*). Messages both ways, close codes, requested URL,
## connected host/port, handshake_headers in the 101 response, several clients at once.

const SERVER_HEADER := "X-Served-By: godot-websocket-tests"


func tests() -> Array[Callable]:
	return [test_engine_client, test_rust_client, test_python_client, test_node_client,
			test_raw_request, test_many_clients]


func _configure(p: Object) -> void:
	p.handshake_headers = PackedStringArray([SERVER_HEADER])


## Connects `client` (any class with WebSocketPeer's API) to `srv`; true when both sides are OPEN.
func _open_pair(client: Object, srv: WsServer, url: String) -> bool:
	if client.connect_to_url(url) != OK:
		return false
	await pump([client, srv], func():
		return client.get_ready_state() != CONNECTING and srv.peer() != null \
				and srv.peer().get_ready_state() != CONNECTING)
	return client.get_ready_state() == OPEN and srv.peer() != null and srv.peer().get_ready_state() == OPEN


## Text and binary both ways, then the client closes with a code; the server reports it.
func _godot_client(label: String, client_cls: String) -> void:
	var srv := ws_server(cls, _configure)
	var c = ClassDB.instantiate(client_cls)
	_peers.append(c)
	var url := srv.url("/room/1?x=1&y=%20")
	var opened: bool = await _open_pair(c, srv, url)
	if not check("%s: both sides OPEN" % label, opened, "client %s, server %s" % [state_name(c.get_ready_state()),
			state_name(srv.peer().get_ready_state()) if srv.peer() else "no connection"]):
		return
	var s = srv.peer()
	check_eq("%s: accept_stream returned OK" % label, srv.accept_errors, [OK] as Array[int])
	check_eq("%s: server get_requested_url is ws:// + Host + target" % label, s.get_requested_url(), url)
	check_eq("%s: server get_connected_host" % label, s.get_connected_host(), "127.0.0.1")
	check("%s: server get_connected_port is the client's port" % label,
			s.get_connected_port() > 0 and s.get_connected_port() != srv.port, "got %d" % s.get_connected_port())
	check_eq("%s: server get_selected_protocol empty" % label, s.get_selected_protocol(), "")
	c.send_text("from client ✓")
	c.send(PackedByteArray([0, 1, 2, 255]))
	var got := await receive(s, 2, [c, srv])
	check_eq("%s: server receives text then binary" % label, got,
			[["from client ✓".to_utf8_buffer(), true], [PackedByteArray([0, 1, 2, 255]), false]])
	check_eq("%s: server send_text OK" % label, s.send_text("from server"), OK)
	check_eq("%s: server send binary OK" % label, s.send(PackedByteArray([9, 8]), BINARY), OK)
	got = await receive(c, 2, [srv])
	check_eq("%s: client receives text then binary" % label, got,
			[["from server".to_utf8_buffer(), true], [PackedByteArray([9, 8]), false]])
	c.close(4000, "bye")
	var closed: bool = await until_closed([c, s], [srv])
	check("%s: both sides CLOSED after the client's close" % label, closed,
			"client %s, server %s" % [state_name(c.get_ready_state()), state_name(s.get_ready_state())])
	check_eq("%s: server saw code and reason" % label, [s.get_close_code(), s.get_close_reason()], [4000, "bye"])
	check_eq("%s: client got the echo" % label, [c.get_close_code(), c.get_close_reason()], [4000, "bye"])


func test_engine_client() -> bool:
	await _godot_client("engine client", "WebSocketPeer")
	# Server-initiated close too.
	var srv := ws_server(cls)
	var c := WebSocketPeer.new()
	_peers.append(c)
	if check("engine client, server closes: opens", await _open_pair(c, srv, srv.url("/"))):
		srv.peer().close(4100, "server says bye")
		var closed: bool = await until_closed([c, srv.peer()], [srv])
		check("engine client, server closes: both CLOSED", closed)
		check_eq("engine client, server closes: client saw code and reason",
				[c.get_close_code(), c.get_close_reason()], [4100, "server says bye"])
		check_eq("engine client, server closes: server got the echo", srv.peer().get_close_code(), 4100)
	return true


func test_rust_client() -> bool:
	if not ClassDB.class_exists("RustWebSocketPeer"):
		print("# test_rust_client skipped: RustWebSocketPeer not registered")
		return true
	await _godot_client("rust client", "RustWebSocketPeer")
	return true


func _external(kind: String) -> void:
	var srv := ws_server(cls, _configure, true)
	var url := srv.url("/ext/%s?k=v" % kind)
	var proc := ext_client(kind, url, PackedStringArray(["--close", "4001", "--reason", kind]))
	var seen := {}  # the connected address, while OPEN (it is gone once CLOSED)
	await pump([proc, srv], func():
		var sp = srv.peer()
		if sp != null and sp.get_ready_state() == OPEN and seen.is_empty():
			seen.host = sp.get_connected_host()
			seen.port = sp.get_connected_port()
		return proc.done(), 12000)
	var res = proc.result
	if not check("%s client: reported a result" % kind, res is Dictionary, proc.error if proc.error != "" else "no result within 12 s"):
		return
	check("%s client: opened and got every message echoed with its type" % kind,
			res.opened and res.echoed == res.sent and res.sent == 4.0, "result %s" % JSON.stringify(res))
	check_eq("%s client: HTTP 101" % kind, int(res.status), 101)
	var headers: Dictionary = res.headers
	check_eq("%s client: handshake_headers entry in the 101 response" % kind,
			headers.get("x-served-by"), "godot-websocket-tests")
	check_eq("%s client: Upgrade websocket" % kind, str(headers.get("upgrade")).to_lower(), "websocket")
	check("%s client: no extension negotiated" % kind, not headers.has("sec-websocket-extensions"),
			"got %s" % headers.get("sec-websocket-extensions"))
	check_eq("%s client: no sub-protocol" % kind, res.protocol, "")
	check_eq("%s client: the server echoed our close code" % kind, res.close_code, 4001.0)
	check_eq("%s client: and reason" % kind, res.close_reason, kind)
	var s = srv.peer()
	if check("%s client: server has the connection" % kind, s != null):
		await until_closed([s], [srv], 2000)
		check_eq("%s client: server CLOSED" % kind, state_name(s.get_ready_state()), "CLOSED")
		check_eq("%s client: server saw code and reason" % kind, [s.get_close_code(), s.get_close_reason()], [4001, kind])
		check_eq("%s client: server get_requested_url" % kind, s.get_requested_url(), url)
		check_eq("%s client: server get_connected_host while OPEN" % kind, seen.get("host"), "127.0.0.1")
		check("%s client: server get_connected_port while OPEN" % kind, seen.get("port", 0) > 0 and seen.get("port") != srv.port,
				"got %s" % seen.get("port"))


func test_python_client() -> bool:
	await _external("python")
	return true


func test_node_client() -> bool:
	await _external("node")
	return true


## A hand-written request: the exact 101 answer (RFC 6455 sample key), a Host header that is not
## the address connected to, and get_connected_port = the client's local port.
func test_raw_request() -> bool:
	var srv := ws_server(cls, _configure, true)
	var raw := RawClient.new()
	raw.connect_to(srv.port)
	await pump([raw, srv], func(): return raw.is_connected_to_server() and srv.peer() != null)
	if not check("raw: TCP connected and taken by the server", raw.is_connected_to_server() and srv.peer() != null):
		return true
	var s = srv.peer()
	check_eq("raw: server CONNECTING before the request", s.get_ready_state(), CONNECTING)
	check_eq("raw: get_connected_host before the request", s.get_connected_host(), "127.0.0.1")
	check_eq("raw: get_connected_port is the client's local port", s.get_connected_port(), raw.tcp.get_local_port())
	raw.send_text("GET /chat?q=1 HTTP/1.1\r\nHost: example.com:1234\r\nUpgrade: websocket\r\n" +
			"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	await pump([raw, srv], func(): return raw.received.get_string_from_utf8().contains("\r\n\r\n") or raw.closed)
	check_eq("raw: status line", raw.status_line(), "HTTP/1.1 101 Switching Protocols")
	var lines := raw.header_lines()
	check("raw: Sec-WebSocket-Accept of the RFC 6455 sample key",
			lines.has("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "headers %s" % [lines])
	check("raw: handshake_headers line verbatim", lines.has(SERVER_HEADER), "headers %s" % [lines])
	check("raw: no Sec-WebSocket-Protocol", not Array(lines).any(func(l): return l.to_lower().begins_with("sec-websocket-protocol")),
			"headers %s" % [lines])
	check_eq("raw: server OPEN", s.get_ready_state(), OPEN)
	check_eq("raw: requested URL from Host header and target", s.get_requested_url(), "ws://example.com:1234/chat?q=1")
	# A masked text frame "hi" (mask 1,2,3,4) is echoed unmasked.
	raw.send(PackedByteArray([0x81, 0x82, 1, 2, 3, 4, 0x68 ^ 1, 0x69 ^ 2]))
	var head_len := raw.received.get_string_from_utf8().find("\r\n\r\n") + 4
	await pump([raw, srv], func(): return raw.received.size() >= head_len + 4 or raw.closed)
	check_eq("raw: echoed frame is unmasked text \"hi\"", raw.received.slice(head_len), PackedByteArray([0x81, 2, 0x68, 0x69]))
	return true


## Engine, Rust, Python and Node clients on one server at the same time.
func test_many_clients() -> bool:
	var srv := ws_server(cls, _configure, true)
	var godot_clients := []
	for i in 3:
		var c = ClassDB.instantiate("RustWebSocketPeer" if i == 2 and ClassDB.class_exists("RustWebSocketPeer") else "WebSocketPeer")
		_peers.append(c)
		c.connect_to_url(srv.url("/many/%d" % i))
		godot_clients.append(c)
	var procs := [ext_client("python", srv.url("/many/py")), ext_client("node", srv.url("/many/node"))]
	await pump(godot_clients + [srv], func(): return godot_clients.all(func(c): return c.get_ready_state() != CONNECTING))
	for i in godot_clients.size():
		godot_clients[i].send_text("client %d" % i)
	var echoed := []
	await pump(godot_clients + procs + [srv], func():
		for c in godot_clients:
			while c.get_available_packet_count() > 0:
				echoed.append(c.get_packet().get_string_from_utf8())
		return echoed.size() >= godot_clients.size() and procs.all(func(p): return p.done()), 12000)
	echoed.sort()
	check_eq("many: each Godot client got its own echo", echoed, ["client 0", "client 1", "client 2"])
	for p in procs:
		check("many: %s client ok" % p.kind, p.field("ok", false) == true or (p.field("echoed", 0) == 4.0 and p.field("opened", false)),
				p.error if p.error != "" else "result %s" % JSON.stringify(p.result))
	check_eq("many: server accepted 5 connections", srv.peers.size(), 5)
	var urls := srv.peers.map(func(p): return p.get_requested_url().get_slice("/many/", 1))
	urls.sort()
	check_eq("many: each server peer has its own requested URL", urls, ["0", "1", "2", "node", "py"])
	return true
