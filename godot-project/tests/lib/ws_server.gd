extends RefCounted
## WebSocket server side built from any class with WebSocketPeer's API: the class under test (for
## the server suites) or the engine's WebSocketPeer (for TLS servers in the client suites).
## A TCPServer on a free loopback port; each connection from take_connection() goes to a new peer
## via accept_stream(), directly or wrapped in a StreamPeerTLS (tls_options = TLSOptions.server()).

const OPEN := WebSocketPeer.STATE_OPEN

var cls := "WebSocketPeer"
var tcp := TCPServer.new()
var port := 0
## Accepted peers, oldest first (untyped: RustWebSocketPeer is not a WebSocketPeer).
var peers: Array = []
## Called with each new peer before accept_stream() (protocols, headers...).
var configure := Callable()
## Echo every received message back with the same type.
var echo := false
## When false, connections wait in the listen backlog (the TCP connect succeeds, nobody answers).
var accepting := true
## Errors from the peers' accept_stream(), in order (OK expected).
var accept_errors: Array[int] = []
## Server TLS options (TLSOptions.server(key, cert)), or null for plain ws://.
var tls_options: TLSOptions = null
## Errors from StreamPeerTLS.accept_stream(), in order. The StreamPeerTLS goes to the peer's
## accept_stream() right away, its handshake still in progress (the peer drives it).
var tls_errors: Array[int] = []

var _backlog := {}


func start(class_name_: String, configure_peer := Callable(), echo_messages := false,
		tls: TLSOptions = null, address := "127.0.0.1") -> int:
	cls = class_name_
	configure = configure_peer
	echo = echo_messages
	tls_options = tls
	var err := tcp.listen(0, address)
	port = tcp.get_local_port()
	return err


func url(path := "/", host := "127.0.0.1") -> String:
	return "%s://%s:%d%s" % ["wss" if tls_options != null else "ws", host, port, path]


## First accepted peer, or null.
func peer() -> Object:
	return peers[0] if not peers.is_empty() else null


func poll() -> void:
	while accepting and tcp.is_connection_available():
		var conn := tcp.take_connection()
		if tls_options == null:
			_accept(conn)
			continue
		var tls := StreamPeerTLS.new()
		tls_errors.append(tls.accept_stream(conn, tls_options))
		_accept(tls)
	for p in peers:
		p.poll()
		if echo:
			_echo(p)


func _accept(stream: StreamPeer) -> void:
	var p = ClassDB.instantiate(cls)
	if configure.is_valid():
		configure.call(p)
	accept_errors.append(p.accept_stream(stream))
	peers.append(p)


func _echo(p: Object) -> void:
	var queue: Array = _backlog.get(p, [])
	while p.get_ready_state() == OPEN and p.get_available_packet_count() > 0:
		var data: PackedByteArray = p.get_packet()
		queue.append([data, p.was_string_packet()])
	while not queue.is_empty() and p.get_ready_state() == OPEN:
		var mode := WebSocketPeer.WRITE_MODE_TEXT if queue[0][1] else WebSocketPeer.WRITE_MODE_BINARY
		if p.send(queue[0][0], mode) != OK:
			break
		queue.pop_front()
	_backlog[p] = queue


## Drops every connection abruptly and stops listening.
func stop() -> void:
	for p in peers:
		if p.get_ready_state() != WebSocketPeer.STATE_CLOSED:
			p.close(-1)
	tcp.stop()
