"""Turning the tool name a model wrote into an offered tool's name."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from agent.builtin_tools import GPT_OSS_TOOL_NAMES, tool_for_recipient
from agent.toolcalls.repair import fits_schema
from agent.toolcalls.types import parameters_schema, tool_functions

_MARKUP = re.compile(r"<\|[A-Za-z0-9_]*\|>|<\||\|>")
_EDGE_JUNK = " \t\r\n\"'`.,:;!?()[]{}<>"
_SEPARATORS = re.compile(r"[\s\-.]+")


def clean_name(
    raw: str, tools: Sequence[Any] | None = None, arguments: dict[str, Any] | None = None
) -> str:
    """Best tool name for `raw`.

    Markup (`<|channel|>…`), a `to=` prefix, `functions.` and surrounding junk are
    removed; the result is mapped onto an offered tool (exact, then with a glued `json`
    dropped, then ignoring case or `-`/`.`/`_` differences). If no piece names an
    offered tool and exactly one offered tool's schema fits `arguments` (non-empty,
    unless only one tool is offered), that tool is used, except for a name of gpt-oss's own
    tools (`python`, `browser.search`...), which stays itself. Otherwise the cleaned name is
    returned for the caller to report.
    """
    offered = tool_functions(tools)
    pieces = [piece for piece in map(_clean_piece, _MARKUP.split(raw or "")) if piece]
    for piece in pieces:
        match = _match_offered(piece, offered)
        if match is not None:
            return match
    for piece in pieces:  # gpt-oss's own tool, not offered: never another tool in disguise
        if builtin := tool_for_recipient(piece) or (piece if piece in GPT_OSS_TOOL_NAMES else None):
            return builtin
    if arguments is not None and (arguments or len(offered) == 1):
        fitting = [
            name
            for name, function in offered.items()
            if fits_schema(arguments, parameters_schema(function))
        ]
        if len(fitting) == 1:
            return fitting[0]
    return pieces[0] if pieces else ""


def _clean_piece(piece: str) -> str:
    if "to=" in piece:
        piece = piece.rsplit("to=", 1)[1]
    words = piece.strip(_EDGE_JUNK).split()
    if not words:
        return ""
    word = words[0]
    while word.startswith("functions."):
        word = word.removeprefix("functions.")
    return word.strip(_EDGE_JUNK)


def _match_offered(name: str, offered: dict[str, Any]) -> str | None:
    if name in offered:
        return name
    if name.lower().endswith("json") and name[:-4] in offered:
        return name[:-4]
    for key in (str.lower, _loose):
        matches = [tool for tool in offered if key(tool) == key(name)]
        if len(matches) == 1:
            return matches[0]
    return None


def _loose(name: str) -> str:
    return _SEPARATORS.sub("_", name.lower())
