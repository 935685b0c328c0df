"""One measurement: a fresh headless Godot running bench/bench.gd for one scenario and class."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path

from .config import COALESCED, METRICS
from .processes import children_cpu_seconds, cpu_busy_seconds, loadavg, raise_fd_limit, rel, run


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
