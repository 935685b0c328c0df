#!/usr/bin/env python3
"""RFC 6455 conformance with Autobahn|Testsuite: `python3 tests/autobahn/run.py [options] [CASES]`.

Both sides of the class under test (RustWebSocketPeer unless --class=NAME), all on 127.0.0.1:
  client  wstest's fuzzingserver  <-  godot-project/autobahn/echo_client.gd (connect_to_url)
  server  wstest's fuzzingclient  ->  godot-project/autobahn/echo_server.gd (TCPServer + accept_stream)
CASES: comma-separated patterns, e.g. '1.*,9.1.*' (default: all); 12.* and 13.* (permessage-deflate)
are left out unless --compression is given (AUTOBAHN_EXCLUDE overrides that, as a JSON list).
--compression sets `compression_enabled` on every peer of both echo scripts; UNIMPLEMENTED (no
extension negotiated) then counts as failed.

Steps: tests/autobahn/setup.sh (Python 2.7 from Debian bullseye and the pinned wstest into
$AUTOBAHN_HOME, default ~/.cache/autobahn; once), tools/build.sh (unless --no-build),
tools/godot.sh, an `--import` of godot-project when it was never imported, then each side.
Every process runs in its own process group under a time limit and is killed at the end.

Output: one line per case whose behaviour is not OK, NON-STRICT, INFORMATIONAL or UNIMPLEMENTED
(`FAIL side case: behaviour ...`, with the close behaviour and the close code our peer sent), a
`# ` line counting passed cases whose close behaviour was not OK (--show-close lists them),
`side (class): N passed, M failed` per side and a last line `N passed, M failed`; the exit status
is non-zero if M > 0. A case with no result (the peer died, a side timed out) counts as failed.
Reports and logs: tests/.logs/autobahn/<side>-<class>/ (index.html, index.json, per-case JSON),
tests/.logs/autobahn/<side>-<class>.*.log.

All 301 cases take about 5 minutes on 2 cores (client side 1.5-2, server side 3; the end of the
output has the times). wstest's pure-Python masking and UTF-8 checks make 9.* most of that.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PROJECT = ROOT / "godot-project"
OUT = ROOT / "tests" / ".logs" / "autobahn"
AUTOBAHN_HOME = Path(os.environ.get("AUTOBAHN_HOME", Path.home() / ".cache" / "autobahn"))
DEFAULT_EXCLUDE = ["12.*", "13.*"]

PASS = {"OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED"}
# With compression on, a case of 12.*/13.* that negotiated nothing is a failure.
PASS_COMPRESSED = {"OK", "NON-STRICT", "INFORMATIONAL"}
CLOSE_FINE = {"OK", "INFORMATIONAL", "UNIMPLEMENTED"}

# ---- child processes ---------------------------------------------------------------------------

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import procs  # noqa: E402  (tests/procs.py: process groups shared with the other drivers)
from procs import kill, kill_all  # noqa: E402


def spawn(cmd, log: Path, **kwargs) -> subprocess.Popen:
    """procs.spawn with stdout+stderr appended to log."""
    with open(log, "ab") as out:
        return procs.spawn(cmd, stdout=out, stderr=subprocess.STDOUT, **kwargs)


def on_signal(signum, _frame):
    kill_all()
    sys.exit(128 + signum)


def run(cmd, log: Path, timeout: float) -> tuple[int | None, str]:
    """Runs cmd to completion within timeout. Returns (exit status, "") or (None, why not)."""
    try:
        proc = spawn(cmd, log)
    except OSError as e:
        return None, f"cannot start {cmd[0]}: {e.strerror}"
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        kill(proc)
        return None, f"timed out after {timeout:.0f} s"
    kill(proc)
    return proc.returncode, ""


def wait_until(pred, timeout: float, proc: subprocess.Popen | None = None) -> bool:
    """Polls pred every 0.1 s for up to timeout seconds; gives up early if proc exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        if proc is not None and proc.poll() is not None:
            return pred()
        time.sleep(0.1)
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port (read from /proc, without connecting: a probe
    connection would be one more client for the program under test)."""
    want = f"0100007F:{port:04X}"
    try:
        with open("/proc/net/tcp") as f:
            return any(l.split()[1] == want and l.split()[3] == "0A" for l in f.readlines()[1:])
    except OSError:
        return False


def tail(path: Path, n: int = 15) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()[-n:]
    except OSError:
        return "    (no log)"
    return "\n".join("    | " + re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", l) for l in lines)


def info(text: str) -> None:
    print(f"# {text}", flush=True)


# ---- setup -------------------------------------------------------------------------------------

def setup(args) -> str | None:
    """setup.sh, the build and Godot. Returns the Godot executable, or None (after saying why)."""
    t0 = time.monotonic()
    rc, why = run(["bash", HERE / "setup.sh"], OUT / "setup.log", 900)
    if rc != 0:
        print(f"FAIL setup: tests/autobahn/setup.sh: {why or f'exit status {rc}'}")
        print(tail(OUT / "setup.log"))
        return None
    info(f"wstest ready ({time.monotonic() - t0:.0f} s)")
    if not args.no_build:
        t0 = time.monotonic()
        rc, why = run(["bash", "tools/build.sh"], OUT / "build.log", 1800)
        if rc != 0:
            print(f"FAIL build: tools/build.sh: {why or f'exit status {rc}'}")
            print(tail(OUT / "build.log"))
            return None
        info(f"tools/build.sh ({time.monotonic() - t0:.0f} s)")
    log = OUT / "godot-install.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(["bash", "tools/godot.sh"], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=err, start_new_session=True, stdin=subprocess.DEVNULL)
        procs._children.append(proc)
        try:
            out, _ = proc.communicate(timeout=900)
        except subprocess.TimeoutExpired:
            out = b""
        kill(proc)
    godot = out.decode().strip().splitlines()[-1] if out.strip() else ""
    if proc.returncode != 0 or not godot:
        print(f"FAIL godot: tools/godot.sh: exit status {proc.returncode}")
        print(tail(log))
        return None
    if not (PROJECT / ".godot" / "uid_cache.bin").exists():
        rc, why = run([godot, "--headless", "--path", PROJECT, "--import"], OUT / "godot-import.log", 600)
        if rc != 0:  # the --script runs may still work: report and go on
            info(f"godot --import: {why or f'exit status {rc}'} (tests/.logs/autobahn/godot-import.log)")
    return godot


def case_list(spec: dict) -> list[str] | None:
    """The case ids wstest runs for spec (its own pattern matching), in its order."""
    code = ("import json, sys\n"
            "from autobahntestsuite.case import Cases, CaseCategories, CaseSubCategories, CaseSetname, CaseBasename\n"
            "from autobahntestsuite.caseset import CaseSet\n"
            "cs = CaseSet(CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories)\n"
            "print(json.dumps(cs.parseSpecCases(json.loads(sys.argv[1]))))\n")
    try:
        out = subprocess.run([AUTOBAHN_HOME / "bin" / "python2", "-W", "ignore", "-c", code,
                              json.dumps(spec)], capture_output=True, timeout=60, check=True).stdout
        return json.loads(out.decode().strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


# ---- the two sides -----------------------------------------------------------------------------

def update_reports(port: int, agent: str, timeout: float = 120) -> None:
    """Asks the fuzzing server for its reports (what echo_client.gd does last), for when the
    client under test did not get that far."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /updateReports?agent={urllib.parse.quote(agent)} HTTP/1.1\r\n"
               f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(request.encode())
            while s.recv(65536):  # the server answers, writes the reports, then closes
                pass
    except OSError:
        pass


