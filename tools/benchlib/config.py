"""Where things are, the classes, the scenarios and their metrics with the targets."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PROJECT = ROOT / "godot-project"
RESULTS = ROOT / "bench-results"
VENV = ROOT / "tools" / ".bench-venv"
REQUIREMENTS = ROOT / "tools" / "bench_requirements.txt"
TARGET_DIR = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
if not TARGET_DIR.is_absolute():
    TARGET_DIR = ROOT / TARGET_DIR
RELEASE_LIB = TARGET_DIR / "release" / "libgodot_websocket.so"
LIB_NAME = "libgodot_websocket.linux.x86_64.so"
EXTENSION = "res://addons/godot_websocket/websocket.gdextension"
# A debug build of the extension is over 100 MB, a release build about 5 MB.
MAX_RELEASE_LIB_BYTES = 40 * 1024 * 1024

ENGINE = "WebSocketPeer"
RUST = "RustWebSocketPeer"
CLASSES = [ENGINE, RUST]
CLASS_ALIASES = {"engine": ENGINE, "godot": ENGINE, "rust": RUST}

SCENARIOS = ["echo_16_bin", "echo_16_text", "echo_1k_bin", "echo_1k_text", "echo_16_bin_coalesced",
             "echo_1k_bin_coalesced", "echo_64k_bin", "echo_1m_bin", "pingpong", "handshake", "idle",
             "mp_rpc_1", "mp_rpc_32"]
# Scenarios in which RustWebSocketPeer runs with `coalesce_writes = true` (the engine's class has
# no such mode: it runs as in the plain scenario, as the baseline).
COALESCED = {"echo_16_bin_coalesced", "echo_1k_bin_coalesced"}


class Metric:
    def __init__(self, scenario, key, label, unit, higher_better, target, ref, fmt="{:,.0f}"):
        self.scenario, self.key, self.label, self.unit = scenario, key, label, unit
        self.higher_better = higher_better
        # ("ratio", x): Rust/engine >= x (higher is better) or <= x (lower is better);
        # ("abs", x): the Rust value itself <= x.
        self.target = target
        self.ref = ref  # the engine's number on the reference machine (debug Godot 4.6.3, 2 cores)
        self.fmt = fmt

    @property
    def name(self):
        return f"{self.scenario}.{self.key}"

    def target_text(self):
        kind, x = self.target
        op = ">=" if self.higher_better else "<="
        return f"{op} {x:g}x" if kind == "ratio" else f"Rust {op} {x:g} {self.unit}"

    def meets(self, engine, rust):
        kind, x = self.target
        if rust is None or (kind == "ratio" and not engine):
            return None
        value = rust / engine if kind == "ratio" else rust
        return value >= x if self.higher_better else value <= x

    def ratio_target(self, engine):
        """The target as a Rust/engine ratio (for the chart)."""
        kind, x = self.target
        if kind == "ratio":
            return x
        return x / engine if engine else None


METRICS = [
    Metric("echo_16_bin", "msg_per_s", "echo 16 B binary, 64 in flight", "msg/s", True, ("ratio", 1.8), 54000),
    Metric("echo_16_text", "msg_per_s", "echo 16 B text, 64 in flight", "msg/s", True, ("ratio", 1.8), 54000),
    Metric("echo_1k_bin", "msg_per_s", "echo 1 KiB binary, 64 in flight", "msg/s", True, ("ratio", 1.8), 43000),
    Metric("echo_1k_text", "msg_per_s", "echo 1 KiB text, 64 in flight", "msg/s", True, ("ratio", 1.8), 43000),
    Metric("echo_16_bin_coalesced", "msg_per_s", "echo 16 B binary, 64 in flight, coalesce_writes", "msg/s", True, ("ratio", 6.0), 54000),
    Metric("echo_1k_bin_coalesced", "msg_per_s", "echo 1 KiB binary, 64 in flight, coalesce_writes", "msg/s", True, ("ratio", 6.0), 43000),
    Metric("echo_64k_bin", "mb_per_s", "echo 64 KiB binary, 16 in flight", "MB/s", True, ("ratio", 3.0), 185, "{:,.1f}"),
    Metric("echo_1m_bin", "mb_per_s", "echo 1 MiB binary, 4 in flight", "MB/s", True, ("ratio", 3.0), 190, "{:,.1f}"),
    Metric("pingpong", "p50_us", "ping-pong 16 B round trip p50", "us", False, ("ratio", 0.6), 25),
    Metric("pingpong", "p99_us", "ping-pong 16 B round trip p99", "us", False, ("ratio", 0.6), 33),
    Metric("handshake", "handshakes_per_s", "handshakes (open + close), sequential", "1/s", True, ("ratio", 2.0), 3300),
    Metric("idle", "poll_us_per_peer", "1000 idle connections: poll() per peer", "us", False, ("ratio", 0.7), 0.84, "{:,.2f}"),
    Metric("idle", "rss_kib_per_conn", "1000 idle connections: RSS per connection", "KiB", False, ("abs", 16.0), 49, "{:,.1f}"),
    # Multiplayer: (Rust)WebSocketMultiplayerPeer with SceneMultiplayer, one RPC round trip in
    # flight per client. No target was set for these: at least on par with the engine.
    Metric("mp_rpc_1", "p50_us", "multiplayer RPC round trip p50, 1 client", "us", False, ("ratio", 1.0), None),
    Metric("mp_rpc_1", "p99_us", "multiplayer RPC round trip p99, 1 client", "us", False, ("ratio", 1.0), None),
    Metric("mp_rpc_1", "round_trips_per_s", "multiplayer RPC round trips/s, 1 client", "1/s", True, ("ratio", 1.0), None),
    Metric("mp_rpc_32", "p50_us", "multiplayer RPC round trip p50, 32 clients", "us", False, ("ratio", 1.0), None),
    Metric("mp_rpc_32", "p99_us", "multiplayer RPC round trip p99, 32 clients", "us", False, ("ratio", 1.0), None),
    Metric("mp_rpc_32", "round_trips_per_s", "multiplayer RPC round trips/s, 32 clients", "1/s", True, ("ratio", 1.0), None),
]
