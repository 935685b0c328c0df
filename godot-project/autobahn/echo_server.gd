extends SceneTree
## Autobahn|Testsuite echo server: TCPServer + accept_stream into the class under test, echoing
## every message with its type, for wstest's fuzzingclient. Ends after 60 s without connections.
## User args: --port=N (default 9002), --class=NAME (default RustWebSocketPeer).

const IDLE_MS := 60000
const BIG := 64 * 1024 * 1024  # cases 9.x send messages up to 16 MiB in up to 65536 fragments

var tcp := TCPServer.new()
var peers: Array = []
var cls := "RustWebSocketPeer"
var last_activity := 0


func _initialize() -> void:
	var port := 9002
	for arg in OS.get_cmdline_user_args():
		if arg.begins_with("--port="):
			port = int(arg.trim_prefix("--port="))
		elif arg.begins_with("--class="):
			cls = arg.trim_prefix("--class=")
	if not ClassDB.class_exists(cls) or tcp.listen(port, "127.0.0.1") != OK:
		printerr("echo_server: cannot start (%s on %d)" % [cls, port])
		quit(1)
		return
	print("READY %d" % port)
	last_activity = Time.get_ticks_msec()


func _process(_delta: float) -> bool:
	for _round in 20:  # several rounds per frame: headless frames are cheap but not free
		while tcp.is_connection_available():
			var peer = ClassDB.instantiate(cls)
			peer.inbound_buffer_size = BIG
			peer.outbound_buffer_size = BIG
			peer.max_queued_packets = 100000
			peer.accept_stream(tcp.take_connection())
			peers.append(peer)
			last_activity = Time.get_ticks_msec()
		for peer in peers:
			peer.poll()
			while peer.get_available_packet_count() > 0:
				var data: PackedByteArray = peer.get_packet()
				peer.send(data, 0 if peer.was_string_packet() else 1)
				last_activity = Time.get_ticks_msec()
		peers = peers.filter(func(p): return p.get_ready_state() != 3)
	if Time.get_ticks_msec() - last_activity > IDLE_MS:
		quit(0)
	return false
