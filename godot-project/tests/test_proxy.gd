extends "res://tests/lib/suite.gd"
## Clients behind an HTTP proxy (CONNECT tunnels), against real proxies started by tests/run.py
## (tests/proxies.py; ports and logs in --proxy-dir/proxies.json): Debian's tinyproxy without and
## with Basic authentication, PyPI's proxy.py with a password full of reserved characters, and
## tests/peers/bad_proxy.py, which misbehaves by the target's first host label. Targets: the
## Python echo server (ws://) and the TLS server's leaf naming `localhost` only (wss://).
## The runner starts this suite with http_proxy, HTTPS_PROXY (with credentials) and no_proxy set,
## for the environment checks; the other tests set their proxies with the setters.
## The engine's WebSocketPeer has no proxy support: against it, only that is checked.

var _proxies := {}
var _ca: X509Certificate
var _payload := PackedByteArray()


func tests() -> Array[Callable]:
	if is_engine:
		return [test_engine_has_no_proxy]
	return [test_tinyproxy_ws, test_tinyproxy_wss, test_scheme_picks_the_proxy, test_certificate_names_the_target,
			test_tinyproxy_auth, test_proxypy_reserved_password, test_unreachable, test_bad_answers,
			test_silent_proxy, test_slowloris_proxy, test_request_on_the_wire, test_bad_input,
			test_environment, test_multiplayer_client]


func test_engine_has_no_proxy() -> bool:
	var p = new_peer()
	check("differs: the engine's WebSocketPeer has no set_http_proxy/set_https_proxy",
			not p.has_method("set_http_proxy") and not p.has_method("set_https_proxy"))
	return true


# ---- helpers -----------------------------------------------------------------------------------

## proxies.json's entry for `name` ({} after a failed check when the runner could not start it).
func _proxy(test_name: String, name: String) -> Dictionary:
	if _proxies.is_empty() and proxy_dir != "":
		var info = JSON.parse_string(FileAccess.get_file_as_string(proxy_dir.path_join("proxies.json")))
		if info is Dictionary:
			_proxies = info
	var entry = _proxies.get(name)
	if entry is Dictionary:
		var out: Dictionary = entry.duplicate()
		out.port = int(out.port)
		return out
	check("%s: proxy %s available" % [test_name, name], false, "not in --proxy-dir=DIR/proxies.json")
	return {}


## The port of the TLS server whose certificate names `localhost` only; -1 without it.
func _tls_port(test_name: String) -> int:
	var ports := tls_ports(test_name)
	if ports.is_empty():
		return -1
	if _ca == null:
		_ca = X509Certificate.new()
		if not check("%s: load ca.crt" % test_name, _ca.load(tls_file("ca.crt")) == OK):
			return -1
	return ports.get("localhost_only", -1)


func _count(path: String, needle: String) -> int:
	return FileAccess.get_file_as_string(path).count(needle)


## Waits (bounded) until `needle` occurs in the file more than `before` times.
func _log_grows(path: String, needle: String, before: int, timeout_ms := 8000) -> bool:
	return await pump([], func(): return _count(path, needle) > before, timeout_ms)


func _ws(host: String) -> String:
	return "ws://%s:%d/echo" % [host, echo_port]


## Connects `c` to `url`, then checks OPEN, an echo of a text and a 50 KB binary message, and a
## clean close. Returns get_connected_port() while it was open (-1 if it did not open): the
## proxy's port through a proxy, the server's when direct.
func _echo_through(label: String, c: Object, url: String, options: TLSOptions = null) -> int:
	if _payload.is_empty():
		for i in 50000:
			_payload.append((i * 7 + 3) % 256)
	check_eq("%s: connect_to_url OK" % label, c.connect_to_url(url, options), OK)
	await pump([c], func(): return c.get_ready_state() != CONNECTING, 15000)
	if not check_eq("%s: OPEN" % label, state_name(c.get_ready_state()), "OPEN"):
		print("# %s: %s" % [label, c.get_error_message()])
		return -1
	var port: int = c.get_connected_port()
	c.send_text("through the proxy")
	c.send(_payload)
	var got := await receive(c, 2)
	check_eq("%s: echo intact (text, 50 KB binary)" % label,
			got.map(func(m): return m[0].get_string_from_utf8() if m[1] else m[0] == _payload),
			["through the proxy", true])
	c.close(1000, "done")
	await until_closed([c])
	check_eq("%s: clean close" % label, c.get_close_code(), 1000)
	return port


