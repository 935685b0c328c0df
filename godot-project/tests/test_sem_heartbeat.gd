extends "res://tests/lib/sem_suite.gd"
# targets: @class WebSocketPeer
## heartbeat_interval, short intervals: an empty ping every interval while
## OPEN (seen by a raw server), any pong clears the wait, no pong by the next tick drops the
## connection abruptly (-1, no close frame), 0 disables (also a pending wait), changes while OPEN
## apply at the next poll, no pings while CLOSING, the server side pings too, and the property
## (negative refused, stored as whole milliseconds).
##
## Differs (README): the first ping. Engine: timed from engine start-up (its `last_heartbeat`
## starts at 0 and its clock is the ticks since start-up), so it goes out at the first OPEN poll
## at which the process has run longer than one interval; ours: one interval after opening.
## Timing checks assert orders and poll counts where the fact is an order, margins proportional
## to the interval for periods; each names the Rust test (virtual time) that holds the exact rule.


func tests() -> Array[Callable]:
	return [test_property, test_first_ping_clock, test_pings, test_timeout, test_unsolicited_pongs, test_zero_and_changes,
			test_no_pings_while_closing, test_server_side]


func _hb(seconds: float) -> Callable:
	return func(p): p.heartbeat_interval = seconds


static func _answering(raw: RawPeer) -> void:
	raw.answer_pings = true


## Ticks (ms) of each ping the raw server received, relative to `t0`.
static func _ping_times(raw: RawPeer, t0: int) -> Array:
	return raw.of(RawPeer.OP_PING).map(func(f): return f.at_ms - t0)


static func _gaps(times: Array) -> Array:
	var out := []
	for i in range(1, times.size()):
		out.append(times[i] - times[i - 1])
	return out


func test_property() -> bool:
	var p = new_peer()
	check_eq("property: default 0.0", p.heartbeat_interval, 0.0)
	p.heartbeat_interval = 0.25
	check_eq("property: 0.25 reads back", p.heartbeat_interval, 0.25)
	p.heartbeat_interval = -1.0
	check_eq("property: a negative value is refused (unchanged)", p.heartbeat_interval, 0.25)
	p.heartbeat_interval = 0.0015
	check_eq("property: stored as whole milliseconds (0.0015 reads 0.001)", p.heartbeat_interval, 0.001)
	p.heartbeat_interval = 0.0
	check_eq("property: 0 reads back", p.heartbeat_interval, 0.0)
	return true


## The first ping, timed from engine start-up (engine) or from opening (ours). The engine keeps
## `last_heartbeat` from 0 and compares it with its ticks since start-up, so its first ping goes
## out at the first OPEN poll at which the process has run for more than one interval. Here the
## interval is longer than the process has run: the engine pings once its ticks pass the
## interval, sooner than one interval after opening; ours one interval after opening.
## Exact rule (ours): core/heartbeat.rs `pings_every_interval_and_times_out_without_pong`.
func test_first_ping_clock() -> bool:
	# A multiple of 250 ms: exact in binary, so the class stores exactly this many ms.
	var interval := (Time.get_ticks_msec() + 1500) / 250 * 250 + 250
	var t_start := Time.get_ticks_msec()
	var pair := await raw_pair("first ping clock", _hb(interval / 1000.0), _answering)
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	var t_open := Time.get_ticks_msec()
	await pump([c, raw], func(): return raw.of(RawPeer.OP_PING).size() > 0, interval + SLOW_MACHINE_MS)
	var pings := raw.of(RawPeer.OP_PING)
	if not check("first ping clock: a ping arrives", pings.size() > 0, describe(c)):
		return true
	var first: int = pings[0].at_ms
	if is_engine:
		check(differs("first ping clock", "once the engine's ticks pass the interval (%d ms)" % interval, ""),
				first >= interval, "at tick %d" % first)
		check(differs("first ping clock", "sooner than one interval after opening", ""),
				first < t_open + interval, "at tick %d, opened at %d" % [first, t_open])
	else:
		check_ms(differs("first ping clock", "", "one interval after opening"), first - t_start,
				interval - CLOCK_SLACK_MS, t_open - t_start + interval + SLOW_MACHINE_MS)
	return true


