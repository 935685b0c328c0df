extends "res://tests/lib/mp_suite.gd"
# targets: @mpclass WebSocketMultiplayerPeer
## The class under test (a WebSocketMultiplayerPeer class) at its edges: the API's defaults and
## calls in the wrong state, a client that never completes its handshake, servers that send a
## malformed id or none, refuse_new_connections, disconnect_peer (normal and forced, both
## sides), and TLS servers with TLS clients of both classes.


func tests() -> Array[Callable]:
	return [test_defaults, test_wrong_state, test_silent_client_dropped, test_plain_http_client,
			test_bad_ids, test_text_id,
			test_no_id, test_refuse_new_connections, test_disconnect_peer, test_client_disconnects,
			test_tls, test_wire, test_client_close_frame, test_send_refused, test_refused_mid_handshake,
			test_close_from_handler, test_forced_disconnect_drops_unread, test_long_handshake_timeout,
			test_compression_passed_through]


func test_defaults() -> bool:
	var p = mp_peer()
	var e := WebSocketMultiplayerPeer.new()
	for prop in ["supported_protocols", "handshake_headers", "inbound_buffer_size",
			"outbound_buffer_size", "max_queued_packets", "handshake_timeout"]:
		check_eq("defaults: %s as the engine's" % prop, p.get(prop), e.get(prop))
		check_eq("defaults: %s default in ClassDB as the engine's" % prop,
				ClassDB.class_get_property_default_value(cls, prop),
				ClassDB.class_get_property_default_value(ENGINE_MP, prop))
	for m in ["create_client", "create_server", "get_peer", "get_peer_address", "get_peer_port"]:
		var ours: Array = ClassDB.class_get_method_list(cls, true).filter(func(x): return x.name == m)
		var theirs: Array = ClassDB.class_get_method_list(ENGINE_MP, true).filter(func(x): return x.name == m)
		check("defaults: %s has the engine's arguments and defaults" % m,
				ours.size() == 1 and theirs.size() == 1 and ours[0].args.size() == theirs[0].args.size()
				and ours[0].default_args == theirs[0].default_args,
				"ours %s, engine %s" % [ours, theirs])
	check_eq("defaults: DISCONNECTED", p.get_connection_status(), DISCONNECTED)
	check_eq("defaults: unique id 0", p.get_unique_id(), 0)
	check_eq("defaults: transfer mode reliable", p.transfer_mode, MultiplayerPeer.TRANSFER_MODE_RELIABLE)
	check_eq("defaults: transfer channel 0", p.transfer_channel, 0)
	check_eq("defaults: packet mode reliable", p.get_packet_mode(), MultiplayerPeer.TRANSFER_MODE_RELIABLE)
	check_eq("defaults: packet channel 0", p.get_packet_channel(), 0)
	check("defaults: server relay supported", p.is_server_relay_supported())
	check("defaults: not refusing new connections", not p.refuse_new_connections)
	p.transfer_mode = MultiplayerPeer.TRANSFER_MODE_UNRELIABLE
	p.transfer_channel = 3
	check("defaults: transfer mode and channel keep what was set",
			p.transfer_mode == MultiplayerPeer.TRANSFER_MODE_UNRELIABLE and p.transfer_channel == 3)
	p.refuse_new_connections = true
	check("defaults: refuse_new_connections keeps what was set", p.refuse_new_connections)
	p.handshake_timeout = 0.0
	check_eq("defaults: handshake_timeout 0 is refused", p.handshake_timeout, 3.0)
	p.handshake_timeout = -1.0
	check_eq("defaults: handshake_timeout < 0 is refused", p.handshake_timeout, 3.0)
	p.handshake_timeout = 1.5
	check_eq("defaults: handshake_timeout 1.5 is kept", p.handshake_timeout, 1.5)
	check_eq("defaults: max packet size as the engine reports it", p.get_max_packet_size() if p.has_method("get_max_packet_size") else -1,
			e.get_max_packet_size() if e.has_method("get_max_packet_size") else -1)
	return true


