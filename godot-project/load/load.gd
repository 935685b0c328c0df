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
## Output (stdout, one line each): `LISTEN <port>` (the driver then starts the external client);
## `SERVERS_OPEN <n>` once the server side is open; then the client side opens: `CLIENTS_OPEN <n>`;
## `TRAFFIC` when the traffic starts (the driver then lets the external client start its own);
## `PROGRESS {json}` every second;
## `LOAD_ERROR text` per error (the first 50); at the end `LOAD_RESULT {json}`; exit status 0 when
## no error was found. Every wait is bounded: no progress for --stall seconds is an error (with the
## state of the first unfinished connections), as is the --timeout. The work runs in one loop in
## _initialize() (no frames), sleeping 0.3 ms after a sweep over all peers that found nothing to do.

const CONNECTING := WebSocketPeer.STATE_CONNECTING
const OPEN := WebSocketPeer.STATE_OPEN
const CLOSED := WebSocketPeer.STATE_CLOSED
const TEXT := WebSocketPeer.WRITE_MODE_TEXT
const BINARY := WebSocketPeer.WRITE_MODE_BINARY

# Client connection phases.
const P_IDLE := 0        # not started yet
const P_CONNECTING := 1
const P_OPEN := 2
const P_CLOSING := 3     # our close(1000) sent
const P_DONE := 4        # CLOSED

const MAX_ERRORS_SHOWN := 50

# ---- generator (identical to tests/load/peer.mjs) -----------------------------------------------

const M31 := 2147483647
const POOL := 65536
const HEADER := 16
const BOUNDARY := [1, 2, 15, 16, 17, 125, 126, 127, 128, 4096, 65535, 65536]

var pool_bin := PackedByteArray()
var pool_txt := PackedByteArray()
var tail := "xyz".to_ascii_buffer()


static func mix(x: int) -> int:
	x = (x * 48271) % M31
	x ^= x >> 11
	x = (x * 48271) % M31
	x ^= x >> 7
	return (x * 48271) % M31


static func rnd(c: int, s: int, k: int) -> int:
	return mix(((c * 1000003 + s * 7919 + k * 104729) % (M31 - 1)) + 1)


func make_pools() -> void:
	var x := 20251125
	pool_bin.resize(2 * POOL + HEADER)
	for i in pool_bin.size():
		x = (x * 48271) % M31
		pool_bin[i] = (x >> 8) & 255
	pool_txt.resize(2 * POOL + HEADER)
	var i := 0
	while i < pool_txt.size():
		x = (x * 48271) % M31
		var t := x % 8
		if t < 4:
			for j in 4:
				pool_txt[i + j] = 0x20 + ((x >> (3 + 5 * j)) % 95)
		elif t < 6:
			pool_txt[i] = 0xc3
			pool_txt[i + 1] = 0xa9
			pool_txt[i + 2] = 0x61 + ((x >> 3) % 26)
			pool_txt[i + 3] = 0x61 + ((x >> 8) % 26)
		elif t == 6:
			pool_txt[i] = 0xe2
			pool_txt[i + 1] = 0x82
			pool_txt[i + 2] = 0xac
			pool_txt[i + 3] = 0x2d
		else:
			pool_txt[i] = 0xf0
			pool_txt[i + 1] = 0x9f
			pool_txt[i + 2] = 0x98
			pool_txt[i + 3] = 0x80
		i += 4


## Message s of connection c: [bytes, is_text].
func make_message(c: int, s: int) -> Array:
	var p := rnd(c, s, 1) % 1000
	var r2 := rnd(c, s, 2)
	var size: int
	if p < 20:
		size = 0
	elif p < 40:
		size = BOUNDARY[r2 % BOUNDARY.size()]
	elif p < 900:
		size = 1 + r2 % 256
	elif p < 990:
		size = 257 + r2 % 3840
	else:
		size = 4097 + r2 % 61440
	var text := rnd(c, s, 3) % 100 < 30
	var off := rnd(c, s, 4) % POOL
	var start := 0
	var head := PackedByteArray()
	if size >= HEADER:
		head = ("%07x%08x|" % [c & 0xFFFFFFF, s & 0xFFFFFFFF]).to_ascii_buffer()
		start = HEADER
	var data: PackedByteArray
	if text:
		var o := off & ~3
		data = head + pool_txt.slice(o + start, o + (size & ~3)) + tail.slice(0, size & 3)
	else:
		data = head + pool_bin.slice(off + start, off + size)
	return [data, text]


