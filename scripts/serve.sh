#!/usr/bin/env bash
# Install what is needed (uv, the locked dependencies) and start the service.
# Arguments go to `oss-agent serve`, e.g. `./scripts/serve.sh --demo` (the built-in demo model).
# The script becomes the service (exec): `kill PID` or Ctrl-C stops it.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
exec "${UV_RUN[@]}" oss-agent serve "$@"
