extends "res://tests/lib/suite.gd"
## Base of the semantic suites (test_sem_*): the same checks against the engine's WebSocketPeer and
## RustWebSocketPeer (`# targets: @class WebSocketPeer`). The class under test is the client; the
## remote is either the engine's WebSocketPeer behind a TCPServer (a well-behaved peer, see
## engine_server.gd) or a hand-written raw server (raw_peer.gd) for frames no real peer sends.
##
## Where RustWebSocketPeer deliberately differs from the engine (README, "Differences"), a check
## asserts each class's own behaviour and its name starts with "differs:" and says what.

const RawPeer := preload("res://tests/lib/raw_peer.gd")


## "differs: <what>: engine: ..." or "differs: <what>: ours: ...", for checks about a deliberate
## difference (the check asserts the class's own behaviour).
func differs(what: String, engine_says: String, ours_says: String) -> String:
	return "differs: %s: %s" % [what, ("engine: " + engine_says) if is_engine else ("ours: " + ours_says)]


## A started raw server (raw_peer.gd); stopped after the test.
func raw_server() -> RawPeer:
	var raw := RawPeer.new()
	if raw.start() != OK:
		push_error("raw server: listen failed")
	_servers.append(raw)
	return raw


## A client of the class under test (configured by `configure` before connecting) opened on a raw
## server (`configure_raw` runs on the RawPeer first); returns [client, raw] or [] after a failed
## check.
func raw_pair(label: String, configure := Callable(), configure_raw := Callable()) -> Array:
	var raw := raw_server()
	if configure_raw.is_valid():
		configure_raw.call(raw)
	var c = new_peer()
	if configure.is_valid():
		configure.call(c)
	var opened: bool = await open(c, raw.url("/"), [raw])
	if not check("%s: opens on the raw server" % label, opened and raw.upgraded,
			"client %s" % state_name(c.get_ready_state())):
		return []
	return [c, raw]


## A client of the class under test opened on an engine server; `configure` runs on the client
## before connect_to_url, `configure_server` on the server's WebSocketPeer before accept_stream.
## Returns [client, server peer, EngineServer] or [] after a failed check.
func engine_pair(label: String, configure := Callable(), configure_server := Callable()) -> Array:
	var srv := engine_server(configure_server)
	var c = new_peer()
	if configure.is_valid():
		configure.call(c)
	var opened: bool = await open(c, srv.url("/"), [srv])
	await pump([c, srv], func(): return srv.peer() != null and srv.peer().get_ready_state() == OPEN)
	if not check("%s: connection opens" % label, opened and srv.peer() != null and srv.peer().get_ready_state() == OPEN,
			"client %s" % state_name(c.get_ready_state())):
		return []
	return [c, srv.peer(), srv]


## Polls `peers` for `ms` milliseconds, whatever happens.
func settle(peers: Array, ms: int) -> void:
	await pump(peers, func(): return false, ms)


## Reads every packet available now: [[bytes, was_string], ...].
static func drain(peer: Object) -> Array:
	var got := []
	while peer.get_available_packet_count() > 0 and got.size() < 10000:
		var data: PackedByteArray = peer.get_packet()
		got.append([data, peer.was_string_packet()])
	return got


## [[text, was_string], ...] of drained/received messages.
static func texts(msgs: Array) -> Array:
	return msgs.map(func(m): return [m[0].get_string_from_utf8(), m[1]])


static func zeros(n: int, value := 0) -> PackedByteArray:
	var b := PackedByteArray()
	b.resize(n)
	b.fill(value)
	return b


## "STATE(code, 'reason')" of a peer, for details.
static func describe(p: Object) -> String:
	return "%s(%d, '%s')" % [state_name(p.get_ready_state()), p.get_close_code(), p.get_close_reason()]
