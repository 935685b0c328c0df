"""Child processes of the repo's drivers (tests/run.py, tests/autobahn/run.py, tools/bench.py and
the drivers that load tests/run.py): each starts in its own process group, so that it and
everything it started can be killed together, and all that are still running at the end."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_children: list[subprocess.Popen] = []


def spawn(cmd, **kwargs) -> subprocess.Popen:
    """Starts cmd (in the repo's root) in its own process group."""
    proc = subprocess.Popen([str(c) for c in cmd], cwd=ROOT, start_new_session=True,
                            stdin=subprocess.DEVNULL, **kwargs)
    _children.append(proc)
    return proc


def kill(proc: subprocess.Popen) -> None:
    """Terminates proc's process group (TERM, then KILL after 3 s), reaps proc, then kills what
    is left in its group (e.g. a Godot started by a shell that already exited)."""
    if proc.poll() is None:
        for sig, wait in ((signal.SIGTERM, 3), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                break
            try:
                proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc in _children:
        _children.remove(proc)


def kill_all() -> None:
    """Kills every child process still running."""
    for proc in list(_children):
        kill(proc)
