#!/usr/bin/env bash
# Kept for the old command line: tests/autobahn/run.sh [--class=NAME] [CASES] (see run.py --help).
exec python3 "$(dirname "$0")/run.py" "$@"
