"""Parser throughput in MB/s of model text, per dialect, full parse and streaming.

Run: `uv run python bench/parser_throughput.py`. Each dialect parses a set of typical
outputs (reasoning, a preamble, a call with a few hundred bytes of arguments, a final
answer). Streaming feeds token-sized deltas (4 characters). Two baselines over the
same bytes are measured in the same run: `str.split` on the marker and `json.loads`
of the text as a JSON string; ratios are parser speed / json.loads speed.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable

from agent.parsing import dialect_names, get_dialect

TOOLS = ["get_weather", "search_docs"]
TOKEN_CHARS = 4
OUTPUTS_PER_DIALECT = 300
REPEATS = 3

WORDS = ["we", "need", "to", "check", "the", "weather", "in", "the", "city", "and", "then"]


def prose(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def arguments(rng: random.Random) -> str:
    payload = {"query": prose(rng, 30), "filters": {"lang": "en", "tags": WORDS[:8]}, "k": 5}
    return json.dumps(payload)


def harmony_output(rng: random.Random) -> str:
    return (
        f"<|channel|>analysis<|message|>{prose(rng, 150)}<|end|>"
        f"<|start|>assistant<|channel|>commentary<|message|>{prose(rng, 10)}<|end|>"
        "<|start|>assistant<|channel|>commentary to=functions.search_docs <|constrain|>json"
        f"<|message|>{arguments(rng)}<|call|>"
        f"<|start|>assistant<|channel|>final<|message|>{prose(rng, 80)}<|return|>"
    )


def hermes_output(rng: random.Random) -> str:
    call = json.dumps({"name": "search_docs", "arguments": json.loads(arguments(rng))})
    return (
        f"<think>{prose(rng, 150)}</think>\n{prose(rng, 10)}\n"
        f"<tool_call>\n{call}\n</tool_call>\n{prose(rng, 80)}"
    )


def json_output(rng: random.Random) -> str:
    call = json.dumps({"name": "search_docs", "parameters": json.loads(arguments(rng))})
    return f"{prose(rng, 150)}\n```json\n{call}\n```\n{prose(rng, 80)}"


GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "auto": harmony_output,  # auto mode on a server that leaves harmony in content
    "harmony": harmony_output,
    "hermes": hermes_output,
    "json": json_output,
}


def best_seconds(run: Callable[[], object]) -> float:
    timings = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        timings.append(time.perf_counter() - start)
    return min(timings)


def full_parse(dialect: str, texts: list[str]) -> None:
    parser = get_dialect(dialect)
    for text in texts:
        parser.parse(text, TOOLS)


def streaming(dialect: str, deltas: list[list[str]]) -> None:
    parser = get_dialect(dialect)
    for pieces in deltas:
        stream = parser.stream(TOOLS)
        for piece in pieces:
            stream.feed(piece)
        stream.close()


def measure(dialect: str, texts: list[str]) -> dict[str, float]:
    """MB/s of each mode over `texts`."""
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    encoded = [json.dumps(t) for t in texts]
    deltas = [[t[i : i + TOKEN_CHARS] for i in range(0, len(t), TOKEN_CHARS)] for t in texts]
    runs: dict[str, Callable[[], object]] = {
        "str.split": lambda: [t.split("<") for t in texts],
        "json.loads": lambda: [json.loads(e) for e in encoded],
        "full": lambda: full_parse(dialect, texts),
        "streaming": lambda: streaming(dialect, deltas),
    }
    return {mode: megabytes / best_seconds(run) for mode, run in runs.items()}


def main() -> None:
    rng = random.Random(7)
    print(f"{'dialect':8} {'mode':10} {'MB/s':>8} {'x json.loads':>13}")
    for dialect in dialect_names():
        texts = [GENERATORS[dialect](rng) for _ in range(OUTPUTS_PER_DIALECT)]
        speeds = measure(dialect, texts)
        for mode, speed in speeds.items():
            print(f"{dialect:8} {mode:10} {speed:8.1f} {speed / speeds['json.loads']:13.3f}")


if __name__ == "__main__":
    main()
