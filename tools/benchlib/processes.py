"""Child processes (each in its own process group, bounded in time) and the machine's load."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from pathlib import Path

from .config import ROOT

sys.path.insert(0, str(ROOT / "tests"))
from procs import kill, kill_all, spawn  # noqa: E402,F401  (tests/procs.py, shared by every driver)


def run(cmd, log: Path, timeout: float, preexec=None) -> tuple[int | None, str]:
    """Runs cmd with stdout+stderr into log, bounded by timeout. Returns (exit status or None
    when it was killed, why it was killed)."""
    with open(log, "wb") as out:
        try:
            proc = spawn(cmd, stdout=out, stderr=subprocess.STDOUT, preexec_fn=preexec)
        except OSError as e:
            out.write(f"cannot start {cmd[0]}: {e}\n".encode())
            return None, f"cannot start {cmd[0]}: {e.strerror}"
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            kill(proc)
            return None, f"timed out after {timeout:.0f} s"
        kill(proc)  # stragglers in its group, if any
        return rc, ""


def tail(path: Path, n: int = 25) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return ""
    return "\n".join("    | " + re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", l) for l in lines[-n:])


def raise_fd_limit() -> None:
    """For the idle scenario: 2000 sockets need more than a default soft limit of 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 16384 if hard == resource.RLIM_INFINITY else min(hard, 16384)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def rel(path: Path) -> str:
    """path relative to the repository when it is inside it, else absolute."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def die(msg: str) -> None:
    print(f"bench.py: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


# ---- machine load ------------------------------------------------------------------------------

def cpu_busy_seconds() -> float | None:
    """CPU time spent by everything on the machine (all cores), from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []
