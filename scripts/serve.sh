#!/usr/bin/env bash
# Install what is needed (uv, the locked dependencies) and start the service.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
uv_run oss-agent serve
