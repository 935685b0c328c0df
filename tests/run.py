#!/usr/bin/env python3
"""Test runner for godot-websocket: `python3 tests/run.py [options]`.

Steps, each reported as checks (`PASS group: name` / `FAIL group: name: detail`):
  cargo    `cargo test --workspace`, one check per Rust test (a build failure is one failed check)
  build    tools/build.sh (builds the extension and installs it into godot-project/addons/)
  godot    tools/godot.sh (finds or installs Godot 4) and `--import` of godot-project
  proxies  only with test_proxy: tinyproxy (apt-get install when missing), proxy.py and
           tests/peers/bad_proxy.py (see tests/proxies.py)
  peers    tests/.venv with the pinned Python packages (tests/peers/requirements.txt), then
           tests/peers/echo_server.py on a free port and tests/peers/tls_server.py (wss:// servers
           with certificates it makes into tests/.logs/tls/); Node's pinned `ws` (tests/package.json,
           tests/package-lock.json) installed into tests/node_modules with `npm ci` when missing
  test_*   every GDScript suite godot-project/tests/test_*.gd, once per class it targets, each
           under a timeout; its PASS/FAIL lines become checks
  docs     tests/docs/check_docs.py: the class's page in a headless editor's help (docs, enums)
  demo     the README's demos (godot-project/demo/chat/chat.tscn, demo/multiplayer/mp_demo.tscn) run
           headless and succeed
  [coalesce]  the suites in COALESCE_SUITES again with coalesce_writes on (--coalesce: all)
  fuzz-godot  tests/fuzz/run.py --inputs 2000: mutated handshakes and frames through accept_stream
           and against our clients (the cargo step's fuzz_core test feeds 100,000 to the core)
  load     tests/load/run.py --quick: 200 connections per side, 50,000 messages checked
  autobahn tests/autobahn/run.py on both sides: cases 1-11 (301) with compression off, then
           AUTOBAHN_CI_CASES of 12.*/13.* (permessage-deflate: every negotiation variant, the
           smaller payloads) with compression on; one check per side and run. The full
           216-case compression run is `tests/autobahn/run.py --compression '12.*,13.*'`.
The last line is `N passed, M failed`; the exit status is non-zero if M > 0 or no check ran.
Logs (Godot's stdout+stderr, cargo, build, servers) go to tests/.logs/; a failing step or suite
shows the tail of its log.

A suite targets the runner's --class unless its header has a line `# targets: A B`, where
`@class` stands for the --class value (e.g. `# targets: @class WebSocketPeer`) and `@mpclass` for
its multiplayer class (RustWebSocketMultiplayerPeer, or WebSocketMultiplayerPeer with
--class WebSocketPeer).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
LOGS = TESTS / ".logs"
VENV = TESTS / ".venv"
PEERS = TESTS / "peers"
PROJECT = ROOT / "godot-project"
SUITES = PROJECT / "tests"
TLS_DIR = LOGS / "tls"
SCRATCH = LOGS / "scratch"  # result files of the external clients the suites start

# Classes that exist without our extension: their suites can run even when the build fails.
ENGINE_CLASSES = {"WebSocketPeer", "WebSocketMultiplayerPeer"}
# `@mpclass` in a `# targets:` line: the multiplayer class that goes with --class.
MP_CLASS = {"RustWebSocketPeer": "RustWebSocketMultiplayerPeer", "WebSocketPeer": "WebSocketMultiplayerPeer"}
TAIL_LINES = 40

# ---- child processes ---------------------------------------------------------------------------

sys.path.insert(0, str(Path(__file__).resolve().parent))
from procs import _children, kill, kill_all, spawn  # noqa: E402  (shared with the other drivers)
import proxies  # noqa: E402  (the proxy suite's proxies)


def run_logged(cmd, log: Path, timeout: float,
               abort: tuple[re.Pattern, str] | None = None, env: dict | None = None) -> tuple[int | None, str]:
    """Runs cmd with stdout+stderr into log. Returns (exit status, "") or (None, why it was killed).

    abort: (pattern, reason): kill early when the log matches pattern (e.g. Godot failed to
    compile the script and would otherwise sit idle until the timeout). env: the child's
    environment (default: the runner's)."""
    with open(log, "wb") as out:
        try:
            proc = spawn(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        except OSError as e:  # e.g. cargo not installed
            out.write(f"cannot start {cmd[0]}: {e}\n".encode())
            return None, f"cannot start {cmd[0]}: {e.strerror}"
        deadline = time.monotonic() + timeout
        reason = ""
        while proc.poll() is None:
            if time.monotonic() > deadline:
                reason = f"timed out after {timeout:.0f} s"
                break
            if abort is not None and abort[0].search(read_text(log)):
                time.sleep(0.3)  # let the error's detail lines reach the log
                reason = abort[1]
                break
            time.sleep(0.1)
        kill(proc)
    return (None if reason else proc.returncode), reason


def read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def tail(path: Path, n: int = TAIL_LINES) -> list[str]:
    """Last n lines, without terminal colour codes (Godot's editor progress output has them)."""
    return [ANSI.sub("", line) for line in read_text(path).splitlines()[-n:]]


# ---- reporting ---------------------------------------------------------------------------------

class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, group: str, name: str, ok: bool, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"PASS {group}: {name}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {group}: {name}: {detail or 'failed'}", flush=True)
        return ok

    @staticmethod
    def info(text: str) -> None:
        print(f"# {text}", flush=True)

    @staticmethod
    def show_tail(log: Path, n: int = TAIL_LINES) -> None:
        lines = tail(log, n)
        print(f"    --- last {len(lines)} lines of {log.relative_to(ROOT)} ---", flush=True)
        for line in lines:
            print(f"    | {line}", flush=True)


# ---- steps -------------------------------------------------------------------------------------

CARGO_TEST = re.compile(r"^test (.+?) \.\.\. (ok|FAILED|ignored)\b")
CARGO_RUNNING = re.compile(r"^\s*Running (?:unittests )?(\S+)")
CARGO_DOCTESTS = re.compile(r"^\s*Doc-tests (\S+)")


def step_cargo(rep: Report, timeout: float) -> None:
    log = LOGS / "cargo-test.log"
    rep.info("cargo test --workspace")
    rc, reason = run_logged(["cargo", "test", "--workspace", "--no-fail-fast", "--color", "never"], log, timeout)
    text = read_text(log)
    prefix = ""
    results: dict[str, str] = {}
    for line in text.splitlines():
        if m := CARGO_RUNNING.match(line):
            src = m.group(1)
            # Unit tests of a crate keep plain names; integration test files get "file/" prefixes.
            prefix = "" if src.startswith("src/") else Path(src).stem + "/"
        elif m := CARGO_DOCTESTS.match(line):
            prefix = "doc/"
        elif m := CARGO_TEST.match(line):
            results[prefix + m.group(1)] = m.group(2)
    failures = cargo_failure_details(text)
    for name, status in results.items():
        if status != "ignored":
            rep.check("cargo", name, status == "ok", failures.get(name.split("/", 1)[-1], "FAILED"))
    if reason or (rc != 0 and "FAILED" not in results.values()):
        errors = [l for l in text.splitlines() if l.startswith("error")]
        why = reason or f"exit status {rc}" + (f": {errors[0]}" if errors and not results else "")
        rep.check("cargo", "cargo test --workspace", False, why)
        rep.show_tail(log)
    elif not results:
        rep.check("cargo", "cargo test --workspace builds (it has no tests)", rc == 0)


def cargo_failure_details(text: str) -> dict[str, str]:
    """First lines of the captured output of each failed test ("---- name stdout ----" blocks)."""
    details: dict[str, str] = {}
    for m in re.finditer(r"^---- (.+?) stdout ----\n(.*?)(?=^---- |^failures:|\Z)", text, re.M | re.S):
        lines = [l.strip() for l in m.group(2).splitlines() if l.strip()
                 and not l.startswith("note: run with `RUST_BACKTRACE")]
        details[m.group(1)] = " | ".join(lines[:4])[:400] or "FAILED"
    return details


def step_build(rep: Report, timeout: float) -> bool:
    log = LOGS / "build.log"
    rep.info("tools/build.sh")
    rc, reason = run_logged(["bash", "tools/build.sh"], log, timeout)
    if rc == 0:
        return rep.check("build", "tools/build.sh", True)
    errors = [l for l in read_text(log).splitlines() if l.startswith("error")]
    rep.check("build", "tools/build.sh", False, reason or f"exit status {rc}" + (f": {errors[0]}" if errors else ""))
    rep.show_tail(log)
    return False


def step_godot(rep: Report) -> str | None:
    log = LOGS / "godot-install.log"
    with open(log, "wb") as err:
        proc = spawn(["bash", "tools/godot.sh"], stdout=subprocess.PIPE, stderr=err)
        try:
            out, _ = proc.communicate(timeout=900)  # a first install downloads ~100 MB of .debs
        except subprocess.TimeoutExpired:
            out = b""
        kill(proc)
    path = out.decode().strip().splitlines()[-1] if out.strip() else ""
    if not rep.check("godot", "tools/godot.sh finds Godot 4", proc.returncode == 0 and bool(path),
                     f"exit status {proc.returncode}"):
        rep.show_tail(log)
        return None
    rep.info(f"godot: {path}")
    # The import registers the extension (.godot/extension_list.cfg) for the --script runs.
    log = LOGS / "godot-import.log"
    rc, reason = run_logged([path, "--headless", "--path", PROJECT, "--import"], log, 600)
    if rc != 0:
        # Reported, not hidden: seen when the editor crashes while exiting its first import of a
        # fresh project. A second import then starts from what the first one wrote.
        first = reason or f"exit status {rc}"
        rep.show_tail(log, 15)
        rc, reason = run_logged([path, "--headless", "--path", PROJECT, "--import"], LOGS / "godot-import2.log", 600)
        rep.check("godot", "import godot-project", False,
                  f"{first}; a second import: {reason or f'exit status {rc}'} (tests/.logs/godot-import*.log)")
    else:
        rep.check("godot", "import godot-project", True)
    return path


def ensure_venv(rep: Report) -> Path | None:
    """tests/.venv with the pinned requirements; a quick import check when already there."""
    python = VENV / "bin" / "python"
    reqs = PEERS / "requirements.txt"
    pins = [l.strip() for l in reqs.read_text().splitlines() if l.strip() and not l.startswith("#")]
    probe = "import importlib.metadata as m, sys; sys.exit(any(m.version(n) != v for n, v in (p.split('==') for p in sys.argv[1:])))"
    log = LOGS / "venv.log"
    label = "python venv with " + ", ".join(pins)
    if python.exists() and subprocess.run([python, "-c", probe, *pins], capture_output=True).returncode == 0:
        rep.check("peers", label, True)
        return python
    rep.info(f"creating {VENV.relative_to(ROOT)} ({', '.join(pins)})")
    with open(log, "wb") as out:
        ok = subprocess.run([sys.executable, "-m", "venv", "--clear", VENV], stdout=out, stderr=out).returncode == 0
        ok = ok and subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                                    "-r", reqs], stdout=out, stderr=out, timeout=600).returncode == 0
    if not rep.check("peers", label, ok, "venv/pip failed"):
        rep.show_tail(log)
        return None
    return python


