"""The backend registry's table on a real SQLite file: versions per write, what a process
applies, and a row it cannot read left out without stopping the others."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agent.llm.backend_config import BackendSpec
from agent.llm.backend_pool import BackendPool
from agent.settings import Settings
from graph.store.backend_registry import sqlite_registry
from graph.store.sqlite import open_inline_saver


def spec(name: str, model: str) -> BackendSpec:
    return BackendSpec(name=name, base_url="http://127.0.0.1:9/v1", models=[model])


def test_a_process_applies_each_write_once_and_skips_a_row_it_cannot_read(
    tmp_path: Path,
) -> None:
    async def run() -> tuple[list[str], list[str]]:
        settings = Settings(_env_file=None)
        with open_inline_saver(tmp_path / "s.db") as saver:
            writer, reader = await sqlite_registry(saver), await sqlite_registry(saver)
            pool = BackendPool(settings, [], catch_all=False)
            await writer.put(spec("c", "extra"))
            saver.run(
                "INSERT INTO registered_backends (name, spec, version) VALUES ('x', ?, 99)",
                ('{"name": "x", "unknown_field": 1}',),
            )
            await reader.sync(pool)
            first = sorted(pool.backends)
            pool.backends["c"].healthy = False  # a re-applied row would make a new backend
            await reader.sync(pool)
            assert pool.backends["c"].healthy is False
            await writer.remove("c")
            await writer.put(spec("d", "later"))
            await reader.sync(pool)
            await pool.aclose()
            return first, sorted(pool.backends)

    first, then = asyncio.run(run())
    assert first == ["c"] and then == ["d"]
