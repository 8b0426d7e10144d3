from __future__ import annotations

import pytest
from pydantic import ValidationError

from agent.settings import Settings, ToolCallMode, describe_errors, mask_url_password


def make(**env: str) -> Settings:
    return Settings(_env_file=None, **env)


def test_defaults_match_the_documented_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make()
    assert settings.llm_base_url == "http://localhost:8000/v1"
    assert settings.llm_model == "openai/gpt-oss-20b"
    assert (settings.api_host, settings.api_port) == ("127.0.0.1", 8080)
    assert settings.database_url.startswith("sqlite:///")
    assert settings.tool_call_mode is ToolCallMode.AUTO


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_BASE_URL", "http://vllm:8000/v1/")
    monkeypatch.setenv("TOOLS_ENABLED", "calculator, http_fetch")
    monkeypatch.setenv("TOOLS_FETCH_ALLOW", "10.0.0.0/8,intranet")
    settings = make()
    assert settings.llm_base_url == "http://vllm:8000/v1"
    assert settings.tools_enabled == ["calculator", "http_fetch"]
    assert settings.tools_fetch_allow == ["10.0.0.0/8", "intranet"]


def test_tools_enabled_none_disables_builtins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOLS_ENABLED", "none")
    assert make().tools_enabled == []


def test_every_bad_variable_is_named_with_what_it_expects(monkeypatch) -> None:
    monkeypatch.setenv("API_PORT", "70000")
    monkeypatch.setenv("DATABASE_URL", "mysql://x")
    monkeypatch.setenv("TOOLS_ENABLED", "calculator,teleport")
    monkeypatch.setenv("REASONING_EFFORT", "extreme")
    with pytest.raises(ValidationError) as info:
        make()
    lines = describe_errors(info.value)
    text = "\n".join(lines)
    assert len(lines) == 4
    assert "API_PORT" in text and "65535" in text
    assert "DATABASE_URL" in text and "sqlite:///" in text
    assert "TOOLS_ENABLED" in text and "teleport" in text
    assert "REASONING_EFFORT: expected low, medium or high" in text


def test_masked_hides_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_API_KEY", "sk-secret")
    monkeypatch.setenv("DATABASE_URL", "postgresql://agent:pw@db:5432/x")
    shown = make().masked()
    assert shown["LLM_API_KEY"] == "****"
    assert shown["API_KEY"] == ""
    assert shown["DATABASE_URL"] == "postgresql://agent:****@db:5432/x"
    assert "sk-secret" not in str(shown)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:p@h/db", "postgresql://u:****@h/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("sqlite:///./data/x.db", "sqlite:///./data/x.db"),
    ],
)
def test_mask_url_password(url: str, masked: str) -> None:
    assert mask_url_password(url) == masked


def test_builtin_tools_are_named_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUILTIN_TOOLS", "python, browser")
    assert make().builtin_tools == ["python", "browser"]
    assert make(builtin_tools="none").builtin_tools == []
    monkeypatch.setenv("BUILTIN_TOOLS", "python,shell")
    monkeypatch.setenv("PYTHON_TOOL_INTERPRETER", "/opt/venv/bin/python")
    with pytest.raises(ValidationError) as info:
        make()
    text = "\n".join(describe_errors(info.value))
    assert "BUILTIN_TOOLS" in text and "shell" in text
    assert "PYTHON_TOOL_INTERPRETER" in text and "/usr" in text


def test_builtin_tools_are_off_by_default() -> None:
    assert make().builtin_tools == []