## Connects `c` to `url` and expects CLOSED with -1 and a message containing every part of `why`.
func _fails(label: String, c: Object, url: String, why: Array, options: TLSOptions = null,
		timeout_ms := 15000) -> void:
	check_eq("%s: connect_to_url OK" % label, c.connect_to_url(url, options), OK)
	await pump([c], func(): return c.get_ready_state() == CLOSED, timeout_ms)
	check_eq("%s: CLOSED" % label, state_name(c.get_ready_state()), "CLOSED")
	check_eq("%s: close code -1" % label, c.get_close_code(), -1)
	var msg: String = c.get_error_message()
	var missing := why.filter(func(w): return not msg.contains(w))
	check("%s: get_error_message says %s" % [label, " + ".join(why.map(func(w): return "\"%s\"" % w))],
			missing.is_empty(), "got \"%s\"" % msg)


## The last request head bad_proxy.py recorded.
func _last_head(record: String) -> String:
	var lines := FileAccess.get_file_as_string(record).strip_edges().split("\n")
	var entry = JSON.parse_string(lines[lines.size() - 1]) if lines.size() > 0 else null
	return entry.head if entry is Dictionary else ""


# ---- real proxies ------------------------------------------------------------------------------

func test_tinyproxy_ws() -> bool:
	var tp := _proxy("tinyproxy ws://", "tinyproxy")
	if tp.is_empty() or not need_echo("tinyproxy ws://"):
		return true
	var c = new_peer()
	check_eq("tinyproxy ws://: set_http_proxy OK", c.set_http_proxy("127.0.0.1", tp.port), OK)
	var needle := "CONNECT localhost:%d HTTP/1.1" % echo_port
	var before := _count(tp.log, needle)
	var connected := await _echo_through("tinyproxy ws://localhost", c, _ws("localhost"))
	check_eq("tinyproxy ws://: the TCP connection is to the proxy", connected, tp.port)
	check("tinyproxy ws://: the proxy's log shows the CONNECT", await _log_grows(tp.log, needle, before))
	check("tinyproxy ws://: the proxy's log shows the tunnel to localhost",
			FileAccess.get_file_as_string(tp.log).contains("Established connection to host \"localhost\""))
	return true


func test_tinyproxy_wss() -> bool:
	var tp := _proxy("tinyproxy wss://", "tinyproxy")
	var port := _tls_port("tinyproxy wss://")
	if tp.is_empty() or port < 0:
		return true
	var c = new_peer()
	check_eq("tinyproxy wss://: set_https_proxy OK", c.set_https_proxy("127.0.0.1", tp.port), OK)
	var needle := "CONNECT localhost:%d HTTP/1.1" % port
	var before := _count(tp.log, needle)
	await _echo_through("tinyproxy wss://localhost", c, "wss://localhost:%d/echo" % port, TLSOptions.client(_ca))
	check("tinyproxy wss://: the proxy's log shows the CONNECT", await _log_grows(tp.log, needle, before))
	return true


## set_http_proxy is for ws:// only, set_https_proxy for wss:// only (as in HTTPClient).
func test_scheme_picks_the_proxy() -> bool:
	var tp := _proxy("scheme", "tinyproxy")
	var port := _tls_port("scheme")
	if tp.is_empty() or port < 0 or not need_echo("scheme"):
		return true
	var c = new_peer()
	c.set_http_proxy("127.0.0.1", tp.port)
	var c_port := await _echo_through("set_http_proxy only, wss://", c, "wss://localhost:%d/echo" % port, TLSOptions.client(_ca))
	check_eq("set_http_proxy only: wss:// goes direct", c_port, port)
	var d = new_peer()
	d.set_https_proxy("127.0.0.1", tp.port)
	var d_port := await _echo_through("set_https_proxy only, ws://", d, _ws("127.0.0.1"))
	check_eq("set_https_proxy only: ws:// goes direct", d_port, echo_port)
	return true


