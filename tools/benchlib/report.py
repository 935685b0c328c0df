"""The report: medians, ratios and targets per metric, and the table."""

from __future__ import annotations

import statistics

from .config import COALESCED, ENGINE, METRICS, RUST


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
