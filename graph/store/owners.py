"""Which key owns each session: a small table beside the checkpoints, in the same database.

Owners are digests of keys (never keys). A session without a row belongs to the anonymous
owner "", which is what every session was before keys owned them. `client` is a digest of
the client identity a session was started with (api/sessions.py), "" when none: session
continuity only ever continues sessions of the same owner and client.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from graph.store.sql import Run, postgres_runner, sqlite_runner

CREATE_SQLITE = """CREATE TABLE IF NOT EXISTS session_owners (
    session_id TEXT PRIMARY KEY, owner TEXT NOT NULL, created REAL NOT NULL)"""
CREATE_POSTGRES = """CREATE TABLE IF NOT EXISTS session_owners (
    session_id TEXT PRIMARY KEY, owner TEXT NOT NULL, created DOUBLE PRECISION NOT NULL)"""
ADD_CLIENT = "ALTER TABLE session_owners ADD COLUMN client TEXT NOT NULL DEFAULT ''"
"""Tables made before sessions were bound to a client get the column (rows: unbound)."""
INDEX = "CREATE INDEX IF NOT EXISTS session_owners_owner ON session_owners (owner)"
LISTING_INDEX = (
    "CREATE INDEX IF NOT EXISTS session_owners_listing "
    "ON session_owners (owner, client, created, session_id)"
)


@dataclass(frozen=True)
class Ownership:
    session_id: str
    owner: str
    created: float
    client: str = ""

    @property
    def order(self) -> tuple[float, str]:
        """Where the session comes in its owner's list: oldest first, ties by id."""
        return (self.created, self.session_id)


class Owners(Protocol):
    """The owners table, whatever database holds it."""

    async def claim(self, session_id: str, owner: str, client: str = "") -> None:
        """Record `owner` (and `client`) for a new session; an existing row is kept."""

    async def owner(self, session_id: str) -> str:
        """The session's owner ("" when no row)."""

    async def owned_by(
        self, owner: str, client: str | None = None, newest: int | None = None
    ) -> list[Ownership]:
        """The owner's sessions (only those of `client` when given; only the `newest` ones
        when given), oldest first."""

    async def count(self, owner: str) -> int:
        """How many sessions the owner has."""

    async def page(
        self, owner: str, after: str | None, limit: int, newest_first: bool = False
    ) -> list[Ownership]:
        """Up to `limit` of the owner's sessions, oldest (or newest) first, from the one
        after `after` (a session id of the owner's; None: from the start)."""

    async def forget(self, session_id: str) -> None:
        """Drop the row of a deleted session."""


class MemoryOwners:
    """For memory:// stores: forgotten on restart, like the sessions."""

    def __init__(self) -> None:
        self._rows: dict[str, Ownership] = {}

    async def claim(self, session_id: str, owner: str, client: str = "") -> None:
        self._rows.setdefault(session_id, Ownership(session_id, owner, time.time(), client))

    async def owner(self, session_id: str) -> str:
        row = self._rows.get(session_id)
        return row.owner if row else ""

    async def owned_by(
        self, owner: str, client: str | None = None, newest: int | None = None
    ) -> list[Ownership]:
        rows = [
            row
            for row in self._rows.values()
            if row.owner == owner and client in (None, row.client)
        ]
        rows.sort(key=lambda row: row.order)
        return rows[-newest:] if newest else rows

    async def count(self, owner: str) -> int:
        return len(await self.owned_by(owner))

    async def page(
        self, owner: str, after: str | None, limit: int, newest_first: bool = False
    ) -> list[Ownership]:
        rows = await self.owned_by(owner)
        if newest_first:
            rows.reverse()
        start = self._rows.get(after or "")
        if start is not None and start.owner == owner:
            rows = rows[rows.index(start) + 1 :]
        return rows[:limit]

    async def forget(self, session_id: str) -> None:
        self._rows.pop(session_id, None)


class SqlOwners:
    """SQLite (the saver's connection, inline) or Postgres (a psycopg pool), one SQL dialect
    apart: the placeholder is the only difference."""

    def __init__(self, run: Run, placeholder: str) -> None:
        self._run = run
        self._p = placeholder

    async def claim(self, session_id: str, owner: str, client: str = "") -> None:
        p = self._p
        await self._run(
            "INSERT INTO session_owners (session_id, owner, created, client) "
            f"VALUES ({p}, {p}, {p}, {p}) ON CONFLICT (session_id) DO NOTHING",
            (session_id, owner, time.time(), client),
        )

    async def owner(self, session_id: str) -> str:
        rows = await self._run(
            f"SELECT owner FROM session_owners WHERE session_id = {self._p}", (session_id,)
        )
        return rows[0][0] if rows else ""

    async def owned_by(
        self, owner: str, client: str | None = None, newest: int | None = None
    ) -> list[Ownership]:
        p = self._p
        where, params = f"owner = {p}", (owner,)
        if client is not None:
            where, params = f"{where} AND client = {p}", (owner, client)
        if newest is None:
            return await self._rows(where, params)
        return (await self._rows(where, params, newest, "DESC"))[::-1]

    async def count(self, owner: str) -> int:
        rows = await self._run(
            f"SELECT COUNT(*) FROM session_owners WHERE owner = {self._p}", (owner,)
        )
        return int(rows[0][0])

    async def page(
        self, owner: str, after: str | None, limit: int, newest_first: bool = False
    ) -> list[Ownership]:
        p = self._p
        order = "DESC" if newest_first else ""
        if after is None:
            return await self._rows(f"owner = {p}", (owner,), limit, order)
        # past the cursor's (created, session_id); a cursor that is gone: from the start
        cursor = f"(SELECT created FROM session_owners WHERE session_id = {p} AND owner = {p})"
        past, start = ("<", 1e300) if newest_first else (">", -1)
        where = f"owner = {p} AND (created, session_id) {past} (COALESCE({cursor}, {start}), {p})"
        return await self._rows(where, (owner, after, owner, after), limit, order)

    async def _rows(
        self, where: str, params: tuple, limit: int | None = None, order: str = ""
    ) -> list[Ownership]:
        tail = f" LIMIT {int(limit)}" if limit is not None else ""
        rows = await self._run(
            "SELECT session_id, owner, created, client FROM session_owners "
            f"WHERE {where} ORDER BY created {order}, session_id {order}{tail}",
            params,
        )
        return [Ownership(str(r[0]), str(r[1]), float(r[2]), str(r[3])) for r in rows]

    async def forget(self, session_id: str) -> None:
        await self._run(f"DELETE FROM session_owners WHERE session_id = {self._p}", (session_id,))


async def sqlite_owners(saver: Any) -> SqlOwners:
    """The owners table on the SQLite saver's connection, inline (graph/store/sqlite.py)."""
    run = sqlite_runner(saver)
    await run(CREATE_SQLITE, ())
    columns = [row[1] for row in await run("PRAGMA table_info(session_owners)", ())]
    if "client" not in columns:
        await run(ADD_CLIENT, ())
    await run(INDEX, ())
    await run(LISTING_INDEX, ())
    return SqlOwners(run, "?")


async def postgres_owners(pool: Any) -> SqlOwners:
    """The owners table in the Postgres database of the checkpoints."""
    run = postgres_runner(pool)
    await run(CREATE_POSTGRES, ())
    await run(ADD_CLIENT.replace("ADD COLUMN", "ADD COLUMN IF NOT EXISTS"), ())
    await run(INDEX, ())
    await run(LISTING_INDEX, ())
    return SqlOwners(run, "%s")
