#!/usr/bin/env bash
# Sets up ./.venv-demo with only what the demo uses (requirements-demo.txt: requests, numpy,
# pillow, opencv-python, PyAV; no torch, no ComfyUI), then runs the main job end to end on the
# built-in local sandbox: a three-shot generation, download, decode into frames and sound, writing
# demo-output/. Prints one line a step. Options go to scripts/demo.py, e.g.
# `bash scripts/demo.sh --resolution-scale 0.25` for a smaller, faster run.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
VENV=.venv-demo
venv_python() {
  if [ -x "$VENV/bin/python" ]; then echo "$VENV/bin/python"; else echo "$VENV/Scripts/python.exe"; fi
}
started=$SECONDS
if [ ! -x "$VENV/bin/python" ] && [ ! -x "$VENV/Scripts/python.exe" ]; then
  echo "demo: [1/3] creating $VENV with $("$PYTHON" --version 2>&1)"
  "$PYTHON" -m venv "$VENV"
else
  echo "demo: [1/3] using $VENV"
fi
VPY="$(venv_python)"
if "$VPY" -c "import requests, urllib3, numpy, PIL, cv2, av" 2>/dev/null; then
  echo "demo: [2/3] requirements already installed ($(du -sh "$VENV" 2>/dev/null | cut -f1) on disk)"
else
  echo "demo: [2/3] installing requests, numpy, pillow, opencv-python and PyAV (about 130 MB to download, 410 MB on disk; a minute or two)"
  "$VPY" -m pip install --disable-pip-version-check --quiet --progress-bar off -r requirements-demo.txt
  echo "demo:       installed in $((SECONDS - started)) s ($(du -sh "$VENV" 2>/dev/null | cut -f1) on disk)"
fi
echo "demo: [3/3] running scripts/demo.py on the built-in sandbox (no API key, no credits)"
"$VPY" scripts/demo.py --out demo-output "$@"
echo "demo: done in $((SECONDS - started)) s; see demo-output/"
