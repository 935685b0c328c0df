#!/usr/bin/env bash
# Prints the path of a Godot 4 executable to use, installing one first if needed.
#
#   GODOT="$(tools/godot.sh)" && "$GODOT" --headless --version
#
# Order: $GODOT when set; else `godot4` or `godot` on PATH if it reports 4.x; else a headless
# Godot 4 from Debian's unstable archive, unpacked into a private cache folder
# ($GODOT_WEBSOCKET_CACHE, default ~/.cache/godot-websocket). The install downloads the .debs with
# a private apt configuration (its own sources list, state and cache folders), extracts them with
# `dpkg -x` and writes a small launcher that runs the binary through the extracted dynamic loader.
# Nothing is installed into the system. The mirror is read from the machine's own apt sources.
set -euo pipefail

log() { echo "godot.sh: $*" >&2; }

is_godot4() { "$@" --headless --version 2>/dev/null | grep -qE '^4\.'; }

if [ -n "${GODOT:-}" ]; then
	if is_godot4 "$GODOT"; then echo "$GODOT"; exit 0; fi
	log "\$GODOT=$GODOT does not report a 4.x version"; exit 1
fi
for cand in godot4 godot; do
	if p="$(command -v "$cand")" && is_godot4 "$p"; then echo "$p"; exit 0; fi
done

CACHE="${GODOT_WEBSOCKET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/godot-websocket}"
LAUNCHER="$CACHE/bin/godot"
if [ -x "$LAUNCHER" ] && is_godot4 "$LAUNCHER"; then echo "$LAUNCHER"; exit 0; fi

command -v apt-get >/dev/null && command -v dpkg >/dev/null || {
	log "no Godot 4 found and no apt-get/dpkg to install one: set \$GODOT to a Godot 4 binary"; exit 1; }

# The mirror the machine already uses (deb822 .sources files or one-line sources.list).
mirror="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {print $2}' | grep -v security | head -n1 || true)"
if [ -z "$mirror" ]; then
	mirror="$(grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
		| awk '{for (i=2;i<=NF;i++) if ($i ~ /^(https?|file):/) {print $i; exit}}' | grep -v security | head -n1 || true)"
fi
[ -n "$mirror" ] || { log "cannot find a Debian mirror in /etc/apt sources"; exit 1; }

APT="$CACHE/apt"
ROOT="$CACHE/root"
rm -rf "$APT" "$ROOT.tmp"
mkdir -p "$APT/etc/preferences.d" "$APT/etc/apt.conf.d" "$APT/state/lists/partial" \
	"$APT/cache/archives/partial" "$ROOT.tmp" "$CACHE/bin"
: >"$APT/status"

try_suite() {
	local suite="$1"
	log "downloading godot and its dependencies from $suite ($mirror)"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" >"$APT/etc/sources.list"
	local opts=(
		-o "Dir::Etc::SourceList=$APT/etc/sources.list" -o "Dir::Etc::SourceParts=-"
		-o "Dir::Etc::Preferences=$APT/etc/preferences" -o "Dir::Etc::PreferencesParts=$APT/etc/preferences.d"
		-o "Dir::State=$APT/state" -o "Dir::State::status=$APT/status"
		-o "Dir::Cache=$APT/cache" -o "APT::Architecture=amd64" -o "APT::Architectures::=amd64"
		-o "APT::Install-Recommends=false" -o "Debug::NoLocking=true" -o "APT::Sandbox::User=root"
	)
	# An older keyring may lack the newest archive key: allow an unsigned list in that case only.
	apt-get "${opts[@]}" -qq update >&2 2>&1 ||
		apt-get "${opts[@]}" -o "Acquire::AllowInsecureRepositories=true" -qq update >&2 2>&1 || return 1
	rm -f "$APT/cache/archives/"*.deb
	apt-get "${opts[@]}" -o "APT::Get::AllowUnauthenticated=true" -y -qq --download-only install godot >&2 2>&1
}
try_suite sid || try_suite testing || { log "could not download godot from $mirror"; exit 1; }

for deb in "$APT/cache/archives/"*.deb; do dpkg -x "$deb" "$ROOT.tmp"; done
rm -rf "$ROOT" && mv "$ROOT.tmp" "$ROOT"
rm -rf "$APT/cache/archives/"*.deb

bin="$ROOT/usr/bin/godot"
[ -e "$bin" ] || bin="$(ls "$ROOT"/usr/bin/godot* 2>/dev/null | head -n1)"
L="$ROOT/usr/lib/x86_64-linux-gnu"
cat >"$LAUNCHER" <<EOF
#!/bin/sh
# Written by godot-websocket's tools/godot.sh: runs the unpacked Debian Godot with its own libraries.
exec "$L/ld-linux-x86-64.so.2" --library-path "$L:$L/pulseaudio" "$bin" "\$@"
EOF
chmod +x "$LAUNCHER"
is_godot4 "$LAUNCHER" || { log "the unpacked Godot does not run: $LAUNCHER"; exit 1; }
log "installed $("$LAUNCHER" --headless --version 2>/dev/null | head -n1) at $LAUNCHER"
echo "$LAUNCHER"
