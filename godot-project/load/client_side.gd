extends RefCounted
## The load test's client side: --connections clients to the external echo server (--echo-url,
## path /c/<id>, ids from 1000000), at most --open-parallel connecting at once; then they send
## their share of --client-messages (or, with --duration > 0, keep sending until stop_sending),
## at most --window messages and --window-bytes bytes in flight each, and check every echo against
## what they sent (type, every byte, order); then close with 1000. Driven by load.gd's sweeps.

const Messages := preload("messages.gd")

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

const ID_BASE := 1000000

## The SceneTree script (load.gd): new_peer(), error(), message_of().
var main
var gen: Messages

# Settings, from load.gd's command line (see setup()).
var n := 0
var client_messages := 0
var echo_url := ""
var duration := 0.0
var window := 0
var window_bytes := 0
var open_parallel := 0

## Messages flow once this is set (after both sides are open); no new ones once stop_sending is.
var traffic := false
var stop_sending := false

# Parallel arrays, index i = connection id ID_BASE + i.
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


func _init(main_, gen_: Messages) -> void:
	main = main_
	gen = gen_


func setup() -> void:
	n = main.n
	client_messages = main.client_messages
	echo_url = main.echo_url
	duration = main.duration
	window = main.window
	window_bytes = main.window_bytes
	open_parallel = main.open_parallel
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


func start() -> int:
	var work := 0
	while c_connecting < open_parallel and c_started < n:
		var i := c_started
		c_started += 1
		var p = main.new_peer()
		c_peers[i] = p
		var err: int = p.connect_to_url("%s/c/%d" % [echo_url, ID_BASE + i])
		if err != OK:
			c_phase[i] = P_DONE
			c_open_failed += 1
			c_closed += 1
			main.error("client %d: connect_to_url failed: %s" % [i, error_string(err)])
			continue
		c_phase[i] = P_CONNECTING
		c_connecting += 1
		work += 1
	return work


func sweep() -> int:
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
				main.error("client %d: could not open (code %d %s)" % [i, p.get_close_code(), main.message_of(p)])
				continue
			else:
				continue
		if phase == P_OPEN:
			var q: Array = c_inflight[i]
			while p.get_available_packet_count() > 0:
				var pkt: PackedByteArray = p.get_packet()
				var is_text: bool = p.was_string_packet()
				if q.is_empty():
					main.error("client %d: unexpected message after %d echoes: %s" % [i, c_next_recv[i], Messages.describe(pkt, is_text)])
					break
				var want: Array = q.pop_front()
				var wdata: PackedByteArray = want[0]
				c_inflight_bytes[i] -= wdata.size()
				if want[1] != is_text or pkt != wdata:
					main.error("client %d message %d: got %s, want %s of %d B%s" % [i, c_next_recv[i],
							Messages.describe(pkt, is_text), "text" if want[1] else "binary", wdata.size(),
							(", first difference at byte %d" % Messages.first_diff(pkt, wdata)) if pkt.size() == wdata.size() else ""])
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
						m = gen.make_message(ID_BASE + i, c_next_send[i])
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
				main.error("client %d: left OPEN (state %d, code %d %s) after %d of %d echoes" % [i, st,
						p.get_close_code(), main.message_of(p), c_next_recv[i], c_count[i]])
		elif phase == P_CLOSING:
			if st == CLOSED:
				c_phase[i] = P_DONE
				c_closed += 1
				work += 1
				if p.get_close_code() == 1000:
					c_closed_1000 += 1
				else:
					main.error("client %d: closed with code %d, want 1000 %s" % [i, p.get_close_code(), main.message_of(p)])
	return work


## Appends the state of the first (up to 3) unfinished connections to parts.
func unfinished(parts: PackedStringArray) -> void:
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
