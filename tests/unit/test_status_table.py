"""The docs' status-code table (docs/errors.md) says what api/errors.py answers, code by code."""

from __future__ import annotations

import re
from pathlib import Path

from agent.errors import AgentError
from api.errors import _HTTP, http_of

ERRORS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def _table() -> dict[str, set[int]]:
    """code -> the statuses its rows give, from the table under `## Status codes`."""
    text = ERRORS_PAGE.read_text().split("## Status codes", 1)[1].split("\n#", 1)[0]
    codes: dict[str, set[int]] = {}
    for row in re.findall(r"^\| ([\d, ]+) \| (.+?) \|", text, flags=re.MULTILINE):
        statuses = {int(s) for s in row[0].split(",")}
        for code in re.findall(r"`(\w+)`", row[1]):
            codes.setdefault(code, set()).update(statuses)
    return codes


def test_every_mapped_code_is_in_the_table_with_its_status() -> None:
    table = _table()
    for code in _HTTP:
        assert code in table, f"{code} is missing from the status table of docs/errors.md"
        assert table[code] == {http_of(AgentError("x", code=code))[0]}, code


def test_the_table_names_the_codes_clients_meet() -> None:
    table = _table()
    assert table["upstream_rejected"] == {400}  # a backend's 4xx, unmapped: the 400 fallback
    assert table["session_busy"] == {409} and table["too_many_turns"] == {503}
    assert table["model_not_found"] == {404} and table["no_backend"] == {503}
    for code, statuses in table.items():
        assert statuses == {http_of(AgentError("x", code=code))[0]}, code
