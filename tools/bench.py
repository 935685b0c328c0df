#!/usr/bin/env python3
"""Benchmark of RustWebSocketPeer against the engine's WebSocketPeer: `python3 tools/bench.py`.

Runs the same workloads through both classes in the same Godot binary and prints a table of both,
their ratio (Rust/engine) and the targets. Each measurement is one fresh headless Godot process
running godot-project/bench/bench.gd for one scenario and one class, with both ends of every
connection (the client and the server side made with accept_stream()) of that class, over
loopback. The classes alternate (A B, then B A, ...), each run is bounded in time, and the table
shows medians over the repetitions. Every run checks what it measures: each echo is compared whole
with what was sent (type, size, bytes, order) and every message must come back; ping-pong checks
each echo; handshakes must close with 1000 on both sides; idle peers must stay OPEN and silent. A
run that fails that reports an error instead of a number (and bench.py exits 1).

echo_16_bin_coalesced and echo_1k_bin_coalesced set `coalesce_writes = true` on every peer that
has the property (RustWebSocketPeer's opt-in write coalescing; the engine's class has no such
mode and runs as in echo_16_bin / echo_1k_bin, as the baseline). The table marks the Rust figure
with * and does not judge the target when the property was absent.

  python3 tools/bench.py                  3 repetitions, 2 s measured per run (about 6 minutes)
  python3 tools/bench.py --quick          1 repetition, 0.5 s per run (about 1 minute)

(plus the release build: seconds when only rust/ changed, about 12 minutes from a fresh clone on 2
busy cores; and, once, the chart's venv).
  python3 tools/bench.py --scenario 'echo_*,pingpong' --class rust
  python3 tools/bench.py --list           the scenarios and metrics

Steps: `cargo build --release -p godot_websocket` (not tools/build.sh, which would install the
release library into godot-project/addons/ under whoever is testing the debug build there); the
release library is copied, with project.godot, the addon's other files and bench/, into a private
temporary project (registered in .godot/extension_list.cfg before its first --import), so a
concurrent debug build installed into godot-project/ cannot be measured by mistake; then the runs;
then the report. Written into bench-results/<date-time>[-quick]/ (and the
link bench-results/latest): results.jsonl (one JSON object per measurement: scenario, class,
repetition, metrics, details, machine load during the run), summary.json (medians, ratios,
targets), table.txt, chart.png (matplotlib from tools/bench_requirements.txt, in a venv the
script creates: tools/.bench-venv), and logs/ with every Godot run's output.

"Machine load" is the CPU time that processes other than the measured Godot used during the run,
in cores (from /proc/stat minus the run's own CPU time): the machine has 2 cores, so anything
above ~0.2 means the numbers are disturbed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fnmatch
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
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
             "echo_1k_bin_coalesced", "echo_64k_bin", "echo_1m_bin", "pingpong", "handshake", "idle"]
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
]

# ---- processes ---------------------------------------------------------------------------------

_children: list[subprocess.Popen] = []


def spawn(cmd, **kwargs) -> subprocess.Popen:
    """Starts cmd in its own process group, so that it and its children can be killed together."""
    proc = subprocess.Popen([str(c) for c in cmd], cwd=ROOT, start_new_session=True,
                            stdin=subprocess.DEVNULL, **kwargs)
    _children.append(proc)
    return proc


def kill(proc: subprocess.Popen) -> None:
    """Terminates proc's process group (TERM, then KILL) and reaps proc."""
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
    if proc in _children:
        _children.remove(proc)


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


# ---- setup -------------------------------------------------------------------------------------

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


# ---- measurements ------------------------------------------------------------------------------

