"""Background runs (Responses API `background: true`): a queue of turns in the sessions'
database that every process sharing it works from, and each run's events, kept so that a
client can resume its stream from any process.

A run is `queued` until a process claims it; the claim sets `in_progress` and a lease that
the claiming process renews while the run goes on. A run whose lease ran out (its process
died or hung) is ended by any process (`expired`), never run a second time: its turn was
stored whole or not at all (graph/store/turn_saver.py), and the caller decides which from the
session. One statement claims a run, so two processes never claim the same one; on
Postgres the claim takes a transaction-scoped advisory lock first, so the count of running
runs it checks cannot change under it (the deployment-wide limit holds across replicas).

Times are the database's clock on Postgres (one clock for every replica) and this host's
on SQLite (every process of a SQLite file is on one host).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from graph.store.sql import Run, postgres_runner, sqlite_runner

TERMINAL = frozenset({"completed", "failed", "cancelled", "incomplete"})

_TABLES = (
    """CREATE TABLE IF NOT EXISTS background_runs (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, session_id TEXT NOT NULL, status TEXT NOT NULL,
    request TEXT NOT NULL, caller TEXT NOT NULL, response TEXT NOT NULL,
    start_index INTEGER, worker TEXT, lease_until DOUBLE PRECISION,
    cancel_requested INTEGER NOT NULL DEFAULT 0, created_at DOUBLE PRECISION NOT NULL,
    ended_at DOUBLE PRECISION, kind TEXT NOT NULL DEFAULT 'response')""",
    "CREATE INDEX IF NOT EXISTS background_runs_status ON background_runs (status, created_at)",
    """CREATE TABLE IF NOT EXISTS background_events (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (run_id, seq))""",
)
_COLUMNS = "id, owner, session_id, status, request, caller, response, start_index, worker, kind"
RESPONSE = "response"
"""A background response: queued, claimed and run by a worker."""
CHAT = "chat"
"""A streamed chat turn going on without its client (api/live_turns.py): never queued."""


@dataclass
class RunRow:
    """One background run as stored."""

    id: str
    owner: str
    session_id: str
    status: str
    request: dict[str, Any]
    caller: dict[str, Any]
    response: dict[str, Any]
    start_index: int | None
    worker: str | None
    kind: str = RESPONSE

    @classmethod
    def of(cls, row: tuple) -> RunRow:
        id_, owner, session, status, request, caller, response, start, worker, kind = row
        return cls(
            id_,
            owner,
            session,
            status,
            json.loads(request),
            json.loads(caller),
            json.loads(response),
            start,
            worker,
            kind,
        )

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True)
class Dialect:
    placeholder: str
    now: str
    """SQL for the time now, in seconds since the epoch."""
    skip_locked: str
    claim_lock: str | None
    """A statement run before a claim, in its transaction (Postgres: an advisory lock)."""


SQLITE = Dialect("?", "((julianday('now') - 2440587.5) * 86400.0)", "", None)
POSTGRES = Dialect(
    "%s",
    "extract(epoch from clock_timestamp())",
    " FOR UPDATE SKIP LOCKED",
    "SELECT pg_advisory_xact_lock(hashtext('oss_agent.background_claim'))",
)


class RunStore:
    """The two tables, through one statement runner (and a transaction runner for claims)."""

    def __init__(self, run: Run, dialect: Dialect, transaction: Any) -> None:
        self._run = run
        self._d = dialect
        self._transaction = transaction

    async def setup(self) -> None:
        for statement in _TABLES:
            await self._run(statement, ())

    async def submit(self, row: RunRow, created: dict[str, Any]) -> None:
        """Store a queued run and its first event (`response.created`, sequence 0)."""
        p = self._p
        await self._run(
            f"INSERT INTO background_runs (id, owner, session_id, status, request, caller,"
            f" response, created_at) VALUES ({p}, {p}, {p}, 'queued', {p}, {p}, {p},"
            f" {self._d.now})",
            (
                row.id,
                row.owner,
                row.session_id,
                _json(row.request),
                _json(row.caller),
                _json(row.response),
            ),
        )
        await self.append(row.id, [(0, _json(created))])

    async def open_live(
        self, run_id: str, owner: str, session_id: str, worker: str, lease: float
    ) -> None:
        """Store a chat turn that is already running here (kind CHAT), leased to `worker`."""
        p = self._p
        await self._run(
            f"INSERT INTO background_runs (id, owner, session_id, status, request, caller,"
            f" response, worker, lease_until, created_at, kind) VALUES ({p}, {p}, {p},"
            f" 'in_progress', '{{}}', '{{}}', '{{}}', {p}, {self._d.now} + {p}, {self._d.now},"
            f" '{CHAT}')",
            (run_id, owner, session_id, worker, lease),
        )

    async def latest_live(self, session_id: str) -> RunRow | None:
        """The session's newest chat turn kept for watching, if any."""
        rows = await self._run(
            f"SELECT {_COLUMNS} FROM background_runs WHERE session_id = {self._p}"
            f" AND kind = '{CHAT}' ORDER BY created_at DESC LIMIT 1",
            (session_id,),
        )
        return RunRow.of(rows[0]) if rows else None

    async def get(self, run_id: str) -> RunRow | None:
        rows = await self._run(
            f"SELECT {_COLUMNS} FROM background_runs WHERE id = {self._p}", (run_id,)
        )
        return RunRow.of(rows[0]) if rows else None

    async def counts(self, owner: str) -> tuple[int, int]:
        """(queued runs of every key, queued runs of `owner`)."""
        p = self._p
        rows = await self._run(
            f"SELECT count(*), sum(CASE WHEN owner = {p} THEN 1 ELSE 0 END)"
            " FROM background_runs WHERE status = 'queued'",
            (owner,),
        )
        total, own = rows[0]
        return int(total or 0), int(own or 0)

    async def any_queued(self) -> bool:
        """Whether a run waits (a read: a claim's write is made only when one does)."""
        return bool(
            await self._run("SELECT 1 FROM background_runs WHERE status = 'queued' LIMIT 1", ())
        )

    async def claim(self, worker: str, lease: float, max_running: int) -> RunRow | None:
        """Take the next queued run for `worker` while fewer than `max_running` runs are in
        progress in the whole deployment; the next is the oldest of the key with the fewest
        runs in progress (one key's long queue does not hold the others back)."""
        p, now = self._p, self._d.now
        sql = f"""UPDATE background_runs SET status = 'in_progress', worker = {p},
            lease_until = {now} + {p}
            WHERE id = (SELECT id FROM background_runs AS q WHERE status = 'queued'
                AND kind = 'response' AND (SELECT count(*) FROM background_runs
                    WHERE status = 'in_progress' AND kind = 'response') < {p}
                ORDER BY (SELECT count(*) FROM background_runs AS r
                    WHERE r.owner = q.owner AND r.status = 'in_progress'), created_at
                LIMIT 1{self._d.skip_locked})
            AND status = 'queued'
            RETURNING {_COLUMNS}"""
        rows = await self._transaction(self._d.claim_lock, sql, (worker, lease, max_running))
        return RunRow.of(rows[0]) if rows else None

    async def started(self, run_id: str, start_index: int, response: dict[str, Any]) -> None:
        """The run's turn is planned: where its output starts, and its in-progress object."""
        p = self._p
        await self._run(
            f"UPDATE background_runs SET start_index = {p}, response = {p} WHERE id = {p}",
            (start_index, _json(response), run_id),
        )

    async def renew(self, worker: str, run_ids: list[str], lease: float) -> tuple[set, set]:
        """Extend the leases of `worker`'s runs: (the ids still its own, those whose cancel
        was asked for)."""
        if not run_ids:
            return set(), set()
        p, now = self._p, self._d.now
        marks = ", ".join([p] * len(run_ids))
        rows = await self._run(
            f"UPDATE background_runs SET lease_until = {now} + {p} WHERE worker = {p}"
            f" AND status = 'in_progress' AND id IN ({marks}) RETURNING id, cancel_requested",
            (lease, worker, *run_ids),
        )
        return {row[0] for row in rows}, {row[0] for row in rows if row[1]}

    async def finish(
        self, run_id: str, worker: str | None, status: str, response: dict[str, Any]
    ) -> bool:
        """End an in-progress run held by `worker` (None: one whose lease ran out); False
        when it had already ended or is not held that way."""
        p, now = self._p, self._d.now
        held = f"worker = {p}" if worker is not None else f"lease_until < {now}"
        rows = await self._run(
            f"UPDATE background_runs SET status = {p}, response = {p}, worker = NULL,"
            f" lease_until = NULL, ended_at = {now} WHERE id = {p}"
            f" AND status = 'in_progress' AND {held} RETURNING id",
            (status, _json(response), run_id, *([worker] if worker is not None else [])),
        )
        return bool(rows)

    async def cancel(self, run_id: str, response: dict[str, Any]) -> RunRow | None:
        """Cancel a queued run at once (it gets `response`), or ask the worker of an
        in-progress run to stop it; the run as it is afterwards."""
        p, now = self._p, self._d.now
        await self._run(
            f"UPDATE background_runs SET status = 'cancelled', response = {p}, ended_at = {now}"
            f" WHERE id = {p} AND status = 'queued'",
            (_json(response), run_id),
        )
        await self._run(
            f"UPDATE background_runs SET cancel_requested = 1 WHERE id = {p}"
            " AND status = 'in_progress'",
            (run_id,),
        )
        return await self.get(run_id)

    async def expired(self) -> list[RunRow]:
        """In-progress runs whose lease ran out."""
        rows = await self._run(
            f"SELECT {_COLUMNS} FROM background_runs WHERE status = 'in_progress'"
            f" AND lease_until < {self._d.now}",
            (),
        )
        return [RunRow.of(row) for row in rows]

    async def append(self, run_id: str, events: list[tuple[int, str]]) -> None:
        """Store the run's events: (sequence number, JSON text) each."""
        if not events:
            return
        p = self._p
        rows = ", ".join([f"({p}, {p}, {p})"] * len(events))
        params = [value for seq, data in events for value in (run_id, seq, data)]
        await self._run(
            f"INSERT INTO background_events (run_id, seq, data) VALUES {rows}", tuple(params)
        )

    async def events_after(
        self, run_id: str, after: int, limit: int = 500
    ) -> list[tuple[int, str]]:
        """The run's stored events with a sequence number above `after`, in order."""
        p = self._p
        rows = await self._run(
            f"SELECT seq, data FROM background_events WHERE run_id = {p} AND seq > {p}"
            f" ORDER BY seq LIMIT {int(limit)}",
            (run_id, after),
        )
        return [(int(seq), data) for seq, data in rows]

    async def last_seq(self, run_id: str) -> int:
        rows = await self._run(
            f"SELECT max(seq) FROM background_events WHERE run_id = {self._p}", (run_id,)
        )
        return -1 if rows[0][0] is None else int(rows[0][0])

    async def forget_events(self, older_than: float) -> None:
        """Delete the events of runs that ended more than `older_than` seconds ago."""
        await self._run(
            "DELETE FROM background_events WHERE run_id IN (SELECT id FROM background_runs"
            f" WHERE ended_at < {self._d.now} - {self._p})",
            (older_than,),
        )

    async def forget_session(self, session_id: str) -> None:
        """A deleted session's runs go with it."""
        p = self._p
        await self._run(
            "DELETE FROM background_events WHERE run_id IN (SELECT id FROM background_runs"
            f" WHERE session_id = {p})",
            (session_id,),
        )
        await self._run(f"DELETE FROM background_runs WHERE session_id = {p}", (session_id,))

    @property
    def _p(self) -> str:
        return self._d.placeholder


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _inline_transaction(run: Run) -> Any:
    """SQLite: each statement is atomic and the connection is this process's alone."""

    async def transaction(first: str | None, sql: str, params: tuple) -> list[tuple]:
        return await run(sql, params)

    return transaction


async def sqlite_runs(saver: Any) -> RunStore:
    """The tables in the SQLite file of the sessions, on its saver's connection."""
    run = sqlite_runner(saver)
    store = RunStore(run, SQLITE, _inline_transaction(run))
    await store.setup()
    return store


async def memory_runs() -> RunStore:
    """memory://: the same tables in a private in-memory SQLite database (one process)."""
    connection = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)

    async def run(sql: str, params: tuple) -> list[tuple]:
        return connection.execute(sql, params).fetchall()

    store = RunStore(run, SQLITE, _inline_transaction(run))
    await store.setup()
    return store


async def postgres_runs(pool: Any) -> RunStore:
    """The tables in the Postgres database of the sessions."""

    async def transaction(first: str | None, sql: str, params: tuple) -> list[tuple]:
        async with pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            if first:
                await cursor.execute(first)
            await cursor.execute(sql, params)
            rows = await cursor.fetchall()
        return [tuple(row.values()) if isinstance(row, dict) else tuple(row) for row in rows]

    store = RunStore(postgres_runner(pool), POSTGRES, transaction)
    await store.setup()
    return store
