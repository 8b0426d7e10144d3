"""The `# Tools` section of the harmony *system* message for gpt-oss's own tools, as the
openai-harmony library renders them: the `browser` namespace (search, open, find) with
the citation instructions the model was trained on, and `python` with its description.

The browser text is the trained one (only the functions offered are declared); the python
description is the offered tool's own, which states this server's time limit and drive.
"""

# ruff: noqa: E501  (the trained text, line for line)
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.builtin_tools import PYTHON, TOOL_RECIPIENTS

_BROWSER_HEADER = """## browser

// Tool for browsing.
// The `cursor` appears in brackets before each browsing display: `[{cursor}]`.
// Cite information from the tool using the following format:
// `【{cursor}†L{line_start}(-L{line_end})?】`, for example: `【6†L9-L11】` or `【8†L3】`.
// Do not quote more than 10 words directly from the tool output.
// sources=web (default: web)
namespace browser {
"""

_BROWSER_FUNCTIONS = {
    "search": """// Searches for information related to `query` and displays `topn` results.
type search = (_: {
query: string,
topn?: number, // default: 10
source?: string,
}) => any;
""",
    "open": """// Opens the link `id` from the page indicated by `cursor` starting at line number `loc`, showing `num_lines` lines.
// Valid link ids are displayed with the formatting: `【{id}†.*】`.
// If `cursor` is not provided, the most recent page is implied.
// If `id` is a string, it is treated as a fully qualified URL associated with `source`.
// If `loc` is not provided, the viewport will be positioned at the beginning of the document or centered on the most relevant passage, if available.
// Use this function without `id` to scroll to a new location of an opened page.
type open = (_: {
id?: number | string, // default: -1
cursor?: number, // default: -1
loc?: number, // default: -1
num_lines?: number, // default: -1
view_source?: boolean, // default: false
source?: string,
}) => any;
""",
    "find": """// Finds exact matches of `pattern` in the current page, or the page given by `cursor`.
type find = (_: {
pattern: string,
cursor?: number, // default: -1
}) => any;
""",
}


def render_builtin_section(builtin: Mapping[str, Mapping[str, Any]]) -> str:
    """`# Tools` for {tool name: OpenAI function} of the built-ins offered; "" if none."""
    sections = []
    browser = [
        TOOL_RECIPIENTS[name].removeprefix("browser.")
        for name in builtin
        if TOOL_RECIPIENTS.get(name, "").startswith("browser.")
    ]
    if browser:
        functions = [_BROWSER_FUNCTIONS[f] for f in _BROWSER_FUNCTIONS if f in browser]
        sections.append(_BROWSER_HEADER + "\n" + "\n".join(functions) + "\n} // namespace browser")
    if PYTHON in builtin:
        sections.append(f"## python\n\n{builtin[PYTHON].get('description') or ''}".rstrip())
    return "# Tools\n\n" + "\n\n".join(sections) if sections else ""
