extends "res://tests/lib/suite.gd"
# targets: @class WebSocketPeer
## wss:// with the class under test as the CLIENT, against real TLS servers: tests/peers/tls_server.py
## (Python `websockets`, certificates from a private test CA made with `cryptography`: a localhost
## leaf, a leaf for other.example, an expired leaf, a leaf from another CA) and the engine's
## WebSocketPeer behind StreamPeerTLS (Godot's self-signed certificate, or the CA-signed leaf).
## Each TLSOptions mode: client() / null, client(chain), client(chain, name) (also the SNI),
## client_unsafe(), client_unsafe(chain). Failures end CLOSED with -1; RustWebSocketPeer also says
## why in get_error_message() (not in the engine's class, so those checks are ours only).

var _ca: X509Certificate
var _other_ca: X509Certificate
var _key: CryptoKey
var _cert: X509Certificate


func tests() -> Array[Callable]:
	return [test_trusted_chain, test_default_roots, test_wrong_host, test_unsafe, test_unsafe_with_chain,
			test_expired, test_godot_self_signed, test_engine_server_leaf, test_not_tls, test_http_error,
			test_refused_and_dns, test_option_misuse]


## Python server ports, loading the CA files once; {} (after a failed check) without the servers.
func _py_tls(test_name: String) -> Dictionary:
	var ports := tls_ports(test_name)
	if not ports.is_empty() and _ca == null:
		_ca = X509Certificate.new()
		_other_ca = X509Certificate.new()
		if not check("%s: load ca.crt and other_ca.crt" % test_name,
				_ca.load(tls_file("ca.crt")) == OK and _other_ca.load(tls_file("other_ca.crt")) == OK):
			return {}
	return ports


## Connects with `options` and waits for the outcome. want_open: OPEN and an echo (then closed);
## else CLOSED with -1 and (ours) get_error_message() containing every string in `why`.
func _expect(label: String, url: String, options: TLSOptions, want_open: bool, why: Array = [],
		others: Array = [], timeout_ms := 8000) -> Object:
	var c = new_peer()
	var err: int = c.connect_to_url(url, options)
	if not check_eq("%s: connect_to_url OK" % label, err, OK):
		return c
	await pump([c] + others, func(): return c.get_ready_state() != CONNECTING, timeout_ms)
	if want_open:
		if check_eq("%s: OPEN" % label, state_name(c.get_ready_state()),  "OPEN"):
			c.send_text("over tls")
			var got := await receive(c, 1, others)
			check_eq("%s: echo" % label, got.map(func(m): return m[0].get_string_from_utf8()), ["over tls"])
		elif not is_engine:
			print("# %s: %s" % [label, c.get_error_message()])
		return c
	check_eq("%s: refused: CLOSED" % label, state_name(c.get_ready_state()), "CLOSED")
	check_eq("%s: refused: close code -1" % label, c.get_close_code(), -1)
	if not is_engine:
		var msg: String = c.get_error_message()
		var missing := why.filter(func(w): return not msg.contains(w))
		check("%s: get_error_message says %s" % [label, " + ".join(why.map(func(w): return "\"%s\"" % w))],
				missing.is_empty(), "got \"%s\"" % msg)
	return c


## Connects `c` with TLS options and polls until it leaves CONNECTING.
func open_with(c: Object, url: String, options: TLSOptions) -> void:
	c.connect_to_url(url, options)
	await pump([c], func(): return c.get_ready_state() != CONNECTING, 8000)


func _url(port: int, host := "localhost", path := "/echo") -> String:
	return "wss://%s:%d%s" % [host, port, path]


func test_trusted_chain() -> bool:
	var ports := _py_tls("trusted chain")
	if ports.is_empty():
		return true
	var c = await _expect("client(ca) on wss://localhost", _url(ports.ok), TLSOptions.client(_ca), true)
	check_eq("client(ca): get_requested_url", c.get_requested_url(), _url(ports.ok))
	check_eq("client(ca): get_connected_host", c.get_connected_host(), "127.0.0.1")
	check_eq("client(ca): get_connected_port", c.get_connected_port(), ports.ok)
	await _expect("client(ca) on wss://127.0.0.1 (IP in the certificate)", _url(ports.ok, "127.0.0.1"), TLSOptions.client(_ca), true)
	# The SNI the server saw: the URL's host.
	var s = new_peer()
	await open_with(s, _url(ports.ok, "localhost", "/sni"), TLSOptions.client(_ca))
	var got := await receive(s, 1)
	check_eq("client(ca): SNI is the URL's host", got.map(func(m): return m[0].get_string_from_utf8()), ["localhost"])
	return true