## Through a proxy, TLS runs with the target and checks the target's name, never the proxy's:
## the certificate names localhost only (no IP address).
func test_certificate_names_the_target() -> bool:
	var tp := _proxy("certificate", "tinyproxy")
	var port := _tls_port("certificate")
	if tp.is_empty() or port < 0:
		return true
	# The proxy is 127.0.0.1, which the certificate does not name: the connection above worked.
	# Here the proxy is named localhost, the target 127.0.0.1: refused, because of the target.
	var c = new_peer()
	c.set_https_proxy("localhost", tp.port)
	await _fails("wss://127.0.0.1 through a proxy named localhost", c, "wss://127.0.0.1:%d/echo" % port,
			["TLS: the certificate is not valid for host name 127.0.0.1"], TLSOptions.client(_ca))
	check("certificate: the message is not about the proxy", not c.get_error_message().begins_with("proxy"),
			c.get_error_message())
	return true


func test_tinyproxy_auth() -> bool:
	var tp := _proxy("tinyproxy auth", "tinyproxy_auth")
	var port := _tls_port("tinyproxy auth")
	if tp.is_empty() or port < 0 or not need_echo("tinyproxy auth"):
		return true
	var creds := "%s:%s@127.0.0.1" % [tp.user, tp.password]
	var needle := "CONNECT localhost:%d HTTP/1.1" % echo_port
	var before := _count(tp.log, needle)
	var c = new_peer()
	check_eq("tinyproxy auth: set_http_proxy(user:password@host) OK", c.set_http_proxy(creds, tp.port), OK)
	await _echo_through("tinyproxy auth ws://", c, _ws("localhost"))
	check("tinyproxy auth ws://: the proxy's log shows the CONNECT", await _log_grows(tp.log, needle, before))
	var d = new_peer()
	d.set_https_proxy(creds, tp.port)
	await _echo_through("tinyproxy auth wss://", d, "wss://localhost:%d/echo" % port, TLSOptions.client(_ca))
	var refused := "proxy 127.0.0.1:%d refused CONNECT localhost:%d: " % [tp.port, echo_port]
	var wrong = new_peer()
	wrong.set_http_proxy("%s:wrong@127.0.0.1" % tp.user, tp.port)
	await _fails("tinyproxy, wrong password", wrong, _ws("localhost"), [refused + "401 Unauthorized"])
	var none = new_peer()
	none.set_http_proxy("127.0.0.1", tp.port)
	await _fails("tinyproxy, no credentials", none, _ws("localhost"), [refused + "407 Proxy Authentication Required"])
	return true


## proxy.py's password is `p@ss:w/rd%#?`: given percent-encoded, and raw (the last @ ends it).
func test_proxypy_reserved_password() -> bool:
	var pp := _proxy("proxy.py", "proxypy_auth")
	var port := _tls_port("proxy.py")
	if pp.is_empty() or port < 0 or not need_echo("proxy.py"):
		return true
	var encoded: String = pp.password.uri_encode()
	check_eq("proxy.py: the password is percent-encoded for the test", encoded, "p%40ss%3Aw%2Frd%25%23%3F")
	var needle := "CONNECT localhost:%d " % echo_port
	var before := _count(pp.log, needle)
	var c = new_peer()
	check_eq("proxy.py: set_http_proxy with %-encoded password OK",
			c.set_http_proxy("%s:%s@127.0.0.1" % [pp.user, encoded], pp.port), OK)
	await _echo_through("proxy.py ws:// (encoded password)", c, _ws("localhost"))
	# proxy.py writes its access log line when the connection ends.
	check("proxy.py ws://: the proxy's log shows the CONNECT", await _log_grows(pp.log, needle, before))
	var d = new_peer()
	check_eq("proxy.py: set_https_proxy with the raw password OK",
			d.set_https_proxy("%s:%s@127.0.0.1" % [pp.user, pp.password], pp.port), OK)
	var tls_needle := "CONNECT localhost:%d " % port
	var tls_before := _count(pp.log, tls_needle)
	await _echo_through("proxy.py wss:// (raw password)", d, "wss://localhost:%d/echo" % port, TLSOptions.client(_ca))
	check("proxy.py wss://: the proxy's log shows the CONNECT", await _log_grows(pp.log, tls_needle, tls_before))
	var wrong = new_peer()
	wrong.set_http_proxy("%s:p%%40ss@127.0.0.1" % pp.user, pp.port)
	await _fails("proxy.py, wrong password", wrong, _ws("localhost"),
			["proxy 127.0.0.1:%d refused CONNECT localhost:%d: 407 Proxy Authentication Required" % [pp.port, echo_port]])
	return true


