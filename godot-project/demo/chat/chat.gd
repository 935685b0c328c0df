extends Control
## Chat demo: a wss:// chat server and two clients ("you" and "bot") in one scene, all
## RustWebSocketPeer. With a window, type into the box; headless (the README's demo command), a
## short script plays instead: both clients talk, "you" leaves with a close code and reason, and
## the scene quits with status 0 when everything arrived as expected (1 otherwise, or after 20 s).

const ChatServer := preload("res://demo/chat/chat_server.gd")
const ChatClient := preload("res://demo/chat/chat_client.gd")
const TIMEOUT_MS := 20000

var server := ChatServer.new()
var you := ChatClient.new()
var bot := ChatClient.new()
var log_view := RichTextLabel.new()
var input := LineEdit.new()
var headless := DisplayServer.get_name() == "headless"
var deadline := Time.get_ticks_msec() + TIMEOUT_MS


func _ready() -> void:
	_build_ui()
	if not ClassDB.class_exists("RustWebSocketPeer"):
		_finish(false, "RustWebSocketPeer is not registered: run tools/build.sh and import the project")
		return
	# A throwaway self-signed certificate for "localhost", made by Godot itself.
	var crypto := Crypto.new()
	var key := crypto.generate_rsa(2048)
	var cert := crypto.generate_self_signed_certificate(key, "CN=localhost")
	server.on_log = _log
	if server.start(0, key, cert) != OK:
		_finish(false, "cannot listen")
		return
	you.on_line = _on_line
	bot.on_line = _on_line
	you.connect_to(server.port(), "you", cert)
	bot.connect_to(server.port(), "bot", cert)
	_log("chat server on wss://localhost:%d/chat/<name>" % server.port())
	if headless:
		_play_script()


func _process(_delta: float) -> void:
	server.poll()
	you.poll()
	bot.poll()
	if Time.get_ticks_msec() > deadline and headless:
		_finish(false, "timed out")


func _play_script() -> void:
	await _until(func(): return you.is_open() and bot.is_open())
	you.say("hello from a RustWebSocketPeer client")
	await _until(func(): return _saw(bot, "you: hello"))
	bot.say("hi! this went through TLS twice: client to server, server to client")
	await _until(func(): return _saw(you, "bot: hi!"))
	you.ws.close(4000, "see you")
	await _until(func(): return you.is_closed() and _saw(bot, "you left"))
	var ok: bool = you.ws.get_close_code() == 4000 and _saw(bot, "you left (code 4000, see you)")
	_finish(ok, "you closed with %d \"%s\"" % [you.ws.get_close_code(), you.ws.get_close_reason()])


## Whether `client` received a line containing `text`.
func _saw(client, text: String) -> bool:
	return Array(client.lines).any(func(line: String) -> bool: return text in line)


func _until(condition: Callable) -> void:
	while not condition.call() and Time.get_ticks_msec() < deadline:
		await get_tree().process_frame


func _on_line(who: String, line: String) -> void:
	_log("[%s sees] %s" % [who, line])


func _log(line: String) -> void:
	print(line)
	log_view.append_text(line + "\n")


func _finish(ok: bool, why: String) -> void:
	_log(("DEMO OK: " if ok else "DEMO FAILED: ") + why)
	server.stop()
	get_tree().quit(0 if ok else 1)


func _build_ui() -> void:
	var box := VBoxContainer.new()
	box.set_anchors_and_offsets_preset(Control.PRESET_FULL_RECT)
	add_child(box)
	log_view.size_flags_vertical = Control.SIZE_EXPAND_FILL
	log_view.scroll_following = true
	box.add_child(log_view)
	input.placeholder_text = "Type a message for the chat and press Enter"
	input.text_submitted.connect(func(text: String) -> void:
		if you.is_open() and text != "":
			you.say(text)
		input.clear())
	box.add_child(input)
