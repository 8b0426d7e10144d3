"""Which of the project's files one streamed chat turn with a server tool passes through,
in the order each is first entered.

The service runs in this process under uvicorn (SQLite, the default store), the simulator
behind it answers with a `calculator` call and then the answer. A warm-up turn runs first,
so only what a turn does is listed, not start-up or first-use imports. Functions are
traced with `sys.setprofile` (calls only) while the measured turn runs.

    uv run python bench/request_path.py

Every file entered is listed, one called only for a check or a value (settings, metrics,
errors) too: a reader following the request meets it as well.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import threading
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("agent", "mcp_tools", "graph", "api")
QUESTION = "What is 25 * 8?"


def main() -> None:
    sys.path.insert(0, str(REPO))
    from tests.upstream_sim.fixtures import free_port, running_simulator

    with running_simulator() as sim, tempfile.TemporaryDirectory() as workdir:
        os.environ.update(
            LLM_BASE_URL=sim.base_url,
            DATABASE_URL=f"sqlite:///{Path(workdir) / 'sessions.db'}",
            MCP_CONFIG="",
        )
        files = asyncio.run(_traced_turn(sim.control, free_port()))
    for index, path in enumerate(files, 1):
        print(f"{index:3} {path}")
    print(f"{len(files)} files")


async def _traced_turn(control, port: int) -> list[str]:
    import uvicorn

    from api.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(), port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.05)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            await _turn(client, control)  # warm-up
            seen: dict[str, None] = {}
            _start_tracing(seen)
            try:
                await _turn(client, control)
            finally:
                sys.setprofile(None)
                threading.setprofile(None)  # type: ignore[arg-type]
    finally:
        server.should_exit = True
        await serving
    return list(seen)


async def _turn(client: httpx.AsyncClient, control) -> None:
    control.script(
        {
            "reasoning": "Use the calculator.",
            "tool_calls": [{"name": "calculator", "arguments": {"expression": "25 * 8"}}],
        },
        {"content": "25 * 8 = 200."},
    )
    body = {
        "model": "gpt-oss-20b",
        "stream": True,
        "messages": [{"role": "user", "content": QUESTION}],
    }
    async with client.stream("POST", "/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        text = "".join([chunk async for chunk in response.aiter_text()])
    if "200" not in text or "[DONE]" not in text:
        raise RuntimeError(f"the turn did not answer as scripted: {text[-500:]}")


def _start_tracing(seen: dict[str, None]) -> None:
    root = str(REPO) + os.sep

    def profile(frame, event, arg):
        if event == "call":
            name = frame.f_code.co_filename
            if name.startswith(root):
                relative = name[len(root) :]
                if relative.split(os.sep, 1)[0] in PACKAGES:
                    seen.setdefault(relative, None)

    sys.setprofile(profile)
    threading.setprofile(profile)


if __name__ == "__main__":
    main()