## SHA-256 over a sample of messages (bytes + a type byte each), compared by tests/load/run.py
## with peer.mjs's to make sure both generators agree.
func fingerprint() -> String:
	var ctx := HashingContext.new()
	ctx.start(HashingContext.HASH_SHA256)
	for c in [0, 7, 999, 1000000, 1000999]:
		for s in 300:
			var m := make_message(c, s)
			if m[0].size() > 0:
				ctx.update(m[0])
			ctx.update(PackedByteArray([1 if m[1] else 0]))
	return ctx.finish().hex_encode()


static func describe(data: PackedByteArray, is_text: bool) -> String:
	var claims := ""
	if data.size() >= HEADER and data[HEADER - 1] == 0x7c:
		var h := data.slice(0, HEADER).get_string_from_ascii()
		if h.substr(0, 15).is_valid_hex_number():
			claims = " (its header says connection %d seq %d)" % [h.substr(0, 7).hex_to_int(), h.substr(7, 8).hex_to_int()]
	return "%s of %d B%s" % ["text" if is_text else "binary", data.size(), claims]


static func first_diff(a: PackedByteArray, b: PackedByteArray) -> int:
	for i in mini(a.size(), b.size()):
		if a[i] != b[i]:
			return i
	return mini(a.size(), b.size())


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
var stall := 30.0
var timeout := 1800.0
var open_parallel := 32
## Self-test of the checks (--fault=KIND:K): the server side's K-th echo (counted over all
## connections) is corrupted (one bit flipped; an empty message gets a byte), dropped, or
## swapped with the next message of that connection. The external client must then fail.
var fault := ""
var fault_at := -1
var fault_held = null   # reorder: [peer index, bytes, mode] held back until the next message
const ID_BASE := 1000000

# ---- state ------------------------------------------------------------------------------------------

var t0 := 0
var deadline := 0
var traffic := false
var traffic_start := 0
var stop_sending := false

var errors := PackedStringArray()
var error_count := 0

# client side (parallel arrays, index i = connection id ID_BASE + i)
var c_peers: Array = []
var c_phase := PackedInt32Array()
var c_count := PackedInt64Array()       # messages to send; -1: until stop_sending
var c_next_send := PackedInt64Array()
var c_next_recv := PackedInt64Array()
var c_inflight: Array = []              # per connection: Array of [bytes, is_text]
var c_inflight_bytes := PackedInt64Array()
var c_lookahead: Array = []             # per connection: the next message, generated, not yet sent
var c_connecting := 0
var c_started := 0
var c_opened := 0
var c_open_failed := 0
var c_closed := 0
var c_closed_1000 := 0
var c_sent := 0
var c_verified := 0
var c_bytes := 0

# server side
var server := TCPServer.new()
var s_peers: Array = []
var s_state := PackedInt32Array()       # 0 connecting, 1 open, 2 closed
var s_pending: Array = []               # per peer: null or [bytes, write_mode] whose send failed
var s_accepted := 0
var s_opened := 0
var s_closed := 0
var s_echoed := 0
var s_bytes := 0
var s_send_retries := 0
var s_close_codes := {}

var rss := {}
var times := {}
var last_work := 0
var last_progress_value := -1
var last_progress_change := 0
var next_progress_print := 0


func _initialize() -> void:
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
			"stall": stall = v.to_float()
			"timeout": timeout = v.to_float()
			"open-parallel": open_parallel = v.to_int()
			"fault":
				fault = v.get_slice(":", 0)
				fault_at = v.get_slice(":", 1).to_int()
			"fingerprint":
				make_pools()
				print("FINGERPRINT " + fingerprint())
				quit(0)
				return
			_: _error("unknown argument %s" % arg)
	var ok := error_count == 0 and _run()
	_report()
	quit(0 if ok and error_count == 0 else 1)


