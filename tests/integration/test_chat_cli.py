"""`oss-agent chat` against the running service: piped, and under a real pseudo-terminal."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator

import pexpect
import pytest

from tests.integration.conftest import service_env
from tests.integration.service import OSS_AGENT, Service
from tests.upstream_sim.fixtures import SimServer, free_port

TOOL_TURN = (
    {
        "reasoning": "Use the calculator.",
        "tool_calls": [{"name": "calculator", "arguments": {"expression": "6*7"}}],
    },
    {"content": "It is 42."},
)
WAIT = 60
CHAT_KEY = "k-chat-cli"


def piped(service_url: str, question: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [OSS_AGENT, "chat", "--url", service_url],
        input=question,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )


def test_piped_question_gives_only_the_answer_on_stdout(service: Service, sim: SimServer) -> None:
    sim.control.script(*TOOL_TURN)
    result = piped(service.url, "What is 6*7?\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "It is 42.\n"
    assert sim.control.bodies()[0]["messages"][-1]["content"] == "What is 6*7?"


def test_piped_question_to_no_service_names_the_url_and_what_to_do() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = piped(url, "hello")
    assert result.returncode == 1
    assert result.stdout == ""
    said = " ".join(result.stderr.split())  # rich wraps long lines
    assert f"oss-agent chat: no oss-agent service answers at {url}" in said
    assert "Start it with `oss-agent serve`" in said and "OSS_AGENT_URL" in said


@pytest.fixture(scope="module")
def keyed_service(
    sim_server: SimServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """With a client key: only then does the service list the caller's sessions."""
    workdir = tmp_path_factory.mktemp("keyed")
    svc = Service(service_env(sim_server.base_url, workdir, API_KEYS=CHAT_KEY), workdir).start()
    yield svc
    svc.stop()


def test_repl_under_a_pseudo_terminal(keyed_service: Service, sim: SimServer) -> None:
    service = keyed_service
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "COLUMNS": "200",
        "OSS_AGENT_URL": service.url,
        "OSS_AGENT_KEY": CHAT_KEY,
    }
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(OSS_AGENT, ["chat"], env=env, encoding="utf-8", timeout=WAIT)
    try:
        child.expect("you> ")
        sim.control.script(*TOOL_TURN)
        child.sendline("What is 6*7?")
        child.expect(re.escape("\x1b[2mUse"))  # reasoning, dimmed (streamed in pieces)
        child.expect(re.escape('⚙ calculator({"expression": "6*7"})'))
        child.expect(r"→ 42 \(\d+ ms\)")
        child.expect("It is 42.")
        child.expect("you> ")
        first = sim.control.requests("/v1/chat/completions")
        assert len(first) == 2

        child.sendline("/sessions")
        child.expect(r"\* ([0-9a-f]{32})  What is 6\*7\?")
        first_id = child.match.group(1)
        child.expect("you> ")

        child.sendline("/new")
        child.expect("New session")
        child.expect("you> ")
        child.sendline("second chat")
        child.expect("echo: second chat")
        child.expect("you> ")

        child.sendline(f"/switch {first_id}")
        child.expect(f"Switched to {first_id}")
        child.expect("you> ")
        child.sendline("and again")
        child.expect("echo: and again")
        child.expect("you> ")
        with service.http() as http:
            auth = {"Authorization": f"Bearer {CHAT_KEY}"}
            history = http.get(f"/v1/sessions/{first_id}", headers=auth).json()["messages"]
        assert [m["content"] for m in history if m["role"] == "user"] == [
            "What is 6*7?",
            "and again",
        ]

        child.sendline("/switch no-such-session")
        child.expect("error: 404")
        child.expect("you> ")
        child.sendline("/exit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
