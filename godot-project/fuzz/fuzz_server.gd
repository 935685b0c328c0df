extends SceneTree
## Fuzz target for tests/fuzz/run.py: RustWebSocketPeer as a server (TCPServer + accept_stream)
## and as a client (connect_to_url to the driver's hostile server), all polled every frame.
##
##   godot --headless --path godot-project -s res://fuzz/fuzz_server.gd -- \
##       --port=0 --client-port=P --clients=K --done-file=PATH --timeout=S
##
## Prints `READY <port>` once listening, `STATS ...` every 2 s, `BAD <what>` for anything a peer
## must never do (an accept_stream error, a close code no peer may report, a packet over the
## limit), and at the end `FUZZ_DONE ...` with the counts. It ends when the done file exists, every
## client has been started, and every peer (server and client side) is CLOSED; or with
## `FUZZ_TIMEOUT ...` (exit status 2) after --timeout seconds.

var server := TCPServer.new()
var peers: Array = []    # [peer, index] accepted with accept_stream
var clients: Array = []  # [peer, index] connecting to the driver's server
var accepted := 0
var server_closed := 0
var client_port := 0
var client_target := 0
var client_parallel := 48
var clients_started := 0
var clients_closed := 0
var done_file := ""
var deadline_ms := 0
var bad := 0
var packets := 0
var sent := 0
var opened := 0
var next_stats := 0
var rng := RandomNumberGenerator.new()


func _initialize() -> void:
	var port := 0
	var timeout := 600.0
	for arg in OS.get_cmdline_user_args():
		var kv := arg.trim_prefix("--").split("=", true, 1)
		var value: String = kv[1] if kv.size() > 1 else ""
		match kv[0]:
			"port": port = int(value)
			"client-port": client_port = int(value)
			"clients": client_target = int(value)
			"parallel": client_parallel = int(value)
			"done-file": done_file = value
			"timeout": timeout = float(value)
			"seed": rng.seed = int(value)
	Engine.max_fps = 1000
	var err := server.listen(port, "127.0.0.1")
	if err != OK:
		print("BAD listen: %s" % error_string(err))
		quit(1)
		return
	deadline_ms = Time.get_ticks_msec() + int(timeout * 1000.0)
	next_stats = Time.get_ticks_msec() + 2000
	print("READY %d" % server.get_local_port())


## Limits vary with the connection's index, so every setting meets hostile input.
func _configure(peer: RustWebSocketPeer, index: int) -> void:
	peer.inbound_buffer_size = [65535, 1000, 200000, 10][index % 4]
	peer.max_queued_packets = [4096, 2, 1, 4096, 16][index % 5]
	peer.outbound_buffer_size = [65535, 100, 0][index % 3]
	# Heartbeats end the connections of remotes that go silent while open.
	peer.heartbeat_interval = [1.0, 0.5, 2.0][index % 3]
	if index % 7 == 3:
		peer.supported_protocols = PackedStringArray(["chat", "v2"])


func _process(_delta: float) -> bool:
	while server.is_connection_available():
		var conn := server.take_connection()
		var peer := RustWebSocketPeer.new()
		_configure(peer, accepted)
		var err := peer.accept_stream(conn)
		if err != OK:
			_bad("accept_stream returned %s" % error_string(err))
			continue
		peers.append([peer, accepted])
		accepted += 1
	while clients_started < client_target and clients.size() < client_parallel:
		var peer := RustWebSocketPeer.new()
		_configure(peer, clients_started)
		var err := peer.connect_to_url("ws://127.0.0.1:%d/fuzz/%d" % [client_port, clients_started])
		if err != OK:
			_bad("connect_to_url returned %s" % error_string(err))
		clients.append([peer, clients_started])
		clients_started += 1
	var before := peers.size()
	peers = peers.filter(_poll)
	server_closed += before - peers.size()
	before = clients.size()
	clients = clients.filter(_poll)
	clients_closed += before - clients.size()

	var now := Time.get_ticks_msec()
	if now >= next_stats:
		next_stats = now + 2000
		print("STATS accepted=%d server_closed=%d clients_started=%d clients_closed=%d open=%d packets=%d" % [
			accepted, server_closed, clients_started, clients_closed, peers.size() + clients.size(), packets])
	var finished := done_file != "" and FileAccess.file_exists(done_file)
	if finished and clients_started >= client_target and peers.is_empty() and clients.is_empty():
		print("FUZZ_DONE accepted=%d server_closed=%d clients=%d clients_closed=%d opened=%d packets=%d sent=%d bad=%d" % [
			accepted, server_closed, clients_started, clients_closed, opened, packets, sent, bad])
		server.stop()
		quit(1 if bad > 0 else 0)
	elif now > deadline_ms:
		var states := {}
		for entry in peers + clients:
			var s: int = entry[0].get_ready_state()
			states[s] = states.get(s, 0) + 1
		print("FUZZ_TIMEOUT accepted=%d server_closed=%d clients=%d clients_closed=%d still open by state %s" % [
			accepted, server_closed, clients_started, clients_closed, states])
		quit(2)
	return false


## Polls one peer, reads (and sometimes echoes) its packets; false once it is CLOSED.
func _poll(entry: Array) -> bool:
	var peer: RustWebSocketPeer = entry[0]
	var index: int = entry[1]
	peer.poll()
	var state := peer.get_ready_state()
	var up := state == RustWebSocketPeer.STATE_OPEN or state == RustWebSocketPeer.STATE_CLOSING
	if up and entry.size() == 2:
		entry.append(true)
		opened += 1
	while peer.get_available_packet_count() > 0:
		var data := peer.get_packet()
		packets += 1
		if data.size() > peer.inbound_buffer_size:
			_bad("a %d-byte packet over inbound_buffer_size %d" % [data.size(), peer.inbound_buffer_size])
		if peer.get_packet_error() != OK:
			_bad("get_packet_error %s" % error_string(peer.get_packet_error()))
		if state == RustWebSocketPeer.STATE_OPEN:
			match (index + packets) % 5:
				0:
					if peer.send(data, RustWebSocketPeer.WRITE_MODE_BINARY) == OK:
						sent += 1
				1:
					if peer.send_text("echo %d" % data.size()) == OK:
						sent += 1
	if state == RustWebSocketPeer.STATE_OPEN and index % 11 == 5 and packets % 13 == 0:
		peer.close(4000, "fuzz says bye")
	if state != RustWebSocketPeer.STATE_CLOSED:
		return true
	var code := peer.get_close_code()
	if not (code == -1 or code == 0 or (code >= 1000 and code <= 1003) or (code >= 1007 and code <= 1014)
			or (code >= 3000 and code <= 4999)):
		_bad("close code %d reported" % code)
	return false


func _bad(what: String) -> void:
	bad += 1
	if bad <= 50:
		print("BAD %s" % what)
