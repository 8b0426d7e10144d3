"""Fixtures of the engine tier: one vLLM with gpt-oss tool parsing, one without (both
started together, once per session), and oss-agent services pointed at them."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.engine import Engine, build_engine
from tests.integration.conftest import service_env
from tests.integration.service import Service

MODEL = "openai/gpt-oss-20b"
# Each engine test module is marked with this (the first test also waits for vLLM to start).
ENGINE = [pytest.mark.engine, pytest.mark.timeout(900)]


class Running:
    """Engines already serving (ENGINE_URL / ENGINE_PLAIN_URL, from `scripts/engine.sh start`)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")


@pytest.fixture(scope="session")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Engine | Running]]:
    if os.environ.get("ENGINE_URL") and os.environ.get("ENGINE_PLAIN_URL"):
        yield {"parser": Running(os.environ["ENGINE_URL"]),
               "plain": Running(os.environ["ENGINE_PLAIN_URL"])}  # fmt: skip
        return
    build_engine()
    began = time.monotonic()
    logs = tmp_path_factory.mktemp("vllm")
    running = {"parser": Engine(logs), "plain": Engine(logs, tool_parser=False)}
    try:
        for engine in running.values():
            engine.wait_ready()
        print(f"\nengine tier: vLLM ready in {time.monotonic() - began:.0f} s")
        yield running
    finally:
        for engine in running.values():
            engine.stop()


@pytest.fixture(scope="session")
def engine(engines: dict[str, Engine]) -> Engine:
    """vLLM started with --tool-call-parser openai --enable-auto-tool-choice."""
    return engines["parser"]


@pytest.fixture(scope="session")
def plain_engine(engines: dict[str, Engine]) -> Engine:
    """vLLM started without a tool-call parser."""
    return engines["plain"]


def agent_service(engine: Engine, workdir: Path, **settings: str) -> Service:
    env = service_env(
        engine.base_url, workdir, LLM_MODEL=MODEL, LLM_TIMEOUT="120", TOOLS_ENABLED="calculator",
        **settings,
    )  # fmt: skip
    return Service(env, workdir).start(timeout=60)


def tool_results(svc: Service, session: str) -> list[tuple[str, str]]:
    """(tool name, result) of every tool message the session stored, in order."""
    with svc.http() as http:
        messages = http.get(f"/v1/sessions/{session}").json()["messages"]
    names = {c["id"]: c["function"]["name"] for m in messages for c in m.get("tool_calls") or []}
    return [(names[m["tool_call_id"]], m["content"]) for m in messages if m["role"] == "tool"]


@pytest.fixture(scope="module", params=["auto", "native", "harmony"])
def agent(
    request: pytest.FixtureRequest, engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """oss-agent in each tool-call mode, against the engine with the tool parser."""
    workdir = tmp_path_factory.mktemp(f"agent-{request.param}")
    svc = agent_service(engine, workdir, TOOL_CALL_MODE=request.param)
    yield svc
    svc.stop()
