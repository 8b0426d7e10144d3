"""Scale-out: two service processes share sessions and never interleave turns, on one
Postgres database and on one SQLite file; the Postgres store's own checks.

Runs against TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test); every
module run and every store test gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, contextmanager
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import sql

from agent.errors import AgentError
from graph.store import open_store
from graph.store.locks import advisory_key
from tests.integration.conftest import service_env
from tests.integration.service import REPO, Service
from tests.upstream_sim.fixtures import SimServer

pytestmark = pytest.mark.postgres

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TURNS = 8  # concurrent turns on one session, half on each process
SLOW_REPLY = 4.0  # seconds the simulator sits on the reply that keeps a session busy


class Cluster(NamedTuple):
    """Two services on one database: a patient one and one with a 0.5 s lock timeout."""

    a: Service
    impatient: Service


def unreachable(url: str) -> str | None:
    """Why `url` cannot be used, or None when it answers."""
    try:
        with psycopg.connect(url, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"{type(exc).__name__}: {exc}".strip()


def with_database(url: str, name: str) -> str:
    """`url` naming database `name` instead of its own."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A new, empty database for one test run; dropped (with its connections) afterwards."""
    name = f"oss_agent_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def admin_url() -> str:
    reason = unreachable(POSTGRES_URL)
    if reason:
        pytest.skip(
            f"PostgreSQL at {POSTGRES_URL} is not reachable (set TEST_POSTGRES_URL): {reason}"
        )
    return POSTGRES_URL