func test_unreachable() -> bool:
	var port := free_port()
	var c = new_peer()
	c.set_http_proxy("127.0.0.1", port)
	await _fails("nothing listens on the proxy port", c, "ws://localhost:9/",
			["proxy 127.0.0.1:%d unreachable" % port, "could not connect", "refused"])
	var d = new_peer()
	d.set_http_proxy("no-such-proxy.invalid", 3128)
	await _fails("the proxy's name does not resolve", d, "ws://localhost:9/",
			["proxy no-such-proxy.invalid:3128 unreachable", "could not resolve"], null, 25000)
	return true


# ---- the misbehaving proxy ---------------------------------------------------------------------

func test_bad_answers() -> bool:
	var bad := _proxy("bad answers", "bad")
	if bad.is_empty() or not need_echo("bad answers"):
		return true
	var p := "proxy 127.0.0.1:%d " % bad.port
	var cases := [
		["garbage", [p + "sent an invalid answer to CONNECT garbage.invalid:%d" % echo_port, "SSH-2.0"]],
		["oversized", [p + "sent an invalid answer", "longer than 16384 bytes"]],
		["midclose", [p + "closed the connection in the middle of its answer", "after 17 bytes"]],
		["refuse403", [p + "refused CONNECT refuse403.invalid:%d: 403 Forbidden" % echo_port]],
		["stray", [p + "sent an invalid answer", "followed its 200 answer"]],
	]
	for case in cases:
		var c = new_peer()
		c.set_http_proxy("127.0.0.1", bad.port)
		await _fails("bad proxy %s, ws://" % case[0], c, _ws("%s.invalid" % case[0]), case[1])
	var t = new_peer()
	t.set_https_proxy("127.0.0.1", bad.port)
	await _fails("bad proxy garbage, wss://", t, "wss://garbage.invalid:443/", [p + "sent an invalid answer", "SSH-2.0"])
	# A valid answer one byte at a time is read in pieces and opens the tunnel.
	var d = new_peer()
	d.set_http_proxy("127.0.0.1", bad.port)
	await _echo_through("bad proxy dribbling a valid answer", d, _ws("dribble.invalid"))
	return true


## A proxy that accepts the connection and never answers: CLOSED at the 10 s deadline.
func test_silent_proxy() -> bool:
	var bad := _proxy("silent", "bad")
	if bad.is_empty():
		return true
	var c = new_peer()
	c.set_http_proxy("127.0.0.1", bad.port)
	await _fails("silent proxy", c, "ws://silent.invalid:80/",
			["proxy 127.0.0.1:%d timed out" % bad.port, "no complete answer to CONNECT silent.invalid:80 within 10 s"],
			null, 25000)
	return true


## A proxy that answers a byte every 200 ms and never ends its head: the deadline is for the
## whole answer, so it ends too.
func test_slowloris_proxy() -> bool:
	var bad := _proxy("slowloris", "bad")
	if bad.is_empty():
		return true
	var c = new_peer()
	c.set_https_proxy("127.0.0.1", bad.port)
	await _fails("slowloris proxy", c, "wss://slowloris.invalid/",
			["proxy 127.0.0.1:%d timed out" % bad.port, "CONNECT slowloris.invalid:443"], null, 25000)
	return true


## The exact request: the target as the URL names it (not resolved: .invalid names cannot be),
## Host, and Basic credentials percent-decoded.
func test_request_on_the_wire() -> bool:
	var bad := _proxy("wire", "bad")
	if bad.is_empty() or not need_echo("wire"):
		return true
	var c = new_peer()
	c.set_http_proxy("us%40er:p%3Ass@127.0.0.1", bad.port)
	await _echo_through("tunnel through bad_proxy.py", c, _ws("record.invalid"))
	var target := "record.invalid:%d" % echo_port
	check_eq("the CONNECT request on the wire", _last_head(bad.record),
			"CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Basic %s\r\n\r\n"
			% [target, target, Marshalls.utf8_to_base64("us@er:p:ss")])
	var v6 = new_peer()
	v6.set_http_proxy("127.0.0.1", bad.port)
	await _fails("IPv6 target (the bad proxy cannot reach it)", v6, "ws://[::1]:1/", ["502 Bad Gateway"])
	check_eq("an IPv6 target is written in brackets", _last_head(bad.record),
			"CONNECT [::1]:1 HTTP/1.1\r\nHost: [::1]:1\r\n\r\n")
	return true


