"""File tools: useful inside the workspace, and no way out of it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from langchain_core.tools import BaseTool, ToolException

from mcp_tools.builtin.files import file_tools
from mcp_tools.builtin.workspace import Workspace

SECRET = "top-secret-outside-text"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text(SECRET + "\n")
    return folder


@pytest.fixture
def root(tmp_path: Path, outside: Path) -> Path:
    root = tmp_path / "ws"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "notes.txt").write_text("alpha\nBeta line\ngamma\n")
    (root / "readme.md").write_text("# Project\nsee docs/notes.txt for beta\n")
    (root / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100))
    (root / "file_link.txt").symlink_to(outside / "secret.txt")
    (root / "dir_link").symlink_to(outside, target_is_directory=True)
    (root / "inner_link.txt").symlink_to(root / "readme.md")
    return root


def tools_by_name(root: Path, allow_write: bool = False, budget: int = 16000):
    return {tool.name: tool for tool in file_tools(Workspace(root), budget, allow_write)}


@pytest.fixture
def tools(root: Path) -> dict[str, BaseTool]:
    return tools_by_name(root, allow_write=True)


def test_workspace_is_created_when_missing(tmp_path: Path) -> None:
    Workspace(tmp_path / "new" / "ws")
    assert (tmp_path / "new" / "ws").is_dir()


async def test_list_files_shows_entries_and_sizes(tools) -> None:
    result = await tools["list_files"].ainvoke({})
    assert "docs/" in result
    assert "readme.md  (" in result
    assert "file_link.txt  (link to outside the workspace; not accessible)" in result
    assert "inner_link.txt  (link to readme.md)" in result


async def test_list_files_recursive_with_pattern(tools) -> None:
    result = await tools["list_files"].ainvoke({"recursive": True, "pattern": "*.txt"})
    assert "docs/notes.txt" in result
    assert "readme.md  (" not in result
    assert "docs/" not in result.replace("docs/notes.txt", "")
    assert "secret.txt" not in result


async def test_read_file_numbers_lines(tools) -> None:
    result = await tools["read_file"].ainvoke({"path": "docs/notes.txt"})
    assert result.splitlines() == [
        "'docs/notes.txt' lines 1-3 of 3:",
        "     1\talpha",
        "     2\tBeta line",
        "     3\tgamma",
    ]


async def test_read_file_in_parts(root: Path, tools) -> None:
    (root / "long.txt").write_text("".join(f"line {n}\n" for n in range(1, 101)))
    first = await tools["read_file"].ainvoke({"path": "long.txt", "limit": 10})
    assert "read on with offset=11" in first
    assert "line 10" in first and "line 11" not in first
    second = await tools["read_file"].ainvoke({"path": "long.txt", "offset": 95})
    assert "lines 95-100 of 100" in second
    past_end = await tools["read_file"].ainvoke({"path": "long.txt", "offset": 500})
    assert "only 100 lines" in past_end


async def test_read_file_respects_the_output_budget(root: Path) -> None:
    (root / "wide.txt").write_text("x" * 150 + "\n" + ("y" * 150 + "\n") * 50)
    result = await tools_by_name(root, budget=1000)["read_file"].ainvoke({"path": "wide.txt"})
    assert len(result) <= 1000
    assert "more follows" in result


async def test_read_file_cuts_a_huge_line(root: Path, tools) -> None:
    (root / "min.js").write_text("a" * 50_000 + "\nsecond\n")
    result = await tools["read_file"].ainvoke({"path": "min.js"})
    assert "[line cut]" in result
    assert "     2\tsecond" in result


async def test_binary_file_gets_a_message(tools) -> None:
    result = await tools["read_file"].ainvoke({"path": "image.png"})
    assert "binary file" in result
    assert "PNG" not in result


async def test_missing_file_and_directory_errors(tools) -> None:
    with pytest.raises(ToolException, match="does not exist"):
        await tools["read_file"].ainvoke({"path": "nope.txt"})
    with pytest.raises(ToolException, match="is a directory"):
        await tools["read_file"].ainvoke({"path": "docs"})


async def test_search_files_finds_lines_case_insensitively(tools) -> None:
    result = await tools["search_files"].ainvoke({"query": "BETA"})
    assert "docs/notes.txt:2: Beta line" in result
    assert "readme.md:2: see docs/notes.txt for beta" in result
    only_md = await tools["search_files"].ainvoke({"query": "beta", "glob": "*.md"})
    assert "readme.md:2" in only_md and "notes.txt:2" not in only_md


async def test_search_files_caps_matches(root: Path, tools) -> None:
    (root / "many.txt").write_text("needle\n" * 500)
    result = await tools["search_files"].ainvoke({"query": "needle"})
    assert result.startswith("100 matches")
    assert "stopped at 100" in result


@pytest.mark.parametrize(
    "path", ["../outside/secret.txt", "docs/../../outside/secret.txt", "/etc/passwd", ".."]
)
async def test_read_file_refuses_paths_outside(tools, path: str) -> None:
    with pytest.raises(ToolException, match=r"outside the workspace|absolute path"):
        await tools["read_file"].ainvoke({"path": path})


async def test_absolute_path_into_the_outside_is_refused(tools, outside: Path) -> None:
    with pytest.raises(ToolException, match="absolute path"):
        await tools["read_file"].ainvoke({"path": str(outside / "secret.txt")})


@pytest.mark.parametrize("path", ["..", "../outside", "/", "dir_link"])
async def test_list_files_refuses_paths_outside(tools, path: str) -> None:
    with pytest.raises(ToolException, match=r"outside the workspace|absolute path"):
        await tools["list_files"].ainvoke({"path": path})


@pytest.mark.parametrize("path", ["file_link.txt", "dir_link/secret.txt"])
async def test_symlinks_to_outside_cannot_be_read(tools, path: str) -> None:
    with pytest.raises(ToolException, match="outside the workspace"):
        await tools["read_file"].ainvoke({"path": path})


async def test_symlink_within_workspace_can_be_read(tools) -> None:
    result = await tools["read_file"].ainvoke({"path": "inner_link.txt"})
    assert "# Project" in result


async def test_search_never_reaches_outside(tools) -> None:
    result = await tools["search_files"].ainvoke({"query": SECRET})
    assert result.startswith("No matches")
    for path in ("..", "dir_link", "file_link.txt"):
        with pytest.raises(ToolException, match="outside the workspace"):
            await tools["search_files"].ainvoke({"query": SECRET, "path": path})


async def test_recursive_listing_does_not_enter_linked_directory(tools) -> None:
    result = await tools["list_files"].ainvoke({"recursive": True})
    assert "dir_link  (link to outside the workspace; not accessible)" in result
    assert "secret.txt" not in result


async def test_write_file_is_not_registered_unless_enabled(root: Path) -> None:
    assert set(tools_by_name(root, allow_write=False)) == {
        "list_files",
        "read_file",
        "search_files",
    }


async def test_write_file_creates_replaces_and_appends(root: Path, tools) -> None:
    created = await tools["write_file"].ainvoke({"path": "out/new/a.txt", "content": "one\n"})
    assert created == "Wrote 4 characters to 'out/new/a.txt' (created)."
    await tools["write_file"].ainvoke({"path": "out/new/a.txt", "content": "two\n", "append": True})
    assert (root / "out/new/a.txt").read_text() == "one\ntwo\n"
    replaced = await tools["write_file"].ainvoke({"path": "out/new/a.txt", "content": "3"})
    assert "(replaced)" in replaced
    assert (root / "out/new/a.txt").read_text() == "3"


@pytest.mark.parametrize(
    "path", ["../escape.txt", "docs/../../escape.txt", "dir_link/pwned.txt", "dir_link/new/x.txt"]
)
async def test_write_file_cannot_leave_the_workspace(tmp_path: Path, tools, path: str) -> None:
    with pytest.raises(ToolException, match="outside the workspace"):
        await tools["write_file"].ainvoke({"path": path, "content": "pwned"})
    written = [p for p in tmp_path.rglob("*") if p.is_file() and "pwned" in p.read_text("latin-1")]
    assert written == []
    assert not (tmp_path / "outside" / "new").exists()


async def test_write_file_through_a_file_link_is_refused(outside: Path, tools) -> None:
    with pytest.raises(ToolException, match="outside the workspace"):
        await tools["write_file"].ainvoke({"path": "file_link.txt", "content": "pwned"})
    assert (outside / "secret.txt").read_text() == SECRET + "\n"


async def test_write_file_absolute_path_is_refused(tmp_path: Path, tools) -> None:
    target = tmp_path / "abs.txt"
    with pytest.raises(ToolException, match="absolute path"):
        await tools["write_file"].ainvoke({"path": str(target), "content": "pwned"})
    assert not target.exists()


async def test_write_file_refuses_a_directory(tools) -> None:
    for path in (".", "docs"):
        with pytest.raises(ToolException, match="is a directory"):
            await tools["write_file"].ainvoke({"path": path, "content": "x"})


async def test_link_created_later_inside_the_workspace_is_checked(root: Path, tools) -> None:
    os.symlink(root.parent / "outside", root / "docs" / "late_link")
    with pytest.raises(ToolException, match="outside the workspace"):
        await tools["read_file"].ainvoke({"path": "docs/late_link/secret.txt"})
    with pytest.raises(ToolException, match="outside the workspace"):
        await tools["write_file"].ainvoke({"path": "docs/late_link/x.txt", "content": "pwned"})


async def test_errors_never_show_server_paths(root: Path, tools) -> None:
    with pytest.raises(ToolException) as caught:
        await tools["read_file"].ainvoke({"path": "../outside/secret.txt"})
    assert str(root) not in str(caught.value)


def test_every_argument_is_described_for_the_model(tools) -> None:
    for tool in tools.values():
        properties = tool.tool_call_schema.model_json_schema()["properties"]
        assert properties
        assert all(spec.get("description") for spec in properties.values()), tool.name


@pytest.mark.timeout(30)
async def test_fifo_is_refused_not_waited_on(root: Path, tools) -> None:
    os.mkfifo(root / "pipe")
    with pytest.raises(ToolException, match="not a regular file"):
        await tools["read_file"].ainvoke({"path": "pipe"})
    with pytest.raises(ToolException, match="pipe"):  # refused at once, never blocks
        await tools["write_file"].ainvoke({"path": "pipe", "content": "x"})
