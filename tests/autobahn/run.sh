#!/usr/bin/env bash
# RFC 6455 conformance with Autobahn|Testsuite, both sides of RustWebSocketPeer (or --class=NAME):
#   client: wstest's fuzzingserver <- godot-project/autobahn/echo_client.gd
#   server: wstest's fuzzingclient -> godot-project/autobahn/echo_server.gd (accept_stream)
# All cases except 12.* and 13.* (permessage-deflate). Prints the cases that are not OK,
# NON-STRICT or INFORMATIONAL and "N passed, M failed" per side; exits non-zero on a failure.
# Usage: tests/autobahn/run.sh [--class=NAME] [CASES]   (CASES e.g. '1.*,9.1.*'; default all)
# Takes about 6 minutes on 2 cores. Reports go to tests/.logs/autobahn/ (index.html per side).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cls=RustWebSocketPeer
case "${1:-}" in --class=*) cls=${1#--class=}; shift ;; esac
CASES=${1:-*}
OUT=$ROOT/tests/.logs/autobahn
rm -rf "$OUT" && mkdir -p "$OUT"
cd "$ROOT"
tools/build.sh || exit 1
GODOT=$(tools/godot.sh) || exit 1
"$HERE/setup.sh" >"$OUT/setup.log" 2>&1 || { echo "autobahn setup failed (see $OUT/setup.log)"; exit 1; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.2; done; return 1; }
status=0

# Client side.
port=$(free_port)
timeout 1200 "$HERE/fuzzingserver.sh" "$port" "$OUT/client" "$CASES" >"$OUT/fuzzingserver.log" 2>&1 &
pids+=($!)
if wait_port "$port"; then
	timeout 1200 "$GODOT" --headless --path godot-project --script res://autobahn/echo_client.gd -- \
		--port="$port" --agent="$cls" --class="$cls" >"$OUT/echo_client.log" 2>&1
fi
echo "== client side ($cls)"
python3 "$HERE/summarize.py" "$OUT/client" "$cls" || status=1
kill "${pids[-1]}" 2>/dev/null

# Server side.
port=$(free_port)
timeout 1200 "$GODOT" --headless --path godot-project --script res://autobahn/echo_server.gd -- \
	--port="$port" --class="$cls" >"$OUT/echo_server.log" 2>&1 &
pids+=($!)
if wait_port "$port"; then
	timeout 1200 "$HERE/fuzzingclient.sh" "ws://127.0.0.1:$port" "$cls" "$OUT/server" "$CASES" >"$OUT/fuzzingclient.log" 2>&1
fi
echo "== server side ($cls)"
python3 "$HERE/summarize.py" "$OUT/server" "$cls" || status=1
exit $status
