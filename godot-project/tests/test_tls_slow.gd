extends "res://tests/lib/suite.gd"
# targets: @class
## Client deadlines that take 10 s, all watched at once (the slow suite): a server that accepts
## TCP but never answers the TLS hello (TLS handshake deadline), one that never answers the
## ws:// upgrade request, and one that completes TLS but never answers the wss:// upgrade (HTTP
## upgrade deadline). RustWebSocketPeer: CLOSED with -1 after 10 s, get_error_message() says which
## phase timed out. Engine: no deadline for these phases, it stays CONNECTING (checked at 11 s).

const DEADLINE_MS := 10000


## Completes TLS on each connection it takes, then never answers (a wss:// server that hangs).
class SilentTlsServer:
	var tcp := TCPServer.new()
	var options: TLSOptions
	var streams: Array[StreamPeerTLS] = []

	func poll() -> void:
		while tcp.is_connection_available():
			var tls := StreamPeerTLS.new()
			tls.accept_stream(tcp.take_connection(), options)
			streams.append(tls)
		for tls in streams:
			tls.poll()

	func stop() -> void:
		for tls in streams:
			tls.disconnect_from_stream()
		tcp.stop()


func tests() -> Array[Callable]:
	return [test_deadlines]


func test_deadlines() -> bool:
	# Connections to `silent` wait in its listen backlog: TCP completes, nothing is ever read.
	var silent := TCPServer.new()
	silent.listen(0, "127.0.0.1")
	var crypto := Crypto.new()
	var key := crypto.generate_rsa(2048)
	var tls_srv := SilentTlsServer.new()
	tls_srv.options = TLSOptions.server(key, crypto.generate_self_signed_certificate(key, "CN=localhost"))
	tls_srv.tcp.listen(0, "127.0.0.1")
	_servers.append(tls_srv)
	# [label, peer, URL, options, what get_error_message() says]
	var cases := [
		["TLS hello unanswered", new_peer(), "wss://127.0.0.1:%d/" % silent.get_local_port(), TLSOptions.client_unsafe(),
				"timed out during TLS handshake"],
		["ws:// upgrade unanswered", new_peer(), "ws://127.0.0.1:%d/" % silent.get_local_port(), null,
				"timed out during WebSocket handshake"],
		["wss:// upgrade unanswered after TLS", new_peer(), "wss://127.0.0.1:%d/" % tls_srv.tcp.get_local_port(),
				TLSOptions.client_unsafe(), "timed out during WebSocket handshake"],
	]
	var start := Time.get_ticks_msec()
	var peers := []
	for c in cases:
		check_eq("%s: connect_to_url OK" % c[0], c[1].connect_to_url(c[2], c[3]), OK)
		peers.append(c[1])
	var ended := {}
	var record := func():
		for c in cases:
			if c[1].get_ready_state() != CONNECTING and not ended.has(c[0]):
				ended[c[0]] = Time.get_ticks_msec() - start
		return ended.size() == cases.size()
	await pump(peers + [tls_srv], record, DEADLINE_MS - 1500)
	for c in cases:
		check_eq("%s: still CONNECTING after %.1f s" % [c[0], (DEADLINE_MS - 1500) / 1000.0], state_name(c[1].get_ready_state()), "CONNECTING")
	await pump(peers + [tls_srv], record, DEADLINE_MS + 1000 - (Time.get_ticks_msec() - start))
	if is_engine:
		for c in cases:
			check_eq("%s: engine still CONNECTING after 11 s (no deadline)" % c[0], state_name(c[1].get_ready_state()), "CONNECTING")
		silent.stop()
		return true
	await pump(peers + [tls_srv], record, DEADLINE_MS + 2 * SLOW_MACHINE_MS - (Time.get_ticks_msec() - start))
	for c in cases:
		var label: String = c[0]
		var p = c[1]
		check_eq("%s (differs from engine): CLOSED" % label, state_name(p.get_ready_state()), "CLOSED")
		var when: int = ended.get(label, -1)
		# Each deadline starts after connect_to_url (TLS: once TCP is up; upgrade: once TCP or TLS
		# is up). Exact rules: core/connection/tests.rs `every_wait_has_a_deadline` (upgrade),
		# session/link.rs `a_silent_tls_server_times_out_at_the_deadline_in_virtual_time` (TLS).
		check_ms("%s: at the 10 s deadline" % label, when, DEADLINE_MS - CLOCK_SLACK_MS, DEADLINE_MS + SLOW_MACHINE_MS)
		check_eq("%s: close code -1" % label, p.get_close_code(), -1)
		check("%s: get_error_message says \"%s\"" % [label, c[4]], p.get_error_message().contains(c[4]),
				"got \"%s\"" % p.get_error_message())
	silent.stop()
	return true
