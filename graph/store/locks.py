"""One turn at a time per session: in this process, and across processes (Postgres, or
processes sharing one SQLite file)."""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import math
import os
import random
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.errors import AgentError
from agent.tracing import span
from graph.store.health import UNREACHABLE, database_unavailable

# Entered once the session is free in this process (a chat turn passes its queue slot), so
# a turn waiting for a busy session holds no slot; on Postgres the advisory-lock connection
# is taken inside it, so only admitted (running) turns hold lock connections.
Admission = AbstractAsyncContextManager[Any] | None
Unreachable = Callable[[], Awaitable[str | None]]
"""Why the database cannot be reached now, or None."""


def session_busy(session_id: str) -> AgentError:
    """A session still busy with another turn after the wait."""
    return AgentError(
        f"Session {session_id!r} is busy with another turn; retry when it has finished.",
        param="X-Session-ID",
        code="session_busy",
    )


class SessionLocks:
    """Serialises turns on a session inside one process; waits up to `timeout` seconds."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def hold(self, session_id: str, admitted: Admission = None) -> AsyncIterator[None]:
        """Hold the session for one turn, or raise the 409 when it stays busy; then enter
        `admitted` (which may raise, e.g. the queue's 429)."""
        lock = self._locks.get(session_id)
        if lock is None:
            lock = self._locks[session_id] = asyncio.Lock()
        if lock.locked() and self.timeout <= 0:
            raise session_busy(session_id)
        try:
            with span("oss_agent.session_lock"):
                await asyncio.wait_for(lock.acquire(), self.timeout or None)
        except TimeoutError:
            raise session_busy(session_id) from None
        try:
            async with admitted or nullcontext():
                yield
        finally:
            lock.release()


def too_many_turns() -> AgentError:
    """Every lock connection of this process is held (running turns plus resets and
    deletes; the pool has a connection for each of MAX_CONCURRENT_TURNS)."""
    return AgentError(
        "Too many turns and session changes are running on this server; retry shortly.",
        code="too_many_turns",
    )


@dataclass(frozen=True)
class DeploymentLimit:
    """DEPLOYMENT_MAX_TURNS: turns running at once across every process of the database,
    each holding one of `turns` numbered slots (a Postgres advisory lock, or a byte of the
    SQLite lock file) that its database connection or process gives back if it dies; a turn
    waits up to `wait` seconds (QUEUE_TIMEOUT) for one."""

    turns: int
    wait: float
    poll: float = 0.05


def no_deployment_slot(limit: DeploymentLimit) -> AgentError:
    """The 429 of a turn that found no deployment slot free within QUEUE_TIMEOUT."""
    error = AgentError(
        f"All {limit.turns} turn slots of the deployment (DEPLOYMENT_MAX_TURNS) stayed busy"
        f" for QUEUE_TIMEOUT ({limit.wait:g} s); nothing was stored, retry the same request"
        " shortly.",
        code="rate_limit_exceeded",
    )
    error.headers = {"retry-after": str(max(1, math.ceil(limit.wait))), "x-should-retry": "true"}
    return error


@asynccontextmanager
async def held_slot(
    limit: DeploymentLimit | None,
    is_turn: bool,
    take: Callable[[int], Awaitable[bool]],
    give_back: Callable[[int], Awaitable[None]],
) -> AsyncIterator[None]:
    """A turn's deployment slot (none without a limit, or for a reset or delete): the first
    one `take` gets, trying each from a random one on every `poll` seconds, given back at
    the end; the 429 once `limit.wait` has passed."""
    if limit is None or not is_turn:
        yield
        return
    with span("oss_agent.deployment_slot"):
        slot = await _first_free(limit, take)
    try:
        yield
    finally:
        await give_back(slot)


async def _first_free(limit: DeploymentLimit, take: Callable[[int], Awaitable[bool]]) -> int:
    deadline = time.monotonic() + limit.wait
    while True:
        first = random.randrange(limit.turns)
        for offset in range(limit.turns):
            slot = (first + offset) % limit.turns
            if await take(slot):
                return slot
        if time.monotonic() >= deadline:
            raise no_deployment_slot(limit)
        await asyncio.sleep(limit.poll)


async def _taken(conn: Any, sql: str, params: tuple) -> bool:
    """Whether a pg_try_advisory_lock statement got its lock."""
    cursor = await conn.execute(sql, params)
    row = await cursor.fetchone()
    return bool(row and next(iter(row.values() if isinstance(row, dict) else row)))


def advisory_key(session_id: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock (same in every process)."""
    digest = hashlib.blake2b(session_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresSessionLocks(SessionLocks):
    """Adds a Postgres advisory lock, so turns on a session never interleave across processes."""

    def __init__(
        self,
        pool: Any,
        timeout: float,
        unreachable: Unreachable,
        wait: float,
        poll: float = 0.05,
        deployment: DeploymentLimit | None = None,
    ) -> None:
        super().__init__(timeout)
        self._pool = pool
        self._poll = poll
        self._unreachable = unreachable
        self._wait = wait
        self._deployment = deployment

    @asynccontextmanager
    async def hold(self, session_id: str, admitted: Admission = None) -> AsyncIterator[None]:
        """Hold the local lock, enter `admitted`, then the advisory lock on a pooled
        connection. A holder of an advisory lock is running (an admitted turn, or a reset
        or delete, which need no slot) and waits for no slot and no session lock, so slots,
        local locks and advisory locks cannot wait on each other in a cycle."""
        async with super().hold(session_id, admitted):
            deadline = time.monotonic() + self.timeout
            async with self._connection(deadline) as conn:
                key = advisory_key(session_id)
                with span("oss_agent.session_lock.advisory"):
                    await self._acquire(conn, key, session_id, deadline)
                try:
                    async with self._deployment_slot(conn, admitted is not None):
                        yield
                finally:
                    await conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def _deployment_slot(self, conn: Any, is_turn: bool) -> AbstractAsyncContextManager[None]:
        """A turn's slot of DEPLOYMENT_MAX_TURNS, on the connection of its session lock (a
        two-key advisory lock: that key space does not meet the sessions' one-key locks)."""

        async def take(slot: int) -> bool:
            return await _taken(conn, "SELECT pg_try_advisory_lock(%s, %s)", (SLOT_CLASS, slot))

        async def give_back(slot: int) -> None:
            await conn.execute("SELECT pg_advisory_unlock(%s, %s)", (SLOT_CLASS, slot))

        return held_slot(self._deployment, is_turn, take, give_back)

    @asynccontextmanager
    async def _connection(self, deadline: float) -> AsyncIterator[Any]:
        """A lock connection; each running turn holds one, so waiting for one is bounded.
        Errors of the turn itself pass through untouched (they are not the pool's)."""
        conn = await self._getconn(deadline)
        try:
            async with conn:
                yield conn
        finally:
            await self._pool.putconn(conn)

    async def _getconn(self, deadline: float) -> Any:
        """Wait for a connection in steps of `wait` seconds; between steps, a database that
        does not answer is the 503 database_unavailable, not a busy server."""
        from psycopg_pool import PoolTimeout  # imported only by Postgres stores

        while True:
            step = max(min(deadline - time.monotonic(), self._wait), 0.1)
            try:
                return await self._pool.getconn(timeout=step)
            except PoolTimeout:
                if await self._unreachable() is not None:
                    raise database_unavailable(UNREACHABLE) from None
                if time.monotonic() >= deadline:
                    raise too_many_turns() from None

    async def _acquire(self, conn: Any, key: int, session_id: str, deadline: float) -> None:
        async def take() -> bool:
            return await _taken(conn, "SELECT pg_try_advisory_lock(%s)", (key,))

        await polled(take, session_id, deadline, self._poll)


class FileSessionLocks(SessionLocks):
    """Adds a lock across the processes that share one SQLite file: a POSIX record lock on
    one byte of a lock file beside it, the byte chosen by a hash of the session id. It is
    polled (never a blocking call on the event loop) and released by the kernel when its
    process dies. Each process keeps one descriptor of the file open: closing any descriptor
    of it would drop all of the process's record locks on it."""

    def __init__(
        self,
        path: Path,
        timeout: float,
        poll: float = 0.02,
        deployment: DeploymentLimit | None = None,
    ) -> None:
        super().__init__(timeout)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self._poll = poll
        self._deployment = deployment
        self._slots_held: set[int] = set()

    def close(self) -> None:
        os.close(self._fd)

    @asynccontextmanager
    async def hold(self, session_id: str, admitted: Admission = None) -> AsyncIterator[None]:
        """The local lock, `admitted`, then the session's byte of the lock file (the order
        of PostgresSessionLocks, for the same reason)."""
        async with super().hold(session_id, admitted):
            byte = lock_byte(session_id)
            with span("oss_agent.session_lock.file"):
                await self._acquire(byte, session_id, time.monotonic() + self.timeout)
            try:
                async with self._deployment_slot(admitted is not None):
                    yield
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, byte)

    def _deployment_slot(self, is_turn: bool) -> AbstractAsyncContextManager[None]:
        """A turn's slot of DEPLOYMENT_MAX_TURNS: a byte of the lock file past the bytes
        sessions use."""

        async def take(slot: int) -> bool:
            # a process's record locks never conflict with each other: its own slots are
            # told apart here
            if slot in self._slots_held or not self._try_lock(SLOT_BYTES + slot):
                return False
            self._slots_held.add(slot)
            return True

        async def give_back(slot: int) -> None:
            fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, SLOT_BYTES + slot)
            self._slots_held.discard(slot)

        return held_slot(self._deployment, is_turn, take, give_back)

    @asynccontextmanager
    async def setting_up(self) -> AsyncIterator[None]:
        """The store's setup (WAL switch, tables, columns added), one process at a time.

        SQLite answers "database is locked" at once, without its busy timeout, to a process
        switching a fresh file to WAL while another creates tables, and two processes adding
        one column both try; the Postgres store holds an advisory lock for the same reason."""
        while True:  # polled, never a blocking wait on the event loop
            if self._try_lock(SETUP_BYTE):
                break
            await asyncio.sleep(self._poll)
        try:
            yield
        finally:
            fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, SETUP_BYTE)

    def _try_lock(self, byte: int) -> bool:
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, byte)
        except OSError:  # EAGAIN or EACCES: another process holds it
            return False
        return True

    async def _acquire(self, byte: int, session_id: str, deadline: float) -> None:
        async def take() -> bool:
            return self._try_lock(byte)

        await polled(take, session_id, deadline, self._poll)


async def polled(
    take: Callable[[], Awaitable[bool]], session_id: str, deadline: float, poll: float
) -> None:
    """Try to take a session's cross-process lock every `poll` seconds (never a blocking
    wait on the event loop); the 409 session_busy once `deadline` has passed."""
    while not await take():
        if time.monotonic() >= deadline:
            raise session_busy(session_id)
        await asyncio.sleep(poll)


SLOT_CLASS = 0x0A5A_6E70
"""The first key of the deployment slots' two-key advisory locks (Postgres)."""
SLOT_BYTES = 1 << 56
"""The lock file's byte of deployment slot 0 (the sessions' bytes are below it)."""
SETUP_BYTE = 1 << 62
"""The lock file's byte held while a process sets up the store (past every slot's byte)."""


def lock_byte(session_id: str) -> int:
    """The session's byte in the lock file (56 bits of a hash: collisions do not happen in
    practice, and would only make two sessions wait for each other)."""
    return int.from_bytes(hashlib.blake2b(session_id.encode(), digest_size=7).digest(), "big")
