extends SceneTree
## Memory of idle compressed connections: opens --connections=N connections of RustWebSocketPeer
## to itself (client and server peer in this process, N of each), each with compression_enabled
## as --compression=1/0 says; every client sends one 1 KiB JSON message, the server echoes it
## (so both sides have made their deflate and inflate contexts); then every peer is polled for
## 1.5 s with nothing to do. VmRSS is read before opening, when open, after the echo and after
## the idle polls; the last line is one JSON object with the figures in KiB (per connection =
## per client + server pair).
## Run: godot --headless --path godot-project --script res://bench/compression_memory.gd -- --connections=1000 --compression=1

const BATCH := 8
const STEP_MS := 20000

var n := 1000
var compression := true


static func rss_kib() -> int:
	var f := FileAccess.open("/proc/self/status", FileAccess.READ)
	while f != null and not f.eof_reached():
		var line := f.get_line()
		if line.begins_with("VmRSS:"):
			return line.trim_prefix("VmRSS:").strip_edges().split(" ")[0].to_int()
	return -1


func _initialize() -> void:
	for arg in OS.get_cmdline_user_args():
		if arg.begins_with("--connections="):
			n = arg.trim_prefix("--connections=").to_int()
		elif arg.begins_with("--compression="):
			compression = arg.trim_prefix("--compression=") == "1"
	run()


func fail(why: String) -> void:
	print(JSON.stringify({"error": why}))
	quit(1)


func new_peer() -> Object:
	var p = ClassDB.instantiate("RustWebSocketPeer")
	p.compression_enabled = compression
	return p


func run() -> void:
	var tcp := TCPServer.new()
	if tcp.listen(0, "127.0.0.1") != OK:
		return fail("listen")
	var url := "ws://127.0.0.1:%d/" % tcp.get_local_port()
	var state := '{"tick":%d,"players":[%s]}'
	var players := PackedStringArray()
	for i in 12:
		players.append('{"id":%d,"name":"player%d","pos":[%.1f,2.5],"hp":%d}' % [i, i, i * 1.5, 100 - i])
	var rss := {"before": rss_kib()}
	var clients: Array = []
	var servers: Array = []
	while clients.size() < n:
		var k := mini(BATCH, n - clients.size())
		var batch: Array = []
		for i in k:
			var c = new_peer()
			if c.connect_to_url(url) != OK:
				return fail("connect_to_url")
			batch.append(c)
		var accepted: Array = []
		var end := Time.get_ticks_msec() + STEP_MS
		while true:
			while tcp.is_connection_available():
				var s = new_peer()
				s.accept_stream(tcp.take_connection())
				accepted.append(s)
			var open := accepted.size() == k
			for p in batch + accepted:
				p.poll()
				open = open and p.get_ready_state() == WebSocketPeer.STATE_OPEN
			if open:
				break
			if Time.get_ticks_msec() > end:
				return fail("connections did not open")
			await process_frame
		clients.append_array(batch)
		servers.append_array(accepted)
	rss["open"] = rss_kib()
	var extensions: String = clients[0].get_selected_extensions()
	for i in n:
		clients[i].send_text(state % [i, ",".join(players)])
	var echoed := 0
	var end := Time.get_ticks_msec() + STEP_MS
	while echoed < n:
		for s in servers:
			s.poll()
			while s.get_available_packet_count() > 0:
				s.send(s.get_packet(), WebSocketPeer.WRITE_MODE_TEXT)
		for c in clients:
			c.poll()
			while c.get_available_packet_count() > 0:
				c.get_packet()
				echoed += 1
		if Time.get_ticks_msec() > end:
			return fail("%d of %d echoes" % [echoed, n])
		await process_frame
	rss["after_echo"] = rss_kib()
	end = Time.get_ticks_msec() + 1500
	while Time.get_ticks_msec() < end:
		for p in clients + servers:
			p.poll()
		await process_frame
	rss["idle"] = rss_kib()
	for p in clients + servers:
		if p.get_ready_state() != WebSocketPeer.STATE_OPEN:
			return fail("a connection closed")
	var per := func(key: String) -> float: return snappedf(float(rss[key] - rss.before) / n, 0.1)
	print(JSON.stringify({"connections": n, "compression": compression, "extensions": extensions,
		"rss_kib": rss, "per_connection_kib": {"open": per.call("open"),
			"after_echo": per.call("after_echo"), "idle": per.call("idle")}}))
	for p in clients + servers:
		p.close(-1)
	quit(0)