def start_server(rep: Report, python: Path, script: str, args: list, log_name: str) -> tuple[subprocess.Popen | None, int]:
    """Starts a peer script that prints `READY <port>` once listening; returns (process, port)."""
    log = LOGS / log_name
    err = open(log, "wb")
    proc = spawn([python, PEERS / script, *args], stdout=subprocess.PIPE, stderr=err)
    err.close()
    port, buf, deadline = 0, b"", time.monotonic() + 20
    while not port and time.monotonic() < deadline and proc.poll() is None:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            buf += chunk
            if m := re.search(rb"^READY (\d+)$", buf, re.M):
                port = int(m.group(1))
            elif not chunk:
                break
    if not rep.check("peers", f"{script} ready", port > 0, "no READY line within 20 s"):
        rep.show_tail(log)
        kill(proc)
        return None, 0
    return proc, port


def start_echo_server(rep: Report, python: Path) -> tuple[subprocess.Popen | None, int]:
    proc, port = start_server(rep, python, "echo_server.py", ["--port", "0"], "echo_server.log")
    if proc:
        rep.info(f"echo server on 127.0.0.1:{port}")
    return proc, port


def start_tls_server(rep: Report, python: Path) -> tuple[subprocess.Popen | None, Path | None]:
    """tls_server.py: wss:// echo servers; their ports and certificates are in TLS_DIR."""
    proc, _ = start_server(rep, python, "tls_server.py", ["--dir", TLS_DIR], "tls_server.log")
    if not proc:
        return None, None
    try:
        ports = json.loads((TLS_DIR / "servers.json").read_text())["ports"]
    except (OSError, ValueError, KeyError) as e:
        rep.check("peers", "tls_server.py wrote servers.json", False, str(e))
        kill(proc)
        return None, None
    rep.info("tls servers on 127.0.0.1: " + ", ".join(f"{k} {v}" for k, v in ports.items()))
    return proc, TLS_DIR


