"""The HTTP side of `oss-agent chat`: one session's turns, streamed, with tool activity."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

SESSION_HEADER = "X-Session-ID"


class ChatError(Exception):
    """What the service said went wrong (its OpenAI-shaped error message), or why it could
    not be asked."""


@contextmanager
def reaching(url: str) -> Iterator[None]:
    """Turn a connection failure into a ChatError that names `url` and what to do."""
    try:
        yield
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise ChatError(
            f"no oss-agent service answers at {url} ({exc}). Start it with `oss-agent serve`"
            " (or `oss-agent serve --demo` to try it without a model server), or point"
            " --url / OSS_AGENT_URL at the service that runs."
        ) from None
    except httpx.TransportError as exc:
        raise ChatError(f"the connection to {url} failed: {exc}") from None


@dataclass
class Event:
    """One piece of a streamed turn: `reasoning`, `content`, `tool_started`, `tool_finished`."""

    kind: str
    text: str = ""
    activity: dict[str, Any] | None = None


class ChatClient:
    """A client of a running oss-agent service, holding the current session id."""

    def __init__(self, url: str, key: str | None, timeout: float = 300) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)
        self.session: str | None = None

    def close(self) -> None:
        self.http.close()

    def sessions(self) -> list[dict[str, Any]]:
        """The caller's sessions, oldest first."""
        with reaching(self.url):
            return _checked(self.http.get("/v1/sessions")).json()["data"]

    def switch(self, session_id: str) -> dict[str, Any]:
        """Continue `session_id` from now on; its history."""
        with reaching(self.url):
            history = _checked(self.http.get(f"/v1/sessions/{session_id}")).json()
        self.session = session_id
        return history

    def ask(self, text: str) -> Iterator[Event]:
        """Send `text` as the next user message and yield the answer as it streams."""
        body = {
            "stream": True,
            "tool_activity": True,
            "messages": [{"role": "user", "content": text}],
        }
        headers = {SESSION_HEADER: self.session} if self.session else {}
        with (
            reaching(self.url),
            self.http.stream("POST", "/v1/chat/completions", json=body, headers=headers) as r,
        ):
            if r.status_code != 200:
                r.read()
                _checked(r)
            self.session = r.headers.get(SESSION_HEADER, self.session)
            for line in r.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    yield from _events(json.loads(line[6:]))


def _events(chunk: dict[str, Any]) -> Iterator[Event]:
    if "error" in chunk:
        raise ChatError(chunk["error"].get("message", str(chunk["error"])))
    for choice in chunk.get("choices", []):
        delta = choice.get("delta", {})
        if activity := delta.get("tool_activity"):
            yield Event(f"tool_{activity['type']}", activity=activity)
        if text := delta.get("reasoning_content"):
            yield Event("reasoning", text)
        if text := delta.get("content"):
            yield Event("content", text)


def _checked(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text or f"HTTP {response.status_code}"
        raise ChatError(f"{response.status_code}: {message}")
    return response
