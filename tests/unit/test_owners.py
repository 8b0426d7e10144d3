"""A session's owner is written once: a claim never hands an owned session to another key.
Runs on every store the service can open (memory, SQLite, Postgres when reachable)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.store import open_store
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


async def test_pages_and_clients(database_url: str) -> None:
    """Pages follow each other without gaps or repeats, in the order of `owned_by`; a
    client filter keeps only the sessions claimed with that client."""
    async with open_store(database_url, pool_size=2) as store:
        owners = store.owners
        for index in range(7):
            await owners.claim(f"s-{index}", "alice", "phone" if index % 2 else "")
        await owners.claim("other", "bob")
        everything = await owners.owned_by("alice")
        for newest_first in (False, True):
            seen, after = [], None
            while page := await owners.page("alice", after, 3, newest_first):
                seen += page
                after = page[-1].session_id
            expected = everything[::-1] if newest_first else everything
            assert seen == expected and len(seen) == 7 == await owners.count("alice")
        phone = await owners.owned_by("alice", "phone")
        assert [row.session_id for row in phone] == ["s-1", "s-3", "s-5"]
        assert await owners.owned_by("bob", "phone") == []
        assert await owners.owned_by("alice", "phone", newest=2) == phone[1:]
        assert await owners.owned_by("alice", newest=10) == everything


async def test_an_older_owners_table_gets_the_client_column(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE session_owners (session_id TEXT PRIMARY KEY, owner TEXT NOT NULL, "
            "created REAL NOT NULL)"
        )
        conn.execute("INSERT INTO session_owners VALUES ('old', 'alice', 1.0)")
    async with open_store(f"sqlite:///{path}", pool_size=2) as store:
        assert [row.client for row in await store.owners.owned_by("alice")] == [""]
        await store.owners.claim("new", "alice", "phone")
        assert [r.session_id for r in await store.owners.owned_by("alice", "phone")] == ["new"]
