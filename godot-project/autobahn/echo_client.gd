extends SceneTree
## Autobahn|Testsuite echo client for wstest's fuzzingserver (tests/autobahn/run.py starts it):
## reads the case count from /getCaseCount, runs every case (/runCase?case=i&agent=NAME, echoing
## each message with its type until the connection is CLOSED), then asks for the reports
## (/updateReports?agent=NAME, which writes index.json).
## User args: --port=N (default 9001), --agent=NAME (default: the class), --class=NAME (default
## RustWebSocketPeer; WebSocketPeer for the engine's), --case-timeout=SECONDS (default 60),
## --count=N: the number of cases to use when /getCaseCount gives none (the engine's WebSocketPeer
## loses a message that arrives together with the server's close, and this one does).
## One line per case on stdout: "case I: closed CODE [REASON] MS ms" (or "TIMEOUT", "connect error").
## Exit status 0 once the reports were asked for, 1 when there was no case count.

# Cases 9.x send messages of up to 16 MiB, in up to 65536 fragments (and 9.2.6/9.4.x echo them).
const BIG := 64 * 1024 * 1024
const MAX_PACKETS := 1 << 20

var base := ""
var cls := "RustWebSocketPeer"
var agent := ""
var case_ms := 60000
var fallback_count := -1

## --compression: peers get compression_enabled = true (permessage-deflate, cases 12.* and 13.*).
var compression := false


func _initialize() -> void:
	# Headless frames otherwise sleep 6.9 ms each, one round trip of cases 9.7/9.8 (1000 messages).
	OS.low_processor_usage_mode_sleep_usec = 250
	var port := 9001
	for arg in OS.get_cmdline_user_args():
		if arg == "--compression":
			compression = true
		if arg.begins_with("--port="):
			port = int(arg.trim_prefix("--port="))
		elif arg.begins_with("--agent="):
			agent = arg.trim_prefix("--agent=")
		elif arg.begins_with("--class="):
			cls = arg.trim_prefix("--class=")
		elif arg.begins_with("--case-timeout="):
			case_ms = int(float(arg.trim_prefix("--case-timeout=")) * 1000)
		elif arg.begins_with("--count="):
			fallback_count = int(arg.trim_prefix("--count="))
	if agent.is_empty():
		agent = cls
	base = "ws://127.0.0.1:%d" % port
	if not ClassDB.class_exists(cls) or not ClassDB.can_instantiate(cls):
		printerr("echo_client: no class %s" % cls)
		quit(1)
		return
	run()


## A peer connecting to base + path, or null when connect_to_url refuses.
func open(path: String):
	var peer = ClassDB.instantiate(cls)
	peer.inbound_buffer_size = BIG
	peer.outbound_buffer_size = BIG
	peer.max_queued_packets = MAX_PACKETS
	if compression:
		peer.compression_enabled = true
	var err: int = peer.connect_to_url(base + path)
	if err != OK:
		print("connect_to_url(%s): error %d" % [path, err])
		return null
	return peer


## Polls `peer` until it is CLOSED or `limit_ms` passes (then drops it); echoes each message with
## its type when `echo`. Returns the messages received and how it ended.
func pump(peer, echo: bool, limit_ms: int) -> Dictionary:
	var got := []
	var start := Time.get_ticks_msec()
	var timed_out := true
	while Time.get_ticks_msec() - start < limit_ms:
		peer.poll()
		while peer.get_available_packet_count() > 0:
			var data: PackedByteArray = peer.get_packet()
			got.append(data)
			if echo:
				var err: int = peer.send(data, 0 if peer.was_string_packet() else 1)
				if err != OK:
					print("  send of %d bytes: error %d" % [data.size(), err])
		if peer.get_ready_state() == 3:  # STATE_CLOSED
			timed_out = false
			break
		await process_frame
	if timed_out:
		peer.close(-1)  # drop the connection without a closing handshake
	var ms := Time.get_ticks_msec() - start
	var how := "TIMEOUT after %d ms" % ms if timed_out else "closed %d %s %d ms" % [
		peer.get_close_code(), JSON.stringify(peer.get_close_reason()), ms]
	return {"got": got, "how": how}


func run() -> void:
	var peer = open("/getCaseCount")
	var count := -1
	if peer != null:
		var r: Dictionary = await pump(peer, false, 10000)
		if not r.got.is_empty():
			count = int(r.got[0].get_string_from_utf8())
	if count < 0 and fallback_count >= 0:
		count = fallback_count
		print("no case count from /getCaseCount: using --count=%d" % count)
	if count < 0:
		printerr("echo_client: no case count from %s" % base)
		quit(1)
		return
	print("cases: %d" % count)
	for i in range(1, count + 1):
		peer = open("/runCase?case=%d&agent=%s" % [i, agent.uri_encode()])
		if peer == null:
			print("case %d: connect error" % i)
			continue
		var r: Dictionary = await pump(peer, true, case_ms)
		print("case %d: %s" % [i, r.how])
	peer = open("/updateReports?agent=%s" % agent.uri_encode())
	if peer != null:
		var r: Dictionary = await pump(peer, false, 120000)
		print("updateReports: %s" % r.how)
	print("done")
	quit(0)
