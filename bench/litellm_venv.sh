#!/usr/bin/env bash
# Install the LiteLLM proxy in a venv of its own (bench/.litellm-venv, git-ignored), for the
# LiteLLM column of `python bench/matrix.py`. Never part of the project's own environment.
# The version is pinned (LITELLM_VERSION to change it; LITELLM_PYTHON picks the interpreter);
# 1.107.0 is reported as a compromised release; newer [proxy] extras pin litellm-proxy-extras builds
# that PyPI mirrors may lack.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.litellm-venv"
version="${LITELLM_VERSION:-1.106.12}"
uv() { if command -v uv >/dev/null; then command uv "$@"; else python3 -m uv "$@"; fi; }
uv venv --quiet --allow-existing --python "${LITELLM_PYTHON:-python3}" "$venv"
uv pip install --quiet --python "$venv/bin/python" "litellm[proxy]==$version"
"$venv/bin/litellm" --version >/dev/null 2>&1 || "$venv/bin/python" -c "import litellm"
echo "LiteLLM $version in $venv"
