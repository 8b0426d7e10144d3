"""The vLLM flags that docker/compose.yaml and the docs (Tool-call modes) give users are the
ones the engine tier starts the real vLLM with (scripts/engine.sh), so its tests check them."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def engine_flags() -> list[tuple[str, str | None]]:
    script = (ROOT / "scripts" / "engine.sh").read_text()
    parser_flags = re.search(r"flags=\(([^)]*)\)", script).group(1).split()
    reasoning = re.search(r"--reasoning-parser (\S+)", script).group(1)
    pairs: list[tuple[str, str | None]] = [("--reasoning-parser", reasoning)]
    for i, token in enumerate(parser_flags):
        if token.startswith("--"):
            value = parser_flags[i + 1] if i + 1 < len(parser_flags) else None
            pairs.append((token, None if value is None or value.startswith("--") else value))
    return pairs


def test_engine_script_uses_the_gpt_oss_parsers() -> None:
    assert set(engine_flags()) == {
        ("--tool-call-parser", "openai"),
        ("--enable-auto-tool-choice", None),
        ("--reasoning-parser", "openai_gptoss"),
    }


def test_compose_starts_vllm_with_the_engine_flags() -> None:
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    command = [str(token) for token in compose["services"]["vllm"]["command"]]
    for flag, value in engine_flags():
        assert flag in command, flag
        if value is not None:
            assert command[command.index(flag) + 1] == value, flag


def test_documented_vllm_command_has_the_engine_flags() -> None:
    page = (ROOT / "docs" / "tool-call-modes.md").read_text()
    serve = re.search(r"vllm serve openai/gpt-oss-20b (.*?)#", page, re.DOTALL).group(1)
    words = serve.replace("\\\n", " ").split()
    for flag, value in engine_flags():
        assert flag in words, flag
        if value is not None:
            assert words[words.index(flag) + 1] == value, flag
