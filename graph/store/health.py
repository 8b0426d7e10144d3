"""Whether the session database can be used now; its failures become the 503
`database_unavailable` (retry later) instead of a 500."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from agent.errors import AgentError
from agent.settings import mask_url_passwords_in

logger = logging.getLogger(__name__)

READ_TIMEOUT = 3.0  # seconds /ready waits for its read through the checkpointer
UNREACHABLE = "the database server does not answer"


def database_unavailable(reason: str) -> AgentError:
    """The 503 for a database that is gone, unreachable or failing."""
    return AgentError(
        f"The session database is unavailable ({reason}); nothing was stored. Retry once "
        "it is back (the server's /ready says when).",
        code="database_unavailable",
    )


def describe(exc: BaseException) -> str:
    """A failure in one line, passwords masked (never sent to callers without a key)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return mask_url_passwords_in(f"{type(exc).__name__}: {text}")


class StoreHealth:
    """The health of a memory store, which cannot fail; the base of the others."""

    errors: tuple[type[Exception], ...] = ()
    """The exception types this store's failures come as."""

    def __init__(self, checkpointer: Any) -> None:
        self.checkpointer = checkpointer

    async def require(self) -> None:
        """Raise the 503 when the database is known to be unusable (checked before turns
        and session changes)."""

    async def problem(self) -> str | None:
        """Why the database cannot be used now, or None (for /ready): one read of an
        absent thread through the checkpointer."""
        try:
            await self.require()
            config = {"configurable": {"thread_id": "__readiness__", "checkpoint_ns": ""}}
            await asyncio.wait_for(self.checkpointer.aget_tuple(config), READ_TIMEOUT)
        except AgentError as exc:
            return exc.message
        except Exception as exc:
            await self.translate(exc)  # a Postgres store remembers that it is down
            return describe(exc)
        return None

    async def translate(self, exc: BaseException) -> AgentError | None:
        """`exc` as the 503 when it is a database failure; None for anything else."""
        return None
