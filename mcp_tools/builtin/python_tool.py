"""The `python` built-in tool: gpt-oss's stateful code runner, one sandboxed interpreter
per session (sandbox.py), idle ones dropped after PYTHON_TOOL_IDLE_SECONDS."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from pathlib import Path

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, Field

from .sandbox import (
    MOUNT,
    UNPRIVILEGED_ID,
    Interpreter,
    SandboxLimits,
    sandbox_missing,
    session_key,
)
from .tool_turn import current_session

FOLDER = "python"  # under the workspace: one folder per session
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")
MAX_FILES_LISTED = 20
FRESH_NOTE = (
    "[a new python interpreter was started for this session: variables and imports of "
    f"earlier calls are gone; files in {MOUNT} remain]\n"
)


def python_description(limits: SandboxLimits) -> str:
    """What the model is told (as a function, and in harmony's `## python` section)."""
    return (
        "Use this tool to execute Python code in your chain of thought. The code will not be "
        "shown to the user. This tool should be used for internal reasoning, but not for "
        "code that is intended to be visible to the user (e.g. when creating plots, tables, "
        "or files).\n\n"
        "When you send a message containing Python code to python, it will be executed in a "
        "stateful Jupyter notebook environment. python will respond with the output of the "
        f"execution or time out after {limits.wall_seconds:g} seconds. The drive at "
        f"'{MOUNT}' can be used to save and persist user files. Internet access for this "
        "session is disabled."
    )


class PythonArgs(BaseModel):
    code: str = Field(description="Python code to run; the value of a last expression is shown")


class PythonSessions:
    """The live interpreters by session; each runs one call at a time."""

    def __init__(self, workspace: Path, limits: SandboxLimits) -> None:
        self.root = workspace / FOLDER
        self.limits = limits
        self.interpreters: dict[str, Interpreter] = {}
        self._starting = asyncio.Lock()  # two calls of one reply must not start two

    async def run(self, session_id: str, code: str) -> str:
        if missing := sandbox_missing():
            raise ToolException(f"python is not available on this server: {missing}")
        await self.close_idle()
        folder = self.root / session_key(session_id)
        interpreter, note = await self._interpreter(session_id, folder)
        async with interpreter.lock:
            before = await asyncio.to_thread(_files, folder)
            answer = await interpreter.run(code, self.limits)
            after = await asyncio.to_thread(_files, folder)
        written = sorted(name for name, seen in after.items() if before.get(name) != seen)
        try:
            return note + _report(answer, written, self.root.parent, folder)
        except ToolException as error:
            raise ToolException(note + str(error)) from None

    async def _interpreter(self, session_id: str, folder: Path) -> tuple[Interpreter, str]:
        """The session's interpreter, started if needed, and the note a fresh one gets."""
        async with self._starting:
            interpreter = self.interpreters.get(session_id)
            if interpreter is not None and interpreter.alive:
                return interpreter, ""
            await self._make_room()
            existed = await asyncio.to_thread(_make_folder, folder)
            note = FRESH_NOTE if existed else ""
            interpreter = await Interpreter.start(folder, self.limits)
            self.interpreters[session_id] = interpreter
            return interpreter, note

    async def _make_room(self) -> None:
        """Stop the least recently used idle interpreter when the cap is reached."""
        if len(self.interpreters) < self.limits.interpreters:
            return
        idle = [(i.last_used, s) for s, i in self.interpreters.items() if not i.lock.locked()]
        if not idle:
            raise ToolException(
                f"all {self.limits.interpreters} python interpreters of this server are busy "
                "(PYTHON_TOOL_MAX_INTERPRETERS); try again in a moment"
            )
        await self.interpreters.pop(min(idle)[1]).kill()

    async def close_idle(self) -> None:
        now = time.monotonic()
        for session_id, interpreter in list(self.interpreters.items()):
            idle = now - interpreter.last_used > self.limits.idle_seconds
            if not interpreter.alive or (idle and not interpreter.lock.locked()):
                del self.interpreters[session_id]
                await interpreter.kill()

    async def close_all(self) -> None:
        for interpreter in self.interpreters.values():
            await interpreter.kill()
        self.interpreters.clear()


def _make_folder(folder: Path) -> bool:
    """The session's folder, owned by the sandbox's user; never a link (bwrap would follow
    it). Whether it existed: an earlier interpreter of the session used it."""
    existed = folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    if folder.is_symlink() or folder.parent.is_symlink():
        raise ToolException("the session's python folder is a link; it is not used")
    if os.geteuid() == 0:
        os.chown(folder, UNPRIVILEGED_ID, UNPRIVILEGED_ID, follow_symlinks=False)
    return existed


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    """Regular files under `folder` (links not followed) and their change time and size."""
    found = {}
    for directory, _, names in os.walk(folder):
        for name in names:
            path = Path(directory, name)
            try:
                status = path.lstat()
            except OSError:
                continue
            if stat.S_ISREG(status.st_mode):
                found[path.relative_to(folder).as_posix()] = (status.st_mtime_ns, status.st_size)
    return found


def _report(answer: dict[str, object], written: list[str], workspace: Path, folder: Path) -> str:
    output = str(answer.get("output") or "")
    error = answer.get("error")
    parts = [output.rstrip("\n")] if output.strip() else []
    if written:
        shown = folder.relative_to(workspace).as_posix()
        lines = [
            f"- {MOUNT}/{name} ({'image, ' if name.lower().endswith(IMAGE_SUFFIXES) else ''}"
            f"workspace path {shown}/{name})"
            for name in written[:MAX_FILES_LISTED]
        ]
        if len(written) > MAX_FILES_LISTED:
            lines.append(f"- ... and {len(written) - MAX_FILES_LISTED} more")
        parts.append("files written:\n" + "\n".join(lines))
    if error:
        raise ToolException("\n\n".join([*parts, f"the code raised {error}"]))
    return "\n\n".join(parts) or "(no output)"


def python_tools(workspace: Path, limits: SandboxLimits) -> list[BaseTool]:
    sessions = PythonSessions(workspace, limits)

    async def python(code: str) -> str:
        return await sessions.run(current_session(), code)

    tool = StructuredTool.from_function(
        coroutine=python,
        name="python",
        description=python_description(limits),
        args_schema=PythonArgs,
    )
    return [tool]
