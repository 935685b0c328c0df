extends "res://bench/common.gd"
## Echo: the client keeps `inflight` messages outstanding; the server echoes each with the same
## type; the client checks every echo and sends the next one. After the measured window the client
## stops sending and every echo must come back (bounded by STEP_TIMEOUT_USEC).
## msg/s and MB/s count the echoes the client received and checked inside the measured window.
##
## Checking costs the same few script operations per message for both classes: message k is
## pool[k % pool.size()], a pool of distinct payloads made before the clock starts (each carries
## its index in bytes 0-3), and each echo is compared whole (type, size and every byte) with the
## pool entry it must be. The pool is larger than the number in flight, so a lost, duplicated or
## reordered message fails the comparison; the final count (every echo back) catches the rest.
## Messages of LARGE bytes or more are compared whole every LARGE_FULL_CHECK_EVERY-th echo (the
## others by type, size, sequence number and last byte): a script comparing 1 MiB byte by byte
## takes longer than moving it, and would hide what the classes cost.
const LARGE := 65536
const LARGE_FULL_CHECK_EVERY := 8

## Pool size: at least this many payloads, and at least 4x the messages in flight, but no more
## than POOL_MAX_BYTES in all (at least inflight + 1 entries).
const POOL_MIN := 1024
const POOL_MAX_BYTES := 32 * 1024 * 1024

const SCENARIOS := {
	# name: [payload bytes, text, messages in flight, in/outbound_buffer_size, coalesce_writes]
	"echo_16_bin": [16, false, 64, 262144, false],
	"echo_16_text": [16, true, 64, 262144, false],
	"echo_1k_bin": [1024, false, 64, 262144, false],
	"echo_1k_text": [1024, true, 64, 262144, false],
	"echo_16_bin_coalesced": [16, false, 64, 262144, true],
	"echo_1k_bin_coalesced": [1024, false, 64, 262144, true],
	"echo_64k_bin": [65536, false, 16, 4194304, false],
	"echo_1m_bin": [1048576, false, 4, 16777216, false],
}


func run() -> Dictionary:
	var e: Array = SCENARIOS[scenario]
	coalesce = e[4]
	return run_echo(e[0], e[1], inflight if inflight > 0 else e[2], e[3])


func run_echo(size: int, text: bool, n_inflight: int, bufsize: int) -> Dictionary:
	var tcp := listen()
	if tcp == null:
		return {}
	var pair := open_pair(tcp, bufsize)
	if pair.is_empty():
		return {}
	var c = pair[0]
	var s = pair[1]
	var mode := TEXT if text else BINARY
	var pool_size := maxi(n_inflight + 1, mini(maxi(POOL_MIN, 4 * n_inflight), POOL_MAX_BYTES / size))
	var pool: Array[PackedByteArray] = []
	var base := make_payload(size)
	for i in pool_size:
		var p := base.duplicate()
		set_seq(p, i)
		pool.append(p)
	var sent := 0
	var received := 0
	var send_refused := 0
	var echo_refused := 0
	var backlog: Array[PackedByteArray] = []  # echoes the server could not queue yet, in order
	var loops := 0

	var t_start := now()
	var t_measure := t_start + int(warmup * 1e6)
	var t_stop := t_measure + int(duration * 1e6)
	var measuring := false
	var recv_at_measure := 0
	var t_measured_from := 0
	var recv_at_stop := -1
	var t_stopped := 0
	var drain_end := 0

	while true:
		var t := now()
		if not measuring and t >= t_measure:
			measuring = true
			recv_at_measure = received
			t_measured_from = t
		if recv_at_stop < 0 and t >= t_stop:
			recv_at_stop = received
			t_stopped = t
			drain_end = t + STEP_TIMEOUT_USEC
		var sending := recv_at_stop < 0
		if not sending and received == sent:
			break
		if drain_end > 0 and t > drain_end:
			return fail("%d echoes missing %d s after the last send (sent %d, received %d)"
					% [sent - received, STEP_TIMEOUT_USEC / 1_000_000, sent, received])
		loops += 1
		# Client: top up to n_inflight outstanding messages.
		while sending and sent - received < n_inflight:
			if c.send(pool[sent % pool_size], mode) != OK:
				send_refused += 1
				break
			sent += 1
		c.poll()
		s.poll()
		# Server: echo everything with the same type, keeping order when a send is refused.
		while not backlog.is_empty():
			if s.send(backlog[0], mode) != OK:
				echo_refused += 1
				break
			backlog.pop_front()
		for i in s.get_available_packet_count():
			var m: PackedByteArray = s.get_packet()
			if s.was_string_packet() != text:
				return fail("server got a %s message, sent as %s" % [kind(not text), kind(text)])
			if not backlog.is_empty() or s.send(m, mode) != OK:
				if backlog.is_empty():
					echo_refused += 1
				backlog.append(m)
		# Client: check the echoes.
		for i in c.get_available_packet_count():
			var m: PackedByteArray = c.get_packet()
			var want: PackedByteArray = pool[received % pool_size]
			var whole := size < LARGE or received % LARGE_FULL_CHECK_EVERY == 0
			if c.was_string_packet() != text or m.size() != want.size() or get_seq(m) != get_seq(want) \
					or m[size - 1] != want[size - 1] or (whole and m != want):
				return fail(_mismatch(m, c.was_string_packet(), received, pool[received % pool_size], text))
			received += 1
		if c.get_ready_state() != OPEN or s.get_ready_state() != OPEN:
			return fail("connection closed during the run (client %d, server %d)"
					% [c.get_close_code(), s.get_close_code()])

	var secs := (t_stopped - t_measured_from) / 1e6
	var msgs := recv_at_stop - recv_at_measure
	if msgs <= 0 or secs <= 0:
		return fail("no echo received in the measured window")
	c.close(-1)
	s.close(-1)
	tcp.stop()
	var metrics := {"msg_per_s": msgs / secs}
	if size >= 65536:
		metrics["mb_per_s"] = msgs * size / secs / 1e6
	var details := {"size": size, "text": text, "inflight": n_inflight, "buffer_size": bufsize,
		"seconds": secs, "messages_measured": msgs, "sent": sent, "received": received,
		"lost": sent - received, "pool_size": pool_size, "send_refused": send_refused,
		"echo_refused": echo_refused, "loops": loops, "coalesce_requested": coalesce}
	details.merge(write_details())
	return {"metrics": metrics, "details": details}


## Why echo number `n` is not what was sent.
static func _mismatch(m: PackedByteArray, was_text: bool, n: int, want: PackedByteArray, text: bool) -> String:
	if was_text != text:
		return "echo %d: %s, expected %s" % [n, kind(was_text), kind(text)]
	if m.size() != want.size():
		return "echo %d: %d bytes, expected %d" % [n, m.size(), want.size()]
	if m.size() >= 4 and m.slice(4) == want.slice(4):
		return "echo %d: message %d of the pool instead (lost, duplicated or reordered)" % [n, get_seq(m)]
	return "echo %d: payload differs" % n
