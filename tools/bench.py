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
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from benchlib.chart import draw_chart
from benchlib.config import (CLASS_ALIASES, CLASSES, MAX_RELEASE_LIB_BYTES, METRICS, RELEASE_LIB, RESULTS, ROOT, RUST,
                             SCENARIOS, LIB_NAME)
from benchlib.processes import die, kill_all, loadavg, rel, run
from benchlib.report import summarize, table
from benchlib.runs import measure, short
from benchlib.prepare import build_release, ensure_venv, find_godot, make_project, sha256


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
        kill_all()
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
