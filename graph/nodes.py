"""The graph's nodes: start a turn, call the model (running tools: graph/tool_step.py)."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, SystemMessage
from langgraph.runtime import Runtime

from agent.llm.step import run_step
from agent.llm.step_io import ModelCall, ModelReply, StepRead
from agent.messages import REASONING
from agent.metrics import MODEL_CALLS, TOOL_CALLS
from agent.settings import ToolCallMode
from agent.toolcalls import ToolCall
from graph.call_trust import server_calls_checked
from graph.context import Context
from graph.deps import AgentDeps
from graph.history_fit import fit_call
from graph.live_events import StepText, live_writer
from graph.prompts import STEP_LIMIT_MESSAGE, UNUSABLE_CALL_MESSAGE
from graph.state import State
from graph.tool_step import run_session_id
from graph.turn import CITATIONS, instructions_update
from mcp_tools.builtin.browser.citations import linkify
from mcp_tools.builtin.browser.state import BROWSER_SESSIONS, BrowserState


async def start_turn(state: State) -> dict[str, Any]:
    """Reset the per-turn counters; the new messages are already in the state. A system
    message among them (Studio) becomes the session's instructions."""
    update = {
        "steps": 0,
        "retries": 0,
        "call_errors": {},
        "usage": {},
        "trimmed": 0,
        "written_bytes": 0,
    }
    return {**update, **instructions_update(state["messages"])}


async def call_model(state: State, runtime: Runtime[Context], deps: AgentDeps) -> dict[str, Any]:
    """Ask the model for the next step and record its reply."""
    steps = state.get("steps", 0)
    browser = BROWSER_SESSIONS.existing(run_session_id())
    text = StepText(live_writer(), _turn_replies(state), browser)
    if steps >= deps.settings.max_steps:
        limit = STEP_LIMIT_MESSAGE.format(steps=deps.settings.max_steps)
        text.write([("content", limit)])
        text.flush()
        return {"messages": [AIMessage(content=limit)], "call_errors": {}}
    model_call, fitted = await fit_call(
        build_model_call(state, runtime.context, deps), state, runtime.context, deps
    )
    MODEL_CALLS.labels(model_call.mode.value).inc()
    try:
        async with StepRead(run_step(deps.backends, model_call)) as step:
            async for deltas in step:
                text.write(deltas)
    except BaseException:
        text.flush()  # what the failed call streamed reaches the client before its error
        raise
    raw = server_calls_checked(step.reply, runtime.context.client_tool_names, state["messages"])
    _count_calls(raw, runtime.context)
    reply, retries = _bound_retries(raw, state.get("retries", 0), deps.settings.tool_call_retries)
    if reply.content != raw.content:  # our own explanation: streamed clients must see it too
        text.write([("content", reply.content)])
    text.flush()
    return {
        "messages": [reply_message(reply, browser)],
        "steps": steps + 1,
        "retries": retries,
        "call_errors": reply.errors,
        "usage": _add_usage(state.get("usage") or {}, reply.usage),
        **fitted,
    }


def _count_calls(reply: ModelReply, context: Context) -> None:
    client_names = context.client_tool_names
    for call in reply.tool_calls:
        unusable = call["id"] in reply.errors
        kind = "unusable" if unusable else "client" if call["name"] in client_names else "server"
        TOOL_CALLS.labels(kind).inc()


def _turn_replies(state: State) -> list[AIMessage]:
    """The replies this turn added so far (one per step; `steps` is reset per turn), not
    those of earlier requests, whose text the client already has."""
    steps = state.get("steps", 0)
    replies: list[AIMessage] = []
    for message in reversed(state["messages"]):  # the turn is at the end: stop there
        if len(replies) == steps:
            break
        if isinstance(message, AIMessage):
            replies.append(message)
    return replies[::-1]


def build_model_call(state: State, context: Context, deps: AgentDeps) -> ModelCall:
    """The upstream request for this step: instructions, history, offered tools, sampling."""
    instructions = state.get("instructions") or deps.settings.system_prompt
    params = {
        key: value
        for key, value in {
            "model": context.model,
            "temperature": context.temperature,
            "top_p": context.top_p,
            "max_tokens": context.max_tokens,
            "stop": context.stop,
            "reasoning_effort": context.reasoning_effort or deps.settings.reasoning_effort,
            "extra_body": context.upstream_fields or None,
        }.items()
        if value is not None
    }
    return ModelCall(
        messages=[SystemMessage(content=instructions), *state["messages"]],
        tools=offered_tools(context, deps),
        tool_choice=_step_tool_choice(context.tool_choice, state.get("steps", 0)),
        parallel_tool_calls=context.parallel_tool_calls,
        params=params,
        stream=context.stream,
        mode=ToolCallMode(context.tool_call_mode or deps.settings.tool_call_mode),
        reasks=deps.settings.tool_call_retries,
        reasoning_opened=deps.settings.reasoning_opened_in_prompt,
        builtin_tools=offered_builtins(context, deps),
    )


def _step_tool_choice(choice: str | dict[str, Any] | None, steps: int) -> Any:
    """`required` / a named tool forces the turn's first call; after a server tool ran, the
    model must be free to answer, or it would be forced to call again until MAX_STEPS."""
    forced = choice == "required" or isinstance(choice, dict)
    return "auto" if forced and steps > 0 else choice


def offered_tools(context: Context, deps: AgentDeps) -> list[dict[str, Any]]:
    """Client tools first, then the server tools this run allows (client names win)."""
    client = list(context.client_tools)
    taken = context.client_tool_names
    server = [
        entry.openai_schema()
        for entry in context.server_tools(deps.tools)
        if entry.name not in taken
    ]
    return client + server


def offered_builtins(context: Context, deps: AgentDeps) -> frozenset[str]:
    """The server tools offered this run that are gpt-oss's own (a client tool of the same
    name is the client's, an ordinary function)."""
    taken = context.client_tool_names
    return frozenset(
        entry.name
        for entry in context.server_tools(deps.tools)
        if entry.is_gpt_oss_own and entry.name not in taken
    )


def reply_message(reply: ModelReply, browser: BrowserState | None = None) -> AIMessage:
    """The assistant message stored for a model reply; citations of the session browser's
    pages become links (their places kept for `url_citation` annotations)."""
    extra: dict[str, Any] = {REASONING: reply.reasoning} if reply.reasoning else {}
    content, citations = linkify(reply.content, browser)
    if citations:
        extra[CITATIONS] = [citation.annotation() for citation in citations]
    return AIMessage(
        content=content,
        tool_calls=reply.tool_calls,
        additional_kwargs=extra,
        response_metadata={"finish_reason": reply.finish_reason},
    )


def _bound_retries(reply: ModelReply, used: int, allowed: int) -> tuple[ModelReply, int]:
    """Count a re-ask for unusable calls; past the bound, drop them and say why."""
    errors = reply.errors
    if not errors:
        return reply, used
    if used < allowed:
        return reply, used + 1
    reasons = "; ".join(
        f"{c.name or 'unknown'}: {errors[c.id or '']}" for c in reply.calls if c.id in errors
    )
    kept = [c for c in reply.calls if isinstance(c, ToolCall)]
    content = reply.content or UNUSABLE_CALL_MESSAGE.format(retries=used + 1, errors=reasons)
    finish = "length" if reply.finish_reason == "length" else "tool_calls" if kept else "stop"
    return ModelReply(content, reply.reasoning, kept, finish, reply.usage), used


def _add_usage(total: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    keys = set(total) | set(more)
    return {key: total.get(key, 0) + more.get(key, 0) for key in keys}
