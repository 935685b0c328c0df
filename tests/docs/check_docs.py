#!/usr/bin/env python3
"""Checks that the documentation of RustWebSocketPeer and RustWebSocketMultiplayerPeer shows in
the Godot editor's help.

Builds a throwaway project holding the installed addon and an editor plugin (probe_plugin.gd)
that opens the class's help page and prints it; runs a headless editor on it; checks the text.
Prints `PASS docs: ...` / `FAIL docs: ...` lines and exits non-zero on a failure.
Usage: check_docs.py GODOT_BINARY
"""
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "godot-project" / "addons" / "godot_websocket"

# Each expected piece of the help page: the brief, a property with its default, a method with
# its default arguments and its description, the enums.
EXPECTED = {
    "class brief": "A WebSocket connection (RFC 6455)",
    "property with default": "inbound_buffer_size [default: 65535]",
    "property description": "Seconds between keepalive pings while open",
    "method signature with defaults": "close(code: int = 1000, reason: String = \"\")",
    "TLSOptions default null": "tls_client_options: TLSOptions = null",
    "method description": "Runs the server side of a connection the game accepted",
    "typed enum return": "State get_ready_state()",
    "enum State": "enum State:",
    "STATE_OPEN value": "STATE_OPEN = 1",
    "enum WriteMode": "enum WriteMode:",
    "extra method documented": "Why the current (or last) connection failed",
    "proxy setter signature": "Error set_http_proxy(host: String, port: int)",
    "proxy setter description": "Sets the HTTP proxy for ws:// URLs",
    "https proxy setter description": "Sets the HTTP proxy for wss:// URLs",
    "proxy_from_environment with default": "proxy_from_environment [default: false]",
    "compression property with default": "compression_enabled [default: false]",
    "compression property description": "Compress messages with the permessage-deflate extension",
    "extensions getter": "String get_selected_extensions()",
    "extensions getter description": "The WebSocket extensions in force on this connection",
}

# The same for RustWebSocketMultiplayerPeer's page.
EXPECTED_MP = {
    "multiplayer: class brief": "Godot's high-level multiplayer",
    "multiplayer: property with default": "handshake_timeout [default: 3.0]",
    "multiplayer: property description": "Seconds a new connection may take to become a peer",
    "multiplayer: method signature with defaults":
        'create_server(port: int, bind_address: String = "*", tls_server_options: TLSOptions = null)',
    "multiplayer: method description": "Listens for clients on",
    "multiplayer: extra method documented": "Why the last attempt to join could not complete",
}


def main() -> int:
    godot = sys.argv[1]
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        proj = Path(tmp)
        shutil.copytree(ADDON, proj / "addons" / "godot_websocket",
                        ignore=shutil.ignore_patterns("*.import"))
        probe = proj / "addons" / "docs_probe"
        probe.mkdir(parents=True)
        shutil.copy(Path(__file__).with_name("probe_plugin.gd"), probe / "plugin.gd")
        (probe / "plugin.cfg").write_text('[plugin]\nname="docs probe"\ndescription=""\n'
                                          'author=""\nversion="1"\nscript="plugin.gd"\n')
        (proj / "project.godot").write_text(
            'config_version=5\n[application]\nconfig/name="docs probe"\n[editor_plugins]\n'
            'enabled=PackedStringArray("res://addons/docs_probe/plugin.cfg")\n')
        # Registered up front: a headless editor that discovers an extension itself crashes at exit.
        (proj / ".godot").mkdir()
        (proj / ".godot" / "extension_list.cfg").write_text(
            "res://addons/godot_websocket/websocket.gdextension\n")
        try:
            out = subprocess.run([godot, "--headless", "--editor", "--path", str(proj)],
                                 capture_output=True, text=True, timeout=120,
                                 stdin=subprocess.DEVNULL).stdout
        except subprocess.TimeoutExpired:
            print("FAIL docs: the editor opened the help page: timed out after 120 s")
            return 1
    for cls, expected in (("RustWebSocketPeer", EXPECTED), ("RustWebSocketMultiplayerPeer", EXPECTED_MP)):
        marker = f"DOCS_BEGIN {cls}\n"
        if marker not in out:
            last = (out.strip().splitlines() or ["no output"])[-1]
            print(f"FAIL docs: the editor opened the help page of {cls}: {last}")
            failed += 1
            continue
        page = out.split(marker, 1)[1].split("DOCS_END", 1)[0]
        flat = " ".join(page.split())
        for name, text in expected.items():
            if " ".join(text.split()) in flat:
                print(f"PASS docs: {name}")
            else:
                failed += 1
                print(f"FAIL docs: {name}: {text!r} not on the help page")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
