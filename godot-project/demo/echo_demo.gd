extends SceneTree
## Echo demo: an engine WebSocketPeer echo server (TCPServer + accept_stream) on a free loopback
## port, and a RustWebSocketPeer client that sends a few text and binary messages, prints the
## echoes, then closes with a code and reason and prints the close code seen on both sides.
##
## Run: tools/demo.sh   (or: godot --headless --path godot-project --script res://demo/echo_demo.gd)
## User arg --class=NAME picks another client class (e.g. --class=WebSocketPeer to compare).
## Exit status 0 on success, 1 on any failure or after TIMEOUT_MS.

const TIMEOUT_MS := 10000
const CLOSE_CODE := 4000
const CLOSE_REASON := "demo finished"

var client_class := "RustWebSocketPeer"
var tcp := TCPServer.new()
var server: WebSocketPeer  # the accepted server-side peer
var client  # untyped: the class comes from the extension, which may be missing
var deadline := 0
var finished := false


func _initialize() -> void:
	for arg in OS.get_cmdline_user_args():
		if arg.begins_with("--class="):
			client_class = arg.trim_prefix("--class=")
	deadline = Time.get_ticks_msec() + TIMEOUT_MS
	run()


## Gives up if run() is stuck (or was aborted by a script error) once TIMEOUT_MS has passed.
func _process(_delta: float) -> bool:
	if not finished and Time.get_ticks_msec() > deadline:
		fail("timed out after %d ms" % TIMEOUT_MS)
	return false


func run() -> void:
	# Instantiate through ClassDB so this script still parses when the extension is not loaded.
	if not ClassDB.class_exists(client_class):
		fail("class %s is not registered: build the extension (tools/build.sh) and import the project" % client_class)
		return
	client = ClassDB.instantiate(client_class)
	if tcp.listen(0, "127.0.0.1") != OK:
		fail("cannot listen on 127.0.0.1")
		return
	var url := "ws://127.0.0.1:%d/demo" % tcp.get_local_port()
	print("server: engine WebSocketPeer listening on %s" % url)
	print("client: %s connecting" % client_class)
	var err: int = client.connect_to_url(url)
	if err != OK:
		fail("connect_to_url failed: %s" % error_string(err))
		return
	if not await poll_until(func(): return client.get_ready_state() == WebSocketPeer.STATE_OPEN):
		fail("client did not open (state %d)" % client.get_ready_state())
		return
	print("client: open, connected to %s:%d" % [client.get_connected_host(), client.get_connected_port()])

	var messages := [["Hello, WebSocket!", true], [PackedByteArray([0, 1, 2, 254, 255]), false],
			["ünïcode ✓ 😀", true], [PackedByteArray(), false]]
	for m in messages:
		var sent: int = client.send_text(m[0]) if m[1] else client.send(m[0])
		if sent != OK:
			fail("send failed: %s" % error_string(sent))
			return
		print("client: sent %s" % describe(m[0], m[1]))
	var echoes := []
	await poll_until(func():
		while client.get_available_packet_count() > 0:
			var data: PackedByteArray = client.get_packet()
			var text: bool = client.was_string_packet()
			echoes.append([data.get_string_from_utf8() if text else data, text])
			print("client: received %s" % describe(echoes.back()[0], text))
		return echoes.size() >= messages.size())
	if echoes != messages:
		fail("echoes differ from what was sent")
		return

	print("client: close(%d, \"%s\")" % [CLOSE_CODE, CLOSE_REASON])
	client.close(CLOSE_CODE, CLOSE_REASON)
	await poll_until(func(): return client.get_ready_state() == WebSocketPeer.STATE_CLOSED \
			and server.get_ready_state() == WebSocketPeer.STATE_CLOSED)
	print("client: closed, code %d, reason \"%s\"" % [client.get_close_code(), client.get_close_reason()])
	print("server: closed, code %d, reason \"%s\"" % [server.get_close_code(), server.get_close_reason()])
	if client.get_close_code() != CLOSE_CODE or server.get_close_code() != CLOSE_CODE:
		fail("unexpected close codes")
		return
	finish(0)


## Runs the server side and polls the client once per frame until cond() holds or time runs out.
func poll_until(cond: Callable) -> bool:
	while not finished and Time.get_ticks_msec() < deadline:
		serve()
		client.poll()
		if cond.call():
			return true
		await process_frame
	return false


## Accepts the first connection and echoes every message back with the same type.
func serve() -> void:
	if server == null and tcp.is_connection_available():
		server = WebSocketPeer.new()
		server.accept_stream(tcp.take_connection())
	if server == null:
		return
	server.poll()
	while server.get_ready_state() == WebSocketPeer.STATE_OPEN and server.get_available_packet_count() > 0:
		var data := server.get_packet()
		server.send(data, WebSocketPeer.WRITE_MODE_TEXT if server.was_string_packet() else WebSocketPeer.WRITE_MODE_BINARY)


static func describe(data: Variant, text: bool) -> String:
	return ("text \"%s\"" % data) if text else ("binary %s (%d bytes)" % [data, data.size()])


func fail(why: String) -> void:
	printerr("echo demo FAILED: %s" % why)
	finish(1)


func finish(code: int) -> void:
	if finished:
		return
	finished = true
	if client != null and client.get_ready_state() != WebSocketPeer.STATE_CLOSED:
		client.close(-1)
	tcp.stop()
	print("echo demo %s" % ("OK" if code == 0 else "failed"))
	quit(code)
