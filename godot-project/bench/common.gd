extends RefCounted
## What every benchmark scenario shares: the settings from the command line, making peers of the
## class under test, opening a connection (client + accepted server side) over loopback, payloads
## with a sequence number, and the first failure. Each scenario script (echo.gd, pingpong.gd,
## handshake.gd, idle.gd) extends this one and has `func run() -> Dictionary`.

const CONNECTING := WebSocketPeer.STATE_CONNECTING
const OPEN := WebSocketPeer.STATE_OPEN
const CLOSED := WebSocketPeer.STATE_CLOSED
const TEXT := WebSocketPeer.WRITE_MODE_TEXT
const BINARY := WebSocketPeer.WRITE_MODE_BINARY

## Upper bound for opening one connection / closing one / draining the echoes at the end.
const STEP_TIMEOUT_USEC := 10_000_000

var cls := "RustWebSocketPeer"
var server_cls := "RustWebSocketPeer"
var scenario := ""
var duration := 2.0
var warmup := 0.5
var inflight := 0
var connections := 1000
## Opt-in write coalescing: set `coalesce_writes = true` on every peer that has the property.
var coalesce := false

## Peers made, and how many of them had `coalesce_writes` set to true (after the optional set).
var peers_made := 0
var peers_coalescing := 0

var error := ""


func fail(why: String) -> Dictionary:
	if error == "":
		error = why
	return {}


static func now() -> int:
	return Time.get_ticks_usec()


## Details every scenario reports: which write semantics the peers had.
func write_details() -> Dictionary:
	return {"peers": peers_made, "peers_coalescing_writes": peers_coalescing,
		"coalesce_writes": peers_made > 0 and peers_coalescing == peers_made}


# ---- connections -------------------------------------------------------------------------------

func new_peer(bufsize: int, server := false) -> Object:
	var p = ClassDB.instantiate(server_cls if server else cls)
	if bufsize > 0:
		p.inbound_buffer_size = bufsize
		p.outbound_buffer_size = bufsize
	if coalesce and "coalesce_writes" in p:
		p.coalesce_writes = true
	peers_made += 1
	if "coalesce_writes" in p and p.coalesce_writes:
		peers_coalescing += 1
	return p


func listen() -> TCPServer:
	var tcp := TCPServer.new()
	var err := tcp.listen(0, "127.0.0.1")
	if err != OK:
		fail("TCPServer.listen: %s" % error_string(err))
		return null
	return tcp


## Opens one connection to `tcp` (client + accepted server side, both of the class under test).
## Returns [client, server], or [] after fail().
func open_pair(tcp: TCPServer, bufsize: int) -> Array:
	var c = new_peer(bufsize)
	var err: int = c.connect_to_url("ws://127.0.0.1:%d/" % tcp.get_local_port())
	if err != OK:
		fail("connect_to_url: %s" % error_string(err))
		return []
	var s = null
	var end := now() + STEP_TIMEOUT_USEC
	while true:
		c.poll()
		if s == null and tcp.is_connection_available():
			s = new_peer(bufsize, true)
			err = s.accept_stream(tcp.take_connection())
			if err != OK:
				fail("accept_stream: %s" % error_string(err))
				return []
		if s != null:
			s.poll()
			if c.get_ready_state() == OPEN and s.get_ready_state() == OPEN:
				return [c, s]
		if c.get_ready_state() == CLOSED or (s != null and s.get_ready_state() == CLOSED):
			fail("connection closed while opening (client code %d)" % c.get_close_code())
			return []
		if now() > end:
			fail("connection did not open within %d s" % (STEP_TIMEOUT_USEC / 1_000_000))
			return []
	return []


# ---- payloads ----------------------------------------------------------------------------------
# All payload bytes are printable ASCII (valid UTF-8 for text messages). Bytes 0-3 carry a 24-bit
# sequence number (6 bits per byte, + 48); the rest is a fixed pattern.

static func make_payload(size: int) -> PackedByteArray:
	var p := PackedByteArray()
	p.resize(size)
	for i in size:
		p[i] = 97 + (i * 7) % 26
	return p


static func set_seq(p: PackedByteArray, seq: int) -> void:
	p[0] = 48 + (seq & 63)
	p[1] = 48 + ((seq >> 6) & 63)
	p[2] = 48 + ((seq >> 12) & 63)
	p[3] = 48 + ((seq >> 18) & 63)


static func get_seq(p: PackedByteArray) -> int:
	return (p[0] - 48) | ((p[1] - 48) << 6) | ((p[2] - 48) << 12) | ((p[3] - 48) << 18)


static func kind(text: bool) -> String:
	return "text" if text else "binary"
