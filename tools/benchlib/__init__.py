"""The pieces of tools/bench.py (the CLI and its documentation are there): config (paths, classes,
scenarios, metrics and targets), processes (bounded child processes, machine load), prepare (the
release build, Godot, the private project, the chart's venv), runs (one measurement), report (the
summary and the table) and chart (the PNG)."""