func test_wrong_state() -> bool:
	var p = mp_peer()
	check_eq("wrong state: put_packet before connecting", p.put_packet(PackedByteArray([1])), ERR_UNCONFIGURED)
	check_eq("wrong state: no packets", p.get_available_packet_count(), 0)
	check_eq("wrong state: get_packet_peer with no packet is 1", p.get_packet_peer(), 1)
	check("wrong state: get_peer of an unknown id is null", p.get_peer(5) == null)
	check_eq("wrong state: get_peer_address of an unknown id", p.get_peer_address(5), "")
	check_eq("wrong state: get_peer_port of an unknown id", p.get_peer_port(5), 0)
	p.disconnect_peer(5)
	check_eq("wrong state: disconnect_peer of an unknown id changes nothing", p.get_connection_status(), DISCONNECTED)
	p.poll()
	p.close()
	check_eq("wrong state: poll and close while idle", p.get_connection_status(), DISCONNECTED)
	check_eq("wrong state: create_client with server TLSOptions",
			p.create_client("wss://127.0.0.1:1", TLSOptions.server(CryptoKey.new(), X509Certificate.new())), ERR_INVALID_PARAMETER)
	check_eq("wrong state: create_server with client TLSOptions",
			p.create_server(free_port(), "127.0.0.1", TLSOptions.client()), ERR_INVALID_PARAMETER)
	check_eq("wrong state: still DISCONNECTED after refused calls", p.get_connection_status(), DISCONNECTED)
	var port := free_port()
	check_eq("wrong state: create_server", p.create_server(port, "127.0.0.1"), OK)
	check_eq("wrong state: create_server twice", p.create_server(free_port(), "127.0.0.1"), ERR_ALREADY_IN_USE)
	check_eq("wrong state: create_client while serving", p.create_client("ws://127.0.0.1:%d" % port), ERR_ALREADY_IN_USE)
	check_eq("wrong state: server status and id unchanged", [p.get_connection_status(), p.get_unique_id()], [CONNECTED, 1])
	p.set_target_peer(12345)
	check_eq("wrong state: put_packet to an unknown peer", p.put_packet(PackedByteArray([1])), ERR_INVALID_PARAMETER)
	p.set_target_peer(0)
	check_eq("wrong state: broadcast with no peers", p.put_packet(PackedByteArray([1])), OK)
	var q = mp_peer()
	check_eq("wrong state: create_server on a port in use", q.create_server(port, "127.0.0.1"), ERR_ALREADY_IN_USE)
	check_eq("wrong state: after a port in use, DISCONNECTED", q.get_connection_status(), DISCONNECTED)
	p.close()
	check_eq("wrong state: after close the port is free again", q.create_server(port, "127.0.0.1"), OK)
	q.close()
	var c = mp_peer()
	check_eq("wrong state: create_client", c.create_client("ws://127.0.0.1:%d" % free_port()), OK)
	check_eq("wrong state: client CONNECTING, id 0", [c.get_connection_status(), c.get_unique_id()], [CONNECTING_MP, 0])
	check_eq("wrong state: create_client twice", c.create_client("ws://127.0.0.1:1"), ERR_ALREADY_IN_USE)
	check_eq("wrong state: put_packet while connecting", c.put_packet(PackedByteArray([1])), ERR_UNCONFIGURED)
	c.close()
	check_eq("wrong state: client close() is final at once", c.get_connection_status(), DISCONNECTED)
	return true


## A TCP client that connects and never sends its upgrade request is dropped after
## handshake_timeout; a joined client keeps working and nobody sees a new peer.
func test_silent_client_dropped() -> bool:
	var s := start_server("silentServer", "", null, func(p): p.handshake_timeout = 0.5)
	var server: Node = s[0]
	if server == null:
		return true
	var good := start_client("silentGood", "ws://127.0.0.1:%d" % s[1])
	if not check("silent: a normal client joined", await until_joined(server, [good])):
		return true
	var raw := RawClient.new()
	var started := Time.get_ticks_msec()  # before the server can accept it (the timeout's start)
	raw.connect_to(s[1])
	await pump([raw], func(): return raw.is_connected_to_server() or raw.closed, 3000)
	var dropped: bool = await pump([raw], func(): return raw.closed, 8000)
	var waited := Time.get_ticks_msec() - started
	check("silent: the silent connection was dropped", dropped, "still open after %d ms" % waited)
	check("silent: not before handshake_timeout (0.5 s)", waited >= 500 - CLOCK_SLACK_MS, "dropped after %d ms" % waited)
	check_eq("silent: nothing was sent to it", raw.received.size(), 0)
	check_eq("silent: no peer_connected for it", server.events, [["connected", id_of(good)]])
	server.note.rpc_id(id_of(good), "still", 1)
	check("silent: the joined client still gets RPCs", await until_got(good, "still", 1))
	check_eq("silent: the joined client is still CONNECTED", status_of(good), CONNECTED)
	return true