func test_default_roots() -> bool:
	var ports := _py_tls("default roots")
	if ports.is_empty():
		return true
	var unknown := ["not signed by a trusted authority"]
	await _expect("TLSOptions.client() rejects the private CA", _url(ports.ok), TLSOptions.client(), false, unknown)
	await _expect("null options reject the private CA", _url(ports.ok), null, false, unknown)
	await _expect("client(other CA) rejects it", _url(ports.ok), TLSOptions.client(_other_ca), false, unknown)
	return true


func test_wrong_host() -> bool:
	var ports := _py_tls("wrong host")
	if ports.is_empty():
		return true
	await _expect("client(ca): certificate for other.example on wss://localhost", _url(ports.wronghost),
			TLSOptions.client(_ca), false, ["not valid for host name", "localhost"])
	await _expect("client(ca): localhost certificate on the name override other.example", _url(ports.ok),
			TLSOptions.client(_ca, "other.example"), false, ["not valid for host name", "other.example"])
	await _expect("client(ca, \"other.example\") accepts it", _url(ports.wronghost), TLSOptions.client(_ca, "other.example"), true)
	var s = new_peer()
	await open_with(s, _url(ports.wronghost, "127.0.0.1", "/sni"), TLSOptions.client(_ca, "other.example"))
	var got := await receive(s, 1)
	check_eq("client(ca, name): SNI is the name override", got.map(func(m): return m[0].get_string_from_utf8()), ["other.example"])
	return true


func test_unsafe() -> bool:
	var ports := _py_tls("client_unsafe()")
	if ports.is_empty():
		return true
	for which in ["ok", "wronghost", "expired", "foreign"]:
		await _expect("client_unsafe() accepts the %s server" % which, _url(ports[which]), TLSOptions.client_unsafe(), true)
	return true


func test_unsafe_with_chain() -> bool:
	var ports := _py_tls("client_unsafe(ca)")
	if ports.is_empty():
		return true
	await _expect("client_unsafe(ca) accepts a wrong-host certificate", _url(ports.wronghost), TLSOptions.client_unsafe(_ca), true)
	await _expect("client_unsafe(ca) on wss://127.0.0.1 with a wrong-host certificate",
			_url(ports.wronghost, "127.0.0.1"), TLSOptions.client_unsafe(_ca), true)
	await _expect("client_unsafe(ca) rejects a certificate from another CA", _url(ports.foreign),
			TLSOptions.client_unsafe(_ca), false, ["not signed by a trusted authority"])
	return true


func test_expired() -> bool:
	var ports := _py_tls("expired")
	if ports.is_empty():
		return true
	await _expect("client(ca) rejects an expired certificate", _url(ports.expired), TLSOptions.client(_ca), false, ["has expired"])
	return true


## Godot's generate_self_signed_certificate() (a CA certificate without SAN) behind the engine's
## WebSocketPeer + StreamPeerTLS.
func test_godot_self_signed() -> bool:
	var crypto := Crypto.new()
	_key = crypto.generate_rsa(2048)
	_cert = crypto.generate_self_signed_certificate(_key, "CN=localhost,O=godot-websocket tests")
	var srv := ws_server("WebSocketPeer", Callable(), true, TLSOptions.server(_key, _cert))
	await _expect("Godot self-signed: client(cert) on wss://localhost", srv.url("/", "localhost"),
			TLSOptions.client(_cert), true, [], [srv])
	await _expect("Godot self-signed: client(cert, \"localhost\") on wss://127.0.0.1", srv.url("/"),
			TLSOptions.client(_cert, "localhost"), true, [], [srv])
	await _expect("Godot self-signed: client_unsafe()", srv.url("/"), TLSOptions.client_unsafe(), true, [], [srv])
	await _expect("Godot self-signed: client_unsafe(cert) on wss://127.0.0.1", srv.url("/"),
			TLSOptions.client_unsafe(_cert), true, [], [srv])
	await _expect("Godot self-signed: default roots reject it", srv.url("/", "localhost"), TLSOptions.client(),
			false, ["self-signed and not trusted"], [srv])
	var other := crypto.generate_self_signed_certificate(crypto.generate_rsa(2048), "CN=localhost")
	await _expect("Godot self-signed: client(another self-signed cert) rejects it", srv.url("/", "localhost"),
			TLSOptions.client(other), false, ["self-signed and not trusted"], [srv])
	return true


