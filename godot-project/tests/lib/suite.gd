extends SceneTree
## Base of every suite: `extends "res://tests/lib/suite.gd"`, override tests().
##
## Run: godot --headless --path godot-project --script res://tests/test_x.gd -- --class=NAME [--echo-port=N]
##   --class      class under test, created with ClassDB.instantiate (default RustWebSocketPeer)
##   --echo-port  port of tests/peers/echo_server.py on 127.0.0.1 (0/absent: those checks fail)
##   --python, --node     executables for the external clients (tests/peers/ws_client.py / .mjs)
##   --peers-dir          tests/peers (absolute)
##   --tls-dir            where tests/peers/tls_server.py put its certificates and servers.json
##   --scratch-dir        a directory for the external clients' result files
##   --proxy-dir          where tests/proxies.py put proxies.json (ports, logs of the proxies)
##   --coalesce           peers of the class under test get `coalesce_writes = true` (if it has it)
##
## Each test is a method (usually a coroutine) that records checks and ends with `return true`.
## A script error (a method missing on the class under test, a panic in the extension) aborts the
## method, which then returns null: that is reported as a failed check instead of going unnoticed.
## Every wait is bounded (pump()); a watchdog additionally fails a test that runs too long.

const Check := preload("res://tests/lib/check.gd")
const EngineServer := preload("res://tests/lib/engine_server.gd")
const WsServer := preload("res://tests/lib/ws_server.gd")
const RawClient := preload("res://tests/lib/raw_client.gd")
const ExtClient := preload("res://tests/lib/ext_client.gd")

const CONNECTING := WebSocketPeer.STATE_CONNECTING
const OPEN := WebSocketPeer.STATE_OPEN
const CLOSING := WebSocketPeer.STATE_CLOSING
const CLOSED := WebSocketPeer.STATE_CLOSED
const TEXT := WebSocketPeer.WRITE_MODE_TEXT
const BINARY := WebSocketPeer.WRITE_MODE_BINARY

## Upper bound for one test; the runner's per-suite timeout is the last resort.
const TEST_TIMEOUT_MS := 30000
## Timing checks here assert what cannot flake: exact lower bounds (a deadline never fires early)
## and generous upper bounds (it fires, give or take a slow or busy machine). Godot's ticks
## (CLOCK_MONOTONIC_RAW on Linux, whole ms) and our Rust code's clock (CLOCK_MONOTONIC) can run
## apart by NTP's slew, at most 0.05 %: a lower bound on a delay that Rust timed allows this much.
const CLOCK_SLACK_MS := 20
## What an upper bound allows beyond the rule, for a slow or busy machine (CI shares its cores).
const SLOW_MACHINE_MS := 3000

var cls := "RustWebSocketPeer"
## True when the class under test is the engine's own WebSocketPeer. Checks about deliberate
## differences of our class assert the engine's behaviour in that case.
var is_engine := false
var echo_port := 0
var python_path := ""
var node_path := ""
var peers_dir := ""
var tls_dir := ""
var scratch_dir := ""
var proxy_dir := ""
## --coalesce: new_peer() turns write coalescing on.
var coalesce := false
var checks := Check.new()

var _current := ""
var _deadline := 0
var _finished := false
var _peers: Array = []
var _servers: Array = []
var _procs: Array = []


## Override: the tests to run, in order, e.g. `return [test_a, test_b]`.
func tests() -> Array[Callable]:
	return []


func _initialize() -> void:
	for arg in OS.get_cmdline_user_args():
		if arg.begins_with("--class="):
			cls = arg.trim_prefix("--class=")
		elif arg.begins_with("--echo-port="):
			echo_port = arg.trim_prefix("--echo-port=").to_int()
		elif arg.begins_with("--python="):
			python_path = arg.trim_prefix("--python=")
		elif arg.begins_with("--node="):
			node_path = arg.trim_prefix("--node=")
		elif arg.begins_with("--peers-dir="):
			peers_dir = arg.trim_prefix("--peers-dir=")
		elif arg.begins_with("--tls-dir="):
			tls_dir = arg.trim_prefix("--tls-dir=")
		elif arg.begins_with("--scratch-dir="):
			scratch_dir = arg.trim_prefix("--scratch-dir=")
		elif arg.begins_with("--proxy-dir="):
			proxy_dir = arg.trim_prefix("--proxy-dir=")
		elif arg == "--coalesce":
			coalesce = true
	is_engine = cls == "WebSocketPeer"
	_run()


