"""CPU of the model-call path: our upstream client against the LangChain path it replaced.

Run: `uv run python bench/upstream_cpu.py [--rounds 7] [--tokens 2000] [--history 1000]`.

A fast stand-in server (the upstream simulator, in its own process) streams a reply of
`--tokens` content events (4 characters each, about a token). Each path reads it, runs
every delta through the same `ReplyParser` and keeps what it returns; the CPU time this
process spends (time.process_time, so the server's CPU is not counted) is divided by the
events read.

* new: `agent.llm.chat_completion.chat_answer` (aiohttp + orjson, the SSE events of each
  network read).
* step: the whole model step as the graph node reads it: `agent.llm.step.run_step`
  (backend pick, watch, strategy, the chat read above) through `StepRead`, its deltas
  written by the node's `StepText`. `step` minus `new` is what the step's layers cost per
  event here. The simulator sends as fast as it can, so a network read carries several
  events and the layers' cost per read is spread over them; `bench/matrix.py` paces the
  tokens as a real server does (a read per token, unloaded).
* old: LangChain `ChatOpenAI.astream` as agent/llm/chat_completion.py used it before
  (OpenAI SDK objects per chunk, LangChain chunks, `merged = merged + chunk` per chunk).
  It is kept only here, as the baseline.

A second measure sends a session of `--history` stored messages and gets a one-word
answer (not streamed): CPU per model call, mostly building the request.

Rounds alternate the paths (order shuffled per round); medians and ratios are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_openai import ChatOpenAI

from agent.llm.backend_config import single_backend
from agent.llm.backend_pool import BackendPool
from agent.llm.chat_completion import add_text, chat_answer
from agent.llm.http import ModelHttp, ModelServer, model_server
from agent.llm.step import run_step
from agent.llm.step_io import ModelCall, StepRead
from agent.llm.wire import chat_messages, request_body
from agent.messages import content_text
from agent.parsing import ReplyParser
from agent.settings import Settings
from graph.live_events import StepText
from tests.upstream_sim.control import SimControl
from tests.upstream_sim.fixtures import free_port, start_process

CHUNK = 4  # characters per streamed event: about a token
Path = Callable[[list[BaseMessage], bool], Awaitable[int]]


def history(length: int) -> list[BaseMessage]:
    """A stored session: user and assistant turns of a sentence or two each."""
    text = "Please look at the weather report for the city and summarise it briefly. " * 2
    turns = [HumanMessage(text) if i % 2 == 0 else AIMessage(text) for i in range(length - 1)]
    return [*turns, HumanMessage("stream please")]


def new_path(server: ModelServer) -> Path:
    async def call(messages: list[BaseMessage], stream: bool) -> int:
        parser = ReplyParser()
        seen = 0
        body = request_body(
            server.model, {}, stream, messages=chat_messages(messages, server.reasoning_field)
        )
        async for item in chat_answer(server, body, parser):
            if isinstance(item, list):
                seen += len(item)
        return seen

    return call


def step_path(pool: BackendPool) -> Path:
    async def call(messages: list[BaseMessage], stream: bool) -> int:
        written: list[dict[str, str]] = []
        text = StepText(written.append, [], None)
        async with StepRead(run_step(pool, ModelCall(messages, stream=stream))) as step:
            async for deltas in step:
                text.write(deltas)
        text.flush()
        return len(written)

    return call


def old_path(llm: ChatOpenAI) -> Path:
    async def call(messages: list[BaseMessage], stream: bool) -> int:
        parser = ReplyParser()
        deltas: list[tuple[str, str]] = []
        if not stream:
            message = await llm.ainvoke(messages)
            add_text(parser.content(content_text(message.content)), deltas)
            add_text(parser.close(), deltas)
            return len(deltas)
        merged = AIMessageChunk(content="")
        async for chunk in llm.astream(messages):
            add_text(parser.content(content_text(chunk.content)), deltas)
            merged = merged + chunk
        add_text(parser.close(), deltas)
        return len(deltas)

    return call


async def measure(path: Path, messages: list[BaseMessage], events: int, calls: int) -> float:
    """CPU seconds per streamed event of `calls` streamed calls that each read `events`
    content events, or per call when `events` is 0 (not streamed)."""
    started = time.process_time()
    for _ in range(calls):
        await path(messages, events > 0)
    spent = time.process_time() - started
    return spent / (events * calls) if events else spent / calls


async def run(args: argparse.Namespace, base_url: str, control: SimControl) -> None:
    settings = Settings(_env_file=None, llm_base_url=base_url, llm_max_retries=0)
    http = ModelHttp(settings.llm_timeout)
    pool = BackendPool.from_settings(settings)
    paths = {
        "new": new_path(model_server(settings, single_backend(settings), http)),
        "step": step_path(pool),
        "old": old_path(
            ChatOpenAI(
                model=settings.llm_model,
                base_url=base_url,
                api_key="unused",
                max_retries=0,
                stream_usage=True,
            )
        ),
    }
    words = " ".join(["tok"] * args.tokens)
    control.rule("stream please", {"content": words, "chunk_size": CHUNK})
    events = math.ceil(len(words) / CHUNK)
    short = [HumanMessage("stream please")]
    long = history(args.history)
    per_token: dict[str, list[float]] = {name: [] for name in paths}
    per_call: dict[str, list[float]] = {name: [] for name in paths}
    for path in paths.values():  # warm up both (imports, connections)
        await measure(path, short, events, 1)
    rng = random.Random(13)
    for _ in range(args.rounds):
        order = list(paths)
        rng.shuffle(order)
        for name in order:
            per_token[name].append(await measure(paths[name], short, events, 3))
            per_call[name].append(await measure(paths[name], long, 0, 3))
    await http.aclose()
    await pool.aclose()
    report(per_token, per_call, args)


def report(
    per_token: dict[str, list[float]], per_call: dict[str, list[float]], args: argparse.Namespace
) -> None:
    token = {name: statistics.median(values) for name, values in per_token.items()}
    call = {name: statistics.median(values) for name, values in per_call.items()}
    print(f"{args.rounds} rounds, a {args.tokens}-event stream, a {args.history}-message session")
    print(f"{'path':<6} {'CPU µs per event':>18} {'CPU ms per call':>18}")
    for name in ("old", "new", "step"):
        print(f"{name:<6} {token[name] * 1e6:>18.1f} {call[name] * 1e3:>18.1f}")
    print(
        f"new/old: per event {token['new'] / token['old']:.3f}, "
        f"per {args.history}-message call {call['new'] / call['old']:.3f}"
    )
    print(
        f"step/new: per event {token['step'] / token['new']:.3f} "
        f"({(token['step'] - token['new']) * 1e6:+.1f} µs for the step's layers)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--history", type=int, default=1000)
    args = parser.parse_args()
    port = free_port()
    command = [sys.executable, "-m", "tests.upstream_sim", "--host", "127.0.0.1"]
    with start_process([*command, "--port", str(port)], {}, f"http://127.0.0.1:{port}/health"):
        base_url = f"http://127.0.0.1:{port}/v1"
        asyncio.run(run(args, base_url, SimControl(base_url)))


if __name__ == "__main__":
    main()
