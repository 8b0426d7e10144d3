"""A long-lived Python interpreter per session, inside a bubblewrap sandbox.

The sandbox (`bwrap_command`): new user, pid, network, IPC, UTS and cgroup namespaces (no
network at all), every capability dropped, a new terminal session, killed with the
service; the file system holds only /usr read-only (the interpreter and its standard
library), a private /proc, /dev and /tmp, and the session's folder read/write at
/mnt/data. Started as an unprivileged user when the service runs as root. `prlimit` caps
memory, processes, file size and CPU before the interpreter starts; the wall-time limit is
kept from here (the interpreter is killed, and its state with it).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from langchain_core.tools import ToolException

logger = logging.getLogger(__name__)

KERNEL_SOURCE = (Path(__file__).parent / "python_kernel.py").read_text()
MOUNT = "/mnt/data"
UNPRIVILEGED_ID = 65534  # nobody/nogroup
PROTOCOL_SLACK = 64 * 1024  # answer line bytes beyond the output limit (JSON escaping)
STDERR_KEEP = 2000


@dataclass(frozen=True)
class SandboxLimits:
    """What one interpreter may use."""

    wall_seconds: float = 30.0
    cpu_seconds: int = 30
    memory_mb: int = 512
    processes: int = 32
    output_bytes: int = 20_000
    file_mb: int = 50
    idle_seconds: float = 900.0
    interpreters: int = 8  # live at once, all sessions together
    interpreter: str = "/usr/bin/python3"


def bwrap_command(folder: Path, limits: SandboxLimits) -> list[str]:
    """The bwrap argv that runs the interpreter loop with `folder` at /mnt/data."""
    memory = limits.memory_mb * 1024 * 1024
    size = limits.file_mb * 1024 * 1024
    cpu_total = limits.cpu_seconds * 20  # a session's interpreter in all; each call less
    return [
        *("bwrap", "--unshare-all", "--unshare-user", "--disable-userns"),
        *("--die-with-parent", "--new-session", "--cap-drop", "ALL"),
        *("--ro-bind", "/usr", "/usr"),
        *_merged_usr_links(),
        *("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"),
        *("--bind", str(folder), MOUNT, "--chdir", MOUNT),
        *("--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", MOUNT),
        *("--setenv", "MPLBACKEND", "Agg", "--setenv", "MPLCONFIGDIR", "/tmp"),
        *("--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--remount-ro", "/", "--"),
        *("/usr/bin/prlimit", f"--as={memory}", f"--nproc={limits.processes}"),
        *(f"--fsize={size}", f"--cpu={limits.cpu_seconds}:{cpu_total}", "--core=0", "--"),
        *(limits.interpreter, "-I", "-c", KERNEL_SOURCE),
        *(str(limits.output_bytes), str(limits.cpu_seconds)),
    ]


def _merged_usr_links() -> list[str]:
    """/bin, /lib... as the host has them: links into /usr (merged /usr) or read-only binds."""
    args: list[str] = []
    for name in ("bin", "sbin", "lib", "lib32", "lib64"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


def _as_unprivileged() -> list[str]:
    """As root, start bwrap as nobody (setpriv: the event loop may not support `user=`), so
    the process limit counts the sandbox's processes and an escape would find no privilege."""
    if os.geteuid() != 0:
        return []
    ids = str(UNPRIVILEGED_ID)
    return ["/usr/bin/setpriv", f"--reuid={ids}", f"--regid={ids}", "--clear-groups", "--"]


def sandbox_missing() -> str | None:
    """Why the sandbox cannot run here, or None."""
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (Debian package 'bubblewrap', command 'bwrap')"
    if not (Path("/usr/bin/prlimit").exists() and Path("/usr/bin/setpriv").exists()):
        return "prlimit or setpriv is missing (Debian package 'util-linux')"
    return None


class Interpreter:
    """One sandboxed interpreter process and its request/response pipe."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.last_used = time.monotonic()
        self.lock = asyncio.Lock()

    @classmethod
    async def start(cls, folder: Path, limits: SandboxLimits) -> Interpreter:
        """Start the loop with `folder` as its /mnt/data. As root, the loop runs as nobody,
        who must be able to reach `folder` (every parent directory searchable by others)."""
        process = await asyncio.create_subprocess_exec(
            *_as_unprivileged(),
            *bwrap_command(folder, limits),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            env={"PATH": "/usr/bin:/bin"},  # bwrap's own init is visible inside (/proc/1)
            limit=limits.output_bytes + PROTOCOL_SLACK,
        )
        return cls(process)

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def run(self, code: str, limits: SandboxLimits) -> dict[str, object]:
        """The loop's answer to `code`; ToolException (and the process killed) when it
        overruns the wall time, dies, or answers something that is not an answer."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.last_used = time.monotonic()
        try:
            async with asyncio.timeout(limits.wall_seconds):
                self.process.stdin.write((json.dumps({"code": code}) + "\n").encode())
                await self.process.stdin.drain()
                line = await self.process.stdout.readline()
        except TimeoutError:
            await self.kill()
            raise ToolException(
                f"the code did not finish within {limits.wall_seconds:g} s and was stopped; "
                "the interpreter was restarted, so its variables and imports are gone"
            ) from None
        except (ValueError, ConnectionError, asyncio.LimitOverrunError):
            await self.kill()
            raise ToolException(_broken("sent more output than allowed")) from None
        except BaseException:  # cancelled mid-call: a late answer must not meet the next call
            self.kill_now()
            raise
        finally:
            self.last_used = time.monotonic()
        if not line:
            raise ToolException(await self._death_reason(limits))
        try:
            answer = json.loads(line)
        except ValueError:
            await self.kill()
            raise ToolException(_broken("answered with something that is not a result")) from None
        if not isinstance(answer, dict):
            await self.kill()
            raise ToolException(_broken("answered with something that is not a result"))
        return answer

    async def _death_reason(self, limits: SandboxLimits) -> str:
        await self.kill()
        stderr = b""
        if self.process.stderr is not None:
            stderr = await self.process.stderr.read(STDERR_KEEP)
        text = stderr.decode(errors="replace").strip()
        if text.startswith("bwrap:"):  # it names the server's paths: for the log only
            logger.warning("python sandbox could not start: %s", text.splitlines()[0])
            return "python is not available: its sandbox could not start (the server log says why)"
        return _broken(
            f"stopped (exit status {self.process.returncode}): it may have hit the memory "
            f"({limits.memory_mb} MB) or CPU ({limits.cpu_seconds} s) limit, or ended itself"
        )

    async def kill(self) -> None:
        self.kill_now()
        await self.process.wait()

    def kill_now(self) -> None:
        """SIGKILL the sandbox's process group (bwrap takes its namespace down with it)."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, 9)


def _broken(why: str) -> str:
    return (
        f"the python interpreter {why}; it was restarted, so its variables and imports "
        "are gone (files in /mnt/data remain)"
    )


def session_key(session_id: str) -> str:
    """A folder name for a session: never a path, never the id itself."""
    return hashlib.sha256(session_id.encode()).hexdigest()[:24]
