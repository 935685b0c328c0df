#!/usr/bin/env python3
"""Load test for godot-websocket: `python3 tests/load/run.py [options]`.

One headless Godot process (godot-project/load/load.gd) holds --connections WebSocket connections
on each side at once, every peer an instance of --class (default RustWebSocketPeer):
  client side  Godot's clients connect to an external echo server (Node `ws`, tests/load/peer.mjs
               server), send their messages and check every echo; the echo server also checks
               what it receives, so each direction is verified on its own.
  server side  a TCPServer in Godot accepts the connections of an external client (Node `ws`,
               tests/load/peer.mjs client) with accept_stream() and echoes every message; the
               client checks every echo.
Messages: --messages in all (half per side), each fully determined by (connection, sequence
number): 0 B to 64 KiB (mostly small, about 1 KB on average, with frame-length boundaries such as
125/126/127/65535/65536), 30 % text (UTF-8 with 2- to 4-byte characters), 70 % binary, with a
header naming connection and sequence number. Receivers compare type and every byte in order, so
none may be lost, reordered or corrupted. At most --window messages and --window-bytes bytes are
in flight per connection; Godot's peers get inbound/outbound_buffer_size --buffer-size.

Stages: the external client connects to Godot's server side (RSS measured before and after:
memory per server connection), then Godot opens its client side (RSS again: memory per client
connection), then traffic on both sides at once, then every connection closes with 1000. Each stage is bounded: no
progress for --stall seconds is a failure (Godot and the Node client name the first unfinished
connections), and so is the overall --timeout.

  python3 tests/load/run.py                         1000 connections per side, 1,000,000 messages
  python3 tests/load/run.py --quick                 200 per side, 50,000 messages (for CI)
  python3 tests/load/run.py --minutes 30            soak: traffic for 30 minutes; RSS must not grow
  python3 tests/load/run.py --class WebSocketPeer   the engine's class, for comparison
  python3 tests/load/run.py --compression           every connection with permessage-deflate

Output: one line per check (`PASS load: name` / `FAIL load: name: detail`), figures as `# ` lines,
last line `N passed, M failed`; the exit status is non-zero on any failure. Before starting Godot
and Node the soft RLIMIT_NOFILE is raised to the hard limit. Logs: tests/.logs/load/ (Godot's
stdout and stderr, the Node peers', RSS samples). Uses tests/run.py's helpers: Godot from
tools/godot.sh (plus an --import of godot-project unless --skip-import), Node's `ws` from
tests/package.json (npm ci). The extension under test is the one installed in
godot-project/addons/ (this script does not build it).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import resource
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

# tests/run.py's helpers (spawn/kill, Report, step_godot, ensure_node), imported by path: this
# file is also called run.py.
_spec = importlib.util.spec_from_file_location("tests_run", ROOT / "tests" / "run.py")
T = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(T)

LOGS = T.LOGS / "load"
PEER = HERE / "peer.mjs"
SCRIPT = "res://load/load.gd"
LIB = T.PROJECT / "addons" / "godot_websocket" / "bin"
GROUP = "load"


class Proc:
    """A child with its stdout read line by line (non-blocking) and copied into a log file."""

    def __init__(self, name: str, cmd: list, stdin=subprocess.DEVNULL, env=None):
        self.name = name
        self.log_path = LOGS / f"{name}.log"
        self.log = open(self.log_path, "w", buffering=1)
        self.err_path = LOGS / f"{name}.stderr.log"
        err = open(self.err_path, "wb")
        self.proc = subprocess.Popen([str(c) for c in cmd], cwd=ROOT, start_new_session=True,
                                     stdin=stdin, stdout=subprocess.PIPE, stderr=err, env=env)
        err.close()
        T._children.append(self.proc)
        self.buf = b""
        self.eof = False

    def fileno(self) -> int:
        return self.proc.stdout.fileno()

    def read_lines(self) -> list[str]:
        """Lines available now (call when select() says readable)."""
        chunk = os.read(self.fileno(), 65536)
        if not chunk:
            self.eof = True
            lines, self.buf = ([self.buf] if self.buf else []), b""
        else:
            self.buf += chunk
            *lines, self.buf = self.buf.split(b"\n")
        out = [l.decode(errors="replace").rstrip("\r") for l in lines]
        for l in out:
            self.log.write(l + "\n")
        return out

    def send(self, text: str) -> None:
        try:
            self.proc.stdin.write(text.encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, AttributeError, ValueError):
            pass

    def stop(self) -> None:
        T.kill(self.proc)
        self.log.close()


def raise_nofile(need: int) -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return -1


def fingerprints(rep, godot: str, node: str, project: Path) -> bool:
    """Both generators (load.gd, peer.mjs) must produce the same messages."""
    got = {}
    for name, cmd in (("node", [node, PEER, "fingerprint"]),
                      ("godot", [godot, "--headless", "--path", project, "-s", SCRIPT, "--", "--fingerprint"])):
        try:
            out = subprocess.run([str(c) for c in cmd], cwd=ROOT, capture_output=True, timeout=120).stdout.decode()
        except subprocess.TimeoutExpired:
            out = ""
        m = re.search(r"^FINGERPRINT ([0-9a-f]{64})$", out, re.M)
        got[name] = m.group(1) if m else None
    ok = got["node"] is not None and got["node"] == got["godot"]
    return rep.check(GROUP, "message generators of load.gd and peer.mjs agree", ok,
                     f"node {got['node']}, godot {got['godot']}")


def private_project(rep, godot: str, lib: Path) -> Path | None:
    """A copy of project.godot, load/ and the addon with `lib`, registered and imported."""
    import shutil
    proj = LOGS / "project"
    shutil.rmtree(proj, ignore_errors=True)
    addon = proj / "addons" / "godot_websocket"
    (addon / "bin").mkdir(parents=True)
    shutil.copy2(T.PROJECT / "project.godot", proj / "project.godot")
    shutil.copytree(T.PROJECT / "load", proj / "load")
    shutil.copy2(ROOT / "websocket.gdextension", addon / "websocket.gdextension")
    shutil.copy2(lib, addon / "bin" / "libgodot_websocket.linux.x86_64.so")
    # Registered before the first import (a headless editor that discovers an extension by itself
    # crashes at exit, godot#123511).
    (proj / ".godot").mkdir()
    (proj / ".godot" / "extension_list.cfg").write_text("res://addons/godot_websocket/websocket.gdextension\n")
    rc, why = T.run_logged([godot, "--headless", "--path", proj, "--import"], LOGS / "import.log", 600)
    if not rep.check(GROUP, f"private project with {lib.name} imported", rc == 0, why or f"exit status {rc}"):
        rep.show_tail(LOGS / "import.log")
        return None
    return proj


def machine_cpu() -> tuple[float, int]:
    """(monotonic time, busy jiffies of the whole machine) from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return time.monotonic(), user + nice + system + irq + softirq + steal


