"""Backends registered or removed at run time (POST and DELETE /v1/backends), kept in the
session store's database so that every process using it serves the same ones: a small
table beside the sessions, read by each process every BACKEND_SYNC_INTERVAL seconds.

A row holds a backend's spec, or none once the backend was removed (so a process that
still serves it, even from LLM_BACKENDS_FILE, takes it out). Each write gets a higher
version; a process applies a row whose version it has not applied yet. The table is read
whole: it holds a handful of rows.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from agent.llm.backend_config import BackendSpec
from agent.llm.backend_pool import BackendPool
from graph.store.sql import Run, postgres_runner, sqlite_runner

logger = logging.getLogger(__name__)

CREATE = """CREATE TABLE IF NOT EXISTS registered_backends (
    name TEXT PRIMARY KEY, spec TEXT, version BIGINT NOT NULL)"""
NEXT_SQLITE = "(SELECT COALESCE(MAX(version), 0) + 1 FROM registered_backends)"
NEXT_POSTGRES = "nextval('registered_backends_version')"
SEQUENCE_POSTGRES = "CREATE SEQUENCE IF NOT EXISTS registered_backends_version"


class BackendRegistry:
    """The table, on SQLite (the saver's connection) or Postgres (a psycopg pool), and what
    this process has applied of it."""

    def __init__(self, run: Run, placeholder: str, next_version: str) -> None:
        self._run = run
        self._p = placeholder
        self._next = next_version
        self._applied: dict[str, int] = {}

    async def put(self, spec: BackendSpec) -> None:
        """Store `spec` (replacing one of its name) for every process."""
        await self._write(spec.name, json.dumps(stored_form(spec)))

    async def remove(self, name: str) -> None:
        """Mark `name` removed for every process (one from LLM_BACKENDS_FILE too)."""
        await self._write(name, None)

    async def names(self) -> set[str]:
        """The backends registered and not removed, by any process."""
        rows = await self._run("SELECT name FROM registered_backends WHERE spec IS NOT NULL", ())
        return {str(row[0]) for row in rows}

    async def sync(self, pool: BackendPool) -> None:
        """Apply to `pool` what was registered or removed since this process last looked."""
        for name, spec, version in await self._run(
            "SELECT name, spec, version FROM registered_backends", ()
        ):
            if self._applied.get(name) == version:
                continue
            self._applied[name] = version
            if spec is None:
                pool.remove(name)
                continue
            try:
                pool.register(BackendSpec.model_validate(json.loads(spec)))
            except ValueError as exc:  # written by another version of oss-agent, say
                logger.warning("registered backend %r left out: %s", name, exc)

    async def follow(self, pool: BackendPool, interval: float) -> None:
        """`sync` every `interval` seconds until cancelled; a failed read waits for the next."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sync(pool)
            except Exception as exc:
                logger.warning("could not read the registered backends: %s", exc)

    async def _write(self, name: str, spec: str | None) -> None:
        p = self._p
        rows = await self._run(
            f"INSERT INTO registered_backends (name, spec, version) VALUES ({p}, {p}, "
            f"{self._next}) ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, "
            f"version = excluded.version RETURNING version",
            (name, spec),
        )
        self._applied[name] = int(rows[0][0])  # this process has it already


def stored_form(spec: BackendSpec) -> dict[str, Any]:
    """The spec as JSON, its API key in clear (the other processes need it to call)."""
    key = spec.api_key.get_secret_value() if spec.api_key else None
    return {**spec.model_dump(mode="json", exclude={"api_key"}), "api_key": key}


async def sqlite_registry(saver: Any) -> BackendRegistry:
    """The table on the SQLite saver's connection, inline (graph/store/sqlite.py)."""
    run = sqlite_runner(saver)
    await run(CREATE, ())
    return BackendRegistry(run, "?", NEXT_SQLITE)


async def postgres_registry(pool: Any) -> BackendRegistry:
    """The table in the Postgres database of the checkpoints."""
    run = postgres_runner(pool)
    await run(CREATE, ())
    await run(SEQUENCE_POSTGRES, ())
    return BackendRegistry(run, "%s", NEXT_POSTGRES)