def ensure_node(rep: Report) -> str | None:
    """Node and the pinned `ws` in tests/node_modules (npm ci from the lock file when not there)."""
    node = shutil.which("node")
    if not rep.check("peers", "node is installed", node is not None, "no `node` on PATH"):
        return None
    wanted = json.loads((TESTS / "package.json").read_text())["dependencies"]

    def installed() -> bool:
        for name, version in wanted.items():
            try:
                meta = json.loads((TESTS / "node_modules" / name / "package.json").read_text())
            except (OSError, ValueError):
                return False
            if meta.get("version") != version:
                return False
        return True

    label = "node packages " + ", ".join(f"{n}@{v}" for n, v in wanted.items())
    if installed():
        rep.check("peers", label, True)
        return node
    rep.info(f"npm ci in tests/ ({', '.join(f'{n}@{v}' for n, v in wanted.items())})")
    log = LOGS / "npm.log"
    npm = shutil.which("npm")
    rc, reason = (run_logged([npm, "ci", "--prefix", TESTS, "--no-audit", "--no-fund"], log, 300)
                  if npm else (None, "no `npm` on PATH"))
    if not rep.check("peers", label, rc == 0 and installed(), reason or f"npm ci: exit status {rc}"):
        rep.show_tail(log)
        return None
    return node


