extends "res://bench/common.gd"
## Ping-pong: one 16-byte binary message in flight. The client sends, then client and server are
## polled in turn (the server echoes) until the client has the echo, which must be the same size
## and carry the same sequence number, with nothing else queued. Round-trip times in microseconds,
## warm-up excluded; the run stops after `duration` or MAX_SAMPLES round trips.

const SIZE := 16
const MAX_SAMPLES := 2_000_000


func run() -> Dictionary:
	var tcp := listen()
	if tcp == null:
		return {}
	var pair := open_pair(tcp, 0)
	if pair.is_empty():
		return {}
	var c = pair[0]
	var s = pair[1]
	var payload := make_payload(SIZE)
	var body := payload.slice(4)
	var samples := PackedInt64Array()
	var loop_rounds := 0  # loop iterations (client poll + server poll) per round trip
	var max_rounds := 0
	var t_measure := now() + int(warmup * 1e6)
	var t_stop := t_measure + int(duration * 1e6)
	var n := 0
	while true:
		var t0 := now()
		if t0 >= t_stop or samples.size() >= MAX_SAMPLES:
			break
		set_seq(payload, n)
		if c.send(payload, BINARY) != OK:
			return fail("ping %d: send refused" % n)
		var got := false
		var end := t0 + STEP_TIMEOUT_USEC
		var rounds := 0
		while not got:
			rounds += 1
			c.poll()
			s.poll()
			while s.get_available_packet_count() > 0:
				if s.send(s.get_packet(), BINARY) != OK:
					return fail("ping %d: echo refused" % n)
			if c.get_available_packet_count() > 0:
				var m: PackedByteArray = c.get_packet()
				if m.size() != SIZE or get_seq(m) != (n & 0xFFFFFF) or m.slice(4) != body \
						or c.was_string_packet() or c.get_available_packet_count() != 0:
					return fail("ping %d: wrong echo (%d bytes)" % [n, m.size()])
				got = true
			elif now() > end or c.get_ready_state() != OPEN or s.get_ready_state() != OPEN:
				return fail("ping %d: no echo (client state %d)" % [n, c.get_ready_state()])
		var t1 := now()
		if t0 >= t_measure:
			samples.append(t1 - t0)
			loop_rounds += rounds
			max_rounds = maxi(max_rounds, rounds)
		n += 1
	c.close(-1)
	s.close(-1)
	tcp.stop()
	if samples.is_empty():
		return fail("no round trip measured")
	samples.sort()
	var total := 0
	for v in samples:
		total += v
	var count := samples.size()
	var details := {"size": SIZE, "round_trips": count, "min_us": samples[0],
		"polls_per_round_trip": float(loop_rounds) / count, "max_polls_per_round_trip": max_rounds,
		"max_us": samples[count - 1], "seconds": duration}
	details.merge(write_details())
	return {
		"metrics": {
			"p50_us": samples[int(count * 0.50)],
			"p99_us": samples[mini(count - 1, int(count * 0.99))],
			"mean_us": float(total) / count,
		},
		"details": details,
	}