## Interval 0.5 s, the raw server answers every ping: pings keep coming, one per interval, and
## the connection stays up. The engine has run for more than one interval when the connection
## opens, so its first ping goes out in the very poll that opens it; ours waits one interval.
## Exact rules (ours): core/heartbeat.rs `pings_every_interval_and_times_out_without_pong`,
## core/connection/tests.rs `heartbeat_pings_and_drops_a_silent_remote`.
func test_pings() -> bool:
	var interval := 500
	await _engine_older_than(interval)
	var t_start := Time.get_ticks_msec()
	var pair := await raw_pair("pings", _hb(interval / 1000.0), _answering)
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	var t_open := Time.get_ticks_msec()
	# The opening poll was the client's last one: poll only the server and see what it sent.
	if is_engine:
		await pump([raw], func(): return raw.of(RawPeer.OP_PING).size() > 0, SLOW_MACHINE_MS)
		check_eq(differs("first ping", "in the poll that opens the connection", ""), raw.of(RawPeer.OP_PING).size(), 1)
	else:
		await settle([raw], 200)
		check_eq(differs("first ping", "", "none in the poll that opens the connection"), raw.of(RawPeer.OP_PING).size(), 0)
	await pump([c, raw], func(): return raw.of(RawPeer.OP_PING).size() >= 4 or c.get_ready_state() != OPEN,
			4 * interval + SLOW_MACHINE_MS)
	var times := _ping_times(raw, t_start)
	check("pings: 4 pings arrive", times.size() >= 4, "at %s ms" % [times])
	# Rule: strictly more than one interval apart when sent; the server's receive times jitter.
	check("pings: one interval apart (0.8 to 3 intervals)", times.size() >= 2 and _gaps(times).all(
			func(g): return g >= interval * 4 / 5 and g <= 3 * interval), "gaps %s ms" % [_gaps(times)])
	var pings := raw.of(RawPeer.OP_PING)
	check("pings: empty, masked, final", pings.size() > 0 and pings.all(func(f): return f.payload.is_empty() and f.masked and f.fin),
			"%s" % [pings.map(func(f): return [f.payload.size(), f.masked, f.fin])])
	check_eq("pings: only pings sent (no data, no close)", raw.frames.size(), pings.size())
	check_eq("pings: answered pings keep it OPEN", describe(c), "OPEN(-1, '')")
	if not is_engine and times.size() > 0:
		check_ms(differs("first ping", "", "one interval after opening"), times[0],
				interval - CLOCK_SLACK_MS, t_open - t_start + interval + SLOW_MACHINE_MS)
	return true


## Waits until the process has run for more than `ms` (the engine's first ping depends on it).
func _engine_older_than(ms: int) -> void:
	await pump([], func(): return Time.get_ticks_msec() > ms + 50, ms + 1000)


## Nobody answers: one ping, then one interval later CLOSED with -1 and no close frame.
## Exact rule (ours): core/connection/tests.rs `heartbeat_pings_and_drops_a_silent_remote`.
func test_timeout() -> bool:
	var interval := 500
	var pair := await raw_pair("no pong", _hb(interval / 1000.0))
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	var closed_at := [-1]
	await pump([c, raw], func():
		if c.get_ready_state() == CLOSED and closed_at[0] < 0:
			closed_at[0] = Time.get_ticks_msec()
		return closed_at[0] >= 0, 2 * interval + 2 * SLOW_MACHINE_MS)
	check_eq("no pong: CLOSED abruptly, code -1, no reason", describe(c), "CLOSED(-1, '')")
	await pump([raw], func(): return raw.closed, SLOW_MACHINE_MS)
	var pings := raw.of(RawPeer.OP_PING)
	check_eq("no pong: exactly one ping was sent", pings.size(), 1)
	var waited: int = closed_at[0] - pings[0].at_ms if pings.size() > 0 and closed_at[0] >= 0 else -1
	# Rule: dropped at the first poll more than one interval after the ping was sent; the server
	# saw the ping a little after it was sent.
	check_ms("no pong: dropped one interval after the ping (0.8 interval to 1 interval + slow machine)",
			waited, interval * 4 / 5, interval + SLOW_MACHINE_MS)
	check_eq("no pong: no close frame sent", raw.of(RawPeer.OP_CLOSE).size(), 0)
	check("no pong: the remote sees the TCP connection go", raw.closed)
	check_eq("no pong: nothing readable", c.get_available_packet_count(), 0)
	return true


## Pings are never answered, but the remote sends an unsolicited pong every fifth of an interval:
## any pong clears the wait.
func test_unsolicited_pongs() -> bool:
	var interval := 500
	var pair := await raw_pair("unsolicited pongs", _hb(interval / 1000.0))
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	var next := [0]
	await pump([c, raw], func():
		if Time.get_ticks_msec() >= next[0]:
			raw.send_frame(RawPeer.OP_PONG, PackedByteArray())
			next[0] = Time.get_ticks_msec() + interval / 5
		return c.get_ready_state() != OPEN or raw.of(RawPeer.OP_PING).size() >= 3, 4 * interval + SLOW_MACHINE_MS)
	check_eq("unsolicited pongs: keep the connection OPEN", describe(c), "OPEN(-1, '')")
	check("unsolicited pongs: pings were sent meanwhile", raw.of(RawPeer.OP_PING).size() >= 3,
			"%d pings" % raw.of(RawPeer.OP_PING).size())
	return true


