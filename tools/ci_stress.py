#!/usr/bin/env python3
"""Runs the GDScript suites that measure wall-clock time many times, quiet and under load, and
counts failures per check: `python3 tools/ci_stress.py N` (or `tools/ci-stress.sh N`).

A check that passes once can still fail on a faster, slower or busier machine; CI runs right
after a session on whatever machine it gets. Each of the N rounds runs the suites twice through
the test runner, both classes (RustWebSocketPeer and the engine's WebSocketPeer):
  quiet   nothing else started by this script;
  load    LOAD_PROCS CPU-bound processes (one per core of a 2-core machine) run alongside.
The extension is built once first (tools/build.sh). Each failing check is printed as it happens;
at the end a table gives failures per check over all rounds, then `N passed, M failed` counts
the checks run. Exit status 1 if anything failed. Not part of `.ci/run`: 20 rounds take about
50 minutes. Logs of failing suites are kept in tests/.logs/stress/<round>-<mode>/.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from procs import kill, kill_all, spawn  # noqa: E402

LOGS = ROOT / "tests" / ".logs"
# Every suite with a check on wall-clock time, or a wait a slow machine could outrun.
SUITES = ["test_sem_heartbeat", "test_sem_frames", "test_sem_remote_close", "test_server_hostile",
          "test_server_tls", "test_threads", "test_tls_slow", "test_multiplayer_edge", "test_proxy"]
# Suites whose header targets only the runner's --class: run once more for the engine's class.
ENGINE_PASS = ["test_tls_slow"]
LOAD_PROCS = 2
BUSY_LOOP = "while True: pass"
RESULT = re.compile(r"^(PASS|FAIL) (.*)$")
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$")
NUMBER = re.compile(r"\d+")


def runner_pass(args: list[str], timeout: float) -> tuple[int, list[str], str]:
    """One tests/run.py run: (checks passed, failing check lines, problem or "")."""
    cmd = [sys.executable, "tests/run.py", "--skip-cargo", "--skip-build"] + args
    try:
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout).stdout
    except subprocess.TimeoutExpired:
        return 0, [], f"tests/run.py {' '.join(args)} timed out after {timeout:.0f} s"
    passed, failures, summary = 0, [], False
    for line in out.splitlines():
        if m := RESULT.match(line):
            if m.group(1) == "PASS":
                passed += 1
            else:
                failures.append(m.group(2))
        summary = summary or bool(SUMMARY.match(line))
    return passed, failures, "" if summary else "tests/run.py printed no summary line"


def check_name(failure: str) -> str:
    """The check a failure line is about, with the measured figures left out, so that the same
    check failing with other numbers counts as one."""
    return NUMBER.sub("N", failure.split("\t")[0])


def keep_logs(failures: list[str], dest: Path) -> None:
    groups = {f.split(":", 1)[0] for f in failures}
    dest.mkdir(parents=True, exist_ok=True)
    for g in groups:
        log = LOGS / f"{g}.log"
        if log.exists():
            shutil.copy(log, dest / log.name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rounds", type=int, nargs="?", default=20, help="rounds (each quiet, then under load)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per runner pass")
    parser.add_argument("--only", action="append", default=[], metavar="SUITE",
                        help="only these of the suites (repeatable; default: all of SUITES)")
    args = parser.parse_args()
    suites = [s for s in SUITES if not args.only or s in args.only]

    build = subprocess.run(["bash", "tools/build.sh"], cwd=ROOT)
    if build.returncode != 0:
        print("FAIL stress: tools/build.sh", flush=True)
        print("0 passed, 1 failed")
        return 1
    only = [a for s in suites for a in ("--only", s)]
    engine_suites = [s for s in ENGINE_PASS if s in suites]
    engine_only = ["--class", "WebSocketPeer"] + [a for s in engine_suites for a in ("--only", s)]
    per_check: Counter[str] = Counter()
    total_passed = total_failed = 0
    started = time.monotonic()
    try:
        for r in range(1, args.rounds + 1):
            for mode in ("quiet", "load"):
                load = [spawn([sys.executable, "-c", BUSY_LOOP]) for _ in range(LOAD_PROCS if mode == "load" else 0)]
                t0 = time.monotonic()
                try:
                    passed, failures, problem = runner_pass(only, args.timeout)
                    p2, f2, problem2 = runner_pass(engine_only, args.timeout) if engine_suites else (0, [], "")
                finally:
                    for proc in load:
                        kill(proc)
                passed += p2
                failures += f2
                failures += [f"stress: {p}" for p in (problem, problem2) if p]
                total_passed += passed
                total_failed += len(failures)
                for f in failures:
                    per_check[check_name(f)] += 1
                    print(f"    FAIL {f}", flush=True)
                if failures:
                    keep_logs(failures, LOGS / "stress" / f"{r:02d}-{mode}")
                print(f"round {r}/{args.rounds} {mode}: {passed} passed, {len(failures)} failed "
                      f"in {time.monotonic() - t0:.0f} s", flush=True)
    finally:
        kill_all()
    minutes = (time.monotonic() - started) / 60
    print(f"# {args.rounds} rounds (quiet, then {LOAD_PROCS} busy processes) in {minutes:.1f} min")
    if per_check:
        print("# failures per check:")
        for name, n in per_check.most_common():
            print(f"#   {n:3d}  {name}")
    else:
        print("# no check failed")
    print(f"{total_passed} passed, {total_failed} failed")
    return 1 if total_failed else 0


if __name__ == "__main__":
    sys.exit(main())
