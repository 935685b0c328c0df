extends "res://bench/common.gd"
## Handshakes, sequentially: new client + server peers, connect, both OPEN, client close(1000),
## both CLOSED with code 1000 on both sides. handshakes/s over the measured window.

## Capped so that one run never uses up the loopback port space (TIME_WAIT).
const MAX_HANDSHAKES := 20000


func run() -> Dictionary:
	var tcp := listen()
	if tcp == null:
		return {}
	var t_measure := now() + int(warmup * 1e6)
	var t_stop := t_measure + int(duration * 1e6)
	var done := 0
	var measured := 0
	var t_from := 0
	var t_to := 0
	while done < MAX_HANDSHAKES:
		var t0 := now()
		if t0 >= t_stop:
			break
		if t_from == 0 and t0 >= t_measure:
			t_from = t0
		var pair := open_pair(tcp, 0)
		if pair.is_empty():
			return {}
		var c = pair[0]
		var s = pair[1]
		c.close(1000)
		var end := now() + STEP_TIMEOUT_USEC
		while c.get_ready_state() != CLOSED or s.get_ready_state() != CLOSED:
			c.poll()
			s.poll()
			if now() > end:
				return fail("handshake %d: not closed in time (client state %d, server state %d)"
						% [done, c.get_ready_state(), s.get_ready_state()])
		if c.get_close_code() != 1000 or s.get_close_code() != 1000:
			return fail("handshake %d: close codes %d (client) and %d (server), expected 1000"
					% [done, c.get_close_code(), s.get_close_code()])
		done += 1
		if t_from != 0:
			measured += 1
			t_to = now()
	tcp.stop()
	if measured == 0 or t_to <= t_from:
		return fail("no handshake measured")
	var secs := (t_to - t_from) / 1e6
	var details := {"handshakes_measured": measured, "handshakes_total": done, "seconds": secs,
		"capped": done >= MAX_HANDSHAKES}
	details.merge(write_details())
	return {"metrics": {"handshakes_per_s": measured / secs}, "details": details}