def measure(godot: str, proj: Path, out: Path, scenario: str, cls: str, rep: int, args) -> dict:
    log = out / "logs" / f"{scenario}-{cls}-{rep + 1}.log"
    cmd = [godot, "--headless", "--path", proj, "--script", "res://bench/bench.gd", "--",
           f"--class={cls}", f"--scenario={scenario}", f"--duration={args.duration}",
           f"--warmup={args.warmup}"]
    if scenario == "idle":
        cmd.append(f"--connections={args.connections}")
    if args.server_class:
        cmd.append(f"--server-class={args.server_class}")
    timeout = 90 + args.warmup + args.duration * (3 if scenario == "idle" else 1)
    busy0, own0, load0, t0 = cpu_busy_seconds(), children_cpu_seconds(), loadavg(), time.monotonic()
    rc, why = run(cmd, log, timeout, preexec=raise_fd_limit)
    wall = time.monotonic() - t0
    busy1, own1 = cpu_busy_seconds(), children_cpu_seconds()
    record = {
        "time": dt.datetime.now().isoformat(timespec="seconds"),
        "scenario": scenario, "class": cls, "server_class": args.server_class or cls, "rep": rep + 1, "ok": False,
        "process_seconds": round(wall, 3),
        "process_cpu_seconds": round(own1 - own0, 3),
        "other_cpu_cores": (round(max(0.0, (busy1 - busy0) - (own1 - own0)) / wall, 3)
                            if busy0 is not None and busy1 is not None and wall > 0 else None),
        "loadavg_before": load0,
        "duration": args.duration, "warmup": args.warmup,
    }
    text = log.read_text(errors="replace")
    record["godot_error_lines"] = sum(1 for l in text.splitlines() if l.startswith(("ERROR:", "SCRIPT ERROR:")))
    m = re.search(r"^BENCH_RESULT (\{.*\})\s*$", text, re.M)
    if rc == 0 and m:
        result = json.loads(m.group(1))
        record.update(ok=True, metrics=result.get("metrics", {}), details=result.get("details", {}))
    else:
        err = re.search(r"^BENCH_ERROR (.*)$", text, re.M)
        record["error"] = err.group(1) if err else (why or f"exit status {rc}, no result line")
        record["log"] = rel(log)
    return record


def short(record: dict) -> str:
    if not record["ok"]:
        return f"ERROR: {record['error']}"
    parts = []
    for metric in METRICS:
        if metric.scenario == record["scenario"] and metric.key in record["metrics"]:
            parts.append(f"{metric.fmt.format(record['metrics'][metric.key])} {metric.unit}")
    if record["scenario"] in COALESCED:
        parts.append("coalesce_writes " + ("on" if record.get("details", {}).get("coalesce_writes") else "off"))
    load = record.get("other_cpu_cores")
    return ", ".join(parts) + (f"   (other load {load:.2f} cores)" if load is not None else "")


# ---- report ------------------------------------------------------------------------------------

def summarize(records: list[dict], classes: list[str], scenarios: list[str], connections: int = 1000) -> list[dict]:
    rows = []
    for metric in METRICS:
        if metric.scenario not in scenarios:
            continue
        label = metric.label
        if metric.scenario == "idle" and connections != 1000:
            label = label.replace("1000 ", f"{connections} ")
        row = {"metric": metric.name, "label": label, "unit": metric.unit,
               "target": metric.target_text(), "ref_engine": metric.ref}
        for cls in classes:
            values = [r["metrics"][metric.key] for r in records
                      if r["ok"] and r["class"] == cls and r["scenario"] == metric.scenario
                      and metric.key in r["metrics"]]
            failed = sum(1 for r in records if not r["ok"] and r["class"] == cls and r["scenario"] == metric.scenario)
            row[cls] = {"median": statistics.median(values) if values else None, "values": values, "failed": failed}
        engine = row.get(ENGINE, {}).get("median")
        rust = row.get(RUST, {}).get("median")
        row["ratio"] = rust / engine if engine and rust is not None else None
        row["meets_target"] = metric.meets(engine, rust)
        if metric.scenario in COALESCED and RUST in classes:
            # Did RustWebSocketPeer really run with coalesce_writes (the property may not exist yet)?
            flags = [bool(r.get("details", {}).get("coalesce_writes")) for r in records
                     if r["ok"] and r["class"] == RUST and r["scenario"] == metric.scenario]
            row["rust_coalescing"] = all(flags) if flags else None
            if flags and not all(flags):
                row["meets_target"] = None  # the mode the target is for was not measured
        row["ratio_target"] = metric.ratio_target(engine) if engine else None
        row["higher_better"] = metric.higher_better
        rows.append(row)
    return rows


def ratio_text(ratio, row) -> str:
    if ratio is None:
        return "-"
    text = f"{ratio:.2f}x"
    # Do not show "3.00x  NO" for 2.996x: one more digit when rounding hides which side it is on.
    if row.get("ratio_target") is not None and f"{row['ratio_target']:.2f}x" == text:
        text = f"{ratio:.3f}x"
    return text


