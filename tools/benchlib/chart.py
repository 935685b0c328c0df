"""The chart (chart.png), drawn inside tools/.bench-venv, which has matplotlib."""

from __future__ import annotations

import json
from pathlib import Path

from .config import ENGINE, METRICS, RUST
from .report import ratio_text


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
