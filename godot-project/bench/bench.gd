extends SceneTree
## One benchmark measurement: one scenario, one class, both ends (the client and the server side
## made with accept_stream() on a TCPServer connection) of that class in this process, over
## loopback. Driven by tools/bench.py, which runs a fresh Godot for every measurement:
##
##   godot --headless --path PROJ --script res://bench/bench.gd -- --class=WebSocketPeer \
##       --scenario=echo_16_bin [--duration=2.0] [--warmup=0.5] [--inflight=N] [--connections=1000]
##       [--server-class=NAME]
##
## --server-class (a diagnostic; default: the same as --class) makes the accepted server sides of
## another class, to tell the client side's cost from the server side's.
##
## Prints one line `BENCH_RESULT {json}` (metrics and details) and exits 0, or prints
## `BENCH_ERROR why` and exits 1 (a lost, reordered or corrupted message, a connection that did
## not open or closed early, a timeout). Every loop is bounded in time; nothing waits for frames:
## each scenario runs as a tight loop inside _initialize() and the process quits right after.
##
## Scenarios (one script each, all extending common.gd):
##   echo.gd       echo_16_bin, echo_16_text, echo_1k_bin, echo_1k_text: msg/s, 64 in flight;
##                 echo_16_bin_coalesced, echo_1k_bin_coalesced: the same with
##                 `coalesce_writes = true` on every peer that has that property (the engine's
##                 class has not: it runs its only mode);
##                 echo_64k_bin (16 in flight), echo_1m_bin (4 in flight): MB/s (10^6 bytes of
##                 echoed payload received by the client per second)
##   pingpong.gd   pingpong: one 16-byte message in flight: round trip p50/p99/mean in us
##   handshake.gd  handshake: connect + open + close(1000) + both CLOSED, sequentially: per second
##   idle.gd       idle: N idle connections (2N peers): us per poll() per peer, and the RSS growth
##                 (VmRSS) per connection
##   multiplayer.gd  mp_rpc_1, mp_rpc_32: the multiplayer class that goes with --class
##                 (WebSocketMultiplayerPeer / RustWebSocketMultiplayerPeer), a server and 1 or 32
##                 clients with SceneMultiplayer, one RPC round trip in flight per client: round
##                 trip p50/p99 in us and round trips per second (runs after the first frame,
##                 since its nodes must be in the tree)

const Echo := preload("res://bench/echo.gd")
const PingPong := preload("res://bench/pingpong.gd")
const Handshake := preload("res://bench/handshake.gd")
const Idle := preload("res://bench/idle.gd")
const Multiplayer := preload("res://bench/multiplayer.gd")


func _initialize() -> void:
	var opts := {"class": "RustWebSocketPeer", "server-class": "", "scenario": "", "duration": "2.0",
		"warmup": "0.5", "inflight": "0", "connections": "1000"}
	for arg in OS.get_cmdline_user_args():
		var kv := arg.trim_prefix("--").split("=", true, 1)
		if not opts.has(kv[0]):
			_finish_error("unknown option %s" % arg)
			return
		opts[kv[0]] = kv[1] if kv.size() > 1 else ""
	var scenario: String = opts["scenario"]
	var bench = null
	if scenario in Echo.SCENARIOS:
		bench = Echo.new()
	elif scenario == "pingpong":
		bench = PingPong.new()
	elif scenario == "handshake":
		bench = Handshake.new()
	elif scenario == "idle":
		bench = Idle.new()
	elif scenario in Multiplayer.SCENARIOS:
		bench = Multiplayer.new()
		bench.tree = self
	else:
		_finish_error("unknown scenario '%s'" % scenario)
		return
	bench.scenario = scenario
	bench.cls = opts["class"]
	bench.server_cls = opts["server-class"] if opts["server-class"] != "" else bench.cls
	bench.duration = String(opts["duration"]).to_float()
	bench.warmup = String(opts["warmup"]).to_float()
	bench.inflight = String(opts["inflight"]).to_int()
	bench.connections = String(opts["connections"]).to_int()
	for c in [bench.cls, bench.server_cls]:
		if not ClassDB.class_exists(c) or not ClassDB.can_instantiate(c):
			_finish_error("class %s is not registered (extension not built or not loaded?)" % c)
			return
	if bench.duration <= 0 or bench.warmup < 0 or bench.connections < 1:
		_finish_error("--duration must be > 0, --warmup >= 0, --connections >= 1")
		return
	# The multiplayer scenarios wait for the first frame (a coroutine); the others return at once.
	var result: Dictionary = await bench.run() if bench is Multiplayer else bench.run()
	if bench.error != "" or not result.has("metrics"):
		_finish_error(bench.error if bench.error != "" else "no result")
		return
	result["class"] = bench.cls
	result["server_class"] = bench.server_cls
	result["scenario"] = scenario
	print("BENCH_RESULT %s" % JSON.stringify(result))
	quit(0)


func _finish_error(why: String) -> void:
	print("BENCH_ERROR %s" % why)
	quit(1)