## The CA-signed leaf served by the engine's WebSocketPeer behind StreamPeerTLS.
func test_engine_server_leaf() -> bool:
	if _py_tls("engine server with the CA-signed leaf").is_empty():
		return true
	var key := CryptoKey.new()
	var cert := X509Certificate.new()
	if not check("engine server: load localhost.key/.crt", key.load(tls_file("localhost.key")) == OK and cert.load(tls_file("localhost.crt")) == OK):
		return true
	var srv := ws_server("WebSocketPeer", Callable(), true, TLSOptions.server(key, cert))
	await _expect("engine server: client(ca)", srv.url("/", "localhost"), TLSOptions.client(_ca), true, [], [srv])
	await _expect("engine server: default roots reject the private CA", srv.url("/", "localhost"), null, false,
			["not signed by a trusted authority"], [srv])
	return true


## A server that answers anything with a plain HTTP 400 (what a ws:// server says to a TLS hello).
class PlainHttpServer:
	var tcp := TCPServer.new()
	var conns: Array[StreamPeerTCP] = []

	func poll() -> void:
		while tcp.is_connection_available():
			conns.append(tcp.take_connection())
		for c in conns:
			c.poll()
			if c.get_status() == StreamPeerTCP.STATUS_CONNECTED and c.get_available_bytes() > 0:
				c.get_data(c.get_available_bytes())
				c.put_data("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_ascii_buffer())

	func stop() -> void:
		for c in conns:
			c.disconnect_from_host()
		tcp.stop()


func test_not_tls() -> bool:
	var plain := PlainHttpServer.new()
	plain.tcp.listen(0, "127.0.0.1")
	_servers.append(plain)
	await _expect("plain HTTP answer to a wss:// URL", "wss://127.0.0.1:%d/" % plain.tcp.get_local_port(),
			TLSOptions.client_unsafe(), false, ["did not answer with TLS"], [plain])
	if need_echo("plain server on wss://"):
		# The Python server closes the connection on a TLS hello without answering.
		await _expect("plain ws:// server (closes silently) on a wss:// URL", "wss://127.0.0.1:%d/echo" % echo_port,
				TLSOptions.client_unsafe(), false, ["closed the connection during the TLS handshake"])
	return true


func test_http_error() -> bool:
	var ports := _py_tls("HTTP error over TLS")
	if ports.is_empty():
		return true
	await _expect("HTTP 403 instead of 101", _url(ports.ok, "localhost", "/forbidden"), TLSOptions.client(_ca), false, ["403"])
	return true


func test_refused_and_dns() -> bool:
	await _expect("wss:// connection refused", "wss://127.0.0.1:%d/" % free_port(), TLSOptions.client_unsafe(), false,
			["could not connect"])
	await _expect("wss:// DNS failure", "wss://does-not-exist.invalid/", null, false, ["could not resolve host"], [], 15000)
	return true


func test_option_misuse() -> bool:
	var crypto := Crypto.new()
	if _key == null:
		_key = crypto.generate_rsa(2048)
		_cert = crypto.generate_self_signed_certificate(_key, "CN=localhost")
	var p = new_peer()
	check_eq("wss:// with TLSOptions.server() is ERR_INVALID_PARAMETER",
			p.connect_to_url("wss://127.0.0.1:1/", TLSOptions.server(_key, _cert)), ERR_INVALID_PARAMETER)
	check_eq("wss:// with TLSOptions.server(): stays CLOSED", p.get_ready_state(), CLOSED)
	if need_echo("TLS options on a ws:// URL"):
		await _expect("client options on a ws:// URL are ignored", py_url("/echo"), TLSOptions.client(_cert), true)
	return true
