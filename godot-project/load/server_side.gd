extends RefCounted
## The load test's server side: a TCPServer on 127.0.0.1 (port 0) whose connections are accepted
## with accept_stream(); every peer echoes each message with its type until the external client
## closes (expected: 1000). Driven by load.gd's sweeps; --fault is applied here.

const Messages := preload("messages.gd")

const OPEN := WebSocketPeer.STATE_OPEN
const CLOSED := WebSocketPeer.STATE_CLOSED
const TEXT := WebSocketPeer.WRITE_MODE_TEXT
const BINARY := WebSocketPeer.WRITE_MODE_BINARY

## The SceneTree script (load.gd): new_peer(), error(), message_of().
var main

## Self-test of the checks (--fault=KIND:K): the server side's K-th echo (counted over all
## connections) is corrupted (one bit flipped; an empty message gets a byte), dropped, or
## swapped with the next message of that connection. The external client must then fail.
var fault := ""
var fault_at := -1
var fault_held = null   # reorder: [peer index, bytes, mode] held back until the next message

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


func _init(main_) -> void:
	main = main_


func accept() -> int:
	var work := 0
	while server.is_connection_available():
		var conn := server.take_connection()
		var p = main.new_peer()
		var err: int = p.accept_stream(conn)
		if err != OK:
			main.error("accept_stream failed: %s" % error_string(err))
			continue
		s_peers.append(p)
		s_state.append(0)
		s_pending.append(null)
		s_accepted += 1
		work += 1
	return work


func sweep() -> int:
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
				main.error("server side: connection %d closed before it opened (code %d %s)"
						% [i, p.get_close_code(), main.message_of(p)])
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
				main.error("server side: connection %d closed with code %d, want 1000 %s" % [i, code, main.message_of(p)])
			if s_pending[i] != null or p.get_available_packet_count() > 0:
				main.error("server side: connection %d closed with messages not echoed" % i)
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
	print("# fault injected: %s at echo %d (server side, connection %d, %s)" % [fault, s_echoed, i, Messages.describe(pkt, mode == TEXT)])
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


## Appends the state of the first (up to 3) unfinished connections to parts.
func unfinished(parts: PackedStringArray) -> void:
	var shown := 0
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
