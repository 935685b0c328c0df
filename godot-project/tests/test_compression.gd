extends "res://tests/lib/suite.gd"
## permessage-deflate (RFC 7692) with `compression_enabled`, against real peers: Python
## `websockets` and Node `ws` as servers and as clients, with their defaults and each parameter
## (tests/peers/deflate_peer.py / .mjs, one server per variant); our class on both ends; the
## engine's class, which never offers the extension and so works uncompressed. The peers count
## the bytes they receive after the handshake, which shows that what crossed the wire was
## compressed. With --class=WebSocketPeer only the engine checks run (the engine has no
## compression to test).

## What each peer's variant must make the server answer (substrings of Sec-WebSocket-Extensions).
const PY_EXPECT := {
	"off": [],
	"default": ["permessage-deflate", "server_max_window_bits=12", "client_max_window_bits=12"],
	"plain": ["permessage-deflate"],
	"snct": ["server_no_context_takeover"],
	"cnct": ["client_no_context_takeover"],
	"smwb9": ["server_max_window_bits=9"],
	"cmwb9": ["client_max_window_bits=9"],
	"all": ["server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits=10",
			"client_max_window_bits=11"],
}
## Our server's answer to each client variant: as above, except that websockets' default client
## offers only client_max_window_bits, which we leave at 15 (nothing to state).
const PY_CLIENT_EXPECT := {
	"off": [],
	"default": ["permessage-deflate"],
	"plain": ["permessage-deflate"],
	"snct": ["server_no_context_takeover"],
	"cnct": ["client_no_context_takeover"],
	"smwb9": ["server_max_window_bits=9"],
	"cmwb9": ["client_max_window_bits=9"],
	"all": ["server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits=10",
			"client_max_window_bits=11"],
}
const NODE_EXPECT := {
	"off": [],
	"default": ["permessage-deflate"],
	"snct": ["server_no_context_takeover"],
	"cnct": ["client_no_context_takeover"],
	"smwb9": ["server_max_window_bits=9"],
	"cmwb9": ["client_max_window_bits=9"],
}


func tests() -> Array[Callable]:
	if is_engine:
		return [test_engine_client_against_compressing_servers]
	return [test_defaults, test_python_servers, test_node_servers, test_python_clients,
			test_node_clients, test_ours_on_both_ends, test_engine_peers_unaffected,
			test_compression_bomb_closes_with_1009]


## JSON-like game state of about `size` bytes.
static func game_state(n: int, size: int) -> String:
	var parts := PackedStringArray()
	var i := 0
	var total := 0
	while total < size:
		var p := '{"id":%d,"name":"player%d","pos":[%.1f,%d.25],"hp":%d}' % [i, i, i * 1.5, n % 7, 100 - i % 100]
		parts.append(p)
		total += p.length() + 1
		i += 1
	return '{"tick":%d,"players":[%s]}' % [n, ",".join(parts)]


## Starts deflate_peer (kind "python" or "node") in serve mode; returns its ports or {}.
func peer_servers(kind: String, tag: String) -> Dictionary:
	var program := python_path if kind == "python" else node_path
	var script := peers_dir.path_join("deflate_peer.py" if kind == "python" else "deflate_peer.mjs")
	var c := ExtClient.new()
	c.start(kind, program, script, "serve", PackedStringArray(["--timeout", "60"]), scratch_dir)
	_procs.append(c)
	if not check("%s: %s deflate servers start" % [tag, kind], c.error == "", c.error):
		return {}
	await pump([c], func(): return c.done(), 15000)
	var ports = c.field("ports")
	check("%s: %s deflate servers report their ports" % [tag, kind], ports is Dictionary, str(c.result))
	return ports if ports is Dictionary else {}


## Whether `bytes` on the wire for `payload` bytes of messages show compression: under a third,
## or under two thirds with a 9-bit (512-byte) window, which finds few repeats in this data.
static func compressed(variant: String, bytes: int, payload: int) -> bool:
	return bytes * 3 < payload * (2 if variant.ends_with("9") else 1)


