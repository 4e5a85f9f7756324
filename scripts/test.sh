#!/usr/bin/env bash
# Sets up ./.venv if needed, then runs the Python tests and the web extension's JavaScript tests.
# Any failure, and a run that collected no test at all (pytest exit code 5), fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "$#" -eq 0 ]; then set -- tests; fi
.venv/bin/python -m pytest "$@"
if [ -d web/tests ]; then
  node --test web/tests/
fi
