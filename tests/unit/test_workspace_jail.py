"""The workspace jail: paths are walked beneath the root one component at a time, hard
links are refused unless allowed, and no message shows where the workspace lives."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from langchain_core.tools import BaseTool, ToolException

from mcp_tools.builtin.files import file_tools
from mcp_tools.builtin.tool_turn import turn_write_budget
from mcp_tools.builtin.workspace import Workspace

SECRET = "hard-linked-outside-secret"


@pytest.fixture
def outside_file(tmp_path: Path) -> Path:
    (tmp_path / "outside").mkdir()
    secret = tmp_path / "outside" / "secret.txt"
    secret.write_text(SECRET + "\n")
    return secret


@pytest.fixture
def root(tmp_path: Path, outside_file: Path) -> Path:
    root = tmp_path / "ws"
    (root / "docs" / "deep").mkdir(parents=True)
    (root / "docs" / "deep" / "a.txt").write_text("deep text\n")
    os.link(outside_file, root / "hard.txt")
    (root / "loop_a").symlink_to("loop_b")
    (root / "loop_b").symlink_to("loop_a")
    (root / "up_link").symlink_to("docs/deep/..")  # relative, stays inside
    (root / "abs_link").symlink_to(root / "docs" / "deep" / "a.txt")
    return root


def tools_for(root: Path, allow_hard_links: bool = False) -> dict[str, BaseTool]:
    workspace = Workspace(root, allow_hard_links=allow_hard_links)
    return {tool.name: tool for tool in file_tools(workspace, 16000, allow_write=True)}


@pytest.fixture
def tools(root: Path) -> dict[str, BaseTool]:
    return tools_for(root)


async def test_hard_linked_file_is_refused(tools) -> None:
    with pytest.raises(ToolException, match="2 hard links") as caught:
        await tools["read_file"].ainvoke({"path": "hard.txt"})
    assert "TOOLS_FILES_ALLOW_HARDLINKS" in str(caught.value)
    with pytest.raises(ToolException, match="hard links"):
        await tools["search_files"].ainvoke({"query": "secret", "path": "hard.txt"})


async def test_search_leaves_hard_linked_files_out(tools) -> None:
    result = await tools["search_files"].ainvoke({"query": SECRET})
    assert result.startswith("No matches")


async def test_write_through_a_hard_link_leaves_the_outside_file_alone(tools, outside_file) -> None:
    for append in (False, True):
        args = {"path": "hard.txt", "content": "x", "append": append}
        with pytest.raises(ToolException, match="hard links"):
            await tools["write_file"].ainvoke(args)
    assert outside_file.read_text() == SECRET + "\n"  # not emptied before the refusal


async def test_hard_links_allowed_by_the_setting(root: Path) -> None:
    result = await tools_for(root, allow_hard_links=True)["read_file"].ainvoke({"path": "hard.txt"})
    assert SECRET in result


async def test_link_loop_is_told_without_the_workspace_path(root: Path, tools) -> None:
    with pytest.raises(ToolException, match="links loop") as caught:
        await tools["read_file"].ainvoke({"path": "loop_a"})
    assert str(root) not in str(caught.value) and "/tmp" not in str(caught.value)
    listing = await tools["list_files"].ainvoke({"recursive": True})
    assert "loop_a  (broken link; not accessible)" in listing
    assert str(root.parent) not in listing


async def test_links_inside_the_workspace_are_followed_inside(tools) -> None:
    assert "deep text" in await tools["read_file"].ainvoke({"path": "abs_link"})
    assert "deep text" in await tools["read_file"].ainvoke({"path": "up_link/deep/a.txt"})
    listing = await tools["list_files"].ainvoke({})
    assert "abs_link  (link to docs/deep/a.txt)" in listing
    assert "up_link  (link to docs)" in listing


async def test_dot_dot_is_walked_not_resolved_by_the_kernel(tools) -> None:
    result = await tools["read_file"].ainvoke({"path": "docs/deep/../deep/./a.txt"})
    assert result.startswith("'docs/deep/a.txt' lines 1-1")
    with pytest.raises(ToolException, match="outside the workspace"):
        await tools["read_file"].ainvoke({"path": "up_link/../../outside/secret.txt"})


async def test_a_file_in_the_middle_of_a_path(tools) -> None:
    with pytest.raises(ToolException, match="a part of it is a file"):
        await tools["read_file"].ainvoke({"path": "docs/deep/a.txt/more"})


async def test_nul_byte_is_refused(tools) -> None:
    with pytest.raises(ToolException, match="not a usable path"):
        await tools["read_file"].ainvoke({"path": "docs/\x00a.txt"})


def _open_below(folder: Path) -> list[str]:
    """This process's descriptors of anything in `folder` (other tests' descriptors vary)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith(str(folder)):
                found.append(target)
    return found


async def test_no_descriptor_is_left_open(tmp_path: Path, tools) -> None:
    for path in ("docs/deep/a.txt", "hard.txt", "loop_a", "../x", "nope/a.txt"):
        with contextlib.suppress(ToolException):
            await tools["read_file"].ainvoke({"path": path})
    await tools["search_files"].ainvoke({"query": "text"})
    await tools["list_files"].ainvoke({"recursive": True})
    await tools["write_file"].ainvoke({"path": "new/b.txt", "content": "b"})
    assert _open_below(tmp_path) == []


async def test_turn_write_budget_refuses_writes_past_it(root: Path, tools) -> None:
    with turn_write_budget(limit=10, used=4) as budget:
        await tools["write_file"].ainvoke({"path": "a.txt", "content": "123456"})
        with pytest.raises(ToolException, match="TOOL_WRITE_BYTES_PER_TURN") as caught:
            await tools["write_file"].ainvoke({"path": "b.txt", "content": "x"})
    assert "0 bytes are left" in str(caught.value)
    assert budget.used == 10
    assert not (root / "b.txt").exists()


async def test_a_failed_write_is_not_charged(tools) -> None:
    with turn_write_budget(limit=100) as budget, pytest.raises(ToolException):
        await tools["write_file"].ainvoke({"path": "../x.txt", "content": "12345"})
    assert budget.used == 0


async def test_a_removed_workspace_is_told_without_its_path(tmp_path: Path) -> None:
    root = tmp_path / "gone"
    tools = tools_for(root)
    root.rmdir()
    with pytest.raises(ToolException, match="workspace cannot be opened") as caught:
        await tools["list_files"].ainvoke({})
    assert str(tmp_path) not in str(caught.value)
