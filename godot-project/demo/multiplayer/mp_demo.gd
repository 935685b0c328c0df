extends Control
## Multiplayer demo: a server and two clients in one scene, each with its own MultiplayerAPI
## (SceneTree.set_multiplayer), all RustWebSocketMultiplayerPeer (`-- --class=NAME` for another
## class, e.g. the engine's WebSocketMultiplayerPeer). The server keeps the score; a client's
## "+1" is an RPC to the server, which sends the scores to everyone; "Say hi" is an RPC to the
## other client through the server's relay. With a window, click; headless a short script plays
## (A scores 3, B scores 2, B greets A, B leaves) and the scene quits with 0 when every peer saw
## what it should (1 otherwise, or after 20 s).

const Board := preload("res://demo/multiplayer/board.gd")
const TIMEOUT_MS := 20000

var cls := "RustWebSocketMultiplayerPeer"
var headless := DisplayServer.get_name() == "headless"
var deadline := Time.get_ticks_msec() + TIMEOUT_MS
var columns := {}  # label -> {holder, board, view}


func _ready() -> void:
	for arg in OS.get_cmdline_user_args():
		if arg.begins_with("--class="):
			cls = arg.trim_prefix("--class=")
	if not ClassDB.class_exists(cls):
		_finish(false, "%s is not registered: run tools/build.sh and import the project" % cls)
		return
	var row := HBoxContainer.new()
	row.set_anchors_and_offsets_preset(Control.PRESET_FULL_RECT)
	add_child(row)
	for label in ["Server", "ClientA", "ClientB"]:
		_add_column(row, label)
	var server = ClassDB.instantiate(cls)
	var port := _free_port()
	if server.create_server(port, "127.0.0.1") != OK:
		_finish(false, "cannot listen on port %d" % port)
		return
	_api("Server").multiplayer_peer = server
	_api("Server").peer_connected.connect(func(id): _log("Server", "peer %d joined" % id))
	_api("Server").peer_disconnected.connect(func(id): _log("Server", "peer %d left" % id))
	for label in ["ClientA", "ClientB"]:
		var client = ClassDB.instantiate(cls)
		client.create_client("ws://127.0.0.1:%d" % port)
		_api(label).multiplayer_peer = client
		_api(label).connected_to_server.connect(func(): _log(label, "joined as peer %d" % _api(label).get_unique_id()))
		_api(label).server_disconnected.connect(func(): _log(label, "server gone"))
	_log("Server", "%s server on ws://127.0.0.1:%d" % [cls, port])
	if headless:
		_play_script()


func _play_script() -> void:
	await _until(func(): return _api("Server").get_peers().size() == 2 \
			and _api("ClientA").get_peers().size() == 2 and _api("ClientB").get_peers().size() == 2)
	var a := _api("ClientA").get_unique_id()
	var b := _api("ClientB").get_unique_id()
	for i in 3:
		_board("ClientA").add_point.rpc_id(1)
	for i in 2:
		_board("ClientB").add_point.rpc_id(1)
	_board("ClientB").say.rpc_id(a, "hi A, this went through the server")
	var want := {a: 3, b: 2}
	await _until(func(): return columns.values().all(func(c): return c.board.scores == want) \
			and _saw("ClientA", "hi A"))
	var scored: bool = columns.values().all(func(c): return c.board.scores == want)
	# B leaves the official way: unset the peer, then close it.
	var peer = _api("ClientB").multiplayer_peer
	_api("ClientB").multiplayer_peer = null
	peer.close()
	await _until(func(): return _saw("Server", "peer %d left" % b))
	_finish(scored and _saw("ClientA", "hi A") and _saw("Server", "peer %d left" % b),
			"scores everywhere %s, A got the relayed line, B's departure seen" % [want])


func _add_column(row: HBoxContainer, label: String) -> void:
	var holder := VBoxContainer.new()
	holder.name = label
	holder.size_flags_horizontal = Control.SIZE_EXPAND_FILL
	row.add_child(holder)
	var api := MultiplayerAPI.create_default_interface()
	get_tree().set_multiplayer(api, holder.get_path())
	var board: Node = Board.new()
	board.name = "Board"
	holder.add_child(board)
	var title := Label.new()
	title.text = label
	holder.add_child(title)
	var score_label := Label.new()
	holder.add_child(score_label)
	if label != "Server":
		var plus := Button.new()
		plus.text = "+1"
		plus.pressed.connect(func(): board.add_point.rpc_id(1))
		holder.add_child(plus)
		var hi := Button.new()
		hi.text = "Say hi to the others"
		hi.pressed.connect(func(): board.say.rpc("hi from %s" % label))
		holder.add_child(hi)
	var view := RichTextLabel.new()
	view.size_flags_vertical = Control.SIZE_EXPAND_FILL
	view.scroll_following = true
	holder.add_child(view)
	board.changed.connect(func(): score_label.text = "scores: %s" % [board.scores])
	board.line.connect(func(text): _log(label, text))
	columns[label] = {"holder": holder, "board": board, "view": view, "lines": PackedStringArray()}


func _api(label: String) -> MultiplayerAPI:
	return get_tree().get_multiplayer(columns[label].holder.get_path())


func _board(label: String) -> Node:
	return columns[label].board


func _saw(label: String, text: String) -> bool:
	return Array(columns[label].lines).any(func(l: String) -> bool: return text in l)


func _log(label: String, text: String) -> void:
	print("[%s] %s" % [label, text])
	columns[label].lines.append(text)
	columns[label].view.append_text(text + "\n")


func _until(condition: Callable) -> void:
	while not condition.call() and Time.get_ticks_msec() < deadline:
		await get_tree().process_frame


func _process(_delta: float) -> void:
	if headless and Time.get_ticks_msec() > deadline:
		_finish(false, "timed out")


func _free_port() -> int:
	var s := TCPServer.new()
	s.listen(0, "127.0.0.1")
	var port := s.get_local_port()
	s.stop()
	return port


func _finish(ok: bool, why: String) -> void:
	print(("DEMO OK: " if ok else "DEMO FAILED: ") + why)
	for label in columns:
		var api := _api(label)
		if api.multiplayer_peer != null:
			var p := api.multiplayer_peer
			api.multiplayer_peer = null
			p.close()
	get_tree().quit(0 if ok else 1)
