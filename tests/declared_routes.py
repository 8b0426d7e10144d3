"""Every route the service declares, read from its routers: FastAPI's `app.routes` lists
the included routers, not their routes."""

from __future__ import annotations

import importlib
import pkgutil

from starlette.routing import BaseRoute

import api.routes


def declared_routes() -> list[BaseRoute]:
    return [
        route
        for info in pkgutil.iter_modules(api.routes.__path__)
        for route in importlib.import_module(f"api.routes.{info.name}").router.routes
    ]