func _run() -> void:
	if _class_available():
		print("# class under test: %s%s" % [cls, " (engine class)" if is_engine else ""])
		for t in tests():
			_current = t.get_method()
			_deadline = Time.get_ticks_msec() + TEST_TIMEOUT_MS
			var completed = await t.call()
			if _finished:
				return  # the watchdog already reported and quit
			if completed != true:
				checks.check("%s ran to the end" % _current, false,
						"aborted by a script error (see the SCRIPT ERROR lines in the log)")
			_cleanup()
	_finish()


func _class_available() -> bool:
	if not ClassDB.class_exists(cls):
		return checks.check("class %s is registered" % cls, false,
				"not in ClassDB: extension not built or not loaded (tools/build.sh, then --import)")
	var p = ClassDB.instantiate(cls)
	return checks.check("class %s instantiates as a PacketPeer" % cls, p is PacketPeer,
			"ClassDB.instantiate gave %s" % [p])


func _process(_delta: float) -> bool:
	if not _finished and _current != "" and Time.get_ticks_msec() > _deadline:
		checks.check("%s finished in time" % _current, false,
				"still running after %d ms (watchdog)" % TEST_TIMEOUT_MS)
		_cleanup()
		_finish()
	return false


func _finish() -> void:
	if _finished:
		return
	_finished = true
	print(checks.summary_line())
	quit(0 if checks.failed == 0 and checks.passed > 0 else 1)


func _cleanup() -> void:
	for p in _peers:
		if p.get_ready_state() != CLOSED:
			p.close(-1)
	for s in _servers:
		s.stop()
	for proc in _procs:
		proc.stop()
	_peers.clear()
	_servers.clear()
	_procs.clear()


# ---- helpers for tests -------------------------------------------------------------------------

func check(name: String, cond: bool, detail := "") -> bool:
	return checks.check(name, cond, detail)


func check_eq(name: String, got: Variant, want: Variant) -> bool:
	return checks.check_eq(name, got, want)


## A measured delay (ms) within [lo, hi]; the detail shows it.
func check_ms(name: String, ms: int, lo: int, hi: int) -> bool:
	return checks.check(name, ms >= lo and ms <= hi, "after %d ms (want %d to %d)" % [ms, lo, hi])


## A new instance of the class under test; closed abruptly after the test.
func new_peer() -> Object:
	var p = ClassDB.instantiate(cls)
	if coalesce and "coalesce_writes" in p:
		p.coalesce_writes = true
	_peers.append(p)
	return p


## A started engine server (see engine_server.gd); stopped after the test.
func engine_server(configure := Callable(), echo := false, address := "127.0.0.1") -> EngineServer:
	var s := EngineServer.new()
	var err := s.start(configure, echo, address)
	if err != OK:
		push_error("engine server: listen on %s failed: %s" % [address, error_string(err)])
	_servers.append(s)
	return s


## A started server built from class `server_cls` (see ws_server.gd), plain or with TLS server
## options; stopped after the test.
func ws_server(server_cls: String, configure := Callable(), echo := false, tls: TLSOptions = null) -> WsServer:
	var s := WsServer.new()
	var err := s.start(server_cls, configure, echo, tls)
	if err != OK:
		push_error("ws server: listen failed: %s" % error_string(err))
	_servers.append(s)
	return s