# ---- GDScript suites ---------------------------------------------------------------------------

SUITE_LINE = re.compile(r"^(PASS|FAIL) ([^\t]*)(?:\t(.*))?$")  # see godot-project/tests/lib/check.gd
SUITE_DONE = re.compile(r"^SUITE_DONE passed=(\d+) failed=(\d+)$")
# Godot does not quit when the --script fails to compile: stop waiting as soon as it says so.
LOAD_FAILED = re.compile(r'Failed to load script "res://tests/')


def step_docs(rep: Report, godot: str) -> None:
    """The class's help page in a headless editor: tests/docs/check_docs.py, one check per line."""
    log = LOGS / "docs.log"
    rc, reason = run_logged([sys.executable, TESTS / "docs" / "check_docs.py", godot], log, 300)
    lines = [l for l in read_text(log).splitlines() if l.startswith(("PASS docs: ", "FAIL docs: "))]
    for line in lines:
        verdict, rest = line.split(" docs: ", 1)
        name, _, detail = rest.partition(": ")
        rep.check("docs", name, verdict == "PASS", detail)
    if not lines:
        rep.check("docs", "help page checked", False, reason or f"exit status {rc}, no result")
        rep.show_tail(log)


def step_demo(rep: Report, godot: str) -> None:
    """The README's demo (the chat scene) runs headless and reports success."""
    log = LOGS / "demo.log"
    rc, reason = run_logged([godot, "--headless", "--path", PROJECT, "res://demo/chat/chat.tscn"], log, 120)
    ok = rc == 0 and "DEMO OK" in read_text(log)
    if not rep.check("demo", "chat demo over wss:// runs headless", ok, reason or f"exit status {rc}"):
        rep.show_tail(log)
    log = LOGS / "demo-multiplayer.log"
    rc, reason = run_logged([godot, "--headless", "--path", PROJECT, "res://demo/multiplayer/mp_demo.tscn"], log, 120)
    ok = rc == 0 and "DEMO OK" in read_text(log)
    if not rep.check("demo", "multiplayer demo (server and two clients, RPCs) runs headless", ok,
                     reason or f"exit status {rc}"):
        rep.show_tail(log)