func test_zero_and_changes() -> bool:
	var pair := await raw_pair("changes")
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	raw.answer_pings = true
	await settle([c, raw], 700)
	check_eq("changes: interval 0 (default): no ping", raw.of(RawPeer.OP_PING).size(), 0)

	# One poll of the client, then only the server's: the ping came from that one poll.
	# Exact rule (ours): core/heartbeat.rs `zero_disables_and_changes_apply_at_the_next_tick`.
	c.heartbeat_interval = 0.2
	c.poll()
	await pump([raw], func(): return raw.of(RawPeer.OP_PING).size() > 0, SLOW_MACHINE_MS)
	var pings := raw.of(RawPeer.OP_PING)
	check_eq("changes: set to 0.2 while OPEN (connection 700 ms old): a ping at the next poll",
			pings.size(), 1)

	# Stop answering, then disable: the unanswered ping does not end the connection.
	raw.answer_pings = false
	await pump([c, raw], func(): return raw.of(RawPeer.OP_PING).size() > pings.size(), SLOW_MACHINE_MS)
	var count: int = raw.of(RawPeer.OP_PING).size()
	c.heartbeat_interval = 0.0
	await settle([c, raw], 800)
	check_eq("changes: set to 0 with a ping unanswered: no timeout", describe(c), "OPEN(-1, '')")
	check_eq("changes: set to 0: no more pings", raw.of(RawPeer.OP_PING).size(), count)

	# A long interval: nothing within it (the wait is still pending).
	c.heartbeat_interval = 5.0
	await settle([c, raw], 600)
	check_eq("changes: set to 5 s: no ping and no timeout within 0.6 s", [describe(c), raw.of(RawPeer.OP_PING).size()],
			["OPEN(-1, '')", count])

	# Back to 0.2: the last ping is over 0.2 s old and still unanswered -> dropped at the next poll.
	c.heartbeat_interval = 0.2
	c.poll()
	var state_after_one_poll := state_name(c.get_ready_state())
	await until_closed([c], [raw], SLOW_MACHINE_MS)
	check_eq("changes: set to 0.2 with the old ping unanswered: CLOSED -1", describe(c), "CLOSED(-1, '')")
	check_eq("changes: at the next poll", state_after_one_poll, "CLOSED")
	check_eq("changes: no new ping before the drop", raw.of(RawPeer.OP_PING).size(), count)
	return true


## After close(): CLOSING, no pings (heartbeat only while OPEN) even though the remote does not
## answer the close for a while.
func test_no_pings_while_closing() -> bool:
	var pair := await raw_pair("closing", _hb(0.2), _answering)
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	raw.hang_up_on_close = false
	await pump([c, raw], func(): return raw.of(RawPeer.OP_PING).size() >= 1, SLOW_MACHINE_MS)
	c.close(1000, "bye")
	await pump([c, raw], func(): return raw.of(RawPeer.OP_CLOSE).size() > 0, SLOW_MACHINE_MS)
	var count: int = raw.of(RawPeer.OP_PING).size()
	await settle([c, raw], 800)
	check_eq("closing: still CLOSING after 0.8 s (no heartbeat timeout)", state_name(c.get_ready_state()), "CLOSING")
	check_eq("closing: no pings after the close frame", raw.of(RawPeer.OP_PING).size(), count)
	raw.send_close(1000, "bye")
	await until_closed([c], [raw], 2000)
	check_eq("closing: CLOSED with the echo", describe(c), "CLOSED(1000, 'bye')")
	return true


## The class under test as the server, the engine as the client: the client answers pings while it
## is polled; once it is not, the server drops it one interval later.
func test_server_side() -> bool:
	var interval := 300
	var srv := ws_server(cls, _hb(interval / 1000.0))
	var e := WebSocketPeer.new()
	_peers.append(e)
	e.connect_to_url(srv.url("/"))
	await pump([e, srv], func(): return e.get_ready_state() == OPEN and srv.peer() != null and srv.peer().get_ready_state() == OPEN)
	if not check("server side: opens", e.get_ready_state() == OPEN and srv.peer() != null):
		return true
	var s = srv.peer()
	await settle([e, srv], 1000)
	check_eq("server side: a polled engine client answers the pings (both OPEN after 1 s)",
			[describe(s), state_name(e.get_ready_state())], ["OPEN(-1, '')", "OPEN"])
	var stopped_at := Time.get_ticks_msec()
	await until_closed([s], [srv], 2 * interval + 2 * SLOW_MACHINE_MS)
	var elapsed := Time.get_ticks_msec() - stopped_at
	check_eq("server side: the client no longer polled: server CLOSED -1", describe(s), "CLOSED(-1, '')")
	# Rule: the first ping the client cannot answer goes out within an interval of its last poll
	# (or just before it), and the drop comes one interval after that ping.
	check_ms("server side: within two intervals (0.5 to 2 intervals + slow machine)", elapsed,
			interval / 2, 2 * interval + SLOW_MACHINE_MS)
	await until_closed([e], [], SLOW_MACHINE_MS)
	check_eq("server side: the engine client then sees an abrupt loss", describe(e), "CLOSED(-1, '')")
	return true
