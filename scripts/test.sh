#!/usr/bin/env bash
# Install what is needed (uv, dependencies, the docker compose CLI when root) and run
# the whole test suite. Extra arguments go to pytest. INSTALL_COMPOSE=0 skips the compose CLI.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
if [ "$(id -u)" = 0 ] && [ "${INSTALL_COMPOSE:-1}" != 0 ] && [ -f scripts/install-compose.sh ]; then
  bash scripts/install-compose.sh >/dev/null || echo "warning: docker compose CLI not installed" >&2
fi
exec "${UV_RUN[@]}" pytest "$@"
