extends SceneTree
## Autobahn|Testsuite echo server for wstest's fuzzingclient (tests/autobahn/run.py starts it):
## a TCPServer on 127.0.0.1 whose connections go through accept_stream into the class under test,
## each echoing every message with its type; any number of connections at once. Runs until killed
## or until --idle seconds pass without a connection or a message.
## User args: --port=N (default 9002), --class=NAME (default RustWebSocketPeer; WebSocketPeer for
## the engine's), --idle=SECONDS (default 60).
## Prints "READY <port>" once listening, and one line per connection that ends:
## "closed CODE REASON after MS ms" (a connection CLOSED at once, e.g. a port probe, included).

# Cases 9.x send messages of up to 16 MiB, in up to 65536 fragments.
const BIG := 64 * 1024 * 1024
const MAX_PACKETS := 1 << 20

var tcp := TCPServer.new()
var peers: Array = []  # [peer, accepted at msec]
var cls := "RustWebSocketPeer"
var idle_ms := 60000
var last_activity := 0

## --compression: peers get compression_enabled = true (permessage-deflate, cases 12.* and 13.*).
var compression := false


func _initialize() -> void:
	# Headless frames otherwise sleep 6.9 ms each: one round trip per frame is slow for 9.7/9.8.
	OS.low_processor_usage_mode_sleep_usec = 250
	var port := 9002
	for arg in OS.get_cmdline_user_args():
		if arg == "--compression":
			compression = true
		if arg.begins_with("--port="):
			port = int(arg.trim_prefix("--port="))
		elif arg.begins_with("--class="):
			cls = arg.trim_prefix("--class=")
		elif arg.begins_with("--idle="):
			idle_ms = int(float(arg.trim_prefix("--idle=")) * 1000)
	if not ClassDB.class_exists(cls) or not ClassDB.can_instantiate(cls):
		printerr("echo_server: no class %s" % cls)
		quit(1)
		return
	var err := tcp.listen(port, "127.0.0.1")
	if err != OK:
		printerr("echo_server: cannot listen on 127.0.0.1:%d (error %d)" % [port, err])
		quit(1)
		return
	print("READY %d" % port)
	last_activity = Time.get_ticks_msec()


func _process(_delta: float) -> bool:
	if not tcp.is_listening():
		return false
	var now := Time.get_ticks_msec()
	while tcp.is_connection_available():
		var peer = ClassDB.instantiate(cls)
		peer.inbound_buffer_size = BIG
		peer.outbound_buffer_size = BIG
		peer.max_queued_packets = MAX_PACKETS
		if compression:
			peer.compression_enabled = true
		var err: int = peer.accept_stream(tcp.take_connection())
		if err != OK:
			print("accept_stream: error %d" % err)
			continue
		peers.append([peer, now])
		last_activity = now
	var still := []
	for entry in peers:
		var peer = entry[0]
		peer.poll()
		while peer.get_available_packet_count() > 0:
			var data: PackedByteArray = peer.get_packet()
			var err: int = peer.send(data, 0 if peer.was_string_packet() else 1)
			if err != OK:
				print("send of %d bytes: error %d" % [data.size(), err])
			last_activity = now
		if peer.get_ready_state() == 3:  # STATE_CLOSED: dropping the peer frees its stream
			print("closed %d %s after %d ms" % [peer.get_close_code(),
				JSON.stringify(peer.get_close_reason()), now - entry[1]])
		else:
			still.append(entry)
	peers = still
	if now - last_activity > idle_ms:
		print("idle for %.0f s: quitting" % (idle_ms / 1000.0))
		quit(0)
	return false
