#!/usr/bin/env bash
# Builds the extension and installs it into the Godot project:
#   godot-project/addons/godot_websocket/websocket.gdextension   (copy of ./websocket.gdextension)
#   godot-project/addons/godot_websocket/bin/libgodot_websocket.linux.x86_64.so
# Usage: tools/build.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/.."
profile=debug
args=()
if [ "${1:-}" = "--release" ]; then profile=release; args=(--release); fi
cargo build -q "${args[@]}" -p godot_websocket
addon=godot-project/addons/godot_websocket
mkdir -p "$addon/bin"
cp websocket.gdextension "$addon/websocket.gdextension"
# Copy through a temporary name so a running Godot never sees a half-written library.
cp "target/$profile/libgodot_websocket.so" "$addon/bin/.lib.tmp"
mv -f "$addon/bin/.lib.tmp" "$addon/bin/libgodot_websocket.linux.x86_64.so"
# Register the extension with the project before Godot first sees it: a headless editor session
# that discovers a .gdextension on its own crashes at shutdown (an engine bug, godot#123511).
list=godot-project/.godot/extension_list.cfg
entry="res://addons/godot_websocket/websocket.gdextension"
mkdir -p "$(dirname "$list")"
grep -qxF "$entry" "$list" 2>/dev/null || echo "$entry" >>"$list"
