"""`oss-agent chat`: a terminal REPL (or one piped question) against a running service."""

from __future__ import annotations

import sys

import httpx
from rich.console import Console
from rich.markup import escape

from api.chat_client import ChatClient, ChatError, Event

HELP = "Commands: /new  /sessions  /switch ID  /exit  (anything else is sent to the model)"


def answer_piped(client: ChatClient, question: str, out: Console) -> None:
    """One question, the answer's content on stdout (nothing else there)."""
    for event in client.ask(question):
        if event.kind == "content":
            out.out(event.text, end="")
    out.out("")


def show_event(event: Event, out: Console) -> None:
    """Reasoning dimmed, content plain, one line per tool start and finish."""
    if event.kind == "reasoning":
        out.print(escape(event.text), style="dim", end="")
    elif event.kind == "content":
        out.print(escape(event.text), end="")
    elif event.kind == "tool_started" and event.activity:
        a = event.activity
        out.print(f"\n[yellow]⚙ {escape(a['name'])}({escape(a['arguments'])})[/]")
    elif event.kind == "tool_finished" and event.activity:
        a = event.activity
        outcome = f"[red]✗ {escape(a['error'])}" if a["error"] else f"→ {escape(a['result'])}"
        out.print(f"[yellow]  {outcome} ({a['duration_ms']} ms)[/]")


def run_command(client: ChatClient, line: str, out: Console) -> bool:
    """Handle a /command; False when the REPL should end."""
    name, _, arg = line.partition(" ")
    if name == "/exit":
        return False
    if name == "/new":
        client.session = None
        out.print("[green]New session: it starts with your next message.[/]")
    elif name == "/sessions":
        for s in client.sessions():
            mark = "*" if s["id"] == client.session else " "
            out.print(f"{mark} {s['id']}  {escape(s.get('title') or '(empty)')}")
    elif name == "/switch" and arg.strip():
        history = client.switch(arg.strip())
        out.print(f"[green]Switched to {history['id']} ({len(history['messages'])} messages).[/]")
    else:
        out.print(HELP)
    return True


def repl(client: ChatClient, out: Console) -> None:
    """Read lines until /exit or end of input; errors are shown and the REPL goes on."""
    out.print(f"[bold]oss-agent chat[/] — {HELP}")
    while True:
        try:
            line = out.input("[bold cyan]you> [/]").strip()
        except (EOFError, KeyboardInterrupt):
            out.print()
            return
        if not line:
            continue
        try:
            if line.startswith("/"):
                if not run_command(client, line, out):
                    return
                continue
            for event in client.ask(line):
                show_event(event, out)
            out.print()
        except (ChatError, httpx.HTTPError) as exc:
            out.print(f"[red]error: {escape(str(exc))}[/]")
        except KeyboardInterrupt:
            out.print("\n[red]stopped: the turn is cancelled[/]")


def main(url: str, key: str | None) -> int:
    """The exit code: 0, or 1 when a piped question failed."""
    client = ChatClient(url, key)
    out, err = Console(highlight=False), Console(stderr=True)
    try:
        if sys.stdin.isatty():
            repl(client, out)
            return 0
        answer_piped(client, sys.stdin.read().strip(), out)
        return 0
    except (ChatError, httpx.HTTPError) as exc:
        err.print(f"[red]oss-agent chat: {escape(str(exc))}[/]")
        return 1
    finally:
        client.close()
