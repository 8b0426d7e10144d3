"""`oss-agent doctor` beside a running service: whether the oss-agent service these settings
describe already runs on API_HOST:API_PORT, and what its /ready says.

A running service holds the port and (with SQLite) the database lock, so the checks that
would open them ask the service instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from agent.settings import Settings

ASK_TIMEOUT = 3.0
# Addresses that mean "every interface": the service answers on loopback.
_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}


@dataclass(frozen=True)
class RunningService:
    """An oss-agent service that answered on the settings' port, and its /ready."""

    url: str
    ready: bool
    details: dict[str, Any]

    def problems(self) -> list[str]:
        """What its /ready says is wrong (empty when it is ready or shows no details)."""
        found = []
        for backend in (self.details.get("upstream") or {}).get("backends") or []:
            if not backend.get("ok"):
                found.append(f"model server {backend.get('url')}: {backend.get('error')}")
        database = self.details.get("database") or {}
        if database.get("ok") is False:
            found.append(f"database: {database.get('error')}")
        return found


def service_url(settings: Settings) -> str:
    host = _ANY_ADDRESS.get(settings.api_host, settings.api_host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{settings.api_port}"


def running_service(settings: Settings) -> RunningService | None:
    """The oss-agent service on API_HOST:API_PORT, or None when nothing answers there as
    oss-agent does (`/health` {"status": "ok"}, and `/ready` with a status)."""
    from api.keys import NoKeyError, client_keys

    url = service_url(settings)
    try:
        keys = client_keys(settings)
    except (OSError, NoKeyError):
        keys = []
    headers = {"Authorization": f"Bearer {keys[0].secret}"} if keys else {}
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=ASK_TIMEOUT) as http:
            if http.get("/health").json() != {"status": "ok"}:
                return None
            ready = http.get("/ready")
            details = ready.json()
    except (httpx.HTTPError, ValueError):
        return None
    if not isinstance(details, dict) or "status" not in details:
        return None
    return RunningService(url, ready.status_code == 200, details)