## CR or LF in the host or the credentials (raw or percent-encoded), bad ports, a port after the
## host: refused with ERR_INVALID_PARAMETER, and nothing changes (so nothing reaches the wire).
func test_bad_input() -> bool:
	var bad := _proxy("bad input", "bad")
	if bad.is_empty() or not need_echo("bad input"):
		return true
	var c = new_peer()
	check_eq("set_http_proxy plain OK", c.set_http_proxy("127.0.0.1", bad.port), OK)
	var refused := {
		"CR LF in the host": "127.0.0.1\r\nX-Evil: 1",
		"LF in the password": "user:pa\nss@127.0.0.1",
		"%0D%0A in the password": "user:pa%0D%0Ass@127.0.0.1",
		"%0a in the user": "us%0aer:pass@127.0.0.1",
		"':' in the decoded user": "us%3Aer:pass@127.0.0.1",
		"a port after the host": "127.0.0.1:3128",
		"a URL instead of a host": "http://127.0.0.1",
	}
	for what in refused:
		check_eq("set_http_proxy refuses %s" % what, c.set_http_proxy(refused[what], bad.port), ERR_INVALID_PARAMETER)
		check_eq("set_https_proxy refuses %s" % what, c.set_https_proxy(refused[what], bad.port), ERR_INVALID_PARAMETER)
	check_eq("set_http_proxy refuses CR LF even with port -1", c.set_http_proxy("a\r\nb", -1), ERR_INVALID_PARAMETER)
	for port in [0, -2, 65536]:
		check_eq("set_http_proxy refuses port %d" % port, c.set_http_proxy("127.0.0.1", port), ERR_INVALID_PARAMETER)
	await _echo_through("after the refusals", c, _ws("record.invalid"))
	var target := "record.invalid:%d" % echo_port
	check_eq("refused calls changed nothing: the plain request went out", _last_head(bad.record),
			"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % [target, target])
	# Clearing: an empty host, or port -1.
	var d = new_peer()
	d.set_http_proxy("127.0.0.1", bad.port)
	check_eq("set_http_proxy(\"\", port) clears", d.set_http_proxy("", bad.port), OK)
	var d_port := await _echo_through("cleared with an empty host", d, _ws("127.0.0.1"))
	check_eq("cleared with an empty host: direct", d_port, echo_port)
	var e = new_peer()
	e.set_http_proxy("127.0.0.1", bad.port)
	e.set_http_proxy("127.0.0.1", -1)
	var e_port := await _echo_through("cleared with port -1", e, _ws("127.0.0.1"))
	check_eq("cleared with port -1: direct", e_port, echo_port)
	return true


# ---- environment variables ---------------------------------------------------------------------

## The runner started Godot with http_proxy (tinyproxy), HTTPS_PROXY (tinyproxy with
## credentials) and no_proxy="127.0.0.1, .bypass.invalid". Changes made here with
## OS.set_environment are undone at the end.
func test_environment() -> bool:
	var tp := _proxy("environment", "tinyproxy")
	var tpa := _proxy("environment", "tinyproxy_auth")
	var bad := _proxy("environment", "bad")
	var port := _tls_port("environment")
	if tp.is_empty() or tpa.is_empty() or bad.is_empty() or port < 0 or not need_echo("environment"):
		return true
	check("environment: the suite was started with http_proxy, HTTPS_PROXY and no_proxy",
			OS.get_environment("http_proxy") != "" and OS.get_environment("HTTPS_PROXY") != ""
			and OS.get_environment("no_proxy") != "")
	var needle := "CONNECT localhost:%d HTTP/1.1" % echo_port
	var off = new_peer()
	check_eq("proxy_from_environment is off by default", off.proxy_from_environment, false)
	var before := _count(tp.log, needle)
	var off_port := await _echo_through("environment off", off, _ws("localhost"))
	check_eq("environment off: direct, http_proxy ignored", off_port, echo_port)
	check_eq("environment off: the proxy saw nothing", _count(tp.log, needle), before)

	var on = new_peer()
	on.proxy_from_environment = true
	var on_port := await _echo_through("http_proxy", on, _ws("localhost"))
	check_eq("http_proxy: through tinyproxy", on_port, tp.port)
	check("http_proxy: the proxy's log shows the CONNECT", await _log_grows(tp.log, needle, before))
	var secure = new_peer()
	secure.proxy_from_environment = true
	var secure_port := await _echo_through("HTTPS_PROXY with credentials, wss://", secure, "wss://localhost:%d/echo" % port, TLSOptions.client(_ca))
	check_eq("HTTPS_PROXY: through tinyproxy with authentication", secure_port, tpa.port)
	var skip = new_peer()
	skip.proxy_from_environment = true
	var skip_port := await _echo_through("no_proxy lists 127.0.0.1", skip, _ws("127.0.0.1"))
	check_eq("no_proxy lists 127.0.0.1: direct", skip_port, echo_port)

	# Changed in this process: ws_proxy before http_proxy, no_proxy, bad values, setters first.
	var saved_no_proxy := OS.get_environment("no_proxy")
	OS.set_environment("ws_proxy", "http://127.0.0.1:%d" % bad.port)
	var ws = new_peer()
	ws.proxy_from_environment = true
	var ws_port := await _echo_through("ws_proxy", ws, _ws("localhost"))
	check_eq("ws_proxy wins over http_proxy", ws_port, bad.port)
	OS.set_environment("no_proxy", "other.example localhost:%d" % echo_port)
	var listed = new_peer()
	listed.proxy_from_environment = true
	var listed_port := await _echo_through("no_proxy lists localhost:port", listed, _ws("localhost"))
	check_eq("no_proxy lists localhost:port: direct", listed_port, echo_port)
	OS.set_environment("no_proxy", saved_no_proxy)
	var setter = new_peer()
	setter.proxy_from_environment = true
	setter.set_http_proxy("127.0.0.1", tp.port)
	var setter_port := await _echo_through("setter and environment", setter, _ws("localhost"))
	check_eq("a setter's proxy wins over the environment", setter_port, tp.port)
	for value in ["socks5://127.0.0.1:1080", "http://127.0.0.1:1/\r\nX-Evil: 1"]:
		OS.set_environment("ws_proxy", value)
		var b = new_peer()
		b.proxy_from_environment = true
		check_eq("connect_to_url refuses ws_proxy=%s" % value.c_escape(), b.connect_to_url(_ws("localhost")), ERR_INVALID_PARAMETER)
		var off2 = new_peer()
		check_eq("... and ignores it with proxy_from_environment off (ws_proxy=%s)" % value.c_escape(),
				off2.connect_to_url(_ws("localhost")), OK)
	OS.unset_environment("ws_proxy")
	return true


## RustWebSocketMultiplayerPeer passes its proxies to the connection create_client makes: a
## client joins a server of the class through tinyproxy (its id arrives through the tunnel).
func test_multiplayer_client() -> bool:
	var tp := _proxy("multiplayer client", "tinyproxy")
	if tp.is_empty():
		return true
	var server = ClassDB.instantiate("RustWebSocketMultiplayerPeer")
	var client = ClassDB.instantiate("RustWebSocketMultiplayerPeer")
	check_eq("multiplayer client: proxy_from_environment defaults to false", client.proxy_from_environment, false)
	check_eq("multiplayer client: set_http_proxy refuses a line break", client.set_http_proxy("evil\r\nX: y", tp.port),
			ERR_INVALID_PARAMETER)
	check_eq("multiplayer client: set_http_proxy OK", client.set_http_proxy("127.0.0.1", tp.port), OK)
	check_eq("multiplayer client: set_https_proxy OK (and cleared)", [client.set_https_proxy("127.0.0.1", tp.port),
			client.set_https_proxy("", -1)], [OK, OK])
	var port := free_port()
	if not check_eq("multiplayer client: create_server", server.create_server(port, "127.0.0.1"), OK):
		return true
	var needle := "CONNECT localhost:%d HTTP/1.1" % port
	var before := _count(tp.log, needle)
	check_eq("multiplayer client: create_client", client.create_client("ws://localhost:%d" % port), OK)
	await pump([server, client], func():
		return client.get_connection_status() != MultiplayerPeer.CONNECTION_CONNECTING, 15000)
	check_eq("multiplayer client: CONNECTED through the proxy", client.get_connection_status(),
			MultiplayerPeer.CONNECTION_CONNECTED)
	check("multiplayer client: got its id from the server", client.get_unique_id() >= 2, "id %d" % client.get_unique_id())
	check_eq("multiplayer client: its connection is to the proxy", client.get_peer(1).get_connected_port(), tp.port)
	check("multiplayer client: the proxy's log shows the CONNECT", await _log_grows(tp.log, needle, before))
	client.close()
	server.close()
	return true
