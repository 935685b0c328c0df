extends RefCounted
## WebSocket server side for the suites, always the engine's own WebSocketPeer (never the class
## under test, so a client bug cannot hide behind the same bug on the server side).
## A TCPServer on a free loopback port; each TCP connection gets a WebSocketPeer via accept_stream().

const OPEN := WebSocketPeer.STATE_OPEN

var tcp := TCPServer.new()
var port := 0
## Address listened on: "127.0.0.1", or "::1" for IPv6 checks.
var bind := "127.0.0.1"
## Accepted server-side peers, oldest first.
var peers: Array[WebSocketPeer] = []
## Called with each new WebSocketPeer before accept_stream() (buffer sizes, protocols...).
var configure := Callable()
## Echo every received message back with the same type.
var echo := false
## When false, connections wait in the listen backlog: a client then stays CONNECTING
## (its TCP connect succeeds, but nobody answers the HTTP upgrade request).
var accepting := true
## Errors from accept_stream(), in order (OK expected).
var accept_errors: Array[int] = []

# Echoed messages that could not be queued yet (outbound limits), per peer, in order.
var _backlog := {}


func start(configure_peer := Callable(), echo_messages := false, address := "127.0.0.1") -> int:
	configure = configure_peer
	echo = echo_messages
	bind = address
	var err := tcp.listen(0, bind)  # port 0: the OS picks a free port
	port = tcp.get_local_port()
	return err


func url(path := "/") -> String:
	var host := ("[%s]" % bind) if bind.contains(":") else bind
	return "ws://%s:%d%s" % [host, port, path]


## First accepted peer, or null before any connection was accepted.
func peer() -> WebSocketPeer:
	return peers[0] if not peers.is_empty() else null


func poll() -> void:
	while accepting and tcp.is_connection_available():
		var conn := tcp.take_connection()
		var p := WebSocketPeer.new()
		if configure.is_valid():
			configure.call(p)
		accept_errors.append(p.accept_stream(conn))
		peers.append(p)
	for p in peers:
		p.poll()
		if echo:
			_echo(p)


func _echo(p: WebSocketPeer) -> void:
	var queue: Array = _backlog.get(p, [])
	while p.get_ready_state() == OPEN and p.get_available_packet_count() > 0:
		var data := p.get_packet()
		queue.append([data, p.was_string_packet()])
	# Keep order: stop at the first message the peer cannot take yet and retry on the next poll.
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