## Our client (compression on) against each variant of a peer's servers.
func against_servers(kind: String, expect: Dictionary) -> void:
	var ports := await peer_servers(kind, "%s servers" % kind)
	for variant in expect:
		if not ports.has(variant):
			check("%s %s: server listed" % [kind, variant], false, str(ports))
			continue
		var name := "%s server %s" % [kind, variant]
		var p = new_peer()
		p.compression_enabled = true
		p.inbound_buffer_size = 1 << 20
		p.outbound_buffer_size = 1 << 20
		if not check("%s: opens" % name, await open(p, "ws://127.0.0.1:%d/" % int(ports[variant]))):
			continue
		var ext: String = p.get_selected_extensions()
		for want in expect[variant]:
			check("%s: agreed %s" % [name, want], ext.contains(want), ext)
		if expect[variant].is_empty():
			check_eq("%s: no extension" % name, ext, "")
		var sent := []
		var payload := 0
		for n in 8:
			var s := game_state(n, 1024 if n % 2 == 0 else 8 * 1024)
			sent.append([s.to_utf8_buffer(), true])
			payload += s.length()
		var bin := PackedByteArray()
		bin.resize(4096)
		for i in bin.size():
			bin[i] = i % 251
		sent.append([bin, false])
		payload += bin.size()
		sent.append([PackedByteArray(), false])
		sent.append(["ünïcode ✓".to_utf8_buffer(), true])
		for m in sent:
			p.send(m[0], TEXT if m[1] else BINARY)
		var got := await receive(p, sent.size())
		check_eq("%s: %d messages echoed intact and in order" % [name, sent.size()], got, sent)
		p.send_text("wire?")
		var reply := await receive(p, 1)
		var info = JSON.parse_string(reply[0][0].get_string_from_utf8()) if reply.size() == 1 else null
		if not check("%s: wire report" % name, info is Dictionary, str(reply)):
			continue
		check_eq("%s: the server's view of the extensions is ours" % name, str(info.extensions), ext)
		var bytes_in := int(info.bytes_in)
		if ext == "":
			check("%s: uncompressed on the wire (%d bytes for %d)" % [name, bytes_in, payload], bytes_in >= payload)
		else:
			check("%s: compressed on the wire (%d bytes for %d)" % [name, bytes_in, payload], compressed(variant, bytes_in, payload))
		p.close(1000)
		check("%s: closes" % name, await until_closed([p]))
		check_eq("%s: close code" % name, p.get_close_code(), 1000)


func test_defaults() -> bool:
	var p = new_peer()
	check_eq("compression_enabled is false by default", p.compression_enabled, false)
	check_eq("no extensions before connecting", p.get_selected_extensions(), "")
	# Off by default: the offer is not made, so a compressing server answers without it.
	var ports := await peer_servers("python", "defaults")
	if ports.has("default"):
		var ok: bool = await open(p, "ws://127.0.0.1:%d/" % int(ports["default"]))
		check("default peer opens with a compressing server", ok)
		check_eq("default peer: nothing negotiated", p.get_selected_extensions(), "")
	return true


func test_python_servers() -> bool:
	await against_servers("python", PY_EXPECT)
	return true


func test_node_servers() -> bool:
	await against_servers("node", NODE_EXPECT)
	return true


## A peer's client of each variant against our server (compression on).
func against_clients(kind: String, expect: Dictionary) -> void:
	var srv := ws_server(cls, func(p):
		p.compression_enabled = true
		p.inbound_buffer_size = 1 << 20
		p.outbound_buffer_size = 1 << 20, true)
	var script := peers_dir.path_join("deflate_peer.py" if kind == "python" else "deflate_peer.mjs")
	var program := python_path if kind == "python" else node_path
	for variant in expect:
		var name := "%s client %s" % [kind, variant]
		var c := ExtClient.new()
		c.start(kind, program, script, srv.url("/" + variant), PackedStringArray(["--variant", variant]), scratch_dir)
		_procs.append(c)
		if not check("%s: starts" % name, c.error == "", c.error):
			continue
		await pump([c, srv], func(): return c.done(), 15000)
		var r = c.result
		if not check("%s: echoes everything and closes with 1000" % name, r is Dictionary and r.ok, str(r)):
			continue
		var ext := str(r.extensions)
		for want in expect[variant]:
			check("%s: we agreed %s" % [name, want], ext.contains(want), ext)
		var ours: String = srv.peers[-1].get_selected_extensions()
		check_eq("%s: get_selected_extensions is what we answered" % name, ours, ext)
		var bytes_in := int(r.bytes_in)
		var payload := int(r.payload)
		if ext == "":
			check("%s: uncompressed on the wire (%d for %d)" % [name, bytes_in, payload], bytes_in >= payload)
		else:
			check("%s: we compressed (%d bytes for %d)" % [name, bytes_in, payload], compressed(variant, bytes_in, payload))


