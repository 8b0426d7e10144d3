"""`oss-agent serve` refuses bad settings with exit code 2 and names each variable."""

from __future__ import annotations

import os
import subprocess

from tests.integration.service import OSS_AGENT, Service


def test_bad_settings_exit_2(tmp_path) -> None:
    env = {**os.environ, "API_PORT": "eighty", "LLM_BASE_URL": "ftp://x", "TOOL_CALL_MODE": "magic"}
    result = subprocess.run(
        [OSS_AGENT, "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    for name in ("API_PORT", "LLM_BASE_URL", "TOOL_CALL_MODE"):
        assert name in result.stderr
    assert "http://" in result.stderr  # says what is expected


def test_banner_masks_secrets(tmp_path) -> None:
    env = {
        "LLM_BASE_URL": "http://127.0.0.1:9/v1",
        "LLM_API_KEY": "sk-very-secret",
        "API_KEY": "client-secret",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "USE_MCP_TOOLS": "false",
    }
    service = Service(env, tmp_path).start()
    service.stop()
    output = service.output()
    assert "LLM_API_KEY" in output and "API_KEY" in output and "****" in output
    assert "sk-very-secret" not in output and "client-secret" not in output


def test_bad_team_files_exit_2(tmp_path) -> None:
    backends = tmp_path / "backends.yaml"
    backends.write_text("- {name: gpu1, base_url: gpu1, models: [m]}\n")
    cases = [
        ({"LLM_BACKENDS_FILE": str(backends)}, "base_url"),
        ({"API_KEYS_FILE": str(tmp_path / "missing-keys")}, "missing-keys"),
    ]
    for extra, words in cases:
        env = {**os.environ, "API_KEYS": "k-secret-1", **extra}
        result = subprocess.run(
            [OSS_AGENT, "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 2, result.stderr
        assert words in result.stderr and "k-secret-1" not in result.stderr


def test_key_settings_that_yield_no_key_exit_2(tmp_path) -> None:
    """Keys were asked for but none came out: refuse rather than run open by accident."""
    comments = tmp_path / "keys.txt"
    comments.write_text("# team keys\n\n   \n")
    cases = [
        ({"API_KEYS_FILE": str(comments)}, ["API_KEYS_FILE", "keys.txt", "holds no key"]),
        ({"API_KEYS": ","}, ["API_KEYS", "holds no key"]),
        ({"API_KEYS": " , "}, ["API_KEYS", "holds no key"]),
    ]
    for extra, words in cases:
        env = {**os.environ, "LLM_BASE_URL": "http://127.0.0.1:9/v1", **extra}
        env.pop("API_KEY", None)
        result = subprocess.run(
            [OSS_AGENT, "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 2, (extra, result.stderr)
        said = " ".join(result.stderr.split())  # the console wraps long lines
        for word in words:
            assert word in said, (extra, result.stderr)
