"""CONTEXT_STRATEGY=summarize: the turns a model call leaves out, summarized by the model.

The summary is stored in the session (`summary`: its text and how many stored messages it
covers), reused while it covers what is left out, and refreshed (old summary + the newly
left-out turns) when more has to be left out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent.llm.context_window import text_tokens, text_within
from agent.messages import content_text

SUMMARY_TOKENS = 1024
"""The most a summary may take of a model call's budget (at most a quarter of it)."""
SUMMARY_INSTRUCTIONS = (
    "Summarize the conversation below for an assistant that will continue it without seeing"
    " it: the user's goals, facts and decisions, tool results that matter, open questions."
    " Be brief; write only the summary."
)
SUMMARY_HEADING = "Summary of the earlier conversation (its messages are not shown):"
PROMPT_OVERHEAD = 64

Ask = Callable[[list[BaseMessage], int], Awaitable[str]]
"""Runs one model call without tools: (messages, max_tokens) -> the reply's text."""


def summary_reserve(room: int) -> int:
    """Tokens kept for the summary in a call with `room` tokens for messages."""
    return min(SUMMARY_TOKENS, room // 4)


def with_summary(instructions: str, summary: str) -> str:
    """The instructions a call is sent with when a summary stands in for older turns."""
    return f"{instructions}\n\n{SUMMARY_HEADING}\n{summary}"


async def refreshed(
    previous: str, left_out: list[BaseMessage], reserve: int, room: int, ask: Ask
) -> str:
    """A summary of `previous` (a summary, or "") and then `left_out`, in as many model
    calls as it takes for each prompt to fit `room` tokens; cut to `reserve` tokens."""
    summary = previous
    for chunk in _chunks(_transcript(left_out), room - reserve - PROMPT_OVERHEAD):
        earlier = f"Summary so far:\n{summary}\n\n" if summary else ""
        prompt = f"{earlier}Conversation:\n{chunk}"
        text = await ask([HumanMessage(content=f"{SUMMARY_INSTRUCTIONS}\n\n{prompt}")], reserve)
        summary = text_within(text.strip(), reserve)
    return summary


def _transcript(messages: list[BaseMessage]) -> list[str]:
    lines = []
    for message in messages:
        if isinstance(message, HumanMessage):
            lines.append(f"user: {content_text(message.content)}")
        elif isinstance(message, ToolMessage):
            lines.append(f"tool result: {content_text(message.content)}")
        elif isinstance(message, AIMessage):
            calls = "".join(f" [called {c['name']}({c['args']})]" for c in message.tool_calls)
            lines.append(f"assistant: {content_text(message.content)}{calls}")
    return lines


def _chunks(lines: list[str], room: int) -> list[str]:
    """Lines joined into pieces of at most `room` tokens (a longer line is cut)."""
    room = max(room, 16)
    chunks: list[str] = []
    current: list[Any] = []
    used = 0
    for line in (text_within(line, room - 1) for line in lines):
        cost = text_tokens(line) + 1
        if current and used + cost > room:
            chunks.append("\n".join(current))
            current, used = [], 0
        current.append(line)
        used += cost
    if current:
        chunks.append("\n".join(current))
    return chunks