func test_python_clients() -> bool:
	await against_clients("python", PY_CLIENT_EXPECT)
	return true


func test_node_clients() -> bool:
	await against_clients("node", NODE_EXPECT)
	return true


func test_ours_on_both_ends() -> bool:
	var srv := ws_server(cls, func(p):
		p.compression_enabled = true
		p.inbound_buffer_size = 1 << 20
		p.outbound_buffer_size = 1 << 20, true)
	var c = new_peer()
	c.compression_enabled = true
	c.inbound_buffer_size = 1 << 20
	c.outbound_buffer_size = 1 << 20
	if not check("ours to ours: opens", await open(c, srv.url(), [srv])):
		return true
	check_eq("ours to ours: client's extensions", c.get_selected_extensions(), "permessage-deflate")
	check_eq("ours to ours: server's extensions", srv.peer().get_selected_extensions(), "permessage-deflate")
	var sent := []
	for n in 20:
		sent.append([game_state(n, 64 * 1024 if n == 3 else 1024).to_utf8_buffer(), true])
	var errors := []
	for m in sent:
		errors.append(c.send(m[0], TEXT))
	check_eq("ours to ours: every send accepted", errors, sent.map(func(_m): return OK))
	# What is buffered counts the game's bytes, not the compressed ones.
	check("ours to ours: buffered amount counts uncompressed bytes (<= sum)",
			c.get_current_outbound_buffered_amount() <= sent.reduce(func(a, m): return a + m[0].size(), 0))
	var got := await receive(c, sent.size(), [srv])
	check_eq("ours to ours: 20 messages (one of 64 KiB) echoed through two compressors", got, sent)
	c.close(1000)
	check("ours to ours: closes", await until_closed([c], [srv]))
	check_eq("ours to ours: extensions still readable after close", c.get_selected_extensions(), "permessage-deflate")
	return true


func test_engine_peers_unaffected() -> bool:
	# The engine's client never offers: our compressing server answers without the extension.
	var srv := ws_server(cls, func(p): p.compression_enabled = true, true)
	var e := WebSocketPeer.new()
	_peers.append(e)
	if check("engine client to our compressing server: opens", await open(e, srv.url(), [srv])):
		e.send_text("plain")
		var got := await receive(e, 1, [srv])
		check_eq("engine client: echo", got, [["plain".to_utf8_buffer(), true]])
		check_eq("engine client: our server agreed nothing", srv.peer().get_selected_extensions(), "")
	# Our offering client and the engine's server, which ignores the offer.
	var es := engine_server(Callable(), true)
	var c = new_peer()
	c.compression_enabled = true
	if check("our offering client to the engine server: opens", await open(c, es.url(), [es])):
		check_eq("engine server: nothing agreed", c.get_selected_extensions(), "")
		c.send_text("plain")
		var got := await receive(c, 1, [es])
		check_eq("engine server: echo", got, [["plain".to_utf8_buffer(), true]])
	return true


func test_engine_client_against_compressing_servers() -> bool:
	var ports := await peer_servers("python", "engine")
	if ports.has("default"):
		var p = new_peer()
		if check("engine client opens with a compressing server", await open(p, "ws://127.0.0.1:%d/" % int(ports["default"]))):
			p.send_text("plain")
			var got := await receive(p, 1)
			check_eq("engine client: uncompressed echo", got, [["plain".to_utf8_buffer(), true]])
	return true


func test_compression_bomb_closes_with_1009() -> bool:
	var srv := ws_server(cls, func(p):
		p.compression_enabled = true
		p.outbound_buffer_size = 0)
	var c = new_peer()
	c.compression_enabled = true  # inbound_buffer_size stays 65535
	if not check("bomb: opens", await open(c, srv.url(), [srv])):
		return true
	await pump([c, srv], func(): return srv.peer() != null and srv.peer().get_ready_state() == OPEN)
	var zeros := PackedByteArray()
	zeros.resize(16 << 20)  # 16 MiB of zeros: about 16 KiB compressed
	check_eq("bomb: 16 MiB message queued on the server", srv.peer().send(zeros, BINARY), OK)
	check("bomb: the client closes", await until_closed([c], [srv], 10000))
	check_eq("bomb: close code 1009", c.get_close_code(), 1009)
	check("bomb: error message names the limit", c.get_error_message().contains("inbound_buffer_size"), c.get_error_message())
	check_eq("bomb: no message delivered", c.get_available_packet_count(), 0)
	return true