def proc_jiffies(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total


def fmt_kib(kib: float) -> str:
    return f"{kib:,.1f} KiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--class", dest="cls", default="RustWebSocketPeer",
                        help="class of every Godot peer (default RustWebSocketPeer; WebSocketPeer for comparison)")
    parser.add_argument("--connections", type=int, default=None, help="connections per side (default 1000; --quick 200)")
    parser.add_argument("--messages", type=int, default=None,
                        help="messages in all, split between the sides (default 1,000,000; --quick 50,000)")
    parser.add_argument("--minutes", type=float, default=0,
                        help="soak: keep traffic going this long instead of counting messages; RSS must not grow")
    parser.add_argument("--quick", action="store_true", help="200 connections per side, 50,000 messages")
    parser.add_argument("--sides", choices=["both", "server", "client"], default="both",
                        help="which sides of the class run (default both, at the same time)")
    parser.add_argument("--window", type=int, default=8, help="messages in flight per connection (default 8)")
    parser.add_argument("--window-bytes", type=int, default=65536, help="bytes in flight per connection (default 65536)")
    parser.add_argument("--buffer-size", type=int, default=131072,
                        help="inbound_buffer_size and outbound_buffer_size of Godot's peers (default 131072)")
    parser.add_argument("--stall", type=float, default=30, help="seconds without progress that fail the run (default 30)")
    parser.add_argument("--timeout", type=float, default=0, help="seconds for the whole run (default: from the size)")
    parser.add_argument("--compression", action="store_true",
                        help="compression_enabled on every peer, permessage-deflate on the Node peers (threshold 0)")
    parser.add_argument("--skip-import", action="store_true", help="do not run godot --import first")
    parser.add_argument("--fault", default="", metavar="KIND:K",
                        help="self-test of the checks: spoil the K-th echo of both echoing sides (Godot's "
                             "server side and the node echo server); KIND corrupt, drop or reorder. "
                             "The run must then FAIL")
    parser.add_argument("--lib", type=Path, default=None,
                        help="test this build of the extension (.so) in a private copy of the project "
                             "(tests/.logs/load/project) instead of the one installed in godot-project/")
    parser.add_argument("--release", action="store_true",
                        help="shorthand for --lib target/release/libgodot_websocket.so")
    parser.add_argument("--progress", type=float, default=30, help="seconds between '# progress' lines (default 30)")
    args = parser.parse_args()

    n = args.connections or (200 if args.quick else 1000)
    total = args.messages if args.messages is not None else (50_000 if args.quick else 1_000_000)
    soak = args.minutes > 0
    server_side = args.sides in ("both", "server")
    client_side = args.sides in ("both", "client")
    server_msgs = (total // 2 if client_side else total) if server_side else 0
    client_msgs = total - server_msgs if client_side else 0
    duration = args.minutes * 60
    timeout = args.timeout or ((duration + 600) if soak else (300 + total / 500))

    LOGS.mkdir(parents=True, exist_ok=True)
    rep = T.Report()
    started = time.monotonic()
    soft, hard = raise_nofile(4 * n + 256)
    rep.info(f"RLIMIT_NOFILE {soft} (hard {hard})")
    rep.check(GROUP, "open-file limit allows the connections", soft >= 2 * n + 256,
              f"soft limit {soft}, need about {2 * n + 256} per process")

    if args.skip_import or args.lib or args.release:  # a private project gets its own import
        out = subprocess.run(["bash", "tools/godot.sh"], cwd=ROOT, capture_output=True, text=True)
        godot = out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() else None
        rep.check("godot", "tools/godot.sh finds Godot 4", godot is not None, out.stderr.strip()[-300:])
    else:
        godot = T.step_godot(rep)
    node = T.ensure_node(rep)
    if godot is None or node is None:
        print(f"{rep.passed} passed, {rep.failed} failed", flush=True)
        return 1
    project = T.PROJECT
    lib = args.lib or (ROOT / "target" / "release" / "libgodot_websocket.so" if args.release else None)
    if lib is not None:
        lib = lib.resolve()
        if not rep.check(GROUP, f"library {lib} exists", lib.is_file(), "not found"):
            return finish(rep)
        project = private_project(rep, godot, lib)
        if project is None:
            return finish(rep)
    else:
        libs = sorted(LIB.glob("*.so"))
        lib = libs[0] if libs else None
    if lib is not None and args.cls != "WebSocketPeer":
        st = lib.stat()
        kind = "debug" if st.st_size > 40e6 else "release"
        rep.info(f"extension: {lib if args.lib or args.release else lib.relative_to(ROOT)} ({st.st_size / 1e6:.1f} MB, "
                  f"probably a {kind} build, {time.strftime('%Y-%m-%d %H:%M', time.localtime(st.st_mtime))})")
    if not fingerprints(rep, godot, node, project):
        print(f"{rep.passed} passed, {rep.failed} failed", flush=True)
        return 1

    what = (f"soak for {args.minutes:g} min" if soak else
            f"{total:,} messages ({client_msgs:,} client side, {server_msgs:,} server side)")
    rep.info(f"class {args.cls}: {n} connections per side ({args.sides}), {what}; window {args.window} "
             f"messages / {args.window_bytes} B, buffers {args.buffer_size} B, stall {args.stall:g} s, timeout {timeout:.0f} s")

    echo = client = None
    procs: list[Proc] = []
    echo_result = client_result = load_result = None
    godot_rc = None
    try:
        # -- the echo server for Godot's clients
        echo_port = 0
        if client_side:
            echo = Proc("echo-server", [node, PEER, "server", "--verify", *(["--deflate"] if args.compression else []),
                                        *(["--fault", args.fault] if args.fault else [])], stdin=subprocess.PIPE)
            procs.append(echo)
            limit = time.monotonic() + 20
            while not echo_port and time.monotonic() < limit and not echo.eof:
                if select.select([echo], [], [], 0.5)[0]:
                    for line in echo.read_lines():
                        if m := re.match(r"^READY (\d+)$", line):
                            echo_port = int(m.group(1))
            if not rep.check(GROUP, "node echo server ready", echo_port > 0, "no READY line within 20 s"):
                rep.show_tail(echo.err_path)
                return finish(rep)

        # -- Godot
        gargs = [f"--class={args.cls}", f"--connections={n}", f"--client-messages={client_msgs}",
                 f"--window={args.window}", f"--window-bytes={args.window_bytes}",
                 f"--buffer-size={args.buffer_size}", f"--stall={args.stall}", f"--timeout={timeout}",
                 f"--duration={duration}"]
        if client_side:
            gargs.append(f"--echo-url=ws://127.0.0.1:{echo_port}")
        if not server_side:
            gargs.append("--no-server")
        if args.fault:
            gargs.append(f"--fault={args.fault}")
        if args.compression:
            gargs.append("--compression")
        # With RUST_BACKTRACE set, a debug build of gdext captures a backtrace on every bind() of
        # the class (godot-core's DebugBorrowTracker: Backtrace::capture), about 35 us per method
        # call, which would dominate the figures. RUST_LIB_BACKTRACE=0 turns only that off; panics
        # still print theirs. An explicit RUST_LIB_BACKTRACE is kept.
        env = dict(os.environ)
        if env.get("RUST_BACKTRACE", "0") != "0" and "RUST_LIB_BACKTRACE" not in env:
            env["RUST_LIB_BACKTRACE"] = "0"
            rep.info("RUST_BACKTRACE is set: Godot runs with RUST_LIB_BACKTRACE=0 (no backtrace capture per call)")
        gd = Proc("godot", [godot, "--headless", "--path", project, "-s", SCRIPT, "--", *gargs], env=env)
        procs.append(gd)
        pid = gd.proc.pid
        listen_port = 0
        rss_samples: list[tuple[float, int]] = []  # (seconds since traffic start, KiB)
        traffic_at = None
        next_sample = next_print = time.monotonic()
        last_values: dict[str, object] = {}
        last_change = time.monotonic()
        hard_deadline = time.monotonic() + timeout + 120
        progress: dict[str, dict] = {}
        watchdog = ""
        gone_at = 0.0
        cpu_start = cpu_end = None
        ours: list[int] = []

        while True:
            readers = [p for p in (gd, client, echo) if p is not None and not p.eof]
            if gd.eof and (client is None or client.eof):
                break
            ready = select.select(readers, [], [], 0.5)[0]
            for p in ready:
                for line in p.read_lines():
                    kind, _, rest = line.partition(" ")
                    if kind == "PROGRESS":
                        try:
                            progress[p.name] = json.loads(rest)
                        except ValueError:
                            pass
                    elif p is gd and kind == "LISTEN":
                        listen_port = int(rest)
                        cargs = [node, PEER, "client", "--url", f"ws://127.0.0.1:{listen_port}/",
                                 "--connections", n, "--messages", server_msgs, "--duration", duration,
                                 "--window", args.window, "--window-bytes", args.window_bytes,
                                 "--wait-go", "--stall", args.stall, "--timeout", timeout]
                        if args.compression:
                            cargs.append("--deflate")
                        client = Proc("node-client", cargs, stdin=subprocess.PIPE)
                        procs.append(client)
                    elif p is gd and kind == "TRAFFIC":
                        traffic_at = time.monotonic()
                        if client is not None:
                            client.send("GO\n")
                        ours = [p.proc.pid for p in procs]
                        cpu_start = (*machine_cpu(), proc_jiffies(ours))
                    elif p is gd and kind == "LOAD_RESULT":
                        load_result = json.loads(rest)
                        if cpu_start:
                            cpu_end = (*machine_cpu(), proc_jiffies(ours))
                    elif p is client and kind == "RESULT":
                        client_result = json.loads(rest)
                    elif kind == "LOAD_ERROR":
                        pass  # in the result too
            now = time.monotonic()
            if now >= next_sample:
                next_sample = now + 2
                kib = status_kib(pid, "VmRSS")
                if kib > 0 and traffic_at is not None:
                    rss_samples.append((now - traffic_at, kib))
            # The driver's own watchdog, behind Godot's and the client's (they explain stalls).
            values = {k: {kk: vv for kk, vv in v.items() if kk not in ("t", "rss_kib")} for k, v in progress.items()}
            if values != last_values:
                last_values, last_change = values, now
            elif now - last_change > args.stall + 30:
                watchdog = f"no progress reported for {now - last_change:.0f} s"
            if now > hard_deadline:
                watchdog = f"still running after {timeout + 120:.0f} s"
            if watchdog:
                break
            if now >= next_print and traffic_at is not None:
                next_print = now + args.progress
                g = progress.get("godot", {})
                c = progress.get("node-client", {})
                rep.info(f"progress {now - traffic_at:6.0f} s: client side {g.get('c_verified', 0):,} echoes verified, "
                         f"server side {c.get('verified', 0):,} echoes verified, Godot RSS "
                         f"{status_kib(pid, 'VmRSS') / 1024:,.1f} MiB")
            if gd.eof and client is not None and not client.eof:
                # Godot is gone: the client would only fail later (--stall); give it 10 s to report.
                gone_at = gone_at or now
                if now - gone_at > 10:
                    break

        if gd.proc.poll() is None:
            T.kill(gd.proc)
        godot_rc = gd.proc.wait()
        if echo is not None:
            echo.proc.send_signal(signal.SIGTERM)
            limit = time.monotonic() + 10
            while not echo.eof and time.monotonic() < limit:
                if select.select([echo], [], [], 0.5)[0]:
                    for line in echo.read_lines():
                        if line.startswith("RESULT "):
                            echo_result = json.loads(line[7:])
        if client is not None and client_result is None:
            limit = time.monotonic() + 5
            while not client.eof and time.monotonic() < limit:
                if select.select([client], [], [], 0.5)[0]:
                    for line in client.read_lines():
                        if line.startswith("RESULT "):
                            client_result = json.loads(line[7:])
    finally:
        for p in procs:
            p.stop()

    with open(LOGS / "rss.tsv", "w") as f:
        f.write("seconds_since_traffic\tvmrss_kib\n")
        for t, kib in rss_samples:
            f.write(f"{t:.1f}\t{kib}\n")

    # ---- checks -------------------------------------------------------------------------------
    if watchdog:
        rep.check(GROUP, "run finished in time", False, watchdog + " (the driver killed it)")
    stderr = T.read_text(gd.err_path)
    crash = re.search(r"(handle_crash|Program crashed|panicked at|SCRIPT ERROR[^\n]*)", stderr)
    ok = load_result is not None
    if not rep.check(GROUP, "Godot ran load.gd to the end", ok and not crash,
                     (f"no LOAD_RESULT (exit status {godot_rc})" if not ok else "") +
                     (f"; {crash.group(0)}" if crash else "")):
        rep.show_tail(gd.err_path, 25)
        rep.show_tail(gd.log_path, 15)
    if load_result is None:
        return finish(rep)
    errors = load_result["errors"]
    rep.check(GROUP, "Godot found no error", load_result["error_count"] == 0 and godot_rc == 0,
              f"{load_result['error_count']} errors, exit status {godot_rc}: " + " | ".join(errors[:5]))
    gc, gs = load_result["client"], load_result["server"]
    rss, times = load_result["rss"], load_result["times"]

    if client_side:
        rep.check(GROUP, f"client side: {n} connections opened", gc["opened"] == n,
                  f"{gc['opened']} opened, {gc['open_failed']} failed")
        want = gc["sent"] if soak else client_msgs
        rep.check(GROUP, f"client side: {want:,} messages sent and their echoes all verified by Godot "
                         "(none lost, reordered or corrupted)",
                  gc["sent"] == want and gc["verified"] == want and (want > 0),
                  f"sent {gc['sent']:,}, verified {gc['verified']:,}, want {want:,}")
        e = echo_result or {}
        rep.check(GROUP, "client side: the node echo server received every message in order and intact",
                  echo_result is not None and e.get("error_count") == 0 and e.get("verified") == gc["sent"]
                  and e.get("messages") == gc["sent"],
                  "no result from the echo server" if echo_result is None else
                  f"received {e['messages']:,}, verified {e['verified']:,} of {gc['sent']:,} sent; "
                  f"{e['error_count']} errors: " + " | ".join(e["errors"][:3]))
        rep.check(GROUP, "client side: every connection closed with 1000",
                  gc["closed_1000"] == n and (echo_result is None or e.get("closes") == {"1000": n}),
                  f"Godot: {gc['closed_1000']} of {n} got 1000 back; echo server saw close codes {e.get('closes')}")
    if server_side:
        rep.check(GROUP, f"server side: {n} connections accepted and opened", gs["opened"] == n and gs["accepted"] == n,
                  f"{gs['accepted']} accepted, {gs['opened']} opened")
        c = client_result or {}
        want = c.get("sent", -1) if soak else server_msgs
        rep.check(GROUP, f"server side: {want:,} messages echoed by Godot and all verified by the node client "
                         "(none lost, reordered or corrupted)",
                  client_result is not None and c.get("error_count") == 0 and c.get("sent") == want
                  and c.get("verified") == want and gs["echoed"] == want and want > 0,
                  "no result from the node client" if client_result is None else
                  f"node sent {c['sent']:,}, verified {c['verified']:,}, Godot echoed {gs['echoed']:,}, want {want:,}; "
                  f"{c['error_count']} errors: " + " | ".join(c["errors"][:3]))
        rep.check(GROUP, "server side: every connection closed with 1000",
                  gs["close_codes"] == {"1000": n} and c.get("close_codes") == {"1000": n},
                  f"Godot saw {gs['close_codes']}, the node client {c.get('close_codes')}")

    # ---- figures ------------------------------------------------------------------------------
    base = rss.get("base_kib", -1)
    rep.info(f"Godot RSS: {base / 1024:,.1f} MiB before any connection")
    if "servers_open_kib" in rss and gs["opened"]:
        rep.info(f"memory per connection, server side (idle, open): {fmt_kib((rss['servers_open_kib'] - base) / gs['opened'])} "
                 f"(RSS {base:,} -> {rss['servers_open_kib']:,} KiB for {gs['opened']} connections)")
    if "clients_open_kib" in rss and gc["opened"]:
        before = rss.get("servers_open_kib", base)
        rep.info(f"memory per connection, client side (idle, open): {fmt_kib((rss['clients_open_kib'] - before) / gc['opened'])} "
                 f"(RSS {before:,} -> {rss['clients_open_kib']:,} KiB for {gc['opened']} connections"
                 f"{', opened after the server side' if 'servers_open_kib' in rss else ''})")
    conns = gc["opened"] + gs["opened"]
    if "hwm_kib" in rss and conns:
        rep.info(f"memory per connection under traffic (peak RSS - base) / {conns}: "
                 f"{fmt_kib((rss['hwm_kib'] - base) / conns)} (peak {rss['hwm_kib'] / 1024:,.1f} MiB, "
                 f"at the end {rss['end_kib'] / 1024:,.1f} MiB)")
    traffic_s = times.get("traffic_s", 0)
    msgs = gc["verified"] + gs["echoed"]
    payload = gc["bytes"] + gs["bytes"]
    if traffic_s > 0:
        rep.info(f"throughput: {msgs:,} messages round-tripped through Godot in {traffic_s:.1f} s = "
                 f"{msgs / traffic_s:,.0f} messages/s, {payload / traffic_s / 1e6:,.1f} MB/s of payload each way "
                 f"(client side {gc['verified']:,} msgs / {gc['bytes'] / 1e6:,.1f} MB, server side "
                 f"{gs['echoed']:,} msgs / {gs['bytes'] / 1e6:,.1f} MB)")
    opened = ", ".join(f"{k.replace('_s', '')} at {v:.1f} s" for k, v in times.items() if k != "traffic_s")
    rep.info(f"timeline: {opened}; traffic {traffic_s:.1f} s; whole run {time.monotonic() - started:.0f} s")
    if cpu_start and cpu_end and cpu_end[0] > cpu_start[0]:
        hz = os.sysconf("SC_CLK_TCK")
        secs = cpu_end[0] - cpu_start[0]
        mine = (cpu_end[2] - cpu_start[2]) / hz / secs
        other = max(0.0, (cpu_end[1] - cpu_start[1]) / hz / secs - mine)
        rep.info(f"CPU during the traffic: Godot and the node peers {mine:.2f} cores, other processes "
                 f"{other:.2f} cores of {os.cpu_count()} (more than ~0.2 means the figures are disturbed)")
    if gs.get("send_retries"):
        rep.info(f"server side: {gs['send_retries']:,} echo sends refused (outbound buffer full) and retried")

    if soak:
        rep.check(GROUP, f"soak: traffic ran for {args.minutes:g} min", traffic_s >= duration,
                  f"traffic stopped after {traffic_s:.0f} s")
        soak_check(rep, rss_samples, duration)
    return finish(rep)


def soak_check(rep, samples: list[tuple[float, int]], duration: float) -> None:
    """RSS must not keep growing: the peak of the last quarter of the traffic against the peak of
    the first quarter after a warm-up (a quarter of the time, at most 60 s)."""
    warm = min(60.0, duration / 4)
    span = [(t, k) for t, k in samples if warm <= t <= duration]
    if len(span) < 8:
        rep.check(GROUP, "soak: RSS does not grow", False, f"only {len(span)} RSS samples after the warm-up")
        return
    q = (duration - warm) / 4
    first = [k for t, k in span if t < warm + q]
    last = [k for t, k in span if t >= duration - q]
    growth = max(last) - max(first)
    allowed = max(16 * 1024, 0.05 * max(first))
    # Least-squares slope over the whole span, for the report.
    ts, ks = [t for t, _ in span], [k for _, k in span]
    mt, mk = sum(ts) / len(ts), sum(ks) / len(ks)
    den = sum((t - mt) ** 2 for t in ts) or 1
    slope = sum((t - mt) * (k - mk) for t, k in span) / den * 60
    rep.info(f"soak RSS: peak {max(first) / 1024:,.1f} MiB in the first quarter after {warm:.0f} s warm-up, "
             f"{max(last) / 1024:,.1f} MiB in the last quarter; trend {slope:+,.0f} KiB/min "
             f"({len(samples)} samples in tests/.logs/load/rss.tsv)")
    rep.check(GROUP, "soak: RSS does not grow", growth <= allowed,
              f"grew by {growth / 1024:,.1f} MiB (allowed {allowed / 1024:,.1f} MiB), trend {slope:+,.0f} KiB/min")


def finish(rep) -> int:
    print(f"{rep.passed} passed, {rep.failed} failed", flush=True)
    return 1 if rep.failed or rep.passed + rep.failed == 0 else 0


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        T.kill_all()
