"""The chat page: `GET /` and its files under `/web/` (all in the repo, nothing fetched)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

WEB = Path(__file__).resolve().parents[1] / "web"

router = APIRouter(tags=["page"])
files = StaticFiles(directory=WEB)


@router.get("/", include_in_schema=False)
async def chat_page() -> FileResponse:
    """The chat page; it calls the API with the key the user enters."""
    return FileResponse(WEB / "index.html")
