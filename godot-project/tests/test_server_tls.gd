extends "res://tests/lib/suite.gd"
# targets: @class WebSocketPeer
## The class under test as a wss:// SERVER: TCPServer.take_connection() wrapped in StreamPeerTLS
## (TLSOptions.server), handed to accept_stream() with its handshake still in progress (even
## before the client's hello arrived).
## Certificates: Godot's own (Crypto.generate_self_signed_certificate) and a CA-signed localhost
## leaf from tests/peers/tls_server.py. Clients: the engine's WebSocketPeer (client_unsafe() and
## client(cert)), RustWebSocketPeer, Python `websockets` and Node `ws` (trusting the test CA).
## Also a plain ws:// client and a client that rejects the certificate: the server peer must
## end CLOSED with -1 instead of hanging.

var _key: CryptoKey
var _cert: X509Certificate


func tests() -> Array[Callable]:
	return [test_engine_unsafe, test_engine_trusted, test_before_client_hello, test_rust_client,
			test_ca_signed_leaf, test_external_clients, test_plain_client, test_rejecting_client]


func _godot_cert() -> TLSOptions:
	if _key == null:
		var crypto := Crypto.new()
		_key = crypto.generate_rsa(2048)
		_cert = crypto.generate_self_signed_certificate(_key, "CN=localhost,O=godot-websocket tests")
	return TLSOptions.server(_key, _cert)


## Connects `client` with `tls` options to `url` on `srv` (url "": already connecting); true when
## both sides are OPEN.
func _open(client: Object, srv: WsServer, url: String, tls: TLSOptions) -> bool:
	if url != "" and client.connect_to_url(url, tls) != OK:
		return false
	await pump([client, srv], func():
		return client.get_ready_state() != CONNECTING and srv.peer() != null \
				and srv.peer().get_ready_state() != CONNECTING)
	return client.get_ready_state() == OPEN and srv.peer() != null and srv.peer().get_ready_state() == OPEN


## Full exchange over an open TLS pair; `path` is the URL path the client asked for.
func _exchange(label: String, c: Object, srv: WsServer, host: String, path: String) -> void:
	var s = srv.peer()
	check_eq("%s: server get_requested_url is wss://" % label, s.get_requested_url(), "wss://%s:%d%s" % [host, srv.port, path])
	check_eq("%s: server get_connected_host through TLS" % label, s.get_connected_host(), "127.0.0.1")
	check("%s: server get_connected_port through TLS" % label, s.get_connected_port() > 0 and s.get_connected_port() != srv.port,
			"got %d" % s.get_connected_port())
	c.send_text("secret ✓")
	c.send(PackedByteArray(range(256)))
	var got := await receive(c, 2, [srv])
	check_eq("%s: text and binary echoed over TLS" % label, got,
			[["secret ✓".to_utf8_buffer(), true], [PackedByteArray(range(256)), false]])
	c.close(4010, "tls bye")
	var closed: bool = await until_closed([c, s], [srv])
	check("%s: both CLOSED" % label, closed, "client %s, server %s" % [state_name(c.get_ready_state()), state_name(s.get_ready_state())])
	check_eq("%s: server saw the close code" % label, s.get_close_code(), 4010)


func test_engine_unsafe() -> bool:
	var srv := ws_server(cls, Callable(), true, _godot_cert())
	var c := WebSocketPeer.new()
	_peers.append(c)
	var opened: bool = await _open(c, srv, srv.url("/secure?a=1"), TLSOptions.client_unsafe())
	if check("engine client_unsafe(): both OPEN", opened, "client %s" % state_name(c.get_ready_state())):
		check_eq("engine client_unsafe(): StreamPeerTLS.accept_stream OK", srv.tls_errors, [OK] as Array[int])
		check_eq("engine client_unsafe(): peer accept_stream OK", srv.accept_errors, [OK] as Array[int])
		await _exchange("engine client_unsafe()", c, srv, "127.0.0.1", "/secure?a=1")
	return true


func test_engine_trusted() -> bool:
	var srv := ws_server(cls, Callable(), true, _godot_cert())
	var c := WebSocketPeer.new()
	_peers.append(c)
	var url := srv.url("/trusted", "localhost")
	var opened: bool = await _open(c, srv, url, TLSOptions.client(_cert))
	if check("engine client(cert) on wss://localhost: both OPEN", opened, "client %s" % state_name(c.get_ready_state())):
		await _exchange("engine client(cert)", c, srv, "localhost", "/trusted")
	return true


## The TLS stream reaches accept_stream() before the client has even sent its hello (the client
## is not polled until then; its TCP connect completes in the kernel): the peer drives the whole
## TLS handshake.
func test_before_client_hello() -> bool:
	var srv := ws_server(cls, Callable(), true, _godot_cert())
	srv.accepting = false
	var c := WebSocketPeer.new()
	_peers.append(c)
	c.connect_to_url(srv.url("/early"), TLSOptions.client_unsafe())
	var end := Time.get_ticks_msec() + SLOW_MACHINE_MS
	while not srv.tcp.is_connection_available() and Time.get_ticks_msec() < end:
		await process_frame
	if not check("before client hello: TCP connection waiting", srv.tcp.is_connection_available()):
		return true
	srv.accepting = true
	srv.poll()
	check_eq("before client hello: accept_stream OK", srv.accept_errors, [OK] as Array[int])
	check_eq("before client hello: server peer CONNECTING", state_name(srv.peer().get_ready_state()), "CONNECTING")
	var opened: bool = await _open(c, srv, "", null)
	if check("before client hello: both OPEN", opened, "client %s" % state_name(c.get_ready_state())):
		await _exchange("before client hello", c, srv, "127.0.0.1", "/early")
	return true


