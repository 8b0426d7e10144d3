"""The simulator's ASGI application: model-server endpoints plus the /_sim/ control API."""

from __future__ import annotations

import time
from typing import Any

from tests.upstream_sim import (
    chat_llamacpp,
    chat_ollama,
    chat_vllm,
    completions,
    control_api,
    harmony,
    respond,
    tool_rules,
    turn,
    wire,
)
from tests.upstream_sim.asgi import Exchange, Receive, Send, read_body, send_whole
from tests.upstream_sim.state import SimState
from tests.upstream_sim.steps import FlavorName, default_step

CHAT_FORMATS = {
    "vllm": chat_vllm,
    "raw": chat_vllm,
    "ollama": chat_ollama,
    "llamacpp": chat_llamacpp,
}
OLLAMA_VERSION = "0.12.6"
VLLM_VERSION = "0.11.0"


class SimApp:
    """A plain ASGI callable, so that faults can reach below the HTTP layer."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.routes = {
            ("POST", "/v1/chat/completions"): self.chat,
            ("POST", "/v1/completions"): self.completion,
            ("GET", "/v1/models"): self.models,
            ("GET", "/health"): self.health,
            ("GET", "/"): self.root,
            ("GET", "/api/version"): self.version,
            ("GET", "/version"): self.version,
        }

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        ex = Exchange(scope, receive, send, await read_body(receive))
        if ex.path.startswith("/_sim/"):
            await control_api.handle(self.state, ex)
            return
        if ex.path.startswith("/v1/"):
            ex.record = self.state.record(ex.method, ex.path, _body_for_record(ex), ex.headers())
        handler = self.routes.get((ex.method, ex.path))
        if handler is None:
            await respond.send_error(ex, self.state.flavor, 404, f"Not Found: {ex.path}")
            return
        await handler(ex)

    async def chat(self, ex: Exchange) -> None:
        body = await self._request_object(ex, "messages")
        if body is not None and (refused := tool_rules.refusal(body, self.state.flavor)):
            await respond.send_error(ex, self.state.flavor, 400, refused[0], param=refused[1])
        elif body is not None:
            user_text = harmony.last_user_text(body["messages"])
            await self._answer(ex, body, user_text, turn.chat_turn, CHAT_FORMATS)

    async def completion(self, ex: Exchange) -> None:
        body = await self._request_object(ex, "prompt")
        if body is not None:
            prompt = body["prompt"]
            prompt = prompt if isinstance(prompt, str) else "".join(map(str, prompt))
            user_text = harmony.last_user_text_in_prompt(prompt)
            formats = dict.fromkeys(CHAT_FORMATS, completions)
            await self._answer(ex, body, user_text, turn.completion_turn, formats)

    async def _answer(
        self, ex: Exchange, body: dict, user_text: str, build: respond.TurnBuilder, formats: dict
    ) -> None:
        step = self.state.next_step(user_text) or default_step(user_text)
        flavor = self.state.flavor.for_step(step)
        requested = body.get("model")
        if flavor.served_model and requested not in (None, flavor.served_model):
            message = _unknown_model_message(flavor.name, requested)
            await respond.send_error(ex, flavor, 404, message)
            return
        self.state.began()
        try:
            await respond.answer(ex, step, flavor, body, build, formats[flavor.name])
        finally:
            self.state.ended()

    async def _request_object(self, ex: Exchange, required: str) -> dict[str, Any] | None:
        """The JSON body, or None after answering 400 as the server would."""
        flavor = self.state.flavor
        try:
            body = ex.json()
        except ValueError as exc:
            await respond.send_error(ex, flavor, 400, f"Invalid JSON body: {exc}")
            return None
        if not isinstance(body, dict) or required not in body:
            await respond.send_error(ex, flavor, 400, f"Field required: {required}")
            return None
        if flavor.name == "ollama" and required == "messages" and not body["messages"]:
            await respond.send_error(ex, flavor, 400, "[] is too short - 'messages'")
            return None
        if flavor.name in ("vllm", "raw") and body.get("stream_options") and not body.get("stream"):
            if flavor.current_vllm:
                message = "Stream options can only be defined when `stream=True`."
                message += " (parameter=stream_options)"
                await respond.send_error(ex, flavor, 400, message, param="stream_options")
            else:
                message = "Stream options can only be defined when stream is true."
                await respond.send_error(ex, flavor, 400, message)
            return None
        return body

    async def models(self, ex: Exchange) -> None:
        flavor = self.state.flavor
        name = flavor.served_model or turn.DEFAULT_MODELS[flavor.name]
        card = {"id": name, "object": "model", "created": int(time.time())}
        card |= {"ollama": {"owned_by": "library"}, "llamacpp": {"owned_by": "llamacpp"}}.get(
            flavor.name, {"owned_by": "vllm", "root": name, "parent": None, "max_model_len": 131072}
        )
        await self._json(ex, {"object": "list", "data": [card]})

    async def health(self, ex: Exchange) -> None:
        if self.state.flavor.name == "llamacpp":
            await self._json(ex, {"status": "ok"})
        else:
            await send_whole(ex, 200, "application/json", b"")

    async def root(self, ex: Exchange) -> None:
        if self.state.flavor.name != "ollama":
            await respond.send_error(ex, self.state.flavor, 404, "Not Found")
            return
        await send_whole(ex, 200, "text/plain; charset=utf-8", b"Ollama is running")

    async def version(self, ex: Exchange) -> None:
        is_ollama = self.state.flavor.name == "ollama"
        await self._json(ex, {"version": OLLAMA_VERSION if is_ollama else VLLM_VERSION})

    async def _json(self, ex: Exchange, obj: Any) -> None:
        name = self.state.flavor.name
        await send_whole(ex, 200, wire.JSON_TYPES[name], wire.json_body(obj, name))


def _unknown_model_message(flavor: FlavorName, model: str) -> str:
    if flavor == "ollama":
        return f'model "{model}" not found, try pulling it first'
    return f"The model `{model}` does not exist."


def _body_for_record(ex: Exchange) -> Any:
    try:
        return ex.json()
    except ValueError:
        return ex.raw_body.decode("utf-8", errors="replace")


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_app(flavor: FlavorName = "vllm") -> SimApp:
    return SimApp(SimState(flavor))
