extends "res://tests/lib/mp_suite.gd"
# targets: @mpclass WebSocketMultiplayerPeer
## High-level multiplayer over the class under test (a WebSocketMultiplayerPeer class): a server
## and 3 clients of the class, then mixed with the engine's WebSocketMultiplayerPeer both ways:
## ids, signals, RPCs both ways and client to client through the server relay, 10,000 reliable
## RPCs in order, a 60 KiB argument, MultiplayerSpawner + MultiplayerSynchronizer, a client
## leaving, the server closing. All in one process (one MultiplayerAPI per peer).


func tests() -> Array[Callable]:
	return [test_same_class, test_engine_server_our_clients, test_our_server_engine_clients,
			test_ten_thousand_in_order, test_large_argument, test_spawner_and_synchronizer,
			test_client_leaves, test_server_closes, test_last_rpcs_before_leaving]


## Server `server_cls` and 3 clients of `client_cls`: ids, signals and RPCs in every direction.
func _world(label: String, server_cls: String, client_cls: String) -> void:
	var s := start_server("%sServer" % label, server_cls)
	var server: Node = s[0]
	if server == null:
		return
	var url := "ws://127.0.0.1:%d" % s[1]
	var clients := []
	for i in 3:
		clients.append(start_client("%sC%d" % [label, i], url, client_cls))
	var joined: bool = await until_joined(server, clients)
	if not check("%s: 3 clients CONNECTED and known to the server" % label, joined,
			"statuses %s, server peers %s" % [clients.map(status_of), server.multiplayer.get_peers()]):
		return
	var ids: Array = clients.map(id_of)
	check_eq("%s: server id is 1" % label, id_of(server), 1)
	check("%s: client ids are distinct and >= 2" % label,
			ids.all(func(i): return i >= 2) and ids[0] != ids[1] and ids[1] != ids[2] and ids[0] != ids[2],
			"ids %s" % [ids])
	var sorted_ids := ids.duplicate()
	sorted_ids.sort()
	var server_peers: Array = Array(server.multiplayer.get_peers())
	server_peers.sort()
	check_eq("%s: server's peers are the clients' ids" % label, server_peers, sorted_ids)
	check_eq("%s: server saw peer_connected for each client" % label,
			server.events.filter(func(e): return e[0] == "connected").map(func(e): return e[1]).size(), 3)
	# Through the relay every client learns of the others.
	var all_know: bool = await pump([], func():
		return clients.all(func(c): return c.multiplayer.get_peers().size() == 3))
	check("%s: each client knows the server and the 2 others (relay)" % label, all_know,
			"peers %s" % [clients.map(func(c): return Array(c.multiplayer.get_peers()))])
	check("%s: each client got connected_to_server" % label,
			clients.all(func(c): return c.client_events == ["connected_to_server"]),
			"%s" % [clients.map(func(c): return c.client_events)])
	var mp = server.multiplayer.multiplayer_peer
	check("%s: get_peer_address/port of a client" % label,
			mp.get_peer_address(ids[0]) == "127.0.0.1" and mp.get_peer_port(ids[0]) > 0,
			"%s:%d" % [mp.get_peer_address(ids[0]), mp.get_peer_port(ids[0])])
	check("%s: get_peer gives the client's WebSocket peer, OPEN" % label,
			mp.get_peer(ids[0]) != null and mp.get_peer(ids[0]).get_ready_state() == OPEN)

	# Client -> server, server -> one client, server -> all, client -> client (relay).
	clients[0].note.rpc_id(1, "up", "from c0")
	server.note.rpc_id(ids[1], "down", "to c1")
	server.note.rpc("all", 7)
	clients[2].note.rpc_id(ids[0], "c2c", "c2 to c0")
	clients[1].note.rpc("bcast", "c1 to all")
	var done: bool = await pump([], func():
		return server.values("up").size() == 1 and clients[1].values("down").size() == 1 \
				and clients.all(func(c): return c.values("all").size() == 1) \
				and clients[0].values("c2c").size() == 1 and server.values("bcast").size() == 1 \
				and clients[0].values("bcast").size() == 1 and clients[2].values("bcast").size() == 1)
	check("%s: every RPC arrived" % label, done)
	check_eq("%s: client -> server, with the sender's id" % label, server.got.filter(func(g): return g[1] == "up"), [[ids[0], "up", "from c0"]])
	check_eq("%s: server -> one client, from 1" % label, clients[1].got.filter(func(g): return g[1] == "down"), [[1, "down", "to c1"]])
	check_eq("%s: server -> all clients" % label, clients.map(func(c): return c.values("all")), [[7], [7], [7]])
	check_eq("%s: client -> client through the relay, with the sender's id" % label,
			clients[0].got.filter(func(g): return g[1] == "c2c"), [[ids[2], "c2c", "c2 to c0"]])
	check_eq("%s: client broadcast reaches server and the others, not itself" % label,
			[server.senders("bcast"), clients[0].senders("bcast"), clients[1].values("bcast"), clients[2].senders("bcast")],
			[[ids[1]], [ids[1]], [], [ids[1]]])
	check("%s: nothing arrived twice" % label, server.got.size() == 2 and clients[0].got.size() == 3,
			"server got %s, c0 got %s" % [server.got, clients[0].got])


