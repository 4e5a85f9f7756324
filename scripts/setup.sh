#!/usr/bin/env bash
# Creates ./.venv with the pack's runtime dependencies, plus what ComfyUI itself would bring
# (torch, PyAV, aiohttp) and pytest. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  -r requirements.txt -r requirements-test.txt
