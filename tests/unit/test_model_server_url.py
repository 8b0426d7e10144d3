"""Where requests to a model server go: the proxy HTTP(S)_PROXY and NO_PROXY name (read
once per backend), and credentials in its URL sent as HTTP Basic auth, never in the URL."""

from __future__ import annotations

import base64

import pytest

from agent.llm.http import env_proxy, split_credentials


def test_a_proxy_in_the_environment_is_used_for_its_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.delenv("HTTP_PROXY", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert env_proxy("https://llm.example.com/v1") == "http://proxy.internal:3128"
    assert env_proxy("http://llm.example.com/v1") is None


def test_no_proxy_names_hosts_reached_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "vllm.local,127.0.0.1")
    assert env_proxy("http://vllm.local:8000/v1") is None
    assert env_proxy("http://127.0.0.1:8000/v1") is None
    assert env_proxy("http://other.host:8000/v1") == "http://proxy.internal:3128"


def test_credentials_in_the_url_become_basic_auth() -> None:
    bare, basic = split_credentials("http://agent:p%40ss@gpu1:8000/v1")
    assert bare == "http://gpu1:8000/v1"
    assert basic is not None and base64.b64decode(basic.removeprefix("Basic ")) == b"agent:p@ss"
    assert split_credentials("http://[::1]:8000/v1") == ("http://[::1]:8000/v1", None)