func _run() -> bool:
	t0 = Time.get_ticks_msec()
	deadline = t0 + int(timeout * 1000)
	if not ClassDB.class_exists(cls):
		_error("class %s is not registered (extension not built or not loaded?)" % cls)
		return false
	make_pools()
	# Warm up: the class's one-time costs (library pages, TLS roots, threads) are not per connection.
	var warm = ClassDB.instantiate(cls)
	warm.poll()
	warm = null
	rss["base_kib"] = _status_kib("VmRSS")
	print("# class %s, %d connections per side, pools ready in %d ms, RSS %d KiB"
			% [cls, n, Time.get_ticks_msec() - t0, rss["base_kib"]])
	if server_side:
		var err := server.listen(0, "127.0.0.1")
		if err != OK:
			_error("TCPServer.listen failed: %s" % error_string(err))
			return false
		print("LISTEN %d" % server.get_local_port())

	# The server side first: the client side's connects start resolver threads, whose malloc
	# arenas would blur the server side's figure.
	if server_side:
		if not _loop(func(): return s_opened == n, "accepting the server side"):
			return false
		times["servers_open_s"] = _t()
		rss["servers_open_kib"] = _status_kib("VmRSS")
	print("SERVERS_OPEN %d" % s_opened)

	if echo_url != "":
		_setup_clients()
		if not _loop(func(): return c_opened + c_open_failed == n, "opening the client side"):
			return false
		times["clients_open_s"] = _t()
		rss["clients_open_kib"] = _status_kib("VmRSS")
		if c_open_failed > 0:
			return false
	print("CLIENTS_OPEN %d" % c_opened)

	print("TRAFFIC")
	traffic = true
	traffic_start = Time.get_ticks_msec()
	var finished := func():
		if duration > 0.0 and not stop_sending and Time.get_ticks_msec() - traffic_start >= duration * 1000.0:
			stop_sending = true
		return c_closed == c_peers.size() and (not server_side or s_closed == n)
	var ok := _loop(finished, "traffic")
	times["traffic_s"] = (Time.get_ticks_msec() - traffic_start) / 1000.0
	rss["end_kib"] = _status_kib("VmRSS")
	rss["hwm_kib"] = _status_kib("VmHWM")
	# What stays after every peer is gone (a leak would show here, in a soak run most clearly).
	c_peers.clear()
	c_inflight.clear()
	c_lookahead.clear()
	s_peers.clear()
	s_pending.clear()
	rss["freed_kib"] = _status_kib("VmRSS")
	return ok


func _t() -> float:
	return (Time.get_ticks_msec() - t0) / 1000.0


func _setup_clients() -> void:
	for i in n:
		c_peers.append(null)
		c_inflight.append([])
		c_lookahead.append(null)
	c_phase.resize(n)
	c_count.resize(n)
	c_next_send.resize(n)
	c_next_recv.resize(n)
	c_inflight_bytes.resize(n)
	for i in n:
		c_phase[i] = P_IDLE
		c_count[i] = -1 if duration > 0.0 else client_messages / n + (1 if i < client_messages % n else 0)


func _new_peer() -> Object:
	var p = ClassDB.instantiate(cls)
	p.inbound_buffer_size = buffer_size
	p.outbound_buffer_size = buffer_size
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
			_error("%s: no progress for %.0f s; %s" % [what, stall, _diagnose()])
			return false
		if now > deadline:
			_error("%s: timeout of %.0f s reached; %s" % [what, timeout, _diagnose()])
			return false
		if now >= next_progress_print:
			next_progress_print = now + 1000
			_print_progress(what)
		if work == 0:
			OS.delay_usec(300)
	return error_count == 0


func _progress_value() -> int:
	return c_opened + c_open_failed + c_verified + c_closed + s_peers.size() + s_opened + s_echoed + s_closed


func _print_progress(what: String) -> void:
	print("PROGRESS " + JSON.stringify({
		"t": _t(), "phase": what, "c_opened": c_opened, "c_sent": c_sent, "c_verified": c_verified,
		"c_closed": c_closed, "s_accepted": s_peers.size(), "s_opened": s_opened, "s_echoed": s_echoed,
		"s_closed": s_closed, "rss_kib": _status_kib("VmRSS"), "errors": error_count,
	}))


## One pass over everything; returns how much happened (0: nothing to do).
func _sweep() -> int:
	var work := 0
	if server_side:
		work += _accept()
		work += _sweep_server()
	if not c_peers.is_empty():
		work += _start_clients()
		work += _sweep_clients()
	return work


func _accept() -> int:
	var work := 0
	while server.is_connection_available():
		var conn := server.take_connection()
		var p = _new_peer()
		var err: int = p.accept_stream(conn)
		if err != OK:
			_error("accept_stream failed: %s" % error_string(err))
			continue
		s_peers.append(p)
		s_state.append(0)
		s_pending.append(null)
		s_accepted += 1
		work += 1
	return work


