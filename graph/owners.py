"""Which key owns each session: a small table beside the checkpoints, in the same database.

Owners are digests of keys (never keys). A session without a row belongs to the anonymous
owner "", which is what every session was before keys owned them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

CREATE_SQLITE = """CREATE TABLE IF NOT EXISTS session_owners (
    session_id TEXT PRIMARY KEY, owner TEXT NOT NULL, created REAL NOT NULL)"""
CREATE_POSTGRES = """CREATE TABLE IF NOT EXISTS session_owners (
    session_id TEXT PRIMARY KEY, owner TEXT NOT NULL, created DOUBLE PRECISION NOT NULL)"""
INDEX = "CREATE INDEX IF NOT EXISTS session_owners_owner ON session_owners (owner)"


@dataclass(frozen=True)
class Ownership:
    session_id: str
    owner: str
    created: float


class Owners(Protocol):
    """The owners table, whatever database holds it."""

    async def claim(self, session_id: str, owner: str) -> None:
        """Record `owner` as the owner of a new session; an existing owner is kept."""

    async def owner(self, session_id: str) -> str:
        """The session's owner ("" when no row)."""

    async def owned_by(self, owner: str) -> list[Ownership]:
        """The owner's sessions, oldest first."""

    async def forget(self, session_id: str) -> None:
        """Drop the row of a deleted session."""


class MemoryOwners:
    """For memory:// stores: forgotten on restart, like the sessions."""

    def __init__(self) -> None:
        self._rows: dict[str, Ownership] = {}

    async def claim(self, session_id: str, owner: str) -> None:
        self._rows.setdefault(session_id, Ownership(session_id, owner, time.time()))

    async def owner(self, session_id: str) -> str:
        row = self._rows.get(session_id)
        return row.owner if row else ""

    async def owned_by(self, owner: str) -> list[Ownership]:
        rows = [row for row in self._rows.values() if row.owner == owner]
        return sorted(rows, key=lambda row: row.created)

    async def forget(self, session_id: str) -> None:
        self._rows.pop(session_id, None)


class SqlOwners:
    """SQLite (an aiosqlite connection) or Postgres (a psycopg pool), one SQL dialect
    apart: the placeholder is the only difference."""

    def __init__(self, run: Any, placeholder: str) -> None:
        self._run = run  # async (sql, params) -> list of rows
        self._p = placeholder

    async def claim(self, session_id: str, owner: str) -> None:
        p = self._p
        await self._run(
            f"INSERT INTO session_owners (session_id, owner, created) VALUES ({p}, {p}, {p}) "
            "ON CONFLICT (session_id) DO NOTHING",
            (session_id, owner, time.time()),
        )

    async def owner(self, session_id: str) -> str:
        rows = await self._run(
            f"SELECT owner FROM session_owners WHERE session_id = {self._p}", (session_id,)
        )
        return rows[0][0] if rows else ""

    async def owned_by(self, owner: str) -> list[Ownership]:
        rows = await self._run(
            "SELECT session_id, owner, created FROM session_owners "
            f"WHERE owner = {self._p} ORDER BY created",
            (owner,),
        )
        return [Ownership(str(r[0]), str(r[1]), float(r[2])) for r in rows]

    async def forget(self, session_id: str) -> None:
        await self._run(f"DELETE FROM session_owners WHERE session_id = {self._p}", (session_id,))


async def sqlite_owners(saver: Any) -> SqlOwners:
    """The owners table on the AsyncSqliteSaver's connection, under the saver's lock so a
    commit here never lands inside one of its writes."""

    async def run(sql: str, params: tuple) -> list[tuple]:
        async with saver.lock:
            async with saver.conn.execute(sql, params) as cursor:
                rows = list(await cursor.fetchall())
            await saver.conn.commit()
        return rows

    await run(CREATE_SQLITE, ())
    await run(INDEX, ())
    return SqlOwners(run, "?")


async def postgres_owners(pool: Any) -> SqlOwners:
    """The owners table in the Postgres database of the checkpoints."""

    async def run(sql: str, params: tuple) -> list[tuple]:
        async with pool.connection() as conn, conn.cursor() as cursor:
            await cursor.execute(sql, params)
            rows = await cursor.fetchall() if cursor.description else []
        return [tuple(row.values()) if isinstance(row, dict) else tuple(row) for row in rows]

    await run(CREATE_POSTGRES, ())
    await run(INDEX, ())
    return SqlOwners(run, "%s")
