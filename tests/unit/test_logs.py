"""Log records: URL passwords masked whoever logs them; request fields only inside a request."""

from __future__ import annotations

import json
import logging
import string

from hypothesis import given
from hypothesis import strategies as st
from pythonjsonlogger.json import JsonFormatter

from api.logs import RequestContextFilter, note

PART = st.text(string.ascii_letters + string.digits + "-_.~%!$&'()*+,;=", min_size=1, max_size=20)


def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("httpx", logging.INFO, __file__, 1, message, args, None)


@given(user=PART, password=PART, scheme=st.sampled_from(["http", "https", "postgresql"]))
def test_url_passwords_are_masked_in_any_record(user: str, password: str, scheme: str) -> None:
    url = f"{scheme}://{user}:{password}@db.example:5432/v1/chat/completions"
    record = _record('HTTP Request: POST %s "HTTP/1.1 200 OK"', url)
    assert RequestContextFilter().filter(record)
    masked = f"{scheme}://{user}:****@db.example:5432/v1/chat/completions"
    assert record.getMessage() == f'HTTP Request: POST {masked} "HTTP/1.1 200 OK"'


def test_urls_without_password_are_left_alone() -> None:
    record = _record("calling %s and %s", "http://user@host/v1", "http://host:8000/v1")
    RequestContextFilter().filter(record)
    assert record.getMessage() == "calling http://user@host/v1 and http://host:8000/v1"


def test_note_outside_a_request_adds_nothing() -> None:
    note(session_id="abc")
    record = _record("plain")
    RequestContextFilter().filter(record)
    formatted = json.loads(JsonFormatter("{message}", style="{").format(record))
    assert formatted == {"message": "plain"}