def client_side(args, godot: str, cases: str, expected: list[str] | None, outdir: Path,
                deadline: float) -> None:
    log = OUT / f"{outdir.name}.fuzzingserver.log"
    godot_log = OUT / f"{outdir.name}.echo_client.log"
    port = free_port()
    server = spawn(["bash", HERE / "fuzzingserver.sh", port, outdir, cases], log)
    if not wait_until(lambda: listening(port), 60, server):
        print(f"FAIL client: wstest fuzzingserver did not listen on port {port}")
        print(tail(log))
        kill(server)
        return
    rc, why = run([godot, "--headless", "--path", PROJECT, "--script", "res://autobahn/echo_client.gd",
                   "--", f"--port={port}", f"--agent={args.agent}", f"--class={args.cls}",
                   f"--case-timeout={args.case_timeout}"]
                  + (["--compression"] if args.compression else [])
                  + ([f"--count={len(expected)}"] if expected else []),
                  godot_log, max(deadline - time.monotonic(), 10))
    if rc != 0:
        info(f"client: echo_client.gd: {why or f'exit status {rc}'} (tests/.logs/autobahn/{godot_log.name})")
        print(tail(godot_log))
    text = godot_log.read_text(errors="replace")
    for line in text.splitlines():
        if line.startswith("no case count"):
            info(f"client: {line}")
    timeouts = [l for l in text.splitlines() if re.match(r"case \d+: (TIMEOUT|connect error)", l)]
    if timeouts:
        info(f"client: {len(timeouts)} cases timed out or could not connect, e.g. {timeouts[0]!r}")
    if not (outdir / "index.json").exists() and server.poll() is None:
        info("client: asking the fuzzing server for its reports")
        update_reports(port, args.agent)
    kill(server)


