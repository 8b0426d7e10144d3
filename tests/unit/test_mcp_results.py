"""Flattening MCP call results to plain text."""

from __future__ import annotations

import json

import anyio
from mcp import McpError, types

from mcp_tools.mcp_results import describe_exception, result_to_text


def test_text_blocks_are_joined_and_structured_copy_is_not_repeated() -> None:
    result = types.CallToolResult(
        content=[
            types.TextContent(type="text", text="a"),
            types.TextContent(type="text", text="b"),
        ],
        structuredContent={"result": "a b"},
    )
    assert result_to_text(result) == "a\nb"


def test_structured_content_alone_becomes_json_text() -> None:
    result = types.CallToolResult(content=[], structuredContent={"temp": 21, "city": "Zürich"})
    assert json.loads(result_to_text(result)) == {"temp": 21, "city": "Zürich"}
    assert "Zürich" in result_to_text(result)


def test_binary_and_resource_blocks_become_placeholders() -> None:
    image = types.ImageContent(type="image", data="QUJD", mimeType="image/png")
    link = types.ResourceLink(type="resource_link", uri="file:///r.txt", name="r.txt")
    text_resource = types.EmbeddedResource(
        type="resource",
        resource=types.TextResourceContents(uri="file:///a.txt", text="inline text"),
    )
    blob = types.EmbeddedResource(
        type="resource",
        resource=types.BlobResourceContents(uri="file:///b.bin", blob="AAAA", mimeType=None),
    )
    text = result_to_text(types.CallToolResult(content=[image, link, text_resource, blob]))
    assert text.splitlines() == [
        "[image image/png, 4 base64 chars, not shown]",
        "[resource file:///r.txt (r.txt)]",
        "inline text",
        "[resource file:///b.bin, binary, not shown]",
    ]


def test_describe_exception_unwraps_groups_and_names_closed_connections() -> None:
    closed = McpError(types.ErrorData(code=types.CONNECTION_CLOSED, message="Connection closed"))
    assert "closed the connection" in describe_exception(ExceptionGroup("tg", [closed]))
    missing = FileNotFoundError(2, "No such file", "/bin/nope")
    assert describe_exception(missing) == "command not found: /bin/nope"
    assert describe_exception(RuntimeError()) == "RuntimeError"


def test_writing_to_a_server_that_exited_is_a_closed_connection() -> None:
    for gone in (anyio.BrokenResourceError(), BrokenPipeError(32, "Broken pipe")):
        assert "closed the connection" in describe_exception(ExceptionGroup("tg", [gone]))
