"""`langgraph dev` serves graph/studio.py offline: Studio's schemas, a tool turn, thread memory.

The server runs the repository's langgraph.json from a scratch directory (its `.langgraph_api/`
files, `.env` and `mcp.json` lookups stay there), with its graph paths anchored at the repository.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graph.studio import make_graph
from tests.upstream_sim.fixtures import REPO_ROOT, SimServer, free_port, start_process

LANGGRAPH = Path(sys.executable).with_name("langgraph")

# Everything `langgraph dev` would reach beyond loopback (found with `strace -e connect`):
OFFLINE_ENV = {
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",  # langgraph_cli: usage analytics to supabase.co
    "LANGGRAPH_NO_VERSION_CHECK": "true",  # langgraph_api: newer-version check on pypi.org
    "LANGSMITH_TRACING": "false",  # no LangSmith traces (with or without an API key)
    "LANGCHAIN_TRACING_V2": "false",
    "LANGSMITH_API_KEY": "",  # no key: no LangSmith metadata loop
    "LANGCHAIN_API_KEY": "",
}

pytestmark = pytest.mark.skipif(
    not LANGGRAPH.exists(), reason=f"langgraph CLI not installed ({LANGGRAPH}); uv sync --dev"
)


def scratch_config(workdir: Path) -> Path:
    """The repository's langgraph.json with its graph and dependency paths made absolute."""
    config = json.loads((REPO_ROOT / "langgraph.json").read_text())
    for name, target in config["graphs"].items():
        path, _, attribute = target.partition(":")
        assert (REPO_ROOT / path).is_file(), f"graph {name!r} points at a missing file {path}"
        config["graphs"][name] = f"{(REPO_ROOT / path).resolve()}:{attribute}"
    config["dependencies"] = [str((REPO_ROOT / dep).resolve()) for dep in config["dependencies"]]
    target = workdir / "langgraph.json"
    target.write_text(json.dumps(config))
    return target