func test_same_class() -> bool:
	await _world("same", cls, cls)
	return true


func test_engine_server_our_clients() -> bool:
	await _world("engsrv", ENGINE_MP, cls)
	return true


func test_our_server_engine_clients() -> bool:
	await _world("engcli", cls, ENGINE_MP)
	return true


## One server and one client of the class under test, joined; [server, client] or [].
func _pair(label: String, server_cls := "", client_cls := "") -> Array:
	var s := start_server("%sServer" % label, server_cls)
	if s[0] == null:
		return []
	var c := start_client("%sClient" % label, "ws://127.0.0.1:%d" % s[1], client_cls)
	var joined: bool = await until_joined(s[0], [c])
	if not check("%s: client joined" % label, joined, "status %d" % status_of(c)):
		return []
	return [s[0], c]


func test_ten_thousand_in_order() -> bool:
	var pair := await _pair("order")
	if pair.is_empty():
		return true
	var server: Node = pair[0]
	var client: Node = pair[1]
	# 500 per frame each way (the engine's peers read at most max_queued_packets per poll).
	for i in 10000:
		client.note.rpc_id(1, "seq", i)
		server.note.rpc_id(id_of(client), "seq", i)
		if i % 500 == 499:
			await process_frame
	var done: bool = await pump([], func():
		return server.values("seq").size() >= 10000 and client.values("seq").size() >= 10000, 20000)
	check("order: 10,000 RPCs arrived each way", done,
			"server %d, client %d" % [server.values("seq").size(), client.values("seq").size()])
	var want := range(10000)
	check("order: client -> server in order, none lost or doubled", server.values("seq") == want)
	check("order: server -> client in order, none lost or doubled", client.values("seq") == want)
	return true


func test_large_argument() -> bool:
	var pair := await _pair("large")
	if pair.is_empty():
		return true
	var server: Node = pair[0]
	var client: Node = pair[1]
	var big := PackedByteArray()
	big.resize(60 * 1024)
	for i in big.size():
		big[i] = (i * 31 + 7) % 251
	client.note.rpc_id(1, "big", big)
	server.note.rpc_id(id_of(client), "big", big)
	var done: bool = await pump([], func():
		return server.values("big").size() == 1 and client.values("big").size() == 1)
	check("large: a 60 KiB argument arrived each way", done)
	if done:
		check("large: client -> server intact", server.values("big")[0] == big)
		check("large: server -> client intact", client.values("big")[0] == big)
	return true


func test_spawner_and_synchronizer() -> bool:
	var s := start_server("spawnServer")
	var server: Node = s[0]
	if server == null:
		return true
	var url := "ws://127.0.0.1:%d" % s[1]
	var clients := [start_client("spawnC0", url), start_client("spawnC1", url, ENGINE_MP)]
	if not check("spawn: clients joined", await until_joined(server, clients)):
		return true
	var thing: Node2D = server.spawner.spawn({"id": 1, "pos": Vector2(3, 4)})
	var spawned: bool = await pump([], func():
		return clients.all(func(c): return c.world.has_node("Thing1")))
	if not check("spawn: the node appeared on both clients (ours and the engine's)", spawned):
		return true
	check_eq("spawn: initial position replicated", clients.map(func(c): return c.world.get_node("Thing1").position),
			[Vector2(3, 4), Vector2(3, 4)])
	thing.position = Vector2(42, -7)
	var synced: bool = await pump([], func():
		return clients.all(func(c): return c.world.get_node("Thing1").position == Vector2(42, -7)))
	check("sync: a position change reached both clients", synced,
			"%s" % [clients.map(func(c): return c.world.get_node("Thing1").position)])
	thing.queue_free()
	var gone: bool = await pump([], func():
		return clients.all(func(c): return not c.world.has_node("Thing1")))
	check("spawn: despawn reached both clients", gone)
	return true


