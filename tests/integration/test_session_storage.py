"""A session's storage follows its content: a big message is stored once, not once per
checkpoint, and deleting the session frees its rows (issue 14, "One 10 MB message made a
50 MB database")."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer

BIG = 10_000_000  # characters in the one big message


def _live_bytes(database: Path) -> int:
    """Bytes of the pages in use (freed pages stay in the file until a VACUUM)."""
    with sqlite3.connect(database) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return (pages - free) * page_size


def _rows(database: Path, session: str) -> int:
    with sqlite3.connect(database) as conn:
        return sum(
            conn.execute(
                f"SELECT count(*) FROM {table} WHERE thread_id = ?", (session,)
            ).fetchone()[0]
            for table in ("checkpoints", "writes", "session_messages")
        )


def _chat(svc: Service, text: str, session: str | None = None) -> httpx.Response:
    headers = {"X-Session-ID": session} if session else {}
    payload = {"messages": [{"role": "user", "content": text}]}
    response = httpx.post(
        f"{svc.url}/v1/chat/completions", json=payload, headers=headers, timeout=120
    )
    assert response.status_code == 200, response.text
    return response


@pytest.mark.timeout(600)
def test_a_big_message_is_stored_once_and_freed_with_its_session(
    fresh_service: Service, sim: SimServer, tmp_path: Path
) -> None:
    database = tmp_path / "sessions.db"
    fresh_service.env["CONTEXT_WINDOW"] = str(100 * BIG)  # the big message is sent, not refused
    fresh_service.env["MAX_MESSAGE_CHARS"] = str(2 * BIG)  # and passes the request limits
    fresh_service.start()
    sim.control.script({"content": "Got it."})
    session = _chat(fresh_service, "x" * BIG).headers["x-session-id"]
    after_first = _live_bytes(database)
    assert after_first > BIG  # the message is stored
    for turn in range(5):
        sim.control.script({"content": f"Answer {turn}."})
        _chat(fresh_service, f"small question {turn}", session)
    after_five = _live_bytes(database)
    assert after_five < 2 * after_first, (after_first, after_five)
    assert _rows(database, session) > 0
    deleted = httpx.delete(f"{fresh_service.url}/v1/sessions/{session}", timeout=30)
    assert deleted.status_code == 200, deleted.text
    assert _rows(database, session) == 0
    assert _live_bytes(database) < after_first / 10