# Suites that always run a second time with coalesce_writes on (--coalesce: every suite).
COALESCE_SUITES = {"test_messages", "test_large", "test_close", "test_sem_outbound", "test_sem_close",
                   "test_sem_unread", "test_server_basic", "test_threads"}

# Autobahn's 12.*/13.* cases for the test command: the first three of each group (payloads of
# 16 to 256 bytes): every negotiation variant of 13.1-13.7 (context takeover on/off, window
# bits 9 and 15, a list of offers) and every payload kind of 12.1-12.5, in about a minute a side.
AUTOBAHN_CI_CASES = ",".join(f"{g}.{i}" for g in ("12.1", "12.2", "12.3", "12.4", "12.5", "13.1", "13.2",
                                                   "13.3", "13.4", "13.5", "13.6", "13.7")
                             for i in (1, 2, 3))
AUTOBAHN_SIDE = re.compile(r"^(client|server) \(([^)]*)\): (\d+) passed, (\d+) failed")


def step_autobahn(rep: Report, label: str, args: list[str], timeout: float) -> None:
    """tests/autobahn/run.py --no-build ARGS: one check per side (its FAIL lines as detail)."""
    log = LOGS / f"autobahn-{label}.log"
    rc, reason = run_logged([sys.executable, TESTS / "autobahn" / "run.py", "--no-build",
                             "--timeout", str(timeout / 2 - 30), *args], log, timeout)
    lines = read_text(log).splitlines()
    sides = 0
    for line in lines:
        if m := AUTOBAHN_SIDE.match(line):
            sides += 1
            side, passed, failed = m.group(1), int(m.group(3)), int(m.group(4))
            fails = [l for l in lines if l.startswith(f"FAIL {side} ")]
            rep.check("autobahn", f"{label} {side} side: {passed} passed, {failed} failed",
                      failed == 0 and passed > 0, "; ".join(fails[:5]) or reason)
    if sides < 2:
        rep.check("autobahn", f"{label}: both sides ran", False, reason or f"exit status {rc}")
        rep.show_tail(log)


DRIVER_LINE = re.compile(r"^(PASS|FAIL) ([^:]*): (.*)$")
DRIVER_DONE = re.compile(r"^(\d+) passed, (\d+) failed$")


def step_driver(rep: Report, group: str, script: str, args: list[str], timeout: float) -> None:
    """Runs one of the repo's own test drivers (tests/fuzz/run.py, tests/load/run.py) and
    relays its checks: their `PASS x: name` / `FAIL x: name: detail` lines become this group's,
    and its last line must be `N passed, M failed` with M = 0 and exit status 0."""
    log = LOGS / f"{group}.log"
    rc, reason = run_logged([sys.executable, ROOT / script, *args], log, timeout)
    done = None
    for line in read_text(log).splitlines():
        if m := DRIVER_LINE.match(line):
            rep.check(group, m.group(3), m.group(1) == "PASS", "(see the line)")
        elif m := DRIVER_DONE.match(line):
            done = (int(m.group(1)), int(m.group(2)))
    finished = rc == 0 and done is not None and done[1] == 0 and done[0] > 0
    detail = reason or f"exit status {rc}, summary {done}"
    if not rep.check(group, f"{script} {' '.join(args)} finished with every check passed", finished, detail):
        rep.show_tail(log)


