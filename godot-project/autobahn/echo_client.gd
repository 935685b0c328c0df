extends SceneTree
## Autobahn|Testsuite echo client for wstest's fuzzingserver: reads the case count, runs every
## case (echoing each message with its type until the server closes), then asks for the reports.
## User args: --port=N (default 9001), --agent=NAME, --class=NAME (default RustWebSocketPeer).

const CASE_MS := 60000
const BIG := 64 * 1024 * 1024

var base := ""
var agent := "RustWebSocketPeer"
var cls := "RustWebSocketPeer"


func _initialize() -> void:
	var port := 9001
	for arg in OS.get_cmdline_user_args():
		if arg.begins_with("--port="):
			port = int(arg.trim_prefix("--port="))
		elif arg.begins_with("--agent="):
			agent = arg.trim_prefix("--agent=")
		elif arg.begins_with("--class="):
			cls = arg.trim_prefix("--class=")
	base = "ws://127.0.0.1:%d" % port
	if not ClassDB.class_exists(cls):
		printerr("echo_client: no class %s" % cls)
		quit(1)
		return
	run()


func open(path: String):
	var peer = ClassDB.instantiate(cls)
	peer.inbound_buffer_size = BIG
	peer.outbound_buffer_size = BIG
	peer.max_queued_packets = 100000
	peer.connect_to_url(base + path)
	return peer


## Polls until the peer is closed (or `limit_ms` passes); echoes messages when asked to.
func pump(peer, echo: bool, limit_ms: int) -> Array:
	var got := []
	var until := Time.get_ticks_msec() + limit_ms
	while Time.get_ticks_msec() < until:
		peer.poll()
		while peer.get_available_packet_count() > 0:
			var data: PackedByteArray = peer.get_packet()
			got.append(data)
			if echo:
				peer.send(data, 0 if peer.was_string_packet() else 1)
		if peer.get_ready_state() == 3:
			break
		await process_frame
	return got


func run() -> void:
	var got: Array = await pump(open("/getCaseCount"), false, 10000)
	if got.is_empty():
		printerr("echo_client: no case count from %s" % base)
		quit(1)
		return
	var count := int(got[0].get_string_from_utf8())
	print("cases: %d" % count)
	for i in range(1, count + 1):
		await pump(open("/runCase?case=%d&agent=%s" % [i, agent]), true, CASE_MS)
	await pump(open("/updateReports?agent=%s" % agent), false, 30000)
	print("done")
	quit(0)
