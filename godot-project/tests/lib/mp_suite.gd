extends "res://tests/lib/suite.gd"
## Base of the multiplayer suites. The class under test (--class) is a WebSocketMultiplayerPeer
## class: RustWebSocketMultiplayerPeer or the engine's WebSocketMultiplayerPeer (is_engine).
## Every peer lives in its own MultiplayerAPI (SceneTree.set_multiplayer) under /root/<name>,
## with a "Game" node (mp_node.gd) at the same path, so one process holds a server and its
## clients. The SceneTree polls every API each frame; pump([]) just waits frames, bounded.

const MpNode := preload("res://tests/lib/mp_node.gd")
const ENGINE_MP := "WebSocketMultiplayerPeer"
const DISCONNECTED := MultiplayerPeer.CONNECTION_DISCONNECTED
const CONNECTING_MP := MultiplayerPeer.CONNECTION_CONNECTING
const CONNECTED := MultiplayerPeer.CONNECTION_CONNECTED

var _holders: Array = []


## The tree's root joins the tree only once the main loop runs: wait for the first frame.
func _run() -> void:
	await process_frame
	await super()


func _class_available() -> bool:
	is_engine = cls == ENGINE_MP
	if not ClassDB.class_exists(cls):
		return checks.check("class %s is registered" % cls, false,
				"not in ClassDB: extension not built or not loaded (tools/build.sh, then --import)")
	var p = ClassDB.instantiate(cls)
	return checks.check("class %s instantiates as a MultiplayerPeer" % cls, p is MultiplayerPeer,
			"ClassDB.instantiate gave %s" % [p])


func _cleanup() -> void:
	for h in _holders:
		var api: MultiplayerAPI = get_multiplayer(h.get_path())
		var peer = api.multiplayer_peer if api != null else null
		if api != null:
			api.multiplayer_peer = OfflineMultiplayerPeer.new()
		if peer != null and not (peer is OfflineMultiplayerPeer):
			peer.close()
		set_multiplayer(null, h.get_path())
		h.free()
	_holders.clear()
	super()


## A new peer object of class `klass` (default: the class under test).
func mp_peer(klass := "") -> Object:
	return ClassDB.instantiate(cls if klass == "" else klass)


## A holder node /root/<name> with its own MultiplayerAPI and a Game node; returns the Game.
func node(label: String) -> Node:
	var holder := Node.new()
	holder.name = label
	root.add_child(holder)
	var api := MultiplayerAPI.create_default_interface()
	set_multiplayer(api, holder.get_path())
	var game: Node = MpNode.new()
	game.name = "Game"
	holder.add_child(game)
	game.setup()
	game.watch(api)
	_holders.append(holder)
	return game


## Server of class `klass` on a free loopback port; returns [game, port] (game null on error).
func start_server(label: String, klass := "", tls: TLSOptions = null, configure := Callable()) -> Array:
	var game := node(label)
	var p = mp_peer(klass)
	if configure.is_valid():
		configure.call(p)
	var port := free_port()
	var err: int = p.create_server(port, "127.0.0.1", tls)
	if not check_eq("%s: create_server on 127.0.0.1" % label, err, OK):
		return [null, 0]
	game.multiplayer.multiplayer_peer = p
	game.watch_peer(p)
	return [game, port]


## Client of class `klass` connecting to `url`; returns its Game (the peer is connecting).
func start_client(label: String, url: String, klass := "", tls: TLSOptions = null, configure := Callable()) -> Node:
	var game := node(label)
	var p = mp_peer(klass)
	if configure.is_valid():
		configure.call(p)
	var err: int = p.create_client(url, tls)
	check_eq("%s: create_client" % label, err, OK)
	if err == OK:
		game.multiplayer.multiplayer_peer = p
	return game


func status_of(game: Node) -> int:
	var p = game.multiplayer.multiplayer_peer
	return p.get_connection_status() if p != null else DISCONNECTED


## Waits until every client is CONNECTED and the server knows them all.
func until_joined(server: Node, clients: Array, timeout_ms := 8000) -> bool:
	return await pump([], func():
		return clients.all(func(c): return status_of(c) == CONNECTED) \
				and server.multiplayer.get_peers().size() >= clients.size(), timeout_ms)


## Waits until `game` has received `count` RPCs with `tag`.
func until_got(game: Node, tag: String, count: int, timeout_ms := 8000) -> bool:
	return await pump([], func(): return game.values(tag).size() >= count, timeout_ms)


func id_of(game: Node) -> int:
	return game.multiplayer.get_unique_id()
