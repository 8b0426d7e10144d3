"""The simulator's mutable state: queue, rules, flavor and the requests it received."""

from __future__ import annotations

from collections import deque
from typing import Any

from tests.upstream_sim.steps import FlavorConfig, FlavorName, Rule, Step


class SimState:
    """All state lives in one process and one event loop, so no locking is needed."""

    def __init__(self, default_flavor: FlavorName = "vllm") -> None:
        self.default_flavor: FlavorName = default_flavor
        self.reset()

    def reset(self) -> None:
        self.queue: deque[Step] = deque()
        self.rules: list[Rule] = []
        self.requests: list[dict[str, Any]] = []
        self.flavor = FlavorConfig(name=self.default_flavor)
        self.answering: int = getattr(self, "answering", 0)  # a reset does not end answers
        """Model answers being sent now (chat and completions)."""
        self.most_answering = self.answering
        """The most answers sent at once since the last reset."""

    def began(self) -> None:
        self.answering += 1
        self.most_answering = max(self.most_answering, self.answering)

    def ended(self) -> None:
        self.answering -= 1

    def next_step(self, user_text: str) -> Step | None:
        """A matching rule wins over the queue; None means "answer the default"."""
        for rule in self.rules:
            if rule.marker in user_text:
                rule.used += 1
                if rule.times is not None and rule.used >= rule.times:
                    self.rules.remove(rule)
                return rule.step
        if self.queue:
            return self.queue.popleft()
        return None

    def record(self, method: str, path: str, body: Any, headers: dict[str, str]) -> dict:
        entry = {"method": method, "path": path, "body": body, "headers": headers}
        self.requests.append(entry)
        return entry

    def summary(self) -> dict[str, Any]:
        return {
            "flavor": self.flavor.model_dump(),
            "queued": len(self.queue),
            "rules": [{"marker": r.marker, "used": r.used, "times": r.times} for r in self.rules],
            "requests": len(self.requests),
            "answering": self.answering,
            "most_answering": self.most_answering,
        }
