extends RefCounted
## A chat server: accepts TCP connections, wraps them in TLS (StreamPeerTLS with the given key
## and certificate), hands them to RustWebSocketPeer.accept_stream, and relays every text message
## to every connected client as "name: text". The name is the request path (/chat/<name>).

var tcp := TCPServer.new()
var tls_options: TLSOptions
var peers: Array = []  # of { "ws": RustWebSocketPeer, "name": String }
var on_log: Callable = func(_line: String) -> void: pass


func start(port: int, key: CryptoKey, cert: X509Certificate) -> Error:
	tls_options = TLSOptions.server(key, cert)
	return tcp.listen(port, "127.0.0.1")


func port() -> int:
	return tcp.get_local_port()


func poll() -> void:
	while tcp.is_connection_available():
		var tls := StreamPeerTLS.new()
		if tls.accept_stream(tcp.take_connection(), tls_options) != OK:
			continue
		var ws := RustWebSocketPeer.new()
		ws.supported_protocols = PackedStringArray(["chat"])
		if ws.accept_stream(tls) == OK:
			peers.append({"ws": ws, "name": ""})
	for p in peers:
		var ws: RustWebSocketPeer = p.ws
		ws.poll()
		if p.name == "" and ws.get_ready_state() == RustWebSocketPeer.STATE_OPEN:
			p.name = ws.get_requested_url().get_file()
			_broadcast("* %s joined (%s)" % [p.name, ws.get_requested_url()])
		while ws.get_available_packet_count() > 0:
			var text := ws.get_packet().get_string_from_utf8()
			_broadcast("%s: %s" % [p.name, text])
	for p in peers.duplicate():
		var ws: RustWebSocketPeer = p.ws
		if ws.get_ready_state() == RustWebSocketPeer.STATE_CLOSED:
			peers.erase(p)
			_broadcast("* %s left (code %d, %s)" % [p.name, ws.get_close_code(), ws.get_close_reason()])


func stop() -> void:
	for p in peers:
		p.ws.close(1001, "server shutting down")
	tcp.stop()


func _broadcast(line: String) -> void:
	on_log.call("[server] " + line)
	for p in peers:
		if p.ws.get_ready_state() == RustWebSocketPeer.STATE_OPEN:
			p.ws.send_text(line)