def table(rows: list[dict], classes: list[str]) -> str:
    def num(metric_name, v):
        if v is None:
            return "-"
        metric = next(m for m in METRICS if m.name == metric_name)
        return metric.fmt.format(v)

    header = ["scenario", "unit"] + [("engine" if c == ENGINE else "rust") for c in classes]
    if len(classes) == 2:
        header += ["rust/engine", "target", "met", "ref engine"]
    else:
        header += ["ref engine"]
    lines = [header]
    for row in rows:
        cells = [row["label"], row["unit"]]
        for cls in classes:
            v = row[cls]["median"]
            cell = num(row["metric"], v)
            if cls == RUST and row.get("rust_coalescing") is False:
                cell += " *"
            if row[cls]["failed"]:
                cell += f" ({row[cls]['failed']} failed)"
            cells.append(cell)
        if len(classes) == 2:
            ratio = row["ratio"]
            met = row["meets_target"]
            cells += [ratio_text(ratio, row), row["target"],
                      "-" if met is None else ("yes" if met else "NO")]
        cells.append(num(row["metric"], row["ref_engine"]))
        lines.append(cells)
    widths = [max(len(str(l[i])) for l in lines) for i in range(len(header))]
    out = []
    for n, cells in enumerate(lines):
        out.append("  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths))))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def draw_chart(summary_path: Path, png: Path) -> None:
    """Runs inside tools/.bench-venv (bench.py --draw-chart SUMMARY PNG)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = json.loads(summary_path.read_text())
    rows = [r for r in summary["rows"] if r.get("ratio")]
    if not rows:
        return
    rows.reverse()  # first metric at the top
    fmts = {m.name: m.fmt for m in METRICS}
    fig, ax = plt.subplots(figsize=(11, 0.62 * len(rows) + 2.0))
    labels, ratios, colors = [], [], []
    for r in rows:
        fmt = fmts.get(r["metric"], "{:,.2f}")
        better = "higher is better" if r["higher_better"] else "lower is better"
        label = f"{r['label']}\nRust {fmt.format(r[RUST]['median'])}, engine {fmt.format(r[ENGINE]['median'])} {r['unit']} ({better})"
        if r.get("rust_coalescing") is False:
            label = label.replace(", coalesce_writes", ", coalesce_writes (absent: default writes)")
        labels.append(label)
        ratios.append(r["ratio"])
        met = r.get("meets_target")
        colors.append("#3a9d5d" if met else ("#c8553d" if met is False else "#999999"))
    y = list(range(len(rows)))
    # Bars grow from parity (1.0) to the Rust/engine ratio.
    ax.barh(y, [x - 1.0 for x in ratios], left=1.0, color=colors, height=0.6)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=1)
    targets = [r["ratio_target"] for r in rows if r.get("ratio_target")]
    lo = min(ratios + targets + [1.0])
    hi = max(ratios + targets + [1.0])
    ax.set_xlim(lo / 1.6, hi * 2.2)
    for i, r in enumerate(rows):
        if r.get("ratio_target"):
            ax.plot([r["ratio_target"]] * 2, [i - 0.42, i + 0.42], color="black", linewidth=2.5)
        right = max([r["ratio"], 1.0] + ([r["ratio_target"]] if r.get("ratio_target") else []))
        ax.text(right * 1.05, i, ratio_text(r["ratio"], r), va="center", fontsize=8.5)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlabel("RustWebSocketPeer / WebSocketPeer (log scale). Black tick: target; "
                  "green: met, red: missed, grey: not judged", fontsize=8.5)
    meta = summary["meta"]
    ax.set_title(f"godot-websocket benchmark, {meta['started'][:16].replace('T', ' ')}: {meta['mode']} run, "
                 f"medians of {meta['reps']}\nGodot {meta['godot']}, {meta['cpus']} CPUs; other processes used "
                 f"{meta['other_cpu_cores_mean']:.2f} cores on average", fontsize=9)
    ax.grid(axis="x", which="both", alpha=0.25)
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 repetition, 0.5 s per measurement")
    ap.add_argument("--class", dest="classes", default="",
                    help="comma-separated classes: WebSocketPeer (or engine), RustWebSocketPeer (or rust)")
    ap.add_argument("--scenario", default="", help="comma-separated scenario names or globs (e.g. 'echo_*')")
    ap.add_argument("--reps", type=int, help="repetitions (default 3, --quick 1)")
    ap.add_argument("--duration", type=float, help="measured seconds per run (default 2, --quick 0.5)")
    ap.add_argument("--warmup", type=float, help="unmeasured seconds per run (default 0.5, --quick 0.2)")
    ap.add_argument("--connections", type=int, default=1000, help="idle scenario: connections (default 1000)")
    ap.add_argument("--server-class", default="",
                    help="diagnostic: make every server side of this class (default: the class under test)")
    ap.add_argument("--out", type=Path, help="results directory (default bench-results/<date-time>)")
    ap.add_argument("--no-build", action="store_true", help="use target/release as it is")
    ap.add_argument("--no-chart", action="store_true", help="no venv, no PNG")
    ap.add_argument("--keep-project", action="store_true", help="keep the private project copy")
    ap.add_argument("--list", action="store_true", help="list scenarios and metrics")
    ap.add_argument("--draw-chart", nargs=2, metavar=("SUMMARY", "PNG"), help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.draw_chart:
        draw_chart(Path(args.draw_chart[0]), Path(args.draw_chart[1]))
        return
    if args.list:
        for s in SCENARIOS:
            for m in METRICS:
                if m.scenario == s:
                    print(f"{s:22} {m.key:18} {m.unit:6} target {m.target_text():16} {m.label}")
        return

    classes = []
    for c in filter(None, (x.strip() for x in args.classes.split(","))):
        c = CLASS_ALIASES.get(c.lower(), c)
        if c not in CLASSES:
            die(f"unknown class {c!r} (WebSocketPeer, RustWebSocketPeer, engine, rust)")
        if c not in classes:
            classes.append(c)
    classes = [c for c in CLASSES if c in classes] or list(CLASSES)
    if args.server_class:
        args.server_class = CLASS_ALIASES.get(args.server_class.lower(), args.server_class)
        if args.server_class not in CLASSES:
            die(f"unknown server class {args.server_class!r}")
    patterns = [p.strip() for p in args.scenario.split(",") if p.strip()] or ["*"]
    scenarios = [s for s in SCENARIOS if any(fnmatch.fnmatch(s, p) for p in patterns)]
    if not scenarios:
        die(f"no scenario matches {args.scenario!r}: {', '.join(SCENARIOS)}")
    reps = args.reps if args.reps is not None else (1 if args.quick else 3)
    args.duration = args.duration if args.duration is not None else (0.5 if args.quick else 2.0)
    args.warmup = args.warmup if args.warmup is not None else (0.2 if args.quick else 0.5)
    if reps < 1 or args.duration <= 0 or args.warmup < 0:
        die("--reps must be >= 1, --duration > 0, --warmup >= 0")

    started = dt.datetime.now()
    out = args.out or RESULTS / (started.strftime("%Y%m%d-%H%M%S") + ("-quick" if args.quick else ""))
    out = out.resolve()
    (out / "logs").mkdir(parents=True, exist_ok=True)
    print(f"# results: {out}", flush=True)

    needs_rust = RUST in classes or args.server_class == RUST
    if needs_rust and not args.no_build:
        build_release(out)
    if needs_rust:
        if not RELEASE_LIB.exists():
            die(f"{RELEASE_LIB} is missing (run without --no-build)")
        size = RELEASE_LIB.stat().st_size
        if size > MAX_RELEASE_LIB_BYTES:
            die(f"{RELEASE_LIB} is {size / 1e6:.0f} MB: not a release build?")
    python_chart = None if args.no_chart else ensure_venv(out)
    godot, version = find_godot(out)
    print(f"# godot: {godot} ({version})", flush=True)
    proj = make_project(godot, out, needs_rust, args.keep_project)

    meta = {
        "started": started.isoformat(timespec="seconds"), "mode": "quick" if args.quick else "full",
        "reps": reps, "duration": args.duration, "warmup": args.warmup, "classes": classes,
        "scenarios": scenarios, "server_class": args.server_class or None, "godot": version, "cpus": os.cpu_count(), "loadavg_start": loadavg(),
    }
    if needs_rust:
        meta["library"] = {"path": rel(RELEASE_LIB), "bytes": RELEASE_LIB.stat().st_size,
                           "sha256": sha256(proj / "addons" / "godot_websocket" / "bin" / LIB_NAME)}
        try:
            meta["git_head"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                              text=True).stdout.strip()
            meta["git_dirty"] = bool(subprocess.run(["git", "status", "--porcelain", "--", "rust"], cwd=ROOT,
                                                    capture_output=True, text=True).stdout.strip())
        except OSError:
            pass

    plan = []
    for rep in range(reps):
        for i, scenario in enumerate(scenarios):
            order = classes if (rep + i) % 2 == 0 else list(reversed(classes))
            plan += [(scenario, cls, rep) for cls in order]
    print(f"# {len(plan)} measurements: {len(scenarios)} scenarios x {len(classes)} classes x {reps} "
          f"repetitions, {args.warmup:g} s warm-up + {args.duration:g} s each (meta: {meta['loadavg_start']} load)",
          flush=True)
    records = []
    try:
        with open(out / "results.jsonl", "w") as jl:
            for n, (scenario, cls, rep) in enumerate(plan, 1):
                record = measure(godot, proj, out, scenario, cls, rep, args)
                records.append(record)
                jl.write(json.dumps(record) + "\n")
                jl.flush()
                print(f"[{n:3}/{len(plan)}] {scenario:21} {cls:17} rep {rep + 1}: {short(record)}", flush=True)
    except KeyboardInterrupt:
        print("# interrupted: reporting what was measured", flush=True)
    finally:
        for proc in list(_children):
            kill(proc)
        if not args.keep_project:
            shutil.rmtree(proj, ignore_errors=True)

    loads = [r["other_cpu_cores"] for r in records if r.get("other_cpu_cores") is not None]
    meta["loadavg_end"] = loadavg()
    meta["other_cpu_cores_mean"] = statistics.mean(loads) if loads else 0.0
    meta["other_cpu_cores_max"] = max(loads) if loads else 0.0
    rows = summarize(records, classes, scenarios, args.connections)
    text = table(rows, classes)
    failed = sum(1 for r in records if not r["ok"])
    notes = [f"medians of {reps} repetition(s), {args.duration:g} s measured per run; "
             f"MB = 10^6 bytes of echoed payload received by the client per second",
             f"machine load: other processes used {meta['other_cpu_cores_mean']:.2f} cores on average "
             f"(max {meta['other_cpu_cores_max']:.2f}) of {os.cpu_count()} during the runs; "
             f"loadavg {meta['loadavg_start']} -> {meta['loadavg_end']}",
             "ref engine: WebSocketPeer on the reference machine (debug Godot 4.6.3, 2 cores, quiet)"]
    if any(r.get("rust_coalescing") is False for r in rows):
        notes.append("* RustWebSocketPeer has no coalesce_writes property (or it did not stay set): "
                     "measured with default writes, target not judged")
    if failed:
        notes.append(f"{failed} measurement(s) FAILED: see 'error' and 'log' in results.jsonl")
    print()
    print(text)
    for note in notes:
        print(f"# {note}")
    (out / "table.txt").write_text(text + "\n" + "".join(f"# {n}\n" for n in notes))
    summary_path = out / "summary.json"
    summary_path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    chart = False
    if python_chart and len(classes) == 2:
        rc, why = run([python_chart, Path(__file__).resolve(), "--draw-chart", summary_path, out / "chart.png"],
                      out / "chart.log", 300)
        chart = rc == 0 and (out / "chart.png").exists()
        if chart:
            print(f"# chart: {out / 'chart.png'}")
        else:
            print(f"# no chart: {why or f'exit status {rc}'} (see {out / 'chart.log'})")
    latest = RESULTS / "latest"
    if out.parent == RESULTS:
        try:
            if latest.is_symlink() or latest.exists():
                latest.unlink()
            latest.symlink_to(out.name)
        except OSError:
            pass
    print(f"# results: {out}/ (results.jsonl, summary.json, table.txt{', chart.png' if chart else ''}, logs/)")
    sys.exit(1 if failed or not records else 0)


if __name__ == "__main__":
    main()