def server_side(args, godot: str, cases: str, expected: list[str] | None, outdir: Path,
                deadline: float) -> None:
    log = OUT / f"{outdir.name}.fuzzingclient.log"
    godot_log = OUT / f"{outdir.name}.echo_server.log"
    port = free_port()
    server = spawn([godot, "--headless", "--path", PROJECT, "--script", "res://autobahn/echo_server.gd",
                    "--", f"--port={port}", f"--class={args.cls}", "--idle=120"]
                   + (["--compression"] if args.compression else []), godot_log)
    if not wait_until(lambda: listening(port), 60, server):
        print(f"FAIL server: echo_server.gd did not listen on port {port}")
        print(tail(godot_log))
        kill(server)
        return
    rc, why = run(["bash", HERE / "fuzzingclient.sh", f"ws://127.0.0.1:{port}", args.agent, outdir, cases],
                  log, max(deadline - time.monotonic(), 10))
    if rc != 0:
        info(f"server: wstest fuzzingclient: {why or f'exit status {rc}'} (tests/.logs/autobahn/{log.name})")
        print(tail(log))
    if server.poll() is not None:
        info(f"server: echo_server.gd exited early with status {server.returncode}")
        print(tail(godot_log))
    kill(server)


def summarize(side: str, outdir: Path, agent: str, expected: list[str] | None,
              show_close: bool, passing: set[str]) -> tuple[int, int]:
    """Prints the failing cases of one side; returns (passed, failed)."""
    try:
        results = json.loads((outdir / "index.json").read_text()).get(agent, {})
    except (OSError, ValueError) as e:
        results = {}
        info(f"{side}: no results ({e})")
    ids = expected if expected is not None else sorted(
        results, key=lambda c: [int(p) if p.isdigit() else p for p in c.split(".")])
    passed = failed = 0
    close_notes: Counter = Counter()
    if not results and ids:
        print(f"FAIL {side}: no results for any of the {len(ids)} cases")
        return 0, len(ids)
    for case in ids:
        r = results.get(case)
        if r is None:
            failed += 1
            print(f"FAIL {side} {case}: MISSING (no result)")
            continue
        detail = {}
        try:
            detail = json.loads((outdir / r["reportfile"]).read_text())
        except (OSError, ValueError, KeyError):
            pass
        behavior, close = r.get("behavior", "?"), r.get("behaviorClose", "?")
        text = (f"{behavior}; close {close}; our close code {r.get('remoteCloseCode')}; "
                f"{r.get('duration', '?')} ms; {detail.get('result', '')}"
                + (f" / {detail.get('resultClose')}" if close not in CLOSE_FINE else ""))
        if behavior in passing:
            passed += 1
            if close not in CLOSE_FINE:
                close_notes[close] += 1
                if show_close:
                    print(f"NOTE {side} {case}: {text}")
        else:
            failed += 1
            print(f"FAIL {side} {case}: {text}")
    if close_notes:
        what = ", ".join(f"{k} x{v}" for k, v in close_notes.most_common())
        info(f"{side}: {sum(close_notes.values())} passed cases with a close behaviour that is not OK: "
             f"{what}" + ("" if show_close else " (--show-close lists them)"))
    return passed, failed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("cases", nargs="?", default="*", help="case patterns, e.g. '1.*,9.1.*' (default: all)")
    ap.add_argument("--class", dest="cls", default="RustWebSocketPeer",
                    help="class under test (default RustWebSocketPeer; WebSocketPeer is the engine's)")
    ap.add_argument("--side", choices=["client", "server", "both"], default="both")
    ap.add_argument("--agent", help="agent name in the reports (default: the class)")
    ap.add_argument("--no-build", action="store_true", help="skip tools/build.sh")
    ap.add_argument("--timeout", type=float, default=900, help="limit per side in seconds (default 900)")
    ap.add_argument("--case-timeout", type=float, default=60,
                    help="client side: limit per case in seconds (default 60)")
    ap.add_argument("--compression", action="store_true",
                    help="compression_enabled on both echo peers; runs 12.*/13.* too, and "
                         "UNIMPLEMENTED counts as failed")
    ap.add_argument("--show-close", action="store_true",
                    help="also list passed cases whose close behaviour is not OK")
    args = ap.parse_args()
    args.agent = args.agent or args.cls

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    atexit.register(kill_all)
    OUT.mkdir(parents=True, exist_ok=True)
    for name in ("setup.log", "build.log", "godot-install.log", "godot-import.log"):
        (OUT / name).unlink(missing_ok=True)
    started = time.monotonic()
    godot = setup(args)
    if godot is None:
        print("0 passed, 1 failed")
        return 1

    exclude = json.loads(os.environ.get("AUTOBAHN_EXCLUDE", json.dumps([] if args.compression else DEFAULT_EXCLUDE)))
    # The scripts under tests/autobahn read the same variable (spec.py).
    os.environ["AUTOBAHN_EXCLUDE"] = json.dumps(exclude)
    patterns = [c.strip() for c in args.cases.split(",") if c.strip()] or ["*"]
    expected = case_list({"cases": patterns, "exclude-cases": exclude})
    if expected is None:
        info("cannot list the cases with wstest's own matcher: counting what the reports have")
    elif not expected:
        print(f"FAIL cases: no case matches {args.cases!r}")
        print("0 passed, 1 failed")
        return 1
    else:
        info(f"{len(expected)} cases: {args.cases} (excluding {', '.join(exclude)})")
    cases = json.dumps(patterns)

    total_passed = total_failed = 0
    lines = []
    sides = ["client", "server"] if args.side == "both" else [args.side]
    for side in sides:
        outdir = OUT / f"{side}-{args.cls}{'-deflate' if args.compression else ''}"
        shutil.rmtree(outdir, ignore_errors=True)
        outdir.mkdir(parents=True)
        for old in OUT.glob(f"{outdir.name}.*.log"):
            old.unlink()
        t0 = time.monotonic()
        info(f"{side} side of {args.cls}")
        run_side = client_side if side == "client" else server_side
        run_side(args, godot, cases, expected, outdir, t0 + args.timeout)
        passed, failed = summarize(side, outdir, args.agent, expected, args.show_close,
                                   PASS_COMPRESSED if args.compression else PASS)
        line = f"{side} ({args.cls}{', compression' if args.compression else ''}): {passed} passed, {failed} failed ({time.monotonic() - t0:.0f} s)"
        print(line, flush=True)
        lines.append(line)
        total_passed += passed
        total_failed += failed
    info(f"reports: {OUT.relative_to(ROOT)}/<side>-{args.cls}/index.html; "
         f"total {time.monotonic() - started:.0f} s")
    print(f"{total_passed} passed, {total_failed} failed", flush=True)
    return 1 if total_failed or not total_passed else 0


if __name__ == "__main__":
    sys.exit(main())
