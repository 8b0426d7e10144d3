"""The `oss-agent` command: serve, parse (tool-call debugging), tools."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from agent.settings import LogFormat, Settings, describe_errors

app = typer.Typer(
    help="oss-agent: an OpenAI-compatible agent service for gpt-oss.",
    no_args_is_help=True,
    add_completion=False,
)
err = Console(stderr=True)
SHUTDOWN_MARGIN = 5.0
"""Seconds uvicorn waits past SHUTDOWN_GRACE: a turn cut at the grace still rolls back and
answers its client before the server stops waiting."""


def load_settings() -> Settings:
    """The settings, or exit 2 naming every bad variable and what it expects."""
    try:
        return Settings()
    except ValidationError as exc:
        err.print("[bold red]oss-agent: invalid configuration[/]")
        for line in describe_errors(exc):
            err.print(f"  {line}", markup=False, highlight=False)
        err.print("See .env.example for every setting and its format.")
        raise typer.Exit(code=2) from None


def print_banner(settings: Settings) -> None:
    """The effective settings, secrets masked: a table, or one log line with LOG_FORMAT=json."""
    if settings.log_format is LogFormat.JSON:
        logging.getLogger("oss_agent").info("settings", extra={"settings": settings.masked()})
        return
    table = Table(title="oss-agent settings", title_justify="left", show_header=False)
    table.add_column("setting", no_wrap=True)
    table.add_column("value", overflow="fold")  # long paths wrap instead of being cut
    for name, value in settings.masked().items():
        table.add_row(name, value)
    err.print(table)


def check_team_files(settings: Settings) -> None:
    """Read the client keys and LLM_BACKENDS_FILE now, or exit 2 saying what is wrong."""
    from agent.llm.backend_config import BackendsFileError, read_backends_file
    from api.keys import NoKeyError, client_keys

    try:
        client_keys(settings)
        if settings.llm_backends_file:
            read_backends_file(settings.llm_backends_file)
    except (OSError, BackendsFileError, NoKeyError) as exc:
        err.print("[bold red]oss-agent: invalid configuration[/]")
        err.print(f"  {exc}", markup=False, highlight=False)
        raise typer.Exit(code=2) from None


def start_demo_model(settings: Settings) -> Settings:
    """Start the built-in demo model and return the settings that point the service at it."""
    from agent.settings import ToolCallMode, UpstreamKind
    from api.demo_model import DEMO_MODEL_ID
    from api.demo_server import DemoModelServer

    model = DemoModelServer().start()
    demo = {
        "llm_base_url": model.base_url,
        "llm_model": DEMO_MODEL_ID,
        "llm_api_key": None,
        "llm_server": UpstreamKind.VLLM,
        "llm_backends_file": None,
        "tool_call_mode": ToolCallMode.AUTO,
    }
    return settings.model_copy(update=demo)


def worker_count(option: str) -> int:
    """--workers: a number of at least 1, or `auto`, one per core this process may use."""
    if option == "auto":
        return len(os.sched_getaffinity(0))
    if option.isdigit() and int(option) >= 1:
        return int(option)
    why = f"{option!r}: give a number of at least 1, or auto"
    raise typer.BadParameter(why, param_hint="--workers")


def print_demo_banner(settings: Settings) -> None:
    """Say loudly that the answers come from the demo model, and where to chat."""
    from rich.panel import Panel

    from api.demo_model import DEMO_NOTICE, TRY_THIS

    if settings.log_format is LogFormat.JSON:
        logging.getLogger("oss_agent").warning(DEMO_NOTICE)
        return
    page = f"http://{settings.api_host}:{settings.api_port}/"
    text = f"{DEMO_NOTICE}\n\nChat page: {page}   {TRY_THIS}\nStop: Ctrl-C, or kill this process."
    err.print(Panel(text, title="oss-agent DEMO MODE", border_style="bold yellow"), markup=False)


@app.command()
def serve(
    workers_option: Annotated[
        str,
        typer.Option(
            "--workers",
            help="worker processes: a number, or auto (one per core); more than one needs"
            " sessions in SQLite or Postgres",
        ),
    ] = "1",
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="try it with no model server: answers come from a built-in demo model"
            " that reasons, streams and calls the calculator and clock tools",
        ),
    ] = False,
) -> None:
    """Start the API server (API_HOST:API_PORT)."""
    import uvicorn

    from api.logs import configure_logging

    settings = load_settings()
    check_team_files(settings)
    workers = worker_count(workers_option)
    if workers > 1 and settings.database_url.startswith("memory:"):
        err.print(
            "[bold red]oss-agent: --workers above 1 needs sessions in SQLite or Postgres[/]"
            " (DATABASE_URL=memory:// lives in one process)"
        )
        raise typer.Exit(code=2)
    if workers > 1 and demo:
        err.print("[bold red]oss-agent: --demo runs one worker process[/]")
        raise typer.Exit(code=2)
    configure_logging(settings.log_level.value, settings.log_format)
    if demo:
        settings = start_demo_model(settings)
    print_banner(settings)
    if demo:
        print_demo_banner(settings)
    with shared_metrics(workers):
        uvicorn.run(
            "api.cli:worker_app" if workers > 1 else worker_app(settings, demo=demo),
            factory=workers > 1,
            workers=workers,
            host=settings.api_host,
            port=settings.api_port,
            log_level=settings.log_level.value.lower(),
            log_config=None,  # keep configure_logging's handler: uvicorn's lines in LOG_FORMAT
            access_log=False,  # RequestLogMiddleware logs each request, with its ids
            ws="none",  # no WebSocket routes: skip importing a WebSocket library
            # running turns get SHUTDOWN_GRACE (api/sse.py); then the rest is cut
            timeout_graceful_shutdown=settings.shutdown_grace + SHUTDOWN_MARGIN,
        )


@contextmanager
def shared_metrics(workers: int) -> Iterator[None]:
    """With several workers, a fresh folder for their metrics (agent/metrics.py), named in
    the environment the workers inherit and removed when they are gone; a folder the
    operator named is used as it is."""
    from agent.metrics import MULTIPROCESS_DIR

    if workers == 1 or os.environ.get(MULTIPROCESS_DIR):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="oss-agent-metrics-") as folder:
        os.environ[MULTIPROCESS_DIR] = folder
        try:
            yield
        finally:
            del os.environ[MULTIPROCESS_DIR]


def worker_app(settings: Settings | None = None, demo: bool = False) -> Any:
    """The app of one worker process; a spawned worker reads the settings and sets up its
    logging itself. With `demo`, /ready and the chat page say the answers come from the demo
    model."""
    from agent.metrics import forget_dead_workers
    from api.app import create_app
    from api.demo_model import DEMO_NOTICE
    from api.logs import configure_logging

    if settings is None:
        settings = load_settings()
        configure_logging(settings.log_level.value, settings.log_format)
    forget_dead_workers()
    app = create_app(settings)
    app.state.demo = DEMO_NOTICE if demo else None
    return app


@app.command()
def parse(
    jsonl: Annotated[bool, typer.Option("--jsonl", help="read JSON lines from stdin")] = False,
) -> None:
    """Parse model output into content, reasoning and tool_calls (one JSON line per input)."""
    from agent.parse_cli import run_jsonl

    if not jsonl:
        err.print("Only --jsonl is supported: one JSON object per input line.")
        raise typer.Exit(code=2)
    raise typer.Exit(code=run_jsonl(sys.stdin, sys.stdout))


@app.command()
def chat(
    url: Annotated[
        str, typer.Option(envvar="OSS_AGENT_URL", help="the running service")
    ] = "http://127.0.0.1:8080",
    key: Annotated[
        str | None, typer.Option(envvar="OSS_AGENT_KEY", help="client key, when keys are set")
    ] = None,
) -> None:
    """Chat with a running service: a REPL, or one question piped on stdin."""
    from api.chat_repl import main

    raise typer.Exit(code=main(url, key))


@app.command()
def doctor() -> None:
    """Check the settings, model server, tool calls, database, MCP servers and port."""
    from api.doctor import Finding, diagnose

    try:
        settings = Settings()
    except ValidationError as exc:
        problems = [
            Finding("settings", False, line, "see .env.example") for line in describe_errors(exc)
        ]
        raise typer.Exit(code=_report(problems)) from None
    raise typer.Exit(code=_report([Finding("settings", True, "parsed"), *diagnose(settings)]))


def _report(findings: list) -> int:
    """Print each finding (a fix under each problem); 1 when any check failed."""
    from rich.markup import escape

    out = Console(highlight=False)
    for finding in findings:
        mark = "[green]ok  [/]" if finding.ok else "[red]FAIL[/]"
        out.print(f"{mark} {finding.check}: {escape(finding.detail)}")
        if finding.fix:
            out.print(f"     fix: {escape(finding.fix)}")
    failed = [f for f in findings if not f.ok]
    out.print(f"{len(failed)} problem(s)" if failed else "All checks passed.")
    return 1 if failed else 0


@app.command()
def tools(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
) -> None:
    """List every server-side tool (built-in and MCP) with its source and status."""
    from mcp_tools.listing import tool_listing
    from mcp_tools.loader import open_tools

    settings = load_settings()

    async def collect() -> dict:
        async with open_tools(settings) as registry:
            return tool_listing(registry)

    listing = asyncio.run(collect())
    if as_json:
        typer.echo(json.dumps(listing, indent=2))
        return
    _print_tool_table(listing)


def _print_tool_table(listing: dict) -> None:
    console = Console()
    table = Table(title="Tools")
    for column in ("name", "source", "status", "description"):
        table.add_column(column)
    for tool in listing["data"]:
        summary = (tool["description"] or "").split("\n")[0][:80]
        table.add_row(tool["name"], tool["source"], tool["status"], summary)
    console.print(table)
    for source in listing["sources"]:
        if source["status"] != "ok":
            console.print(f"[red]source {source['name']} failed:[/] {source['error']}")