func _sweep_server() -> int:
	var work := 0
	for i in s_peers.size():
		var state := s_state[i]
		if state == 2:
			continue
		var p = s_peers[i]
		p.poll()
		var st: int = p.get_ready_state()
		if state == 0:
			if st == OPEN:
				s_state[i] = 1
				s_opened += 1
				work += 1
			elif st == CLOSED:
				s_state[i] = 2
				s_closed += 1
				_error("server side: connection %d closed before it opened (code %d %s)"
						% [i, p.get_close_code(), _message_of(p)])
				continue
		var pend = s_pending[i]
		if pend != null:
			if p.send(pend[0], pend[1]) != OK:
				s_send_retries += 1
				continue
			s_pending[i] = null
			s_echoed += 1
			s_bytes += pend[0].size()
			work += 1
		while p.get_available_packet_count() > 0:
			var pkt: PackedByteArray = p.get_packet()
			var mode := TEXT if p.was_string_packet() else BINARY
			if fault_at >= 0 and (s_echoed == fault_at or (fault_held != null and fault_held[0] == i)):
				if _inject_fault(p, i, pkt, mode):
					s_echoed += 1
					continue
			if p.send(pkt, mode) != OK:
				s_pending[i] = [pkt, mode]
				s_send_retries += 1
				break
			s_echoed += 1
			s_bytes += pkt.size()
			work += 1
		if st == CLOSED:
			s_state[i] = 2
			s_closed += 1
			work += 1
			var code: int = p.get_close_code()
			s_close_codes[code] = s_close_codes.get(code, 0) + 1
			if code != 1000:
				_error("server side: connection %d closed with code %d, want 1000 %s" % [i, code, _message_of(p)])
			if s_pending[i] != null or p.get_available_packet_count() > 0:
				_error("server side: connection %d closed with messages not echoed" % i)
	return work


## Applies --fault to this echo; true when it took the message (nothing more to send for it).
func _inject_fault(p: Object, i: int, pkt: PackedByteArray, mode: int) -> bool:
	if fault_held != null:
		# reorder: this message first, then the held one.
		p.send(pkt, mode)
		p.send(fault_held[1], fault_held[2])
		fault_held = null
		fault_at = -1
		return true
	print("# fault injected: %s at echo %d (server side, connection %d, %s)" % [fault, s_echoed, i, describe(pkt, mode == TEXT)])
	match fault:
		"corrupt":
			if pkt.is_empty():
				pkt.append(0x41)
			else:
				pkt[pkt.size() / 2] ^= 1
			fault_at = -1
			p.send(pkt, mode)
			return true
		"drop":
			fault_at = -1
			return true
		"reorder":
			fault_held = [i, pkt, mode]
			return true
	fault_at = -1
	return false


func _start_clients() -> int:
	var work := 0
	while c_connecting < open_parallel and c_started < n:
		var i := c_started
		c_started += 1
		var p = _new_peer()
		c_peers[i] = p
		var err: int = p.connect_to_url("%s/c/%d" % [echo_url, ID_BASE + i])
		if err != OK:
			c_phase[i] = P_DONE
			c_open_failed += 1
			c_closed += 1
			_error("client %d: connect_to_url failed: %s" % [i, error_string(err)])
			continue
		c_phase[i] = P_CONNECTING
		c_connecting += 1
		work += 1
	return work


