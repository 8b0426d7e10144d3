"""A session's owner is written once: a claim never hands an owned session to another key.
Runs on every store the service can open (memory, SQLite, Postgres when reachable)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.checkpoint import open_store
from tests.integration.test_postgres import POSTGRES_URL, scratch_database, unreachable


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "memory":
        yield "memory://"
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'owners.db'}"
    else:
        reason = unreachable(POSTGRES_URL)
        if reason:
            pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not reachable: {reason}")
        with scratch_database(POSTGRES_URL) as url:
            yield url


async def test_a_claim_never_overwrites_the_owner(database_url: str) -> None:
    async with open_store(database_url, pool_size=2) as store:
        owners = store.owners
        await owners.claim("s-1", "alice")
        first = await owners.owned_by("alice")
        await owners.claim("s-1", "mallory")
        assert await owners.owner("s-1") == "alice"
        assert await owners.owned_by("alice") == first  # same row, same created time
        assert await owners.owned_by("mallory") == []
        await owners.forget("s-1")
        await owners.claim("s-1", "bob")  # a forgotten session may be claimed afresh
        assert await owners.owner("s-1") == "bob"