def suite_targets(path: Path, default_class: str) -> list[str]:
    for line in path.read_text().splitlines()[:30]:
        if m := re.match(r"^#+\s*targets:\s*(.+)$", line):
            # Once per class: with --class WebSocketPeer, "@class WebSocketPeer" is one run.
            subst = {"@class": default_class, "@mpclass": MP_CLASS.get(default_class, default_class)}
            return list(dict.fromkeys(subst.get(t, t) for t in m.group(1).split()))
    return [default_class]


def run_suite(rep: Report, godot: str, path: Path, cls: str, group: str, echo_port: int,
              timeout: float, extra_args: list[str] = (), env: dict | None = None) -> None:
    log = LOGS / f"{group}.log"
    started = time.monotonic()
    cmd = [godot, "--headless", "--path", PROJECT, "--script", f"res://tests/{path.name}",
           "--", f"--class={cls}", f"--echo-port={echo_port}", *extra_args]
    rc, reason = run_logged(cmd, log, timeout, abort=(LOAD_FAILED, "the script failed to compile"), env=env)
    failed_before = rep.failed
    passed = failed = 0
    done = None
    seen: set[str] = set()
    duplicates = []
    for line in read_text(log).splitlines():
        if m := SUITE_LINE.match(line):
            ok, name, detail = m.group(1) == "PASS", m.group(2), m.group(3) or ""
            if name in seen:
                duplicates.append(name)
            seen.add(name)
            passed += ok
            failed += not ok
            rep.check(group, name, ok, detail)
        elif m := SUITE_DONE.match(line):
            done = (int(m.group(1)), int(m.group(2)))
    if reason:
        rep.check(group, "suite finished", False, f"{reason} after {passed + failed} checks")
    elif done is None:
        rep.check(group, "suite finished", False,
                  f"exit status {rc} without a SUITE_DONE line (crash or script error) after {passed + failed} checks")
    elif done != (passed, failed):
        rep.check(group, "suite output consistent", False, f"SUITE_DONE says {done}, parsed {(passed, failed)}")
    elif rc != (1 if failed else 0):
        rep.check(group, "suite exit status", False, f"exit status {rc} with {failed} failed checks")
    if duplicates:
        rep.check(group, "check names unique", False, ", ".join(duplicates[:5]))
    rep.info(f"{group}: {passed} passed, {rep.failed - failed_before} failed in {time.monotonic() - started:.1f} s")
    if rep.failed > failed_before:
        rep.show_tail(log)


