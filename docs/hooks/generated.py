"""MkDocs hook: the parts of the docs that the code says, written at build time so they
cannot drift from it.

A page asks for one with a marker line, `<!-- generated: NAME -->`, NAME being one of
`settings` (agent/settings.py), `cli` (the typer app), `endpoints` (the app's OpenAPI) or
`graph` (the compiled LangGraph, as Mermaid). An unknown NAME fails the build.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any

MARKER = re.compile(r"^<!-- generated: ([a-z]+) -->$", re.MULTILINE)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """MkDocs calls this for every page: each marker becomes what it names."""
    return MARKER.sub(lambda match: render(match.group(1)), markdown)


def render(name: str) -> str:
    if name not in RENDERERS:
        raise ValueError(f"unknown generated block {name!r}; known: {sorted(RENDERERS)}")
    return RENDERERS[name]()


def _cell(text: str) -> str:
    """Text fit for one Markdown table cell, shown as written: one line, and outside code
    spans Markdown's punctuation escaped and `&` `<` `>` as entities (`<API_KEY>` is no tag)."""
    spans = " ".join(text.split()).split("`")
    for i in range(0, len(spans), 2):
        spans[i] = re.sub(r"([\\|*_\[\]!#+\-.{}()])", r"\\\1", spans[i])
        spans[i] = spans[i].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(spans)


def _code(value: str) -> str:
    return f"`{value}`" if value else ""


# --- settings -------------------------------------------------------------------------


def settings_table() -> str:
    """Every field of `Settings`, in the order the code declares them."""
    from agent.settings import Settings

    rows = [
        "| variable | default | accepts | meaning |",
        "|---|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = _default_of(field)
        rows.append(
            f"| `{name.upper()}` | {default} | {_cell(_accepts(field))} "
            f"| {_cell(field.description or '')} |"
        )
    return "\n".join(rows)


def _default_of(field: Any) -> str:
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, list):
        return _code(",".join(value)) or "empty"
    if isinstance(value, Enum):
        return _code(str(value.value))
    if isinstance(value, bool):
        return _code(str(value).lower())
    if isinstance(value, float) and value.is_integer():
        return _code(str(int(value)))
    if isinstance(value, Path):
        return _code(value.as_posix() if value.is_absolute() else f"./{value.as_posix()}")
    return _code(str(value))


def _accepts(field: Any) -> str:
    """What a value may be: the choices of an enum, else the type and its bounds."""
    annotation = field.annotation
    kinds = [t for t in getattr(annotation, "__args__", (annotation,)) if t is not type(None)]
    kind = kinds[0] if kinds else annotation
    if isinstance(kind, type) and issubclass(kind, Enum):
        return ", ".join(str(member.value) for member in kind)
    names = {
        bool: "true or false",
        int: "integer",
        float: "number",
        str: "text",
        Path: "file path",
    }
    text = names.get(kind, "comma-separated list" if "list" in str(kind) else "secret")
    for bound in field.metadata:
        for attr, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            if getattr(bound, attr, None) is not None:
                text += f", {sign} {getattr(bound, attr)}"
    return text


# --- command line ---------------------------------------------------------------------


def cli_reference() -> str:
    """Each `oss-agent` command with its help and options, from the typer app."""
    import typer

    from api.cli import app

    group = typer.main.get_command(app)
    context = typer.Context(group, info_name="oss-agent")
    parts = []
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        parts.append(f"### `oss-agent {name}`\n\n{(command.help or '').strip()}\n")
        options = [p for p in command.params if p.param_type_name == "option"]
        if options:
            parts.append("| option | default | environment | what it does |\n|---|---|---|---|")
            parts.extend(_option_row(option) for option in options)
            parts.append("")
    return "\n".join(parts)


def _option_row(option: Any) -> str:
    flags = ", ".join(f"`{flag}`" for flag in option.opts)
    default = "" if option.is_flag or option.default is None else _code(str(option.default))
    envvar = _code(option.envvar) if isinstance(option.envvar, str) else ""
    return f"| {flags} | {default} | {envvar} | {_cell(option.help or '')} |"


# --- HTTP endpoints -------------------------------------------------------------------


def endpoints_table() -> str:
    """Every operation of the app's OpenAPI schema, with the first paragraph of its docs."""
    from agent.settings import Settings
    from api.app import create_app

    spec = create_app(Settings.model_construct()).openapi()
    rows = ["| method and path | what it does |", "|---|---|"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            text = operation.get("description") or operation.get("summary") or ""
            rows.append(f"| `{method.upper()} {path}` | {_cell(text.split(chr(10) * 2)[0])} |")
    return "\n".join(rows)


# --- the graph ------------------------------------------------------------------------


def graph_diagram() -> str:
    """The compiled agent graph, drawn by LangGraph itself as Mermaid."""
    from agent.settings import Settings
    from graph.builder import build_graph
    from graph.deps import AgentDeps

    graph = build_graph(AgentDeps.create(Settings.model_construct()))
    return f"```mermaid\n{graph.get_graph().draw_mermaid().strip()}\n```"


RENDERERS: dict[str, Callable[[], str]] = {
    "settings": settings_table,
    "cli": cli_reference,
    "endpoints": endpoints_table,
    "graph": graph_diagram,
}
