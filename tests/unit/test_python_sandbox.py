"""The python tool's sandbox (bubblewrap, real): useful inside, and every way out fails
cleanly with a tool error while this process (standing in for the service) is unharmed."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from langchain_core.tools import ToolException

from mcp_tools.builtin.python_tool import FRESH_NOTE, PythonSessions
from mcp_tools.builtin.sandbox import SandboxLimits, session_key

LIMITS = SandboxLimits(wall_seconds=8, cpu_seconds=4, memory_mb=256, processes=16)
SECRET_ENV = "OSS_AGENT_TEST_SECRET"


@pytest.fixture
def workspace() -> Iterator[Path]:
    """A workspace the sandbox's unprivileged user can reach (pytest's tmp_path is 0700)."""
    with tempfile.TemporaryDirectory(prefix="pysandbox-") as folder:
        os.chmod(folder, 0o755)
        yield Path(folder)


@pytest.fixture
async def sessions(workspace: Path) -> AsyncIterator[PythonSessions]:
    sessions = PythonSessions(workspace, LIMITS)
    yield sessions
    await sessions.close_all()


async def failure(sessions: PythonSessions, code: str, session: str = "s") -> str:
    with pytest.raises(ToolException) as caught:
        await sessions.run(session, code)
    return str(caught.value)


async def still_works(sessions: PythonSessions, session: str = "s") -> None:
    """The session answers again after the attempt (a fresh interpreter if it had to die)."""
    answer = await sessions.run(session, "6 * 7")
    assert answer.endswith("42")


async def test_state_is_kept_per_session_and_not_shared(sessions: PythonSessions) -> None:
    assert await sessions.run("a", "import math\nx = math.factorial(5)") == "(no output)"
    assert await sessions.run("a", "x + 1") == "121"
    assert "NameError" in await failure(sessions, "x", session="b")


async def test_output_and_last_expression_like_a_notebook(sessions: PythonSessions) -> None:
    assert await sessions.run("s", "print('hi')\n[1, 2][-1]") == "hi\n2"


async def test_files_land_in_the_session_folder_and_are_listed(
    sessions: PythonSessions, workspace: Path
) -> None:
    code = "open('plot.png', 'wb').write(b'\\x89PNG')\nopen('/mnt/data/a.txt', 'w').write('x')"
    answer = await sessions.run("s", code)
    folder = workspace / "python" / session_key("s")
    assert (folder / "plot.png").read_bytes() == b"\x89PNG"
    assert "/mnt/data/plot.png (image, workspace path python/" in answer
    assert "/mnt/data/a.txt (workspace path" in answer
    assert "files written" not in await sessions.run("s", "1")  # nothing new: not listed


async def test_a_new_interpreter_says_so(workspace: Path) -> None:
    first = PythonSessions(workspace, LIMITS)
    await first.run("s", "x = 1")
    await first.close_all()  # as after an idle drop or a restart of the service
    again = PythonSessions(workspace, LIMITS)
    try:
        message = await failure(again, "x")
        assert message.startswith(FRESH_NOTE) and "NameError" in message
    finally:
        await again.close_all()


async def test_idle_interpreters_are_dropped(workspace: Path) -> None:
    sessions = PythonSessions(workspace, SandboxLimits(idle_seconds=0.01))
    try:
        await sessions.run("s", "x = 1")
        await asyncio.sleep(0.05)
        await sessions.close_idle()
        assert sessions.interpreters == {}
    finally:
        await sessions.close_all()


async def test_no_tcp_even_to_a_local_port(sessions: PythonSessions) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3)"
        message = await failure(sessions, code)
    assert "ConnectionRefusedError" in message or "unreachable" in message
    await still_works(sessions)


async def test_no_dns(sessions: PythonSessions) -> None:
    message = await failure(sessions, "import socket\nsocket.getaddrinfo('example.com', 80)")
    assert "gaierror" in message
    await still_works(sessions)


@pytest.mark.parametrize("path", ["/etc/shadow", "/etc/passwd", "/root", str(Path.cwd())])
async def test_host_files_are_not_there(sessions: PythonSessions, path: str) -> None:
    message = await failure(sessions, f"import os\nos.listdir({path!r}) or open({path!r})")
    assert "FileNotFoundError" in message


async def test_the_service_environment_is_not_visible(sessions: PythonSessions) -> None:
    os.environ[SECRET_ENV] = "do-not-leak"
    try:
        answer = await sessions.run("s", "import os\nsorted(os.environ)")
        init = await sessions.run("s", "open('/proc/1/environ', 'rb').read()")
    finally:
        del os.environ[SECRET_ENV]
    assert SECRET_ENV not in answer and "do-not-leak" not in init


@pytest.mark.parametrize(
    ("target", "on_host"),
    [
        ("/usr/evil.txt", "/usr/evil.txt"),
        ("/etc/evil", "/etc/evil"),
        ("/evil", "/evil"),
        ("/proc/1/root/evil", "/evil"),
    ],
)
async def test_no_writing_outside_the_workspace(
    sessions: PythonSessions, target: str, on_host: str
) -> None:
    message = await failure(sessions, f"open({target!r}, 'w').write('x')")
    assert "Error" in message
    assert not Path(on_host).exists()


async def test_a_planted_symlink_leads_nowhere(
    sessions: PythonSessions, workspace: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    await sessions.run("s", "1")
    folder = workspace / "python" / session_key("s")
    (folder / "planted").symlink_to(secret)
    message = await failure(sessions, "open('planted').read()")
    assert "FileNotFoundError" in message and "host secret" not in message
    made = await sessions.run("s", "import os\nos.symlink('/etc/shadow', 'made')\n'ok'")
    assert made.endswith("'ok'") and "made" not in made  # links are not listed as files


async def test_a_fork_bomb_hits_the_process_limit(sessions: PythonSessions) -> None:
    message = await failure(sessions, "import os\nwhile True:\n    os.fork()")
    assert "BlockingIOError" in message or "stopped" in message
    await still_works(sessions)


async def test_a_memory_bomb_fails(sessions: PythonSessions) -> None:
    message = await failure(sessions, "x = bytearray(2 * 1024 ** 3)")
    assert "MemoryError" in message
    await still_works(sessions)


async def test_an_infinite_loop_is_stopped(sessions: PythonSessions) -> None:
    message = await failure(sessions, "while True:\n    pass")
    assert "restarted" in message
    await still_works(sessions)


async def test_huge_output_is_cut(workspace: Path) -> None:
    sessions = PythonSessions(workspace, SandboxLimits(output_bytes=1000))
    try:
        answer = await sessions.run("s", "import os\nprint('x' * 10**6)\nos.write(2, b'y' * 10**6)")
        assert "[output truncated: 1000 of" in answer and len(answer) < 2000
    finally:
        await sessions.close_all()


async def test_a_huge_file_is_refused(sessions: PythonSessions) -> None:
    code = "open('big', 'wb').write(b'x' * (60 * 1024 * 1024))"
    message = await failure(sessions, code)
    assert "File too large" in message or "MemoryError" in message


@pytest.mark.parametrize(
    "code",
    [
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",
        "import os, signal\nos.kill(-1, signal.SIGKILL)",
        "import os, signal\nos.kill(1, signal.SIGKILL)",
        f"import os, signal\nos.kill({os.getpid()}, signal.SIGKILL)",
    ],
)
async def test_killing_the_parent_harms_nobody_outside(sessions: PythonSessions, code: str) -> None:
    try:
        await sessions.run("s", code)
    except ToolException as error:
        assert "Error" in str(error) or "restarted" in str(error)
    assert os.getpid() > 0 and Path(f"/proc/{os.getpid()}").exists()
    await still_works(sessions)


async def test_nothing_privileged_inside(sessions: PythonSessions) -> None:
    status = await sessions.run("s", "print(open('/proc/self/status').read())")
    effective = next(line for line in status.splitlines() if line.startswith("CapEff"))
    assert effective.split()[1] == "0" * 16
    message = await failure(sessions, "import os\nos.unshare(os.CLONE_NEWUSER)")
    assert "Error" in message


async def test_the_session_folder_belongs_to_the_sandbox_user(
    sessions: PythonSessions, workspace: Path
) -> None:
    await sessions.run("s", "open('f', 'w').write('x')")
    folder = workspace / "python" / session_key("s")
    assert not stat.S_ISLNK(folder.lstat().st_mode)
    if os.geteuid() == 0:
        assert (folder / "f").stat().st_uid == 65534


async def test_past_the_cap_the_least_recently_used_interpreter_stops(workspace: Path) -> None:
    sessions = PythonSessions(workspace, SandboxLimits(interpreters=2))
    try:
        for session in ("a", "b"):
            await sessions.run(session, "x = 1")
        await sessions.run("a", "x")  # b is now the least recently used
        await sessions.run("c", "x = 1")
        assert set(sessions.interpreters) == {"a", "c"}
        assert (await failure(sessions, "x", session="b")).startswith(FRESH_NOTE)
    finally:
        await sessions.close_all()


async def test_calls_of_one_reply_share_one_interpreter(sessions: PythonSessions) -> None:
    answers = await asyncio.gather(*(sessions.run("s", "import os\nos.getpid()") for _ in range(3)))
    assert len(set(answers)) == 1 and len(sessions.interpreters) == 1


async def test_a_sandbox_that_cannot_start_says_so_without_server_paths(tmp_path: Path) -> None:
    """pytest's tmp_path is private to root: as root, the sandbox's user cannot reach it."""
    if os.geteuid() != 0:
        pytest.skip("only root starts the sandbox as another user")
    sessions = PythonSessions(tmp_path, LIMITS)
    try:
        message = await failure(sessions, "1")
    finally:
        await sessions.close_all()
    assert "sandbox could not start" in message and str(tmp_path) not in message
