#!/usr/bin/env bash
# Runs the wall-clock suites N times (default 20), each round quiet and then beside two CPU-bound
# processes, both classes, and prints failures per check: see tools/ci_stress.py.
#   tools/ci-stress.sh 20
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 tools/ci_stress.py "$@"
