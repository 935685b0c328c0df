extends "res://bench/common.gd"
## Multiplayer RPCs: a server and N clients of the multiplayer class that goes with the class
## under test (WebSocketPeer -> WebSocketMultiplayerPeer, RustWebSocketPeer ->
## RustWebSocketMultiplayerPeer), each in its own MultiplayerAPI (SceneMultiplayer) in this
## process. Every client keeps one reliable RPC in flight: `ping(seq)` to the server, whose
## handler answers `pong(seq)` to the sender; a client sends the next ping when its pong arrived.
## The APIs are polled in a tight loop (the tree's own multiplayer polling is off). Metrics: the
## round trip p50/p99 in microseconds and the round trips per second over all clients (each is
## 2 RPCs), warm-up excluded. A pong with the wrong sequence number, or none within 10 s, fails
## the run.
##   mp_rpc_1   1 client
##   mp_rpc_32  32 clients

const SCENARIOS := {"mp_rpc_1": 1, "mp_rpc_32": 32}
const MP_CLASS := {"WebSocketPeer": "WebSocketMultiplayerPeer",
	"RustWebSocketPeer": "RustWebSocketMultiplayerPeer"}

## Set by bench.gd: the tree the peers' nodes live in.
var tree: SceneTree


## The node every peer has at the same path ("P").
class Pinger extends Node:
	var last_pong := -1

	@rpc("any_peer", "call_remote", "reliable")
	func ping(seq: int) -> void:
		pong.rpc_id(multiplayer.get_remote_sender_id(), seq)

	@rpc("authority", "call_remote", "reliable")
	func pong(seq: int) -> void:
		last_pong = seq


func run() -> Dictionary:
	var n: int = SCENARIOS[scenario]
	var client_cls: String = MP_CLASS.get(cls, cls)
	var host_cls: String = MP_CLASS.get(server_cls, server_cls)
	for c in [client_cls, host_cls]:
		if not ClassDB.class_exists(c):
			return fail("class %s is not registered" % c)
	# Nodes can only join the tree once the main loop runs.
	await tree.process_frame
	tree.multiplayer_poll = false
	var apis: Array[MultiplayerAPI] = []
	var pingers: Array = []
	for i in n + 1:
		var holder := Node.new()
		holder.name = "S" if i == 0 else "C%d" % i
		tree.root.add_child(holder)
		var api := MultiplayerAPI.create_default_interface()
		tree.set_multiplayer(api, holder.get_path())
		var p := Pinger.new()
		p.name = "P"
		holder.add_child(p)
		apis.append(api)
		pingers.append(p)
	var probe := listen()
	if probe == null:
		return {}
	var port := probe.get_local_port()
	probe.stop()
	var server = ClassDB.instantiate(host_cls)
	if server.create_server(port, "127.0.0.1") != OK:
		return fail("create_server failed")
	apis[0].multiplayer_peer = server
	for i in range(1, n + 1):
		var c = ClassDB.instantiate(client_cls)
		if c.create_client("ws://127.0.0.1:%d" % port) != OK:
			return fail("create_client failed")
		apis[i].multiplayer_peer = c
	var end := now() + STEP_TIMEOUT_USEC
	while apis[0].get_peers().size() < n or not range(1, n + 1).all(func(i): return apis[i].get_peers().size() > 0):
		for api in apis:
			api.poll()
		if now() > end:
			return fail("%d clients did not join within 10 s (%d did)" % [n, apis[0].get_peers().size()])

	var seq := PackedInt64Array()
	var sent_at := PackedInt64Array()
	seq.resize(n + 1)
	sent_at.resize(n + 1)
	var samples := PackedInt64Array()
	var t_measure := now() + int(warmup * 1e6)
	var t_stop := t_measure + int(duration * 1e6)
	for i in range(1, n + 1):
		sent_at[i] = now()
		pingers[i].ping.rpc_id(1, 0)
	while true:
		for api in apis:
			api.poll()
		var t := now()
		for i in range(1, n + 1):
			var got: int = pingers[i].last_pong
			if got == seq[i]:
				if sent_at[i] >= t_measure and t <= t_stop:
					samples.append(t - sent_at[i])
				seq[i] += 1
				sent_at[i] = t
				pingers[i].ping.rpc_id(1, seq[i])
			elif got != seq[i] - 1:
				return fail("client %d: pong %d while waiting for %d" % [i, got, seq[i]])
			elif t - sent_at[i] > STEP_TIMEOUT_USEC:
				return fail("client %d: no pong for ping %d within 10 s" % [i, seq[i]])
		if t > t_stop:
			break
	for api in apis:
		var p = api.multiplayer_peer
		api.multiplayer_peer = null
		if p != null:
			p.close()
	if samples.is_empty():
		return fail("no round trip measured")
	samples.sort()
	var count := samples.size()
	return {
		"metrics": {
			"p50_us": samples[int(count * 0.50)],
			"p99_us": samples[mini(count - 1, int(count * 0.99))],
			"round_trips_per_s": count / duration,
		},
		"details": {"clients": n, "round_trips": count, "multiplayer_class": client_cls,
			"server_class": host_cls, "seconds": duration},
	}