## A plain HTTP request instead of a WebSocket upgrade. Not run against the engine's class: a
## `GET /` without upgrade headers crashes the engine's WebSocketPeer server side (see the
## README's Differences of RustWebSocketPeer), and with it the whole process.
func test_plain_http_client() -> bool:
	if is_engine:
		return true
	var s := start_server("httpServer")
	var server: Node = s[0]
	if server == null:
		return true
	var good := start_client("httpGood", "ws://127.0.0.1:%d" % s[1])
	if not check("http: a normal client joined", await until_joined(server, [good])):
		return true
	var raw := RawClient.new()
	raw.connect_to(s[1])
	await pump([raw], func(): return raw.is_connected_to_server(), 3000)
	raw.send_text("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	var closed: bool = await pump([raw], func(): return raw.closed, 5000)
	check("http: the connection is answered and closed", closed)
	check("http: with an HTTP 4xx answer", raw.status_line().begins_with("HTTP/1.1 4"), raw.status_line())
	check_eq("http: no peer_connected for it", server.events, [["connected", id_of(good)]])
	server.note.rpc_id(id_of(good), "still", 1)
	check("http: the joined client still gets RPCs", await until_got(good, "still", 1))
	return true


## A fake server (engine WebSocketPeer behind a TCPServer) whose first message is `first`.
class FakeServer:
	var tcp := TCPServer.new()
	var peers: Array[WebSocketPeer] = []
	var first: Variant = null  # PackedByteArray (binary), String (text) or null (never sends)
	var sent := false

	func start() -> int:
		var err := tcp.listen(0, "127.0.0.1")
		return tcp.get_local_port() if err == OK else 0

	func poll() -> void:
		while tcp.is_connection_available():
			var p := WebSocketPeer.new()
			p.accept_stream(tcp.take_connection())
			peers.append(p)
		for p in peers:
			p.poll()
			if p.get_ready_state() == WebSocketPeer.STATE_OPEN and not sent and first != null:
				sent = true
				if first is String:
					p.send_text(first)
				else:
					p.send(first)

	func stop() -> void:
		for p in peers:
			p.close(-1)
		tcp.stop()


## An id sent as a 4-byte text message instead of binary.
func test_text_id() -> bool:
	var fake := FakeServer.new()
	fake.first = "abcd"  # 0x64636261 read as little-endian int32
	var port := fake.start()
	var c := start_client("textid", "ws://127.0.0.1:%d" % port)
	await pump([fake], func(): return status_of(c) != CONNECTING_MP, 8000)
	if is_engine:
		check_eq("text id: differs: engine: a text message is taken as the id",
				[status_of(c), c.multiplayer.get_unique_id()], [CONNECTED, 0x64636261])
	else:
		check_eq("text id: refused: the client ends DISCONNECTED", status_of(c), DISCONNECTED)
		check_eq("text id: connection_failed", c.client_events, ["connection_failed"])
		var msg: String = c.multiplayer.multiplayer_peer.get_error_message()
		check("text id: get_error_message says it was text", "text message" in msg, msg)
	fake.stop()
	return true


func test_bad_ids() -> bool:
	var cases := {"3 bytes": PackedByteArray([2, 0, 0]), "5 bytes": PackedByteArray([2, 0, 0, 0, 0]),
			"id 1": PackedByteArray([1, 0, 0, 0]), "id 0": PackedByteArray([0, 0, 0, 0]),
			"id -1": PackedByteArray([255, 255, 255, 255]), "empty": PackedByteArray()}
	for label in cases:
		var fake := FakeServer.new()
		fake.first = cases[label]
		var port := fake.start()
		var c := start_client("badid%s" % label.replace(" ", "").replace("-", "m"), "ws://127.0.0.1:%d" % port)
		var ended: bool = await pump([fake], func(): return status_of(c) == DISCONNECTED, 8000)
		check("bad id (%s): client ends DISCONNECTED" % label, ended, "status %d" % status_of(c))
		check_eq("bad id (%s): connection_failed, never connected" % label, c.client_events, ["connection_failed"])
		check_eq("bad id (%s): no peer_connected" % label, c.events, [])
		if not is_engine:
			var msg: String = c.multiplayer.multiplayer_peer.get_error_message()
			check("bad id (%s): get_error_message says the id was invalid" % label, "invalid peer id" in msg, msg)
		fake.stop()
	return true


## A server that completes the WebSocket handshake but never sends an id.
func test_no_id() -> bool:
	var fake := FakeServer.new()
	var port := fake.start()
	var p = mp_peer()
	p.handshake_timeout = 0.5
	var started := Time.get_ticks_msec()  # before create_client, which starts the timeout
	check_eq("no id: create_client", p.create_client("ws://127.0.0.1:%d" % port), OK)
	var opened: bool = await pump([fake, p], func(): return not fake.peers.is_empty() and fake.peers[0].get_ready_state() == OPEN)
	check("no id: the WebSocket handshake completed", opened)
	var ended: bool = await pump([fake, p], func(): return p.get_connection_status() == DISCONNECTED, 3000)
	var waited := Time.get_ticks_msec() - started
	if is_engine:
		check("no id: differs: engine: the client waits for the id forever (still CONNECTING after 3 s)",
				not ended and p.get_connection_status() == CONNECTING_MP, "status %d after %d ms" % [p.get_connection_status(), waited])
	else:
		check("no id: DISCONNECTED after handshake_timeout", ended, "status %d after %d ms" % [p.get_connection_status(), waited])
		check("no id: not before handshake_timeout (0.5 s)", waited >= 500 - CLOCK_SLACK_MS, "after %d ms" % waited)
		check("no id: get_error_message says it timed out waiting for the id",
				"waiting for the server to send" in p.get_error_message(), p.get_error_message())
	p.close()
	fake.stop()
	return true


func test_refuse_new_connections() -> bool:
	var s := start_server("refuseServer")
	var server: Node = s[0]
	if server == null:
		return true
	var url := "ws://127.0.0.1:%d" % s[1]
	var a := start_client("refuseA", url)
	if not check("refuse: first client joined", await until_joined(server, [a])):
		return true
	server.multiplayer.refuse_new_connections = true
	check("refuse: is_refusing_new_connections", server.multiplayer.multiplayer_peer.is_refusing_new_connections())
	var b := start_client("refuseB", url, "", null, func(p): p.handshake_timeout = 1.0)
	var failed: bool = await pump([], func(): return b.client_events.has("connection_failed"), 8000)
	check("refuse: a new client fails to join (connection_failed)", failed, "events %s, status %d" % [b.client_events, status_of(b)])
	check_eq("refuse: the server saw no new peer", Array(server.multiplayer.get_peers()), [id_of(a)])
	server.note.rpc_id(id_of(a), "during", 1)
	check("refuse: the joined client is unaffected", await until_got(a, "during", 1))
	server.multiplayer.refuse_new_connections = false
	var c := start_client("refuseC", url)
	check("refuse: after turning it off a client joins", await until_joined(server, [a, c]))
	return true


func test_disconnect_peer() -> bool:
	var s := start_server("dcServer")
	var server: Node = s[0]
	if server == null:
		return true
	var url := "ws://127.0.0.1:%d" % s[1]
	var clients := [start_client("dcA", url), start_client("dcB", url), start_client("dcC", url, ENGINE_MP)]
	if not check("disconnect: clients joined", await until_joined(server, clients)):
		return true
	await pump([], func(): return clients.all(func(c): return c.multiplayer.get_peers().size() == 3))
	var a := id_of(clients[0])
	var b := id_of(clients[1])
	# SceneMultiplayer.disconnect_peer: forgets the peer at once (its own peer_disconnected is
	# not emitted), then the peer's closing handshake; the peer announces it at a later poll.
	server.multiplayer.disconnect_peer(a)
	var gone: bool = await pump([], func():
		return server.peer_events.has(["disconnected", a]) and clients[0].client_events.has("server_disconnected") \
				and clients[2].events.has(["disconnected", a]))
	check("disconnect: the peer's peer_disconnected, the client itself and the others see it leave", gone,
			"server peer %s, client %s, other %s" % [server.peer_events, clients[0].client_events, clients[2].events])
	check("disconnect: the server's API no longer lists it", not Array(server.multiplayer.get_peers()).has(a))
	check_eq("disconnect: the client is DISCONNECTED", clients[0].multiplayer.multiplayer_peer.get_connection_status(), DISCONNECTED)
	if not is_engine:
		check_eq("disconnect: a clean close: the client reports no error",
				clients[0].multiplayer.multiplayer_peer.get_error_message(), "")
	# Forced: removed at once.
	var mp = server.multiplayer.multiplayer_peer
	mp.disconnect_peer(b, true)
	var at_once: bool = server.peer_events.has(["disconnected", b]) and server.events.has(["disconnected", b])
	check("disconnect: forced: get_peer of it is null at once", mp.get_peer(b) == null)
	var ended: bool = await pump([], func(): return clients[1].client_events.has("server_disconnected"))
	check("disconnect: forced: the client is disconnected", ended, "%s" % [clients[1].client_events])
	await pump([], func(): return clients[2].events.has(["disconnected", b]), 1000)
	if is_engine:
		check("disconnect: differs: engine: forced, no peer_disconnected on the server (godot#116912)",
				not server.peer_events.has(["disconnected", b]) and not server.events.has(["disconnected", b]),
				"%s" % [server.peer_events])
		check("disconnect: differs: engine: forced, the other clients are not told",
				not clients[2].events.has(["disconnected", b]), "%s" % [clients[2].events])
		check("disconnect: differs: engine: forced, the server's API still lists the gone peer",
				Array(server.multiplayer.get_peers()).has(b), "%s" % [server.multiplayer.get_peers()])
	else:
		check("disconnect: forced: peer_disconnected on the server before disconnect_peer returns",
				at_once, "%s" % [server.peer_events])
		check("disconnect: forced: the other clients are told (relay)", clients[2].events.has(["disconnected", b]), "%s" % [clients[2].events])
		check_eq("disconnect: forced: the server's API lists only the last client", Array(server.multiplayer.get_peers()), [id_of(clients[2])])
	var before: Array = Array(server.multiplayer.get_peers())
	mp.disconnect_peer(99999)
	check_eq("disconnect: an unknown id changes nothing", Array(server.multiplayer.get_peers()), before)
	server.note.rpc("after", 1)
	check("disconnect: the last client still gets RPCs", await until_got(clients[2], "after", 1))
	return true


func test_client_disconnects() -> bool:
	var s := start_server("cdServer")
	var server: Node = s[0]
	if server == null:
		return true
	var url := "ws://127.0.0.1:%d" % s[1]
	var clients := [start_client("cdA", url), start_client("cdB", url)]
	if not check("client disconnect: clients joined", await until_joined(server, clients)):
		return true
	var a := id_of(clients[0])
	var b := id_of(clients[1])
	var pa = clients[0].multiplayer.multiplayer_peer
	pa.disconnect_peer(1)
	var left: bool = await pump([], func():
		return server.events.has(["disconnected", a]) and clients[0].client_events.has("server_disconnected"))
	check("client disconnect: disconnect_peer(1) ends it on both sides", left,
			"server %s, client %s" % [server.events, clients[0].client_events])
	var pb = clients[1].multiplayer.multiplayer_peer
	pb.disconnect_peer(1, true)
	check_eq("client disconnect: forced: DISCONNECTED at once", pb.get_connection_status(), DISCONNECTED)
	var seen: bool = await pump([], func(): return server.events.has(["disconnected", b]))
	check("client disconnect: forced: the server sees it leave", seen, "%s" % [server.events])
	pb.disconnect_peer(7)
	check_eq("client disconnect: an unknown id on a client changes nothing", pb.get_connection_status(), DISCONNECTED)
	return true


func test_tls() -> bool:
	var crypto := Crypto.new()
	var key := crypto.generate_rsa(2048)
	var cert := crypto.generate_self_signed_certificate(key, "CN=localhost,O=godot-websocket tests")
	var trust := TLSOptions.client(cert, "localhost")
	for server_cls in ([cls] if is_engine else [cls, ENGINE_MP]):
		var label := "tls(%s server)" % server_cls
		var s := start_server("tlsServer%s" % server_cls, server_cls, TLSOptions.server(key, cert))
		var server: Node = s[0]
		if server == null:
			continue
		var url := "wss://127.0.0.1:%d" % s[1]
		var clients := [start_client("tlsA%s" % server_cls, url, cls, trust),
				start_client("tlsB%s" % server_cls, url, ENGINE_MP, trust)]
		var joined: bool = await until_joined(server, clients)
		if not check("%s: a client of the class and an engine client joined over wss://" % label, joined,
				"statuses %s" % [clients.map(status_of)]):
			continue
		clients[0].note.rpc_id(1, "tls", "up")
		server.note.rpc("tls", "down")
		clients[1].note.rpc_id(id_of(clients[0]), "tls", "relay")
		var done: bool = await pump([], func():
			return server.values("tls") == ["up"] and clients[1].values("tls") == ["down"] \
					and clients[0].values("tls").size() == 2)
		check("%s: RPCs both ways and through the relay" % label, done,
				"server %s, a %s, b %s" % [server.got, clients[0].got, clients[1].got])
		var plain := start_client("tlsPlain%s" % server_cls, url.replace("wss://", "ws://"), cls, null,
				func(p): p.handshake_timeout = 1.0)
		var failed: bool = await pump([], func(): return plain.client_events.has("connection_failed"), 8000)
		check("%s: a plain ws:// client fails to join" % label, failed, "%s" % [plain.client_events])
		check_eq("%s: the TLS clients are unaffected" % label, clients.map(status_of), [CONNECTED, CONNECTED])
	return true


## The wire format seen by a plain WebSocketPeer: the id first (4 bytes, little-endian, >= 2,
## binary), then raw packets; and what the server's close() sends.
func test_wire() -> bool:
	var s := start_server("wireServer")
	var server: Node = s[0]
	if server == null:
		return true
	var ws := WebSocketPeer.new()
	var opened: bool = await open(ws, "ws://127.0.0.1:%d" % s[1])
	if not check("wire: a plain WebSocketPeer connects", opened):
		return true
	var got := await receive(ws, 1)
	if not check_eq("wire: one message first", got.size(), 1):
		return true
	var first: PackedByteArray = got[0][0]
	check_eq("wire: the first message is 4 binary bytes", [first.size(), got[0][1]], [4, false])
	var id := first.decode_s32(0) if first.size() == 4 else 0
	check("wire: it holds an id >= 2", id >= 2, "id %d" % id)
	var announced: bool = await pump([ws], func(): return server.peer_events.has(["connected", id]))
	check("wire: the server announced that id", announced, "%s" % [server.peer_events])
	# A raw SceneMultiplayer packet from the server reaches the socket as one message, no header.
	var mp = server.multiplayer.multiplayer_peer
	mp.set_target_peer(id)
	check_eq("wire: put_packet to the plain client", mp.put_packet(PackedByteArray([9, 8, 7])), OK)
	var pkt := await receive(ws, 1)
	check_eq("wire: a packet arrives as one binary message without header", pkt, [[PackedByteArray([9, 8, 7]), false]])
	ws.send(PackedByteArray([5, 6]))
	await pump([ws], func(): return mp.get_available_packet_count() > 0, 1000)
	# The API reads it at once (an invalid command from its view); the count may already be 0.
	check("wire: the server peer stays up after a raw message", mp.get_connection_status() == CONNECTED)
	server.multiplayer.multiplayer_peer = OfflineMultiplayerPeer.new()
	mp.close()
	var closed: bool = await until_closed([ws])
	check("wire: after the server's close() the plain client is CLOSED", closed, state_name(ws.get_ready_state()))
	if is_engine:
		check_eq("wire: differs: engine: close() drops connections without a close frame", ws.get_close_code(), -1)
	else:
		check_eq("wire: the server's close() sends close code 1001 (going away)", ws.get_close_code(), 1001)
	return true


## A client's close(): final at once, and the server side gets a close frame (1000).
func test_client_close_frame() -> bool:
	var fake := FakeServer.new()
	fake.first = PackedByteArray([7, 0, 0, 0])
	var port := fake.start()
	var p = mp_peer()
	check_eq("client close: create_client", p.create_client("ws://127.0.0.1:%d" % port), OK)
	var joined: bool = await pump([fake, p], func(): return p.get_connection_status() == CONNECTED)
	if not check("client close: joined with the fake server's id", joined and p.get_unique_id() == 7,
			"status %d, id %d" % [p.get_connection_status(), p.get_unique_id()]):
		fake.stop()
		return true
	p.close()
	check_eq("client close: DISCONNECTED at once, id 0", [p.get_connection_status(), p.get_unique_id()], [DISCONNECTED, 0])
	var closed: bool = await pump([fake], func(): return fake.peers[0].get_ready_state() == CLOSED)
	check("client close: the server side is CLOSED", closed)
	if is_engine:
		check_eq("client close: differs: engine: no close frame (code -1)", fake.peers[0].get_close_code(), -1)
	else:
		check_eq("client close: the server side got close code 1000", fake.peers[0].get_close_code(), 1000)
	fake.stop()
	return true


## A packet larger than the connections' outbound_buffer_size: the server's put_packet reports
## it (the engine's returns OK and the packet is silently lost).
func test_send_refused() -> bool:
	var s := start_server("refusedServer", "", null, func(p): p.outbound_buffer_size = 100)
	var server: Node = s[0]
	if server == null:
		return true
	var c := start_client("refusedC", "ws://127.0.0.1:%d" % s[1])
	if not check("send refused: client joined", await until_joined(server, [c])):
		return true
	var mp = server.multiplayer.multiplayer_peer
	var big := PackedByteArray()
	big.resize(1000)
	mp.set_target_peer(0)
	var to_all: int = mp.put_packet(big)
	mp.set_target_peer(id_of(c))
	var to_one: int = mp.put_packet(big)
	if is_engine:
		check_eq("send refused: differs: engine: put_packet returns OK, the packet is lost", [to_all, to_one], [OK, OK])
	else:
		check_eq("send refused: broadcast and targeted put_packet return the error", [to_all, to_one],
				[ERR_OUT_OF_MEMORY, ERR_OUT_OF_MEMORY])
	mp.set_target_peer(id_of(c))
	check_eq("send refused: a small packet still goes", mp.put_packet(PackedByteArray([1, 2])), OK)
	check_eq("send refused: the client is still CONNECTED", status_of(c), CONNECTED)
	return true


## refuse_new_connections turned on while a client is in its handshake: the engine's class drops
## it without a word once its handshake completes; ours closes it with 1013 (try again later).
## The server is polled by hand here (no MultiplayerAPI), the client is raw TCP.
func test_refused_mid_handshake() -> bool:
	var mp = mp_peer()
	var port := free_port()
	if not check_eq("mid-handshake: create_server", mp.create_server(port, "127.0.0.1"), OK):
		return true
	var joined := []
	mp.peer_connected.connect(func(id): joined.append(id))
	var raw := RawClient.new()
	raw.connect_to(port)
	await pump([raw, mp], func(): return raw.is_connected_to_server(), 3000)
	# A few more server polls: the accepted connection is now waiting for its upgrade request.
	var polls := [0]
	await pump([mp], func():
		polls[0] += 1
		return polls[0] >= 5)
	mp.refuse_new_connections = true
	raw.send_text("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			+ "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	# Ended: the TCP connection closed, or (ours) a close frame arrived after the 101 head (the
	# closing handshake then waits for the client's answer, which this raw client never sends).
	var ended: bool = await pump([raw, mp], func():
		var head := raw.received.get_string_from_ascii().find("\r\n\r\n")
		return raw.closed or (head >= 0 and raw.received.size() > head + 4 and raw.received[head + 4] == 0x88), 5000)
	check("mid-handshake: the server ended the connection", ended)
	check("mid-handshake: it got the 101 answer first", raw.status_line().begins_with("HTTP/1.1 101"), raw.status_line())
	check_eq("mid-handshake: no peer_connected", joined, [])
	var text := raw.received.get_string_from_ascii()
	var head_end := text.find("\r\n\r\n")
	var after: PackedByteArray = raw.received.slice(head_end + 4) if head_end >= 0 else PackedByteArray()
	if is_engine:
		check_eq("mid-handshake: differs: engine: nothing after the 101 (no id, no close frame)", after.size(), 0)
	else:
		# A close frame: 0x88, payload length, code 1013 (0x03F5) big-endian, reason.
		check("mid-handshake: then a close frame with code 1013 and no id",
				after.size() >= 4 and after[0] == 0x88 and after[2] == 0x03 and after[3] == 0xF5,
				"got %s" % [after.slice(0, 8)])
	mp.close()
	return true


const UPGRADE := "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" \
		+ "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"


## A server polled by hand (no MultiplayerAPI) on a free port, recording peer_connected and
## peer_disconnected; returns [peer, port, joined, left] or [] after a failed check.
func _manual_server(label: String, configure := Callable()) -> Array:
	var mp = mp_peer()
	if configure.is_valid():
		configure.call(mp)
	var port := free_port()
	if not check_eq("%s: create_server" % label, mp.create_server(port, "127.0.0.1"), OK):
		return []
	var joined := []
	var left := []
	mp.peer_connected.connect(func(id): joined.append(id))
	mp.peer_disconnected.connect(func(id): left.append(id))
	return [mp, port, joined, left]


## A peer_connected handler that closes the server: connections that completed their handshake
## in the same poll are not announced after it (close() is final; their events belonged to the
## session it ended). Ours only: the engine's class emits inside its own loop over the peers.
func test_close_from_handler() -> bool:
	if is_engine:
		return true
	var setup := await _manual_server("close in handler")
	if setup.is_empty():
		return true
	var mp = setup[0]
	var joined: Array = setup[2]
	mp.peer_connected.connect(func(_id): mp.close())
	var raws := [RawClient.new(), RawClient.new()]
	for r in raws:
		r.connect_to(setup[1])
	await pump(raws + [mp], func(): return raws.all(func(r): return r.is_connected_to_server()), 3000)
	# Both requests wait in the server's sockets before its next poll, which upgrades both.
	for r in raws:
		r.send_text(UPGRADE)
	await pump(raws + [mp], func(): return not joined.is_empty(), 5000)
	check_eq("close in handler: one peer_connected, none after close()", joined.size(), 1)
	check_eq("close in handler: DISCONNECTED", mp.get_connection_status(), DISCONNECTED)
	await pump(raws, func(): return raws.all(func(r): return r.closed), 5000)
	check("close in handler: both connections end", raws.all(func(r): return r.closed))
	return true


## disconnect_peer(id, true) drops what the peer sent and was not read yet, and announces it
## once. Ours only (the engine's class announces nothing for a forced disconnect).
func test_forced_disconnect_drops_unread() -> bool:
	if is_engine:
		return true
	var setup := await _manual_server("forced, unread")
	if setup.is_empty():
		return true
	var mp = setup[0]
	var joined: Array = setup[2]
	var left: Array = setup[3]
	var c := WebSocketPeer.new()
	c.connect_to_url("ws://127.0.0.1:%d/" % setup[1])
	await pump([c, mp], func(): return c.get_ready_state() == OPEN and not joined.is_empty(), 5000)
	if not check("forced, unread: joined", not joined.is_empty()):
		return true
	for i in 3:
		c.put_packet(PackedByteArray([i]))
	await pump([c, mp], func(): return mp.get_available_packet_count() == 3, 5000)
	check_eq("forced, unread: 3 packets waiting", mp.get_available_packet_count(), 3)
	mp.disconnect_peer(joined[0], true)
	check_eq("forced, unread: dropped with the peer", mp.get_available_packet_count(), 0)
	check_eq("forced, unread: announced once", left, [joined[0]])
	await pump([c, mp], func(): return c.get_ready_state() == CLOSED, 5000)
	check_eq("forced, unread: the client sees a close 1000", c.get_close_code(), 1000)
	check_eq("forced, unread: announced once, also after more polls", left, [joined[0]])
	mp.close()
	return true


## handshake_timeout bounds the whole handshake on the server, also above the 5 s that a lone
## RustWebSocketPeer server gives a client for its upgrade request: with 20 s, a client that
## sends its request after 6 s still joins.
func test_long_handshake_timeout() -> bool:
	var setup := await _manual_server("long handshake_timeout", func(p): p.handshake_timeout = 20.0)
	if setup.is_empty():
		return true
	var mp = setup[0]
	var joined: Array = setup[2]
	var raw := RawClient.new()
	raw.connect_to(setup[1])
	await pump([raw, mp], func(): return raw.is_connected_to_server(), 3000)
	await pump([raw, mp], func(): return raw.closed, 6000)
	check("long handshake_timeout: still connected after 6 s", not raw.closed)
	raw.send_text(UPGRADE)
	await pump([raw, mp], func(): return not joined.is_empty() or raw.closed, 5000)
	check_eq("long handshake_timeout: the slow client joins", joined.size(), 1)
	await pump([raw, mp], func(): return raw.status_line() != "" or raw.closed, 5000)
	check("long handshake_timeout: it got the 101 answer", raw.status_line().begins_with("HTTP/1.1 101"), raw.status_line())
	mp.close()
	return true


## compression_enabled is copied into the connections on both sides: a client and a server of
## the class with it on agree on permessage-deflate. Ours only (the engine's class has none).
func test_compression_passed_through() -> bool:
	if is_engine:
		return true
	var setup := await _manual_server("compression", func(p): p.compression_enabled = true)
	if setup.is_empty():
		return true
	var mp = setup[0]
	var joined: Array = setup[2]
	var client = mp_peer()
	check_eq("compression: off by default", client.compression_enabled, false)
	client.compression_enabled = true
	check_eq("compression: create_client", client.create_client("ws://127.0.0.1:%d" % setup[1]), OK)
	await pump([mp, client], func(): return client.get_connection_status() != CONNECTING_MP and not joined.is_empty(), 5000)
	if not check_eq("compression: joined", client.get_connection_status(), CONNECTED):
		return true
	check("compression: the client's connection uses permessage-deflate",
			client.get_peer(1).get_selected_extensions().begins_with("permessage-deflate"),
			client.get_peer(1).get_selected_extensions())
	check("compression: the server's connection too",
			mp.get_peer(joined[0]).get_selected_extensions().begins_with("permessage-deflate"),
			mp.get_peer(joined[0]).get_selected_extensions())
	client.close()
	mp.close()
	return true
