"""The /_sim/ control API that tests use to script the simulator and inspect traffic."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.upstream_sim.asgi import Exchange, send_json
from tests.upstream_sim.state import SimState
from tests.upstream_sim.steps import FlavorConfig, Rule, Step


def _script(state: SimState, payload: Any) -> dict[str, Any]:
    raw_steps = payload["steps"] if isinstance(payload, dict) else payload
    steps = [Step.model_validate(raw) for raw in raw_steps]
    state.queue.extend(steps)
    return {"queued": len(state.queue)}


def _rule(state: SimState, payload: Any) -> dict[str, Any]:
    state.rules.append(Rule.model_validate(payload))
    return {"rules": len(state.rules)}


def _flavor(state: SimState, payload: Any) -> dict[str, Any]:
    state.flavor = FlavorConfig.model_validate(payload)
    return state.flavor.model_dump()


def _requests(state: SimState, payload: Any) -> list[dict[str, Any]]:
    return state.requests


def _reset(state: SimState, payload: Any) -> dict[str, Any]:
    state.reset()
    return state.summary()


def _state(state: SimState, payload: Any) -> dict[str, Any]:
    return state.summary()


ROUTES: dict[tuple[str, str], Callable[[SimState, Any], Any]] = {
    ("POST", "/_sim/script"): _script,
    ("POST", "/_sim/rules"): _rule,
    ("POST", "/_sim/flavor"): _flavor,
    ("GET", "/_sim/requests"): _requests,
    ("POST", "/_sim/reset"): _reset,
    ("GET", "/_sim/state"): _state,
}


async def handle(state: SimState, ex: Exchange) -> None:
    route = ROUTES.get((ex.method, ex.path))
    if route is None:
        await send_json(ex, 404, {"error": f"no control route {ex.method} {ex.path}"})
        return
    try:
        result = route(state, ex.json())
    except (ValueError, KeyError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
        await send_json(ex, 400, {"error": f"{type(exc).__name__}: {exc}"})
        return
    await send_json(ex, 200, result)
