#!/usr/bin/env bash
# Sets up ./.venv, then runs the main job end to end on the built-in local sandbox:
# a three-shot generation, download, decode into frames and sound, writing demo-output/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python scripts/demo.py --out demo-output "$@"