def selected(group: str, patterns: list[str]) -> bool:
    return not patterns or any(fnmatch.fnmatch(group, p) or p in group for p in patterns)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--class", dest="cls", default="RustWebSocketPeer",
                        help="class under test in the GDScript suites (default RustWebSocketPeer; "
                             "WebSocketPeer validates the suites against the engine)")
    parser.add_argument("--only", action="append", default=[], metavar="PATTERN",
                        help="run only groups matching PATTERN (substring or glob): 'cargo' or a "
                             "suite name such as test_close; repeatable")
    parser.add_argument("--skip-cargo", action="store_true", help="do not run cargo test")
    parser.add_argument("--skip-build", action="store_true",
                        help="do not run tools/build.sh (test the extension already installed)")
    parser.add_argument("--timeout", type=float, default=180, help="seconds per GDScript suite run")
    parser.add_argument("--coalesce", action="store_true",
                        help="also run the suites named in COALESCE_SUITES with coalesce_writes on "
                             "(groups `test_x[coalesce]`)")
    args = parser.parse_args()

    LOGS.mkdir(parents=True, exist_ok=True)
    # gdext (debug builds) records a backtrace on every bind() when RUST_BACKTRACE is set, which
    # makes each call into the class ~35 us; panics still print theirs.
    os.environ["RUST_LIB_BACKTRACE"] = "0"
    rep = Report()
    suites = [(p, cls) for p in sorted(SUITES.glob("test_*.gd")) for cls in suite_targets(p, args.cls)]
    default_names = {args.cls, MP_CLASS.get(args.cls)}
    groups = [(p, cls, p.stem if cls in default_names else f"{p.stem}[{cls}]", []) for p, cls in suites]
    if args.coalesce or COALESCE_SUITES:
        # The same checks with write coalescing on (the opt-in mode must keep every behaviour).
        groups += [(p, cls, f"{p.stem}[coalesce]", ["--coalesce"]) for p, cls in suites
                   if cls == "RustWebSocketPeer" and (args.coalesce or p.stem in COALESCE_SUITES)]
    groups = [g for g in groups if selected(g[2], args.only)]

    if not args.skip_cargo and selected("cargo", args.only):
        step_cargo(rep, timeout=1800)
    godot_steps = args.cls == "RustWebSocketPeer" and any(
        selected(g, args.only) for g in ("docs", "demo", "fuzz-godot", "load", "autobahn"))
    if groups or godot_steps:
        built = True
        if not args.skip_build:
            built = step_build(rep, timeout=1800)
        godot = step_godot(rep)
        python = ensure_venv(rep)
        echo, echo_port = start_echo_server(rep, python) if python else (None, 0)
        tls, tls_dir = start_tls_server(rep, python) if python else (None, None)
        node = ensure_node(rep)
        # Proxies only when the proxy suite runs (a first run installs tinyproxy).
        proxy_procs, proxy_dir = (proxies.start(rep, python, PEERS, LOGS)
                                  if any(g[0].stem == "test_proxy" for g in groups) else ([], None))
        # Empty values: the suites' checks that need that peer fail with "not available".
        SCRATCH.mkdir(exist_ok=True)
        extra = [f"--python={python or ''}", f"--node={node or ''}", f"--peers-dir={PEERS}",
                 f"--tls-dir={tls_dir or ''}", f"--scratch-dir={SCRATCH}", f"--proxy-dir={proxy_dir or ''}"]
        for path, cls, group, mode in groups:
            if godot is None:
                rep.check(group, "suite run", False, "not run: no Godot (see the godot check)")
            elif not built and cls not in ENGINE_CLASSES:
                # Running would test whatever library an earlier build left behind.
                rep.check(group, "suite run", False, "not run: tools/build.sh failed")
            else:
                run_suite(rep, godot, path, cls, group, echo_port, args.timeout, extra + mode,
                          proxies.suite_env(path.stem, proxy_dir))
        if godot is not None and built and godot_steps:
            if selected("docs", args.only):
                step_docs(rep, godot)
            if selected("demo", args.only):
                step_demo(rep, godot)
            # Short runs of the fuzz and load commands (the README gives the long ones).
            if selected("fuzz-godot", args.only):
                step_driver(rep, "fuzz-godot", "tests/fuzz/run.py", ["--inputs", "2000", "--skip-import"], 600)
            if selected("load", args.only):
                step_driver(rep, "load", "tests/load/run.py", ["--quick"], 600)
            if selected("autobahn", args.only):
                step_autobahn(rep, "1-11", [], 1500)
                step_autobahn(rep, "12-13 subset", ["--compression", AUTOBAHN_CI_CASES], 1200)
        for proc, script in ((echo, "echo_server.py"), (tls, "tls_server.py")):
            if proc is not None and proc.poll() is not None:
                rep.check("peers", f"{script} stayed up", False, f"exited with status {proc.returncode}")
                rep.show_tail(LOGS / script.replace(".py", ".log"))
        for name, proc in proxy_procs:
            if proc.poll() is not None:
                rep.check("proxies", f"{name} stayed up", False,
                          f"exited with status {proc.returncode} (tests/.logs/proxies/)")
    elif not selected("cargo", args.only) and not godot_steps:
        rep.info(f"nothing matches --only {' '.join(args.only)}")

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
        kill_all()
