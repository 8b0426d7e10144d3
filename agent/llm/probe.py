"""Is LLM_BASE_URL a model server's OpenAI base URL? `GET {base}/models`, and what to fix.

Used at start-up (a warning in the log; the service starts anyway) and by /ready.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from agent.settings import mask_url_password

PROBE_TIMEOUT = 3.0  # seconds; the start-up check runs in the background, /ready waits


@dataclass
class UpstreamProbe:
    """The outcome of one probe: `problem` says what is wrong and what to change."""

    url: str
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """Whether `GET {base}/models` answered 200."""
        return self.problem is None


def missing_v1_hint(base_url: str) -> str:
    """ "did you mean …/v1?" for a base URL without /v1, else an empty string."""
    if base_url.rstrip("/").endswith("/v1"):
        return ""
    return f"did you mean LLM_BASE_URL={mask_url_password(base_url.rstrip('/'))}/v1?"


async def probe_upstream(base_url: str, api_key: str | None = None) -> UpstreamProbe:
    """GET {base_url}/models; on a 404 also try {base_url}/v1/models to name the fix."""
    shown = mask_url_password(base_url)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT, headers=headers) as client:
        try:
            status = (await client.get(f"{base_url}/models")).status_code
        except httpx.HTTPError as exc:
            detail = str(exc).replace(base_url, shown) or type(exc).__name__
            return UpstreamProbe(shown, f"the model server at {shown} is not reachable ({detail})")
        if status == 200:
            return UpstreamProbe(shown)
        hint = missing_v1_hint(base_url)
        if status == 404 and hint and await _answers(client, f"{base_url}/v1/models"):
            found = f"{shown}/models is not found but {shown}/v1/models is"
            return UpstreamProbe(shown, f"{found}: {hint}")
    return UpstreamProbe(shown, _status_problem(shown, status, hint))


async def _answers(client: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


def _status_problem(shown: str, status: int, hint: str) -> str:
    if status in (401, 403):
        return f"GET {shown}/models answered {status}: set LLM_API_KEY to the server's key"
    problem = f"GET {shown}/models answered {status}"
    return f"{problem}; LLM_BASE_URL should be the OpenAI base URL, usually ending in /v1 " + (
        f"({hint})" if hint else "(is this an OpenAI-compatible server?)"
    )