@contextmanager
def shared_store(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The DATABASE_URL two processes share: a fresh Postgres database, or a SQLite file."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('shared') / 'sessions.db'}"
        return
    if reason := unreachable(POSTGRES_URL):
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not reachable: {reason}")
    with scratch_database(POSTGRES_URL) as url:
        yield url


@pytest.fixture(scope="module", params=["postgres", "sqlite"])
def cluster(
    request: pytest.FixtureRequest,
    sim_server: SimServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    """The services, started at once so their store setups race on the fresh store."""
    with shared_store(request.param, tmp_path_factory) as url:
        services = [_service(sim_server, url, tmp_path_factory, t) for t in ("30", "0.5")]
        try:
            with ThreadPoolExecutor(len(services)) as pool:
                list(pool.map(Service.start, services))
            yield Cluster(*services)
        finally:
            for svc in services:
                svc.stop()


def _service(
    sim: SimServer, url: str, tmp_path_factory: pytest.TempPathFactory, lock_timeout: str
) -> Service:
    workdir = tmp_path_factory.mktemp("pg-service")
    env = service_env(
        sim.base_url,
        workdir,
        DATABASE_URL=url,
        DB_POOL_SIZE="4",
        SESSION_LOCK_TIMEOUT=lock_timeout,
        LLM_TIMEOUT="30",
    )
    return Service(env, workdir)


def chat(svc: Service, text: str, session: str | None = None) -> httpx.Response:
    """One turn: just the new user message, on `session` when given."""
    headers = {"X-Session-ID": session} if session else {}
    body = {"model": "m", "messages": [{"role": "user", "content": text}]}
    return httpx.post(f"{svc.url}/v1/chat/completions", json=body, headers=headers, timeout=60)


def chat_retrying(svc: Service, text: str, session: str) -> httpx.Response:
    """A turn retried while the service says so (409 busy), as the OpenAI SDKs do."""
    deadline = time.monotonic() + 120
    response = chat(svc, text, session)
    while response.headers.get("x-should-retry") == "true" and time.monotonic() < deadline:
        time.sleep(0.1)
        response = chat(svc, text, session)
    return response


def start_session(svc: Service, text: str) -> str:
    response = chat(svc, text)
    assert response.status_code == 200, response.text
    return response.headers["x-session-id"]


def reply_text(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


def history(svc: Service, session: str) -> list[tuple[str, str]]:
    """The stored conversation as (role, content) pairs."""
    response = httpx.get(f"{svc.url}/v1/sessions/{session}", timeout=30)
    assert response.status_code == 200, response.text
    return [(m["role"], m["content"]) for m in response.json()["messages"]]


def upstream_histories(sim: SimServer) -> list[list[tuple[str, str]]]:
    """What each upstream request carried, system prompt left out."""
    return [
        [(m["role"], m["content"]) for m in body["messages"][1:]] for body in sim.control.bodies()
    ]


def wait_until_upstream_has(sim: SimServer, text: str, patience: float = 20.0) -> None:
    """Block until a model request ending with user message `text` reached the simulator."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        if any(sent and sent[-1] == ("user", text) for sent in upstream_histories(sim)):
            return
        time.sleep(0.05)
    raise AssertionError(f"no upstream request for {text!r} within {patience} s")


def test_a_session_started_on_one_process_continues_on_the_other(
    cluster: Cluster, sim: SimServer
) -> None:
    session = start_session(cluster.a, "I am Ada.")
    response = chat(cluster.impatient, "Who am I?", session)
    assert reply_text(response) == "echo: Who am I?"
    assert response.headers["x-session-id"] == session
    assert upstream_histories(sim)[-1] == [
        ("user", "I am Ada."),
        ("assistant", "echo: I am Ada."),
        ("user", "Who am I?"),
    ]
    stored = history(cluster.a, session)
    assert stored == history(cluster.impatient, session)
    assert stored == [*upstream_histories(sim)[-1], ("assistant", "echo: Who am I?")]


def test_concurrent_turns_on_one_session_never_interleave(cluster: Cluster, sim: SimServer) -> None:
    session = start_session(cluster.a, "turn start")
    texts = [f"turn {i}" for i in range(TURNS)]
    targets = [cluster.a, cluster.impatient] * (TURNS // 2)
    with ThreadPoolExecutor(TURNS) as pool:
        responses = list(pool.map(lambda svc, t: chat_retrying(svc, t, session), targets, texts))
    assert [reply_text(r) for r in responses] == [f"echo: {text}" for text in texts]
    stored = history(cluster.impatient, session)
    assert stored == history(cluster.a, session)
    assert [role for role, _ in stored] == ["user", "assistant"] * (TURNS + 1)
    users = [content for _, content in stored[0::2]]
    assert sorted(users) == sorted(["turn start", *texts])  # each question exactly once
    assert stored == [
        pair for text in users for pair in (("user", text), ("assistant", f"echo: {text}"))
    ]
    for sent in upstream_histories(sim):  # every turn saw every turn before it, completed
        assert sent == stored[: len(sent)]
    assert sorted(len(sent) for sent in upstream_histories(sim)) == list(range(1, len(stored), 2))


@pytest.mark.parametrize("holder", ["impatient", "a"], ids=["same-process", "other-process"])
def test_a_turn_on_a_busy_session_gets_409_after_the_lock_timeout(
    cluster: Cluster, sim: SimServer, holder: str
) -> None:
    session = start_session(cluster.a, "hello")
    sim.control.script({"content": "slow answer", "delay": SLOW_REPLY})
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(chat, getattr(cluster, holder), "slow question", session)
        wait_until_upstream_has(sim, "slow question")
        busy = chat(cluster.impatient, "impatient question", session)
        assert reply_text(slow.result()) == "slow answer"
    assert busy.status_code == 409, busy.text
    error = busy.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "conflict_error",
        "session_busy",
        "X-Session-ID",
    )
    assert session in error["message"]
    assert busy.headers["x-should-retry"] == "true"
    assert busy.headers["x-session-id"] == session
    assert [content for _, content in history(cluster.impatient, session)] == [
        "hello",
        "echo: hello",
        "slow question",
        "slow answer",
    ]
    assert reply_text(chat(cluster.impatient, "impatient question", session)).endswith("question")


async def test_store_setup_runs_twice_at_once_and_locks_span_stores(admin_url: str) -> None:
    with scratch_database(admin_url) as url:
        async with AsyncExitStack() as stack:
            opening = [stack.enter_async_context(open_store(url, 0.3, 2)) for _ in range(2)]
            first, second = await asyncio.gather(*opening)
            async with first.locks.hold("session-1"):
                with pytest.raises(AgentError) as busy:
                    async with second.locks.hold("session-1"):
                        pass
                async with second.locks.hold("session-2"):
                    pass
            async with second.locks.hold("session-1"):
                pass
        with psycopg.connect(url) as conn:
            versions = [row[0] for row in conn.execute("SELECT v FROM checkpoint_migrations")]
    assert busy.value.code == "session_busy"
    assert sorted(versions) == list(range(len(AsyncPostgresSaver.MIGRATIONS)))


async def test_more_running_turns_than_pool_connections_still_finish(admin_url: str) -> None:
    async def turn(store, session: str) -> None:
        async with store.locks.hold(session):
            config = {"configurable": {"thread_id": session, "checkpoint_ns": ""}}
            await store.checkpointer.aget_tuple(config)

    with scratch_database(admin_url) as url:
        async with open_store(url, 30, pool_size=1) as store:
            await asyncio.gather(*(turn(store, f"session-{i}") for i in range(3)))


def test_advisory_key_is_the_same_in_every_process() -> None:
    code = "from graph.store.locks import advisory_key; print(advisory_key('session-1'))"
    keys = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert keys == {str(advisory_key("session-1"))}
    assert -(2**63) <= advisory_key("session-1") < 2**63
    assert advisory_key("session-1") != advisory_key("session-2")
