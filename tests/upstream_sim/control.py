"""A small synchronous client for the simulator's /_sim/ control API."""

from __future__ import annotations

from typing import Any

import httpx

StepLike = dict[str, Any]


class SimControlError(RuntimeError):
    """The simulator rejected a control call (e.g. a step with an unknown field)."""


class SimControl:
    """Script the simulator and read back what it received.

    `base_url` may be the server root or the `/v1` base URL given to clients.
    """

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        root = base_url.rstrip("/").removesuffix("/v1")
        self._client = httpx.Client(base_url=f"{root}/_sim", timeout=timeout)

    def script(self, *steps: StepLike) -> int:
        """Queue steps, answered in order by the next model requests; returns the queue length."""
        return self._call("POST", "/script", {"steps": list(steps)})["queued"]

    def rule(self, marker: str, step: StepLike, times: int | None = None) -> None:
        """Answer `step` whenever the last user message contains `marker` (wins over the queue)."""
        self._call("POST", "/rules", {"marker": marker, "step": step, "times": times})

    def flavor(self, name: str, **options: Any) -> dict[str, Any]:
        """Impersonate another server: vllm | ollama | llamacpp | raw (options: FlavorConfig)."""
        return self._call("POST", "/flavor", {"name": name, **options})

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """Every /v1/ request received since the last reset: {method, path, body, headers}."""
        recorded = self._call("GET", "/requests")
        return [r for r in recorded if path is None or r["path"] == path]

    def bodies(self, path: str = "/v1/chat/completions") -> list[Any]:
        """Just the JSON bodies sent to `path`."""
        return [r["body"] for r in self.requests(path)]

    def state(self) -> dict[str, Any]:
        """Flavor, queue length, rules and request count."""
        return self._call("GET", "/state")

    def reset(self) -> None:
        """Forget the queue, rules, recorded requests and flavor changes."""
        self._call("POST", "/reset", {})

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        response = self._client.request(method, path, json=payload)
        if response.status_code != 200:
            raise SimControlError(f"{method} /_sim{path}: {response.status_code} {response.text}")
        return response.json()
