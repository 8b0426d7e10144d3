"""gpt-oss's own tools (BUILTIN_TOOLS): the one place that maps a harmony recipient
(`python`, `browser.search`, `browser.open`, `browser.find`) to the server tool that
answers it (`python`, `browser_search`, `browser_open`, `browser_find`) and back.

Models that are not gpt-oss see the same tools as ordinary functions under the tool names.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

PYTHON = "python"
BROWSER = "browser"
RECIPIENT_TOOLS = {
    "python": PYTHON,
    "browser.search": "browser_search",
    "browser.open": "browser_open",
    "browser.find": "browser_find",
}
TOOL_RECIPIENTS = {tool: recipient for recipient, tool in RECIPIENT_TOOLS.items()}
GPT_OSS_TOOL_NAMES = frozenset(TOOL_RECIPIENTS)


def tool_for_recipient(recipient: str) -> str | None:
    """The server tool a harmony recipient addresses, if it is a built-in one."""
    return RECIPIENT_TOOLS.get(recipient)


def recipient_for_tool(name: str, builtin: Iterable[str]) -> str | None:
    """The harmony recipient of tool `name` when it is offered as a built-in, else None."""
    return TOOL_RECIPIENTS.get(name) if name in builtin else None


def code_arguments(body: str) -> str:
    """The python tool's arguments for a harmony message body: the body is the code,
    unless it already is the arguments object."""
    try:
        value = json.loads(body)
    except ValueError:
        value = None
    if isinstance(value, dict) and isinstance(value.get("code"), str):
        return body
    return json.dumps({"code": body}, ensure_ascii=False)


def code_of(arguments: object) -> str:
    """The code of a python call's arguments (object or JSON text), for the harmony body."""
    value = arguments
    if isinstance(arguments, str):
        try:
            value = json.loads(arguments)
        except ValueError:
            return arguments
    if isinstance(value, dict) and isinstance(value.get("code"), str):
        return value["code"]
    return arguments if isinstance(arguments, str) else json.dumps(arguments)
