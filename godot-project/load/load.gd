extends SceneTree
## The Godot side of the load test, driven by tests/load/run.py (see there):
##
##   godot --headless --path godot-project -s res://load/load.gd -- --class=RustWebSocketPeer \
##       --connections=1000 [--client-messages=500000] [--echo-url=ws://127.0.0.1:PORT]
##       [--no-server] [--duration=SECONDS] [--window=8] [--window-bytes=65536]
##       [--buffer-size=131072] [--stall=30] [--timeout=1800] [--open-parallel=32]
##
## One process, both sides at once, every peer an instance of --class:
##   client side  --connections clients to the external echo server (--echo-url, path /c/<id>,
##                ids from 1000000), opened after the server side; then they send --client-messages messages
##                in all (or, with --duration > 0, keep sending for that many seconds), at most
##                --window messages and --window-bytes bytes in flight each, and check every echo
##                against what they sent (type, every byte, order); then close with 1000.
##   server side  a TCPServer on 127.0.0.1 (port 0) whose connections are accepted with
##                accept_stream(); it echoes every message with its type until the external
##                client closes (expected: 1000). Skipped with --no-server.
## Messages come from the same generator as tests/load/peer.mjs (keep the two in step): see
## there for sizes, types and the header.
##
## Files: this one (arguments, the loop, progress, the report); messages.gd (the generator);
## server_side.gd and client_side.gd (each side's peers, sweeps and checks).
##
## Output (stdout, one line each): `LISTEN <port>` (the driver then starts the external client);
## `SERVERS_OPEN <n>` once the server side is open; then the client side opens: `CLIENTS_OPEN <n>`;
## `TRAFFIC` when the traffic starts (the driver then lets the external client start its own);
## `PROGRESS {json}` every second;
## `LOAD_ERROR text` per error (the first 50); at the end `LOAD_RESULT {json}`; exit status 0 when
## no error was found. Every wait is bounded: no progress for --stall seconds is an error (with the
## state of the first unfinished connections), as is the --timeout. The work runs in one loop in
## _initialize() (no frames), sleeping 0.3 ms after a sweep over all peers that found nothing to do.

const Messages := preload("messages.gd")
const ServerSide := preload("server_side.gd")
const ClientSide := preload("client_side.gd")

const MAX_ERRORS_SHOWN := 50

# ---- settings ---------------------------------------------------------------------------------------

var cls := "RustWebSocketPeer"
var n := 1000
var client_messages := 0
var echo_url := ""
var server_side := true
var duration := 0.0
var window := 8
var window_bytes := 65536
var buffer_size := 131072
## --compression: every peer has compression_enabled (permessage-deflate with the Node peers).
var compression := false
var stall := 30.0
var timeout := 1800.0
var open_parallel := 32

# ---- state ------------------------------------------------------------------------------------------

var gen := Messages.new()
var servers: ServerSide
var clients: ClientSide

var t0 := 0
var deadline := 0
var traffic_start := 0

var errors := PackedStringArray()
var error_count := 0

var rss := {}
var times := {}
var last_work := 0
var last_progress_value := -1
var last_progress_change := 0
var next_progress_print := 0


func _initialize() -> void:
	servers = ServerSide.new(self)
	clients = ClientSide.new(self, gen)
	for arg in OS.get_cmdline_user_args():
		var kv := arg.trim_prefix("--").split("=", true, 1)
		var v: String = kv[1] if kv.size() > 1 else ""
		match kv[0]:
			"class": cls = v
			"connections": n = v.to_int()
			"client-messages": client_messages = v.to_int()
			"echo-url": echo_url = v
			"no-server": server_side = false
			"duration": duration = v.to_float()
			"window": window = v.to_int()
			"window-bytes": window_bytes = v.to_int()
			"buffer-size": buffer_size = v.to_int()
			"compression": compression = true
			"stall": stall = v.to_float()
			"timeout": timeout = v.to_float()
			"open-parallel": open_parallel = v.to_int()
			"fault":
				servers.fault = v.get_slice(":", 0)
				servers.fault_at = v.get_slice(":", 1).to_int()
			"fingerprint":
				gen.make_pools()
				print("FINGERPRINT " + gen.fingerprint())
				quit(0)
				return
			_: error("unknown argument %s" % arg)
	var ok := error_count == 0 and _run()
	_report()
	quit(0 if ok and error_count == 0 else 1)


func _run() -> bool:
	t0 = Time.get_ticks_msec()
	deadline = t0 + int(timeout * 1000)
	if not ClassDB.class_exists(cls):
		error("class %s is not registered (extension not built or not loaded?)" % cls)
		return false
	gen.make_pools()
	# Warm up: the class's one-time costs (library pages, TLS roots, threads) are not per connection.
	var warm = ClassDB.instantiate(cls)
	warm.poll()
	warm = null
	rss["base_kib"] = _status_kib("VmRSS")
	print("# class %s, %d connections per side, pools ready in %d ms, RSS %d KiB"
			% [cls, n, Time.get_ticks_msec() - t0, rss["base_kib"]])
	if server_side:
		var err := servers.server.listen(0, "127.0.0.1")
		if err != OK:
			error("TCPServer.listen failed: %s" % error_string(err))
			return false
		print("LISTEN %d" % servers.server.get_local_port())

	# The server side first: the client side's connects start resolver threads, whose malloc
	# arenas would blur the server side's figure.
	if server_side:
		if not _loop(func(): return servers.s_opened == n, "accepting the server side"):
			return false
		times["servers_open_s"] = _t()
		rss["servers_open_kib"] = _status_kib("VmRSS")
	print("SERVERS_OPEN %d" % servers.s_opened)

	if echo_url != "":
		clients.setup()
		if not _loop(func(): return clients.c_opened + clients.c_open_failed == n, "opening the client side"):
			return false
		times["clients_open_s"] = _t()
		rss["clients_open_kib"] = _status_kib("VmRSS")
		if clients.c_open_failed > 0:
			return false
	print("CLIENTS_OPEN %d" % clients.c_opened)

	print("TRAFFIC")
	clients.traffic = true
	traffic_start = Time.get_ticks_msec()
	var finished := func():
		if duration > 0.0 and not clients.stop_sending and Time.get_ticks_msec() - traffic_start >= duration * 1000.0:
			clients.stop_sending = true
		return clients.c_closed == clients.c_peers.size() and (not server_side or servers.s_closed == n)
	var ok := _loop(finished, "traffic")
	times["traffic_s"] = (Time.get_ticks_msec() - traffic_start) / 1000.0
	rss["end_kib"] = _status_kib("VmRSS")
	rss["hwm_kib"] = _status_kib("VmHWM")
	# What stays after every peer is gone (a leak would show here, in a soak run most clearly).
	clients.c_peers.clear()
	clients.c_inflight.clear()
	clients.c_lookahead.clear()
	servers.s_peers.clear()
	servers.s_pending.clear()
	rss["freed_kib"] = _status_kib("VmRSS")
	return ok


