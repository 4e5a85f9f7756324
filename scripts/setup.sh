#!/usr/bin/env bash
# Creates the virtual environments the tests use. Safe to run again: it only installs what is
# missing. Prints one line a step.
#
#   .venv          the tests: the pack's runtime requirements, what ComfyUI would bring (torch,
#                  PyAV, aiohttp) and the test tools (pytest, Node.js from the package registry for
#                  the web extension's tests, Playwright for Python for the browser tests).
#   .venv-comfyui  ComfyUI's own Python, made only when a ComfyUI checkout is found (COMFYUI_DIR,
#                  or ../shared/comfyui beside the pack) and COMFYUI_PYTHON is not set: ComfyUI's
#                  requirements.txt as it stands plus the pack's requirements.txt, the way a user
#                  installs them. The real-ComfyUI tests run ComfyUI with it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
started=$SECONDS

venv_python() {  # the interpreter of a virtual environment, on POSIX or Windows
  if [ -x "$1/bin/python" ]; then echo "$1/bin/python"; else echo "$1/Scripts/python.exe"; fi
}
make_venv() {
  if [ ! -x "$1/bin/python" ] && [ ! -x "$1/Scripts/python.exe" ]; then
    echo "setup: creating $1 with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv "$1"
  fi
}
satisfied() {  # whether an environment already holds every requirement given (nothing to install)
  local python="$1" out; shift
  out="$("$python" -m pip install --dry-run --no-index --disable-pip-version-check "$@" 2>&1)" || return 1
  ! grep -q "^Would install" <<<"$out"
}
pip_install() {
  local python="$1"; shift
  "$python" -m pip install --disable-pip-version-check --quiet --progress-bar off "$@"
}

make_venv .venv
VPY="$(venv_python .venv)"
if satisfied "$VPY" -r requirements.txt -r requirements-test.txt; then
  echo "setup: .venv has every test requirement"
else
  echo "setup: installing the tests' requirements into .venv (torch CPU, PyAV, pytest, Node.js, Playwright, the pack's own; about 0.5 GB to download, 1.7 GB on disk the first time)"
  pip_install "$VPY" -r requirements.txt -r requirements-test.txt
  echo "setup:   done at $((SECONDS - started)) s"
fi

COMFY="${COMFYUI_DIR:-../shared/comfyui}"
if [ -n "${COMFYUI_PYTHON:-}" ]; then
  echo "setup: ComfyUI runs with COMFYUI_PYTHON=$COMFYUI_PYTHON (nothing installed for it)"
elif [ -f "$COMFY/requirements.txt" ]; then
  make_venv .venv-comfyui
  CPY="$(venv_python .venv-comfyui)"
  if satisfied "$CPY" -r "$COMFY/requirements.txt" -r requirements.txt; then
    echo "setup: .venv-comfyui has ComfyUI's requirements and the pack's"
  else
    echo "setup: installing $COMFY/requirements.txt and the pack's requirements.txt into .venv-comfyui (torch, torchvision, torchaudio and the rest: about 3.5 GB to download, 7 GB on disk the first time)"
    pip_install "$CPY" -r "$COMFY/requirements.txt" -r requirements.txt
    echo "setup:   done at $((SECONDS - started)) s"
  fi
else
  echo "setup: no ComfyUI at $COMFY (set COMFYUI_DIR to run the real-ComfyUI tests); they will skip"
fi
