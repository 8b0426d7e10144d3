#!/usr/bin/env bash
# Make sure uv is available and the project's environment matches uv.lock.
# Sourced by serve.sh and test.sh; defines UV_RUN, the command prefix that runs in the
# project's environment. Callers `exec "${UV_RUN[@]}" ...`: uv forwards SIGTERM and SIGINT to
# its child, so `kill` on the script's PID stops what it started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# uv: the `uv` command, else the module of this python3 (installed with pip when missing).
# The command comes first: inside the project's venv, python3 is the venv's, without uv.
if command -v uv >/dev/null 2>&1; then
  UV=(uv)
else
  if ! python3 -m uv --version >/dev/null 2>&1; then
    echo "installing uv with pip..." >&2
    python3 -m pip install --quiet uv 2>/dev/null || python3 -m pip install --quiet --user uv
  fi
  UV=(python3 -m uv)
fi
# No "$@" here: a sourced script sees its caller's arguments, which belong to pytest.
# --compile-bytecode: each service start (tests start hundreds) then skips compiling every
# module from source, which costs about 2 s of CPU under PYTHONDONTWRITEBYTECODE=1.
"${UV[@]}" sync --locked --quiet --compile-bytecode

UV_RUN=("${UV[@]}" run --locked --no-sync)
