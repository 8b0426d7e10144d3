#!/usr/bin/env bash
# Make sure uv is available and the project's environment matches uv.lock.
# Sourced by serve.sh and test.sh; defines `uv_run`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! python3 -m uv --version >/dev/null 2>&1; then
  echo "installing uv with pip..." >&2
  python3 -m pip install --quiet uv 2>/dev/null || python3 -m pip install --quiet --user uv
fi
# No "$@" here: a sourced script sees its caller's arguments, which belong to pytest.
python3 -m uv sync --locked --quiet

uv_run() { python3 -m uv run --locked --no-sync "$@"; }
