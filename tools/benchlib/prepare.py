"""Before the runs: the release build, Godot, the private project, the chart's venv."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .config import EXTENSION, LIB_NAME, PROJECT, RELEASE_LIB, REQUIREMENTS, ROOT, VENV
from .processes import die, kill, rel, run, spawn, tail


def build_release(out: Path) -> None:
    cmd = ["cargo", "build", "--release", "-p", "godot_websocket"]
    print(f"# building the extension: {' '.join(cmd)} (log: {out / 'build.log'})", flush=True)
    t0 = time.monotonic()
    rc, why = run(cmd, out / "build.log", 3600)
    if rc != 0:
        print(tail(out / "build.log"))
        die(f"{' '.join(cmd)} failed: {why or f'exit status {rc}'} ({out / 'build.log'})")
    print(f"# built {RELEASE_LIB} in {time.monotonic() - t0:.0f} s", flush=True)


def find_godot(out: Path) -> tuple[str, str]:
    print("# looking for Godot 4: tools/godot.sh ($GODOT, godot4/godot on PATH, else a private "
          "install from Debian's package)", flush=True)
    with open(out / "godot-install.log", "wb") as err:
        proc = spawn(["bash", "tools/godot.sh"], stdout=subprocess.PIPE, stderr=err)
        try:
            stdout, _ = proc.communicate(timeout=900)
        except subprocess.TimeoutExpired:
            stdout = b""
        kill(proc)
    lines = stdout.decode().strip().splitlines()
    if proc.returncode != 0 or not lines:
        print(tail(out / "godot-install.log"))
        die("tools/godot.sh found no Godot 4")
    godot = lines[-1]
    version = subprocess.run([godot, "--headless", "--version"], capture_output=True, text=True,
                             timeout=60).stdout.strip().splitlines()
    return godot, (version[-1] if version else "?")


def make_project(godot: str, out: Path, with_extension: bool, keep: bool) -> Path:
    """A private copy of the project with the release library, imported once."""
    proj = Path(tempfile.mkdtemp(prefix="godot-websocket-bench-"))
    print(f"# private project {proj}: project.godot, bench/"
          + (", the addon with the release library" if with_extension else "") + "; godot --import", flush=True)
    if keep:
        print(f"# private project: {proj} (kept)", flush=True)
    shutil.copy2(PROJECT / "project.godot", proj / "project.godot")
    shutil.copytree(PROJECT / "bench", proj / "bench")
    if with_extension:
        addon = proj / "addons" / "godot_websocket"
        shutil.copytree(PROJECT / "addons" / "godot_websocket", addon,
                        ignore=shutil.ignore_patterns("bin", "*.tmp", "websocket.gdextension"))
        shutil.copy2(ROOT / "websocket.gdextension", addon / "websocket.gdextension")
        (addon / "bin").mkdir(parents=True, exist_ok=True)
        shutil.copy2(RELEASE_LIB, addon / "bin" / LIB_NAME)
        # Registered before the first import: a headless editor that discovers an extension on
        # its own crashes at exit (godot#123511).
        (proj / ".godot").mkdir(exist_ok=True)
        (proj / ".godot" / "extension_list.cfg").write_text(EXTENSION + "\n")
    for attempt in (1, 2):
        rc, why = run([godot, "--headless", "--path", proj, "--import"], out / f"import{attempt}.log", 600)
        if rc == 0:
            return proj
        print(f"# --import of the private project failed ({why or f'exit status {rc}'})"
              + (", trying again" if attempt == 1 else ""), flush=True)
    print(tail(out / "import2.log"))
    die("cannot import the private project")
    return proj


def ensure_venv(out: Path) -> Path | None:
    """tools/.bench-venv with the chart packages: the pins of tools/bench_requirements.txt (tested
    with Python 3.11 to 3.13), or, when pip cannot install those for this Python, the newest
    matplotlib that pip finds for it. None (no chart; the rest of the report is complete) when
    neither works. A stamp file in the venv records what it was made from."""
    python = VENV / "bin" / "python"
    stamp = VENV / "bench-stamp.txt"
    want = f"{sys.version.split()[0]} {sha256(REQUIREMENTS)}"
    if python.exists() and stamp.exists() and stamp.read_text().strip() in (want, want + " unpinned"):
        if subprocess.run([python, "-c", "import matplotlib"], capture_output=True).returncode == 0:
            return python
    print(f"# creating {rel(VENV)} for the chart: pip install -r {rel(REQUIREMENTS)} (matplotlib; "
          f"a minute or two, once)", flush=True)
    rc, why = run([sys.executable, "-m", "venv", "--clear", VENV], out / "venv.log", 300)
    if rc != 0:
        print(f"# no chart: `{Path(sys.executable).name} -m venv` failed ({why or f'exit status {rc}'}; on "
              f"Debian/Ubuntu: apt-get install python3-venv); see {rel(out)}/venv.log", flush=True)
        return None
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    rc, why = run(pip + ["-r", REQUIREMENTS], out / "pip.log", 900)
    suffix = ""
    if rc != 0:
        print(f"# the pinned chart packages do not install for Python {sys.version.split()[0]} "
              f"(see {rel(out)}/pip.log): trying the newest matplotlib", flush=True)
        rc, why = run(pip + ["matplotlib"], out / "pip-unpinned.log", 900)
        suffix = " unpinned"
    if rc != 0:
        print(f"# no chart: pip could not install matplotlib ({why or f'exit status {rc}'}; "
              f"see {rel(out)}/pip*.log)", flush=True)
        return None
    stamp.write_text(want + suffix + "\n")
    return python


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
