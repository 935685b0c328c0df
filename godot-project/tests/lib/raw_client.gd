extends RefCounted
## A raw TCP client for hostile handshake tests: sends arbitrary bytes (at once, or one byte per
## interval), collects everything the server answers and notices when the server closes.
## Polled like the peers (put it in pump()'s list).

var tcp := StreamPeerTCP.new()
## Everything received so far.
var received := PackedByteArray()
## True once the server closed (or reset) the connection after it was established.
var closed := false

var _connected := false
var _drip := PackedByteArray()
var _drip_interval_ms := 0
var _next_drip := 0


func connect_to(port: int, host := "127.0.0.1") -> int:
	return tcp.connect_to_host(host, port)


func is_connected_to_server() -> bool:
	return tcp.get_status() == StreamPeerTCP.STATUS_CONNECTED


## Sends now (the TCP connection must be established: see is_connected_to_server()).
func send(data: PackedByteArray) -> int:
	return tcp.put_data(data)


func send_text(text: String) -> int:
	return send(text.to_utf8_buffer())


## Sends `data` one byte every `interval_ms` milliseconds, from the next poll on.
func drip(data: PackedByteArray, interval_ms: int) -> void:
	_drip = data
	_drip_interval_ms = interval_ms
	_next_drip = Time.get_ticks_msec()


## Bytes still waiting to be dripped.
func drip_left() -> int:
	return _drip.size()


func poll() -> void:
	tcp.poll()
	var status := tcp.get_status()
	if status == StreamPeerTCP.STATUS_CONNECTED:
		_connected = true
		if not _drip.is_empty() and Time.get_ticks_msec() >= _next_drip:
			if tcp.put_data(_drip.slice(0, 1)) == OK:
				_drip = _drip.slice(1)
			_next_drip = Time.get_ticks_msec() + _drip_interval_ms
		var n := tcp.get_available_bytes()
		if n > 0:
			var got: Array = tcp.get_partial_data(n)
			if got[0] == OK:
				received.append_array(got[1])
	elif _connected and status != StreamPeerTCP.STATUS_CONNECTING:
		closed = true


## The first line of the answer ("HTTP/1.1 400 Bad Request"), or "" when nothing arrived.
func status_line() -> String:
	var text := received.get_string_from_utf8()
	return text.get_slice("\r\n", 0) if text != "" else ""


## Header lines of the answer (everything up to the blank line, status line excluded), as sent.
func header_lines() -> PackedStringArray:
	var text := received.get_string_from_utf8()
	var head := text.get_slice("\r\n\r\n", 0)
	var lines := head.split("\r\n")
	return lines.slice(1) if lines.size() > 1 else PackedStringArray()


func close() -> void:
	tcp.disconnect_from_host()
