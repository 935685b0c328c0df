#!/usr/bin/env bash
# Builds the release library and packs the addon: dist/godot_websocket-<version>.zip, holding
# addons/godot_websocket/ (websocket.gdextension, bin/, icons/, README.md, LICENSE) ready to be
# unzipped into a Godot project. Only the Linux x86_64 library is built here; see the README
# for the other platforms.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh --release
version="$(sed -n 's/^version = "\(.*\)"/\1/p' rust/Cargo.toml | head -n1)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/addons"
cp -r godot-project/addons/godot_websocket "$stage/addons/"
find "$stage" \( -name "*.import" -o -name "*.uid" \) -delete
cp README.md "$stage/addons/godot_websocket/README.md"
[ -f LICENSE ] && cp LICENSE "$stage/addons/godot_websocket/LICENSE"
mkdir -p dist
out="$PWD/dist/godot_websocket-$version.zip"
rm -f "$out"
(cd "$stage" && python3 -m zipfile -c "$out" addons)
echo "$out"
