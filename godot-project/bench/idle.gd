extends "res://bench/common.gd"
## Idle connections: opens `connections` connections (2 peers each, a few at a time: TCPServer's
## listen backlog is small), then polls all peers round after round for `duration` seconds.
## Metrics: microseconds per poll() per peer, and the growth of this process's VmRSS from before
## the first open to after the poll rounds (every connection idle for `duration` by then), per
## connection (client + server peer). One connection is
## opened and closed first, so that one-time allocations (class setup, first socket) are not
## counted per connection. At the end every peer must still be OPEN with nothing received.

const BATCH := 8


## VmRSS of this process in KiB (from /proc/self/status), or -1.
static func rss_kib() -> int:
	var f := FileAccess.open("/proc/self/status", FileAccess.READ)
	if f == null:
		return -1
	while not f.eof_reached():
		var line := f.get_line()
		if line.begins_with("VmRSS:"):
			return line.trim_prefix("VmRSS:").strip_edges().split(" ")[0].to_int()
	return -1


func run() -> Dictionary:
	var n := connections
	var tcp := listen()
	if tcp == null:
		return {}
	var first := open_pair(tcp, 0)
	if first.is_empty():
		return {}
	first[0].close(-1)
	first[1].close(-1)
	first.clear()
	var rss_before := rss_kib()
	var peers: Array = []
	var clients: Array = []
	var servers: Array = []
	var t_open := now()
	var opened := 0
	while opened < n:
		var k := mini(BATCH, n - opened)
		var new_clients: Array = []
		for i in k:
			var c = new_peer(0)
			if c.connect_to_url("ws://127.0.0.1:%d/" % tcp.get_local_port()) != OK:
				return fail("connection %d: connect_to_url refused" % (opened + i))
			new_clients.append(c)
		var new_servers: Array = []
		var end := now() + STEP_TIMEOUT_USEC
		while true:
			while tcp.is_connection_available():
				var s = new_peer(0, true)
				if s.accept_stream(tcp.take_connection()) != OK:
					return fail("accept_stream refused")
				new_servers.append(s)
			var all_open := new_servers.size() == k
			for p in new_clients + new_servers:
				p.poll()
				if p.get_ready_state() != OPEN:
					all_open = false
					if p.get_ready_state() == CLOSED:
						return fail("connection %d closed while opening" % opened)
			if all_open:
				break
			if now() > end:
				return fail("connections %d-%d did not open in time" % [opened, opened + k - 1])
		peers.append_array(new_clients)
		peers.append_array(new_servers)
		clients.append_array(new_clients)
		servers.append_array(new_servers)
		opened += k
	var open_secs := (now() - t_open) / 1e6
	var rss_after := rss_kib()
	# Poll rounds: two unmeasured, then as many as fit in `duration` (at least 5).
	for r in 2:
		for p in peers:
			p.poll()
	var rounds := 0
	var t0 := now()
	var t_end := t0 + int(duration * 1e6)
	var t1 := t0
	while rounds < 5 or t1 < t_end:
		for p in peers:
			p.poll()
		rounds += 1
		t1 = now()
	# Diagnostics: the client sides alone, the server sides alone (a quarter of the time each),
	# and the same loop calling a trivial method instead of poll() (the script's own share).
	var per_side := {}
	for side in ["client", "server"]:
		var group: Array = clients if side == "client" else servers
		var n_rounds := 0
		var ts := now()
		var ts_end := ts + int(duration * 0.25e6)
		var te := ts
		while n_rounds < 5 or te < ts_end:
			for p in group:
				p.poll()
			n_rounds += 1
			te = now()
		per_side[side] = float(te - ts) / (n_rounds * group.size())
	var t2 := now()
	for r in rounds:
		for p in peers:
			p.get_instance_id()
	var t3 := now()
	for p in peers:
		if p.get_ready_state() != OPEN or p.get_available_packet_count() != 0:
			return fail("an idle connection changed state or received something")
	var per_poll := float(t1 - t0) / (rounds * peers.size())
	# After the poll rounds every connection has been idle for at least `duration`: what an idle
	# connection costs is measured here (a peer may free its buffers once it has been idle a while).
	var rss_idle := rss_kib()
	for p in peers:
		p.close(-1)
	tcp.stop()
	if rss_before < 0 or rss_after < 0 or rss_idle < 0:
		return fail("cannot read VmRSS from /proc/self/status")
	var details := {"connections": n, "rounds": rounds,
		"poll_seconds": (t1 - t0) / 1e6, "open_seconds": open_secs,
		"rss_before_kib": rss_before, "rss_after_open_kib": rss_after, "rss_idle_kib": rss_idle,
		"loop_only_us_per_peer": float(t3 - t2) / (rounds * peers.size()),
		"client_poll_us": per_side["client"], "server_poll_us": per_side["server"]}
	details.merge(write_details())
	return {
		"metrics": {
			"poll_us_per_peer": per_poll,
			"rss_kib_per_conn": float(rss_idle - rss_before) / n,
		},
		"details": details,
	}
