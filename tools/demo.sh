#!/usr/bin/env bash
# Builds the extension and runs a demo headless.
#   tools/demo.sh                  the chat demo (godot-project/demo/chat/chat.tscn): a wss:// chat
#                                  server and two clients, all RustWebSocketPeer, TLS with a
#                                  certificate Godot makes on the spot; messages both ways, clean close
#   tools/demo.sh multiplayer [--class=NAME]
#                                  the multiplayer demo (godot-project/demo/multiplayer/mp_demo.tscn):
#                                  a RustWebSocketMultiplayerPeer server and two clients in one scene,
#                                  RPCs to the server, to everyone and through the relay, a client leaving
#   tools/demo.sh echo [--class=NAME]
#                                  the echo demo (godot-project/demo/echo_demo.gd): an engine
#                                  WebSocketPeer echo server and a RustWebSocketPeer client
# With a window instead: godot --path godot-project res://demo/chat/chat.tscn (or
# res://demo/multiplayer/mp_demo.tscn)
# Exit status: the demo's (0 = everything arrived as expected), 124 on timeout.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/build.sh
GODOT="$(tools/godot.sh)"

# Godot only loads an extension listed in .godot/extension_list.cfg, which the import writes.
list=godot-project/.godot/extension_list.cfg
if ! grep -qs godot_websocket "$list"; then
	echo "demo.sh: importing godot-project (first run)" >&2
	status=0
	timeout 600 "$GODOT" --headless --path godot-project --import >/dev/null 2>&1 || status=$?
	# What matters here is the extension list; the exit status is only reported.
	[ "$status" -eq 0 ] || echo "demo.sh: warning: the Godot import exited with status $status" >&2
	grep -qs godot_websocket "$list" || { echo "demo.sh: the import did not register the extension" >&2; exit 1; }
fi

# Each demo has its own timeout; this one only catches a hang before its script starts.
status=0
if [ "${1:-chat}" = "echo" ]; then
	shift || true
	timeout 60 "$GODOT" --headless --path godot-project --script res://demo/echo_demo.gd -- "$@" || status=$?
elif [ "${1:-chat}" = "multiplayer" ]; then
	shift || true
	timeout 60 "$GODOT" --headless --path godot-project res://demo/multiplayer/mp_demo.tscn -- "$@" || status=$?
else
	timeout 60 "$GODOT" --headless --path godot-project res://demo/chat/chat.tscn || status=$?
fi
if [ "$status" -eq 124 ]; then echo "demo.sh: the demo timed out" >&2; fi
exit "$status"
