"""/openapi.json, /docs and /redoc: behind the key when keys are on, unless PUBLISH_DOCS."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from api.keys import caller_of
from api.openapi import honest_openapi

SCHEMA_URL = "/openapi.json"


async def docs_access(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> None:
    """The 401 for an unknown key, unless the settings publish the docs."""
    if not request.app.state.services.settings.publish_docs:
        caller_of(request, authorization)


router = APIRouter(include_in_schema=False, dependencies=[Depends(docs_access)])


@router.get(SCHEMA_URL)
async def openapi_schema(request: Request) -> JSONResponse:
    """The OpenAPI schema."""
    return JSONResponse(honest_openapi(request.app))


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI (it fetches the schema without a key: set PUBLISH_DOCS to use it)."""
    return get_swagger_ui_html(openapi_url=SCHEMA_URL, title=f"{request.app.title} docs")


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc, on the same schema."""
    return get_redoc_html(openapi_url=SCHEMA_URL, title=f"{request.app.title} docs")