func test_client_leaves() -> bool:
	var s := start_server("leaveServer")
	var server: Node = s[0]
	if server == null:
		return true
	var url := "ws://127.0.0.1:%d" % s[1]
	var clients := [start_client("leaveC0", url), start_client("leaveC1", url)]
	if not check("leave: clients joined", await until_joined(server, clients)):
		return true
	await pump([], func(): return clients[1].multiplayer.get_peers().size() == 2)
	var leaving := id_of(clients[0])
	# The official demo's way out: unset the peer, then close it.
	var p = clients[0].multiplayer.multiplayer_peer
	clients[0].multiplayer.multiplayer_peer = OfflineMultiplayerPeer.new()
	p.close()
	check_eq("leave: close() is final at once", p.get_connection_status(), DISCONNECTED)
	var seen: bool = await pump([], func():
		return server.events.has(["disconnected", leaving]) and clients[1].events.has(["disconnected", leaving]))
	check("leave: server and the other client got peer_disconnected for it", seen,
			"server %s, other %s" % [server.events, clients[1].events])
	check_eq("leave: server's peers", Array(server.multiplayer.get_peers()), [id_of(clients[1])])
	check("leave: get_peer of the gone id is null", server.multiplayer.multiplayer_peer.get_peer(leaving) == null)
	server.note.rpc("after", 1)
	check("leave: the remaining client still gets RPCs", await until_got(clients[1], "after", 1))
	return true


func test_server_closes() -> bool:
	var s := start_server("closeServer")
	var server: Node = s[0]
	if server == null:
		return true
	var url := "ws://127.0.0.1:%d" % s[1]
	var clients := [start_client("closeC0", url), start_client("closeC1", url, ENGINE_MP)]
	if not check("close: clients joined", await until_joined(server, clients)):
		return true
	var p = server.multiplayer.multiplayer_peer
	server.multiplayer.multiplayer_peer = OfflineMultiplayerPeer.new()
	p.close()
	check_eq("close: server DISCONNECTED at once", p.get_connection_status(), DISCONNECTED)
	check_eq("close: server id back to 0", p.get_unique_id(), 0)
	var ended: bool = await pump([], func():
		return clients.all(func(c): return c.client_events.has("server_disconnected")))
	check("close: both clients (ours and the engine's) got server_disconnected", ended,
			"%s" % [clients.map(func(c): return c.client_events)])
	check("close: clients are DISCONNECTED", clients.all(func(c): return status_of(c) == DISCONNECTED))
	return true


## A client sends RPCs and leaves at once (a closing handshake, SceneMultiplayer.disconnect_peer):
## the server gets every RPC before peer_disconnected. The engine's class drops a peer's
## packets once its connection is no longer open, so they can be lost.
func test_last_rpcs_before_leaving() -> bool:
	var pair := await _pair("last")
	if pair.is_empty():
		return true
	var server: Node = pair[0]
	var client: Node = pair[1]
	var cid := id_of(client)
	for i in 50:
		client.note.rpc_id(1, "last", i)
	client.multiplayer.multiplayer_peer.disconnect_peer(1)
	var left: bool = await pump([], func(): return server.events.has(["disconnected", cid]))
	check("last: server got peer_disconnected", left)
	if is_engine:
		check("last: differs: engine: RPCs sent right before the close are lost (got %d of 50)" % server.values("last").size(),
				server.values("last").size() < 50, "got all %d" % server.values("last").size())
	else:
		check_eq("last: every RPC sent before the close arrived before peer_disconnected", server.values("last"), range(50))
	return true
