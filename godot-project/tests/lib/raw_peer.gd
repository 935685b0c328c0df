extends RefCounted
## A hand-written WebSocket server side over raw TCP, for the semantic suites (test_sem_*): it
## answers the client's upgrade request with a correct 101, then sends whatever frames a test
## builds (masked, RSV bits, reserved opcodes, bad close payloads...) and records every frame the
## client sends. Poll it like a peer (put it in pump()'s list); stop() after the test.
##
## Its own rules, kept simple: pings are answered with a pong when `answer_pings` is set; when a
## close frame arrives it echoes the payload (unless it already sent a close itself) and hangs up,
## when `hang_up_on_close` is set (the default), like a well-behaved server.

const GUID := "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
const OP_CONT := 0
const OP_TEXT := 1
const OP_BINARY := 2
const OP_CLOSE := 8
const OP_PING := 9
const OP_PONG := 10

var tcp := TCPServer.new()
var port := 0
var conn: StreamPeerTCP = null
## The client's request head (up to and including the blank line) once it arrived.
var request := ""
## True once the 101 answer was written.
var upgraded := false
## Frames received from the client, in order: {fin, rsv, opcode, masked, payload, at_ms}.
var frames: Array = []
## True once the client's side of the TCP connection went away (EOF or reset).
var closed := false
## Engine ticks (ms) when `closed` became true, else -1.
var closed_at_ms := -1
## True once we sent a close frame.
var sent_close := false
var answer_pings := false
var hang_up_on_close := true

var _rx := PackedByteArray()
var _had_conn := false


func start() -> int:
	var err := tcp.listen(0, "127.0.0.1")
	port = tcp.get_local_port()
	return err


func url(path := "/") -> String:
	return "ws://127.0.0.1:%d%s" % [port, path]


func poll() -> void:
	if conn == null and tcp.is_listening() and tcp.is_connection_available():
		conn = tcp.take_connection()
		_had_conn = true
	if conn == null or closed:
		return
	conn.poll()
	if conn.get_status() != StreamPeerTCP.STATUS_CONNECTED:
		_mark_closed()
		return
	var n := conn.get_available_bytes()
	if n > 0:
		var got: Array = conn.get_partial_data(n)
		if got[0] == OK:
			_rx.append_array(got[1])
	if request == "":
		var text := _rx.get_string_from_ascii()
		var end := text.find("\r\n\r\n")
		if end < 0:
			return
		request = text.substr(0, end + 4)
		_rx = _rx.slice(end + 4)
		_send_101()
	_parse()


## Value of a request header (case-insensitive name), or "".
func header(name: String) -> String:
	for line in request.split("\r\n"):
		var kv := line.split(":", true, 1)
		if kv.size() == 2 and kv[0].strip_edges().to_lower() == name.to_lower():
			return kv[1].strip_edges()
	return ""


func _send_101() -> void:
	var accept := Marshalls.raw_to_base64((header("sec-websocket-key") + GUID).sha1_buffer())
	var head := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + \
			"Sec-WebSocket-Accept: %s\r\n\r\n" % accept
	upgraded = conn.put_data(head.to_ascii_buffer()) == OK


func _mark_closed() -> void:
	if not closed:
		closed = true
		closed_at_ms = Time.get_ticks_msec()


## Sends raw bytes (one or more frames built with frame()). Returns the StreamPeer error.
func send_raw(bytes: PackedByteArray) -> int:
	if conn == null or closed:
		return ERR_UNCONFIGURED
	return conn.put_data(bytes)


## Builds and sends one frame.
func send_frame(opcode: int, payload: PackedByteArray, fin := true, mask := false, rsv := 0) -> int:
	if opcode == OP_CLOSE:
		sent_close = true
	return send_raw(frame(opcode, payload, fin, mask, rsv))


func send_text(text: String) -> int:
	return send_frame(OP_TEXT, text.to_utf8_buffer())