@pytest.fixture(scope="module")
def server(sim_server: SimServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a `langgraph dev` process whose model is the simulator."""
    workdir = tmp_path_factory.mktemp("langgraph-dev")
    port = free_port()
    cmd = [str(LANGGRAPH), "dev", "--no-browser", "--no-reload", "--port", str(port)]
    cmd += ["--config", str(scratch_config(workdir))]
    env = {
        **OFFLINE_ENV,
        "LLM_BASE_URL": sim_server.base_url,
        "USE_MCP_TOOLS": "false",
        "TOOLS_ENABLED": "calculator",
        "LLM_TIMEOUT": "10",
        "LLM_MAX_RETRIES": "0",
    }
    url = f"http://127.0.0.1:{port}"
    with start_process(cmd, env, f"{url}/ok", timeout=60, cwd=workdir):
        yield url


@pytest.fixture
def client(server: str, sim: SimServer) -> Any:
    from langgraph_sdk import get_sync_client

    return get_sync_client(url=server, api_key=None)


def run_turn(client: Any, thread_id: str, text: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """Stream one run of the agent on a thread; every (event, data) part."""
    parts = client.runs.stream(
        thread_id,
        "agent",
        input={"messages": [{"role": "user", "content": text}]},
        stream_mode=["updates", "values", "messages-tuple"],
        **kwargs,
    )
    return [(part.event, part.data) for part in parts]


async def test_the_exported_graph_leaves_persistence_to_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer .env or mcp.json
    monkeypatch.setenv("USE_MCP_TOOLS", "false")
    async with make_graph({}) as graph:
        assert graph.checkpointer is None
        assert {"start_turn", "call_model", "run_tools"} <= set(graph.nodes)


def test_studio_gets_the_chat_input_and_the_context_as_configuration(client: Any) -> None:
    assistant = client.assistants.search(graph_id="agent")[0]
    schemas = client.assistants.get_schemas(assistant["assistant_id"])
    assert set(schemas["input_schema"]["properties"]) == {"messages"}
    fields = set(schemas["context_schema"]["properties"])
    wanted = {"model", "temperature", "reasoning_effort", "tool_call_mode", "enabled_tools"}
    assert wanted <= fields


def test_tool_call_runs_on_the_server_and_lands_in_the_thread(client: Any, sim: SimServer) -> None:
    sim.control.script(
        {"tool_calls": [{"name": "calculator", "arguments": {"expression": "25*8"}}]},
        {"content": "25*8 is 200."},
    )
    thread = client.threads.create()
    parts = run_turn(client, thread["thread_id"], "What is 25*8?", context={"temperature": 0.3})
    assert "error" not in [event for event, _ in parts], parts
    nodes = [next(iter(data)) for event, data in parts if event == "updates"]
    assert nodes == ["start_turn", "call_model", "run_tools", "call_model"]
    streamed = [data[0] for event, data in parts if event == "messages"]
    assert [(m["type"], m["content"]) for m in streamed] == [
        ("ai", ""),
        ("tool", "200"),
        ("ai", "25*8 is 200."),
    ]
    messages = client.threads.get_state(thread["thread_id"])["values"]["messages"]
    assert [m["type"] for m in messages] == ["human", "ai", "tool", "ai"]
    assert messages[1]["tool_calls"][0]["name"] == "calculator"
    assert (messages[2]["name"], messages[2]["content"]) == ("calculator", "200")
    assert messages[2]["tool_call_id"] == messages[1]["tool_calls"][0]["id"]
    assert messages[3]["content"] == "25*8 is 200."
    bodies = sim.control.bodies()
    assert [body.get("temperature") for body in bodies] == [0.3, 0.3]
    assert bodies[1]["messages"][-1] == {
        "role": "tool",
        "content": "200",
        "tool_call_id": messages[1]["tool_calls"][0]["id"],
    }


def test_studio_shows_the_cleaned_reply_not_the_raw_chunks(client: Any, sim: SimServer) -> None:
    """The chat view ("messages" mode) shows what an API client gets: markup split across
    deltas never appears, reasoning and content are apart."""
    raw = (
        "<|channel|>analysis<|message|>Think first.<|end|>"
        "<|start|>assistant<|channel|>final<|message|>Hello there.<|return|>"
    )
    sim.control.script({"content": raw, "chunk_size": 3})
    thread = client.threads.create()
    parts = run_turn(client, thread["thread_id"], "Hi")
    streamed = [data[0] for event, data in parts if event == "messages"]
    assert [(m["type"], m["content"]) for m in streamed] == [("ai", "Hello there.")]
    assert streamed[0]["additional_kwargs"]["reasoning"] == "Think first."
    state = client.threads.get_state(thread["thread_id"])["values"]["messages"]
    assert state[-1]["content"] == "Hello there."


def test_a_system_message_from_studio_becomes_the_instructions(client: Any, sim: SimServer) -> None:
    thread = client.threads.create()
    parts = client.runs.stream(
        thread["thread_id"],
        "agent",
        input={
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
            ]
        },
        stream_mode=["values"],
    )
    assert "error" not in [part.event for part in parts]
    values = client.threads.get_state(thread["thread_id"])["values"]
    assert values["instructions"] == "Be brief."
    assert [m["type"] for m in values["messages"]] == ["human", "ai"]
    assert sim.control.bodies()[-1]["messages"][0] == {"role": "system", "content": "Be brief."}


def test_a_thread_remembers_earlier_turns(client: Any, sim: SimServer) -> None:
    thread = client.threads.create()
    run_turn(client, thread["thread_id"], "I am Ada.")
    run_turn(client, thread["thread_id"], "Who am I?", context={"reasoning_effort": "high"})
    sent = sim.control.bodies()[-1]
    assert [m["content"] for m in sent["messages"][1:]] == [
        "I am Ada.",
        "echo: I am Ada.",
        "Who am I?",
    ]
    assert sent["reasoning_effort"] == "high"
    values = client.threads.get_state(thread["thread_id"])["values"]
    assert [m["content"] for m in values["messages"]][-1] == "echo: Who am I?"