func _sweep_clients() -> int:
	var work := 0
	for i in c_started:
		var phase := c_phase[i]
		if phase == P_DONE:
			continue
		var p = c_peers[i]
		p.poll()
		var st: int = p.get_ready_state()
		if phase == P_CONNECTING:
			if st == OPEN:
				c_phase[i] = P_OPEN
				phase = P_OPEN
				c_connecting -= 1
				c_opened += 1
				work += 1
			elif st == CLOSED:
				c_phase[i] = P_DONE
				c_connecting -= 1
				c_open_failed += 1
				c_closed += 1
				_error("client %d: could not open (code %d %s)" % [i, p.get_close_code(), _message_of(p)])
				continue
			else:
				continue
		if phase == P_OPEN:
			var q: Array = c_inflight[i]
			while p.get_available_packet_count() > 0:
				var pkt: PackedByteArray = p.get_packet()
				var is_text: bool = p.was_string_packet()
				if q.is_empty():
					_error("client %d: unexpected message after %d echoes: %s" % [i, c_next_recv[i], describe(pkt, is_text)])
					break
				var want: Array = q.pop_front()
				var wdata: PackedByteArray = want[0]
				c_inflight_bytes[i] -= wdata.size()
				if want[1] != is_text or pkt != wdata:
					_error("client %d message %d: got %s, want %s of %d B%s" % [i, c_next_recv[i],
							describe(pkt, is_text), "text" if want[1] else "binary", wdata.size(),
							(", first difference at byte %d" % first_diff(pkt, wdata)) if pkt.size() == wdata.size() else ""])
					break
				c_next_recv[i] += 1
				c_verified += 1
				c_bytes += pkt.size()
				work += 1
			if traffic:
				var count := c_count[i]
				while true:
					if q.size() >= window:
						break
					if stop_sending or (count >= 0 and c_next_send[i] >= count):
						break
					var m = c_lookahead[i]
					if m == null:
						m = make_message(ID_BASE + i, c_next_send[i])
					var size: int = m[0].size()
					if c_inflight_bytes[i] > 0 and c_inflight_bytes[i] + size > window_bytes:
						c_lookahead[i] = m
						break
					c_lookahead[i] = null
					var err: int = p.send(m[0], TEXT if m[1] else BINARY)
					if err != OK:
						# Outbound buffer full: try again next sweep.
						c_lookahead[i] = m
						break
					q.append(m)
					c_inflight_bytes[i] += size
					c_next_send[i] += 1
					c_sent += 1
					work += 1
				if q.is_empty() and (stop_sending or (count >= 0 and c_next_send[i] >= count)):
					p.close(1000, "done")
					c_phase[i] = P_CLOSING
					work += 1
					continue
			if st != OPEN:
				c_phase[i] = P_DONE
				c_closed += 1
				_error("client %d: left OPEN (state %d, code %d %s) after %d of %d echoes" % [i, st,
						p.get_close_code(), _message_of(p), c_next_recv[i], c_count[i]])
		elif phase == P_CLOSING:
			if st == CLOSED:
				c_phase[i] = P_DONE
				c_closed += 1
				work += 1
				if p.get_close_code() == 1000:
					c_closed_1000 += 1
				else:
					_error("client %d: closed with code %d, want 1000 %s" % [i, p.get_close_code(), _message_of(p)])
	return work


func _message_of(p: Object) -> String:
	if p.has_method("get_error_message"):
		var m: String = p.get_error_message()
		return "(%s)" % m if m != "" else ""
	return ""


## The state of the first unfinished connections on each side, for stall and timeout errors.
func _diagnose() -> String:
	var parts := PackedStringArray()
	var shown := 0
	for i in c_started:
		if c_phase[i] == P_DONE:
			continue
		var p = c_peers[i]
		parts.append("client %d: phase %d state %d sent %d echoed %d inflight %d (%d B) unread %d outbound %d"
				% [i, c_phase[i], p.get_ready_state(), c_next_send[i], c_next_recv[i], c_inflight[i].size(),
				c_inflight_bytes[i], p.get_available_packet_count(), p.get_current_outbound_buffered_amount()])
		shown += 1
		if shown == 3:
			break
	shown = 0
	for i in s_peers.size():
		if s_state[i] == 2:
			continue
		var p = s_peers[i]
		parts.append("server %d: state %d unread %d outbound %d pending %s"
				% [i, p.get_ready_state(), p.get_available_packet_count(),
				p.get_current_outbound_buffered_amount(), "yes" if s_pending[i] != null else "no"])
		shown += 1
		if shown == 3:
			break
	return ("client side: %d/%d opened, %d closed; server side: %d accepted, %d opened, %d closed; %s"
			% [c_opened, c_peers.size(), c_closed, s_peers.size(), s_opened, s_closed, "; ".join(parts)])


func _error(text: String) -> void:
	error_count += 1
	if errors.size() < MAX_ERRORS_SHOWN:
		errors.append(text)
		print("LOAD_ERROR " + text.replace("\n", " "))


func _report() -> void:
	print("LOAD_RESULT " + JSON.stringify({
		"class": cls, "connections": n, "duration": duration,
		"client": {"connections": n if echo_url != "" else 0, "opened": c_opened, "open_failed": c_open_failed,
			"sent": c_sent, "verified": c_verified, "bytes": c_bytes, "closed": c_closed,
			"closed_1000": c_closed_1000},
		"server": {"accepted": s_accepted, "opened": s_opened, "echoed": s_echoed, "bytes": s_bytes,
			"closed": s_closed, "close_codes": s_close_codes, "send_retries": s_send_retries},
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