func _t() -> float:
	return (Time.get_ticks_msec() - t0) / 1000.0


## A new peer of --class with the buffer sizes; both sides make theirs here.
func new_peer() -> Object:
	var p = ClassDB.instantiate(cls)
	p.inbound_buffer_size = buffer_size
	p.outbound_buffer_size = buffer_size
	if compression:
		p.compression_enabled = true
	return p


## Sweeps until done.call() is true. False (with an error) on a stall, the timeout or errors.
func _loop(done: Callable, what: String) -> bool:
	last_progress_change = Time.get_ticks_msec()
	while not done.call():
		if error_count > 0:
			return false
		var work := _sweep()
		var now := Time.get_ticks_msec()
		var value := _progress_value()
		if value != last_progress_value:
			last_progress_value = value
			last_progress_change = now
		elif now - last_progress_change > stall * 1000.0:
			error("%s: no progress for %.0f s; %s" % [what, stall, _diagnose()])
			return false
		if now > deadline:
			error("%s: timeout of %.0f s reached; %s" % [what, timeout, _diagnose()])
			return false
		if now >= next_progress_print:
			next_progress_print = now + 1000
			_print_progress(what)
		if work == 0:
			OS.delay_usec(300)
	return error_count == 0


func _progress_value() -> int:
	var c := clients
	var s := servers
	return c.c_opened + c.c_open_failed + c.c_verified + c.c_closed + s.s_peers.size() + s.s_opened + s.s_echoed + s.s_closed


func _print_progress(what: String) -> void:
	var c := clients
	var s := servers
	print("PROGRESS " + JSON.stringify({
		"t": _t(), "phase": what, "c_opened": c.c_opened, "c_sent": c.c_sent, "c_verified": c.c_verified,
		"c_closed": c.c_closed, "s_accepted": s.s_peers.size(), "s_opened": s.s_opened, "s_echoed": s.s_echoed,
		"s_closed": s.s_closed, "rss_kib": _status_kib("VmRSS"), "errors": error_count,
	}))


## One pass over everything; returns how much happened (0: nothing to do).
func _sweep() -> int:
	var work := 0
	if server_side:
		work += servers.accept()
		work += servers.sweep()
	if not clients.c_peers.is_empty():
		work += clients.start()
		work += clients.sweep()
	return work


## The peer's error message in parentheses, when its class has one.
static func message_of(p: Object) -> String:
	if p.has_method("get_error_message"):
		var m: String = p.get_error_message()
		return "(%s)" % m if m != "" else ""
	return ""


## The state of the first unfinished connections on each side, for stall and timeout errors.
func _diagnose() -> String:
	var parts := PackedStringArray()
	clients.unfinished(parts)
	servers.unfinished(parts)
	var c := clients
	var s := servers
	return ("client side: %d/%d opened, %d closed; server side: %d accepted, %d opened, %d closed; %s"
			% [c.c_opened, c.c_peers.size(), c.c_closed, s.s_peers.size(), s.s_opened, s.s_closed, "; ".join(parts)])


func error(text: String) -> void:
	error_count += 1
	if errors.size() < MAX_ERRORS_SHOWN:
		errors.append(text)
		print("LOAD_ERROR " + text.replace("\n", " "))


func _report() -> void:
	var c := clients
	var s := servers
	print("LOAD_RESULT " + JSON.stringify({
		"class": cls, "connections": n, "duration": duration,
		"client": {"connections": n if echo_url != "" else 0, "opened": c.c_opened, "open_failed": c.c_open_failed,
			"sent": c.c_sent, "verified": c.c_verified, "bytes": c.c_bytes, "closed": c.c_closed,
			"closed_1000": c.c_closed_1000},
		"server": {"accepted": s.s_accepted, "opened": s.s_opened, "echoed": s.s_echoed, "bytes": s.s_bytes,
			"closed": s.s_closed, "close_codes": s.s_close_codes, "send_retries": s.s_send_retries},
		"rss": rss, "times": times, "error_count": error_count, "errors": errors,
		"settings": {"window": window, "window_bytes": window_bytes, "buffer_size": buffer_size},
	}))


## A field of /proc/self/status in KiB (VmRSS, VmHWM), or -1.
static func _status_kib(key: String) -> int:
	var f := FileAccess.open("/proc/self/status", FileAccess.READ)
	if f == null:
		return -1
	while not f.eof_reached():
		var line := f.get_line()
		if line.begins_with(key + ":"):
			return line.trim_prefix(key + ":").strip_edges().split(" ")[0].to_int()
	return -1

