extends RefCounted
## A chat client: a RustWebSocketPeer on wss://, trusting the server's self-signed certificate.

var ws := RustWebSocketPeer.new()
var name := ""
var lines: PackedStringArray = []
var on_line: Callable = func(_who: String, _line: String) -> void: pass


func connect_to(port: int, user: String, cert: X509Certificate) -> Error:
	name = user
	ws.supported_protocols = PackedStringArray(["chat"])
	# TLSOptions.client(cert) trusts exactly this certificate, for the host name "localhost".
	return ws.connect_to_url("wss://localhost:%d/chat/%s" % [port, user], TLSOptions.client(cert))


func is_open() -> bool:
	return ws.get_ready_state() == RustWebSocketPeer.STATE_OPEN


func is_closed() -> bool:
	return ws.get_ready_state() == RustWebSocketPeer.STATE_CLOSED


func say(text: String) -> void:
	ws.send_text(text)


func poll() -> void:
	ws.poll()
	while ws.get_available_packet_count() > 0:
		var line := ws.get_packet().get_string_from_utf8()
		lines.append(line)
		on_line.call(name, line)
