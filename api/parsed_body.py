"""A request body is parsed once: the body guard (api/body_guard.py) parses and checks it,
and the routes that take a JSON body read that parse instead of parsing the body again."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

PARSED = "oss_agent.parsed_body"
"""The scope key of the body guard's parse of the request's JSON body."""


class _ParsedBodyRequest(Request):
    async def json(self) -> Any:
        if PARSED in self.scope:
            return self.scope[PARSED]
        return await super().json()


class ParsedBodyRoute(APIRoute):
    """A route whose JSON body is the body guard's parse (FastAPI's custom route class)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def parsed_body_handler(request: Request) -> Response:
            return await handler(_ParsedBodyRequest(request.scope, request.receive))

        return parsed_body_handler
