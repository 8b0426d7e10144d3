"""One persistent MCP session per server, restarted after a crash or a hang.

The anyio task groups inside an MCP session must be entered and left by the same task,
so each session lives in its own background task (`_own_session`) until it is retired.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import anyio
from langchain_mcp_adapters.sessions import create_session
from mcp import ClientSession, McpError, types
from mcp.types import CONNECTION_CLOSED

from mcp_tools.mcp_config import McpServerConfig
from mcp_tools.mcp_results import (
    closed_error,
    describe_exception,
    result_to_text,
    timeout_error,
    tool_error,
    unavailable_error,
)

logger = logging.getLogger(__name__)

SESSION_TERMINATED = 32600  # what mcp's HTTP client reports when the server answers 404
PING_TIMEOUT = 2.0  # seconds a suspect session gets to prove it still answers


class _NotSent(Exception):
    """The request never reached the server (or was refused unexecuted): safe to resend."""


class McpStartError(Exception):
    """The server could not be started or did not complete the MCP handshake."""


class McpConnection:
    """A lazily (re)opened session to one MCP server, shared by all of its tools."""

    def __init__(self, server: McpServerConfig, startup_timeout: float) -> None:
        self.server = server
        self.startup_timeout = server.startup_timeout or startup_timeout
        self._session: ClientSession | None = None
        self._owner: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._suspect = False  # a call timed out: ping before trusting the session again
        self._lock = asyncio.Lock()
        self._retired: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        """The server's name in the config file."""
        return self.server.name

    async def start(self) -> ClientSession:
        """Open the session if needed; raises McpStartError with the reason."""
        async with self._lock:
            if self._session is not None and self._owner is not None and not self._owner.done():
                if not self._suspect or await self._answers_ping(self._session):
                    self._suspect = False
                    return self._session
                logger.warning("MCP server %r stopped answering; restarting it", self.name)
            self.reset()
            self._session = await self._open()
            return self._session

    async def call_tool(
        self, tool: str, arguments: dict[str, Any], time_limit: float
    ) -> types.CallToolResult:
        """Call `tool`; every failure is raised as a ToolException for the model."""
        try:
            return await self._call_once(tool, arguments, time_limit)
        except _NotSent:
            # The session had died between calls and the request never left: safe to retry.
            logger.warning("MCP server %r had gone away; restarting it", self.name)
        try:
            return await self._call_once(tool, arguments, time_limit)
        except _NotSent as exc:
            raise unavailable_error(self.name, f"the connection broke ({exc})") from None

    async def _call_once(
        self, tool: str, arguments: dict[str, Any], time_limit: float
    ) -> types.CallToolResult:
        try:
            session = await self.start()
        except McpStartError as exc:
            raise unavailable_error(self.name, str(exc)) from None
        owner = self._owner
        assert owner is not None
        try:
            result = await _call_while_alive(session, owner, tool, arguments, time_limit)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError) as exc:
            self.reset(session)
            raise _NotSent(type(exc).__name__) from None
        except TimeoutError:
            self._suspect = True
            raise timeout_error(self.name, tool, time_limit) from None
        except McpError as exc:
            raise self._mcp_failure(session, tool, exc) from None
        except Exception as exc:
            self.reset(session)
            reason = f"the call to '{tool}' failed ({describe_exception(exc)})"
            raise unavailable_error(self.name, reason + "; it will be restarted") from None
        if result.isError:
            raise tool_error(self.name, tool, result_to_text(result))
        return result

    def _mcp_failure(self, session: ClientSession, tool: str, exc: McpError) -> Exception:
        if exc.error.code == SESSION_TERMINATED:  # an HTTP server forgot the session: resend
            self.reset(session)
            return _NotSent(exc.error.message)
        if exc.error.code == CONNECTION_CLOSED:
            self.reset(session)
            return closed_error(self.name, tool)
        return tool_error(self.name, tool, exc.error.message)

    async def aclose(self) -> None:
        """Stop the session and wait until its process / HTTP session is gone."""
        self.reset()
        if self._retired:
            await asyncio.gather(*self._retired, return_exceptions=True)

    async def _open(self) -> ClientSession:
        ready: asyncio.Future[ClientSession] = asyncio.get_running_loop().create_future()
        self._stop = asyncio.Event()
        self._owner = asyncio.create_task(self._own_session(ready, self._stop))
        try:
            async with asyncio.timeout(self.startup_timeout):
                return await asyncio.shield(ready)
        except TimeoutError:
            self._owner.cancel()  # stuck in the handshake; the SDK then stops the process
            self.reset()
            raise McpStartError(f"no answer within {self.startup_timeout:g} s") from None
        except Exception as exc:
            self.reset()
            raise McpStartError(describe_exception(exc)) from None

    async def _own_session(self, ready: asyncio.Future[ClientSession], stop: asyncio.Event) -> None:
        try:
            async with create_session(self.server.connection()) as session:  # type: ignore[arg-type]
                await session.initialize()
                ready.set_result(session)
                await stop.wait()
        except Exception as exc:
            if not ready.done():
                ready.set_exception(exc)
            else:
                logger.info("MCP server %r: session ended: %s", self.name, describe_exception(exc))
        finally:
            if not ready.done():
                ready.cancel()

    async def _answers_ping(self, session: ClientSession) -> bool:
        try:
            async with asyncio.timeout(PING_TIMEOUT):
                await session.send_ping()
        except Exception:
            return False
        return True

    def reset(self, session: ClientSession | None = None) -> None:
        """Drop the session (if it is still `session`); it shuts down in the background and
        the next call opens a new one."""
        if session is not None and session is not self._session:
            return  # a concurrent call already replaced it
        self._stop.set()
        if self._owner is not None:
            self._retired.add(self._owner)
            self._owner.add_done_callback(self._retired.discard)
        self._owner, self._session, self._suspect = None, None, False


async def _call_while_alive(
    session: ClientSession,
    owner: asyncio.Task[None],
    tool: str,
    arguments: dict[str, Any],
    time_limit: float,
) -> types.CallToolResult:
    """Call the tool, but give up at once if the session's owner task ends meanwhile."""
    call = asyncio.ensure_future(session.call_tool(tool, arguments))
    try:
        done, _ = await asyncio.wait(
            {call, owner}, timeout=time_limit, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        call.cancel()  # no-op once it is done
    if call in done:
        return call.result()
    if owner in done:
        raise McpError(types.ErrorData(code=CONNECTION_CLOSED, message="session ended"))
    raise TimeoutError