## Sends a close frame with `code` and `reason` (code < 0: an empty close frame).
func send_close(code: int, reason := "") -> int:
	return send_frame(OP_CLOSE, close_payload(code, reason) if code >= 0 else PackedByteArray())


## Drops the TCP connection (no close frame) and stops listening.
func stop() -> void:
	if conn != null:
		conn.disconnect_from_host()
	if _had_conn:
		_mark_closed()
	tcp.stop()


## Frames of one opcode received so far.
func of(opcode: int) -> Array:
	return frames.filter(func(f): return f.opcode == opcode)


## Payloads of one opcode as strings (UTF-8), in order.
func payload_texts(opcode: int) -> Array:
	return of(opcode).map(func(f): return f.payload.get_string_from_utf8())


## The close code of the first close frame the client sent: -1 if none arrived, 0 if it was empty,
## -2 if it had a 1-byte payload.
func close_code_received() -> int:
	var closes := of(OP_CLOSE)
	if closes.is_empty():
		return -1
	var p: PackedByteArray = closes[0].payload
	if p.size() == 0:
		return 0
	if p.size() == 1:
		return -2
	return (p[0] << 8) | p[1]


func _parse() -> void:
	while true:
		var f := _parse_one()
		if f.is_empty():
			return
		frames.append(f)
		if f.opcode == OP_PING and answer_pings:
			send_frame(OP_PONG, f.payload)
		elif f.opcode == OP_CLOSE and hang_up_on_close:
			if not sent_close:
				send_frame(OP_CLOSE, f.payload)
			conn.disconnect_from_host()
			_mark_closed()
			return


## One complete frame taken from the front of the receive buffer, or {} when there is none yet.
func _parse_one() -> Dictionary:
	if _rx.size() < 2:
		return {}
	var b0 := _rx[0]
	var b1 := _rx[1]
	var masked := (b1 & 0x80) != 0
	var n := b1 & 0x7F
	var head := 2
	if n == 126:
		if _rx.size() < 4:
			return {}
		n = (_rx[2] << 8) | _rx[3]
		head = 4
	elif n == 127:
		if _rx.size() < 10:
			return {}
		n = 0
		for i in 8:
			n = (n << 8) | _rx[2 + i]
		head = 10
	var key_len := 4 if masked else 0
	if _rx.size() < head + key_len + n:
		return {}
	var key := _rx.slice(head, head + key_len)
	var payload := _rx.slice(head + key_len, head + key_len + n)
	if masked:
		for i in payload.size():
			payload[i] = payload[i] ^ key[i % 4]
	_rx = _rx.slice(head + key_len + n)
	return {"fin": (b0 & 0x80) != 0, "rsv": (b0 >> 4) & 7, "opcode": b0 & 0x0F, "masked": masked,
			"payload": payload, "at_ms": Time.get_ticks_msec()}


## One frame on the wire (server frames are normally unmasked).
static func frame(opcode: int, payload: PackedByteArray, fin := true, mask := false, rsv := 0) -> PackedByteArray:
	var out := PackedByteArray()
	out.append((0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0x0F))
	var n := payload.size()
	var mask_bit := 0x80 if mask else 0
	if n < 126:
		out.append(mask_bit | n)
	elif n < 65536:
		out.append_array([mask_bit | 126, (n >> 8) & 0xFF, n & 0xFF])
	else:
		out.append(mask_bit | 127)
		for i in range(7, -1, -1):
			out.append((n >> (8 * i)) & 0xFF)
	if not mask:
		out.append_array(payload)
		return out
	var key := PackedByteArray([0x37, 0xfa, 0x21, 0x3d])
	out.append_array(key)
	var masked := payload.duplicate()
	for i in masked.size():
		masked[i] = masked[i] ^ key[i % 4]
	out.append_array(masked)
	return out


## A close frame payload: the code (16 bits, big-endian) and the UTF-8 reason.
static func close_payload(code: int, reason := "") -> PackedByteArray:
	var p := PackedByteArray([(code >> 8) & 0xFF, code & 0xFF])
	p.append_array(reason.to_utf8_buffer())
	return p
