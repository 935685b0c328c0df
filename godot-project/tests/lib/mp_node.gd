extends Node
## The node every multiplayer test peer has at the same path ("Game" under its own
## MultiplayerAPI root): one RPC that records what arrived, a spawner with a world to spawn
## into, and the spawn function that builds a Node2D with a MultiplayerSynchronizer.

## [sender id, tag, value] per RPC received, in order.
var got: Array = []
## ["connected"/"disconnected", id] from this API's peer_connected / peer_disconnected.
var events: Array = []
## ["connected"/"disconnected", id] from the MultiplayerPeer's own signals (see watch_peer).
var peer_events: Array = []
## connected_to_server / connection_failed / server_disconnected, in order.
var client_events: Array = []
var world: Node
var spawner: MultiplayerSpawner


func setup() -> void:
	world = Node.new()
	world.name = "World"
	add_child(world)
	spawner = MultiplayerSpawner.new()
	spawner.name = "Spawner"
	add_child(spawner)
	spawner.spawn_path = NodePath("../World")
	spawner.spawn_function = make_thing


func watch(api: MultiplayerAPI) -> void:
	api.peer_connected.connect(func(id): events.append(["connected", id]))
	api.peer_disconnected.connect(func(id): events.append(["disconnected", id]))
	api.connected_to_server.connect(func(): client_events.append("connected_to_server"))
	api.connection_failed.connect(func(): client_events.append("connection_failed"))
	api.server_disconnected.connect(func(): client_events.append("server_disconnected"))


func watch_peer(peer: MultiplayerPeer) -> void:
	peer.peer_connected.connect(func(id): peer_events.append(["connected", id]))
	peer.peer_disconnected.connect(func(id): peer_events.append(["disconnected", id]))


@rpc("any_peer", "call_remote", "reliable")
func note(tag: String, value: Variant) -> void:
	got.append([multiplayer.get_remote_sender_id(), tag, value])


## Values received with `tag`, in order.
func values(tag: String) -> Array:
	return got.filter(func(g): return g[1] == tag).map(func(g): return g[2])


## Senders of the RPCs received with `tag`, in order.
func senders(tag: String) -> Array:
	return got.filter(func(g): return g[1] == tag).map(func(g): return g[0])


func make_thing(data: Variant) -> Node:
	var n := Node2D.new()
	n.name = "Thing%d" % int(data["id"])
	n.position = data["pos"]
	var sync := MultiplayerSynchronizer.new()
	sync.name = "Sync"
	var cfg := SceneReplicationConfig.new()
	cfg.add_property(NodePath(".:position"))
	sync.replication_config = cfg
	n.add_child(sync)
	return n