## Starts an external client ("python" or "node", see ext_client.gd) on `url`; killed after the
## test. Check `.error` (not available / could not start) before waiting for `.result`.
func ext_client(kind: String, url: String, args := PackedStringArray()) -> ExtClient:
	var c := ExtClient.new()
	var program := python_path if kind == "python" else node_path
	var script := peers_dir.path_join("ws_client.py" if kind == "python" else "ws_client.mjs")
	c.start(kind, program, script, url, args, scratch_dir)
	_procs.append(c)
	return c


## Polls `others` until `client` reported (or timeout_ms); returns its result or null.
func client_result(client: ExtClient, others: Array, timeout_ms := 12000) -> Variant:
	if client.error != "":
		return null
	await pump([client] + others, func(): return client.done(), timeout_ms)
	return client.result


## Ports of tests/peers/tls_server.py ({"ok": P, "wronghost": P, "expired": P, "foreign": P});
## {} after a failed check (once per test that needs it) when the runner gave none.
func tls_ports(test_name: String) -> Dictionary:
	var info = JSON.parse_string(FileAccess.get_file_as_string(tls_dir.path_join("servers.json"))) if tls_dir != "" else null
	if info is Dictionary and info.get("ports") is Dictionary:
		var ports := {}
		for k in info.ports:
			ports[k] = int(info.ports[k])
		return ports
	check("%s: python TLS servers available" % test_name, false, "no usable --tls-dir=DIR/servers.json")
	return {}


## A PEM file written by tls_server.py (ca.crt, localhost.key, ...), as an absolute path.
func tls_file(name: String) -> String:
	return tls_dir.path_join(name)


## URL on the Python echo server (tests/peers/echo_server.py).
func py_url(path: String) -> String:
	return "ws://127.0.0.1:%d%s" % [echo_port, path]


## Fails a check (once per test that needs it) when the runner gave no echo server port.
func need_echo(test_name: String) -> bool:
	if echo_port > 0:
		return true
	return check("%s: python echo server available" % test_name, false, "no --echo-port=N user arg")


## A loopback port nothing listens on (taken from the OS, then released).
func free_port() -> int:
	var s := TCPServer.new()
	s.listen(0, "127.0.0.1")
	var port := s.get_local_port()
	s.stop()
	return port


## Polls every object in `peers` (anything with poll(): peers, EngineServer) once per frame until
## cond() is true or timeout_ms has passed. Returns whether cond() became true.
func pump(peers: Array, cond: Callable, timeout_ms := 5000) -> bool:
	var end := Time.get_ticks_msec() + timeout_ms
	while true:
		for p in peers:
			p.poll()
		if cond.call():
			return true
		if Time.get_ticks_msec() >= end:
			return false
		await process_frame
	return false


## Connects `peer` to `url` and polls it (and `others`) until it leaves CONNECTING.
## Returns true if it reached OPEN.
func open(peer: Object, url: String, others: Array = [], timeout_ms := 5000) -> bool:
	if peer.connect_to_url(url) != OK:
		return false
	await pump([peer] + others, func(): return peer.get_ready_state() != CONNECTING, timeout_ms)
	return peer.get_ready_state() == OPEN


## Polls until `count` packets are available on `peer` (or it is no longer OPEN, or time is up),
## then reads them all. Each item: [PackedByteArray, was_string_packet].
func receive(peer: Object, count: int, others: Array = [], timeout_ms := 5000) -> Array:
	var got := []
	await pump([peer] + others, func():
		while peer.get_available_packet_count() > 0:
			var data: PackedByteArray = peer.get_packet()
			got.append([data, peer.was_string_packet()])
		return got.size() >= count or peer.get_ready_state() != OPEN, timeout_ms)
	return got


## Polls until every peer in `peers` is CLOSED or time is up; returns whether they all are.
func until_closed(peers: Array, others: Array = [], timeout_ms := 5000) -> bool:
	return await pump(peers + others, func():
		return peers.all(func(p): return p.get_ready_state() == CLOSED), timeout_ms)


static func state_name(s: int) -> String:
	return ["CONNECTING", "OPEN", "CLOSING", "CLOSED"][s] if s >= 0 and s <= 3 else str(s)
