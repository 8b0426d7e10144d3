"""`oss-agent serve` refuses bad settings with exit code 2 and names each variable."""

from __future__ import annotations

import os
import subprocess

from tests.integration.service import OSS_AGENT


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
        **os.environ,
        "LLM_API_KEY": "sk-very-secret",
        "API_PORT": "1",
        "DATABASE_URL": "postgresql://agent:pw123@127.0.0.1:1/x",
    }
    proc = subprocess.Popen(
        [OSS_AGENT, "serve"],
        env=env,
        cwd=tmp_path,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        output, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
    assert "LLM_API_KEY" in output and "****" in output
    assert "sk-very-secret" not in output and "pw123" not in output
