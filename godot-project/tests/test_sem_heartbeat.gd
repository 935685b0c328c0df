extends "res://tests/lib/sem_suite.gd"
# targets: @class WebSocketPeer
## heartbeat_interval (spec sections 2 and 8), short intervals: an empty ping every interval while
## OPEN (seen by a raw server), any pong clears the wait, no pong by the next tick drops the
## connection abruptly (-1, no close frame), 0 disables (also a pending wait), changes while OPEN
## apply at the next poll, no pings while CLOSING, the server side pings too, and the property
## (negative refused, stored as whole milliseconds).
##
## Differs (README): the first ping. Engine: `last_heartbeat` starts at engine start-up, so the
## first ping goes out in the poll that opens the connection; ours: one interval after opening.


func tests() -> Array[Callable]:
	return [test_property, test_pings, test_timeout, test_unsolicited_pongs, test_zero_and_changes,
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


## Interval 0.3 s, the raw server answers every ping: pings keep coming, the connection stays up.
func test_pings() -> bool:
	var pair := await raw_pair("pings", _hb(0.3), _answering)
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	var t_open := Time.get_ticks_msec()
	await settle([c, raw], 1400)
	var times := _ping_times(raw, t_open)
	check("pings: 3 to 5 pings in 1.4 s", times.size() >= 3 and times.size() <= 5, "at %s ms" % [times])
	check("pings: about one interval apart (250-600 ms)", times.size() >= 2 and _gaps(times).all(func(g): return g >= 250 and g <= 600),
			"gaps %s ms" % [_gaps(times)])
	var pings := raw.of(RawPeer.OP_PING)
	check("pings: empty, masked, final", pings.size() > 0 and pings.all(func(f): return f.payload.is_empty() and f.masked and f.fin),
			"%s" % [pings.map(func(f): return [f.payload.size(), f.masked, f.fin])])
	check_eq("pings: only pings sent (no data, no close)", raw.frames.size(), pings.size())
	check_eq("pings: answered pings keep it OPEN", describe(c), "OPEN(-1, '')")
	var first: int = times[0] if times.size() > 0 else -1
	if is_engine:
		check(differs("first ping", "in the poll that opens the connection (< 150 ms)", ""), first >= 0 and first < 150,
				"at %d ms" % first)
	else:
		check(differs("first ping", "", "one interval after opening (280-600 ms)"), first >= 280 and first <= 600,
				"at %d ms" % first)
	return true


## Nobody answers: one ping, then one interval later CLOSED with -1 and no close frame.
func test_timeout() -> bool:
	var pair := await raw_pair("no pong", _hb(0.3))
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	var closed_at := [-1]
	await pump([c, raw], func():
		if c.get_ready_state() == CLOSED and closed_at[0] < 0:
			closed_at[0] = Time.get_ticks_msec()
		return closed_at[0] >= 0, 3000)
	check_eq("no pong: CLOSED abruptly, code -1, no reason", describe(c), "CLOSED(-1, '')")
	await pump([raw], func(): return raw.closed, 1000)
	var pings := raw.of(RawPeer.OP_PING)
	check_eq("no pong: exactly one ping was sent", pings.size(), 1)
	var waited: int = closed_at[0] - pings[0].at_ms if pings.size() > 0 and closed_at[0] >= 0 else -1
	check("no pong: dropped about one interval after the ping (250-700 ms)", waited >= 250 and waited <= 700,
			"after %d ms" % waited)
	check_eq("no pong: no close frame sent", raw.of(RawPeer.OP_CLOSE).size(), 0)
	check("no pong: the remote sees the TCP connection go", raw.closed)
	check_eq("no pong: nothing readable", c.get_available_packet_count(), 0)
	return true


## Pings are never answered, but the remote sends an unsolicited pong every 100 ms: any pong
## clears the wait.
func test_unsolicited_pongs() -> bool:
	var pair := await raw_pair("unsolicited pongs", _hb(0.3))
	if pair.is_empty():
		return true
	var c = pair[0]
	var raw: RawPeer = pair[1]
	var next := [0]
	await pump([c, raw], func():
		if Time.get_ticks_msec() >= next[0]:
			raw.send_frame(RawPeer.OP_PONG, PackedByteArray())
			next[0] = Time.get_ticks_msec() + 100
		return c.get_ready_state() != OPEN, 1300)
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

	c.heartbeat_interval = 0.2
	var set_at := Time.get_ticks_msec()
	await pump([c, raw], func(): return raw.of(RawPeer.OP_PING).size() > 0, 1500)
	var pings := raw.of(RawPeer.OP_PING)
	var delay: int = pings[0].at_ms - set_at if pings.size() > 0 else -1
	check("changes: set to 0.2 while OPEN (connection 700 ms old): a ping at the next poll (< 150 ms)",
			delay >= 0 and delay < 150, "after %d ms" % delay)

	# Stop answering, then disable: the unanswered ping does not end the connection.
	raw.answer_pings = false
	await pump([c, raw], func(): return raw.of(RawPeer.OP_PING).size() > pings.size(), 1000)
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
	set_at = Time.get_ticks_msec()
	await until_closed([c], [raw], 1500)
	var elapsed := Time.get_ticks_msec() - set_at
	check_eq("changes: set to 0.2 with the old ping unanswered: CLOSED -1", describe(c), "CLOSED(-1, '')")
	check("changes: at the next poll (< 150 ms)", elapsed < 150, "after %d ms" % elapsed)
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
	await pump([c, raw], func(): return raw.of(RawPeer.OP_PING).size() >= 1, 1500)
	c.close(1000, "bye")
	await pump([c, raw], func(): return raw.of(RawPeer.OP_CLOSE).size() > 0, 1000)
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
	var srv := ws_server(cls, _hb(0.2))
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
	await until_closed([s], [srv], 2000)
	var elapsed := Time.get_ticks_msec() - stopped_at
	check_eq("server side: the client no longer polled: server CLOSED -1", describe(s), "CLOSED(-1, '')")
	check("server side: within two intervals (< 600 ms)", elapsed < 600, "after %d ms" % elapsed)
	await until_closed([e], [], 2000)
	check_eq("server side: the engine client then sees an abrupt loss", describe(e), "CLOSED(-1, '')")
	return true