func test_rust_client() -> bool:
	if not ClassDB.class_exists("RustWebSocketPeer"):
		print("# test_rust_client skipped: RustWebSocketPeer not registered")
		return true
	var srv := ws_server(cls, Callable(), true, _godot_cert())
	var c = ClassDB.instantiate("RustWebSocketPeer")
	_peers.append(c)
	var opened: bool = await _open(c, srv, srv.url("/rust", "localhost"), TLSOptions.client(_cert))
	if check("rust client(cert) on wss://localhost: both OPEN", opened, "client %s %s" % [state_name(c.get_ready_state()), c.get_error_message()]):
		await _exchange("rust client(cert)", c, srv, "localhost", "/rust")
	# By IP with the name given: client(cert, "localhost").
	var srv2 := ws_server(cls, Callable(), true, _godot_cert())
	var c2 = ClassDB.instantiate("RustWebSocketPeer")
	_peers.append(c2)
	var opened2: bool = await _open(c2, srv2, srv2.url("/byip"), TLSOptions.client(_cert, "localhost"))
	check("rust client(cert, \"localhost\") on wss://127.0.0.1: both OPEN", opened2,
			"client %s %s" % [state_name(c2.get_ready_state()), c2.get_error_message()])
	return true


func _leaf_options(test_name: String) -> TLSOptions:
	if tls_ports(test_name).is_empty():
		return null
	var key := CryptoKey.new()
	var cert := X509Certificate.new()
	if not check("%s: load localhost.key/.crt" % test_name,
			key.load(tls_file("localhost.key")) == OK and cert.load(tls_file("localhost.crt")) == OK):
		return null
	return TLSOptions.server(key, cert)


## A leaf signed by the test CA (tls_server.py's files); Godot clients trust the CA only.
func test_ca_signed_leaf() -> bool:
	var options := _leaf_options("CA-signed leaf")
	if options == null:
		return true
	var ca := X509Certificate.new()
	ca.load(tls_file("ca.crt"))
	for client_cls in ["WebSocketPeer", "RustWebSocketPeer"]:
		if not ClassDB.class_exists(client_cls):
			continue
		var label := "CA-signed leaf, %s client(ca)" % client_cls
		var srv := ws_server(cls, Callable(), true, options)
		var c = ClassDB.instantiate(client_cls)
		_peers.append(c)
		if check("%s: both OPEN" % label, await _open(c, srv, srv.url("/leaf", "localhost"), TLSOptions.client(ca)),
				"client %s" % state_name(c.get_ready_state())):
			await _exchange(label, c, srv, "localhost", "/leaf")
	return true


func test_external_clients() -> bool:
	var options := _leaf_options("external TLS clients")
	if options == null:
		return true
	for kind in ["python", "node"]:
		var srv := ws_server(cls, Callable(), true, options)
		var proc := ext_client(kind, srv.url("/ext", "localhost"),
				PackedStringArray(["--ca", tls_file("ca.crt"), "--close", "4011"]))
		var res = await client_result(proc, [srv])
		if not check("%s over TLS: reported a result" % kind, res is Dictionary, proc.error if proc.error != "" else "no result"):
			continue
		check("%s over TLS: opened and every message echoed" % kind, res.opened and res.echoed == 4.0,
				"result %s" % JSON.stringify(res))
		check_eq("%s over TLS: the server echoed our close code" % kind, res.close_code, 4011.0)
		var s = srv.peer()
		if check("%s over TLS: server has the connection" % kind, s != null):
			await until_closed([s], [srv], 2000)
			check_eq("%s over TLS: server requested URL" % kind, s.get_requested_url(), "wss://localhost:%d/ext" % srv.port)
			check_eq("%s over TLS: server saw the close code" % kind, s.get_close_code(), 4011)
	return true


## A plain ws:// client on the TLS server: the server peer ends CLOSED -1.
func test_plain_client() -> bool:
	var srv := ws_server(cls, Callable(), true, _godot_cert())
	var c := WebSocketPeer.new()
	_peers.append(c)
	c.connect_to_url("ws://127.0.0.1:%d/plain" % srv.port)
	await pump([c, srv], func(): return srv.peer() != null and srv.peer().get_ready_state() == CLOSED, 6000)
	var s = srv.peer()
	if check("plain client on TLS server: server got the connection", s != null):
		check_eq("plain client on TLS server: server peer CLOSED", state_name(s.get_ready_state()), "CLOSED")
		check_eq("plain client on TLS server: close code -1", s.get_close_code(), -1)
	check("plain client on TLS server: client not OPEN", c.get_ready_state() != OPEN)
	return true


## A client that refuses the certificate (engine client() with default roots): the server peer
## ends CLOSED -1.
func test_rejecting_client() -> bool:
	var srv := ws_server(cls, Callable(), true, _godot_cert())
	var c := WebSocketPeer.new()
	_peers.append(c)
	c.connect_to_url(srv.url("/reject", "localhost"), TLSOptions.client())
	await pump([c, srv], func():
		return c.get_ready_state() == CLOSED and srv.peer() != null and srv.peer().get_ready_state() == CLOSED, 6000)
	var s = srv.peer()
	check_eq("rejecting client: client CLOSED", state_name(c.get_ready_state()), "CLOSED")
	if check("rejecting client: server got the connection", s != null):
		check_eq("rejecting client: server peer CLOSED", state_name(s.get_ready_state()), "CLOSED")
		check_eq("rejecting client: close code -1", s.get_close_code(), -1)
	return true
