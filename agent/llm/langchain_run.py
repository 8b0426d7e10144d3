"""A model call as a LangChain LLM run, so LangSmith (LANGSMITH_TRACING=true) and LangGraph
Studio show it with its prompt, reply and token usage, as they did for LangChain's clients.

The run hangs under the graph node that made the call (the node's callbacks are in the
running config). Without callback handlers (tracing off) nothing is built.
"""

from __future__ import annotations

import asyncio

from langchain_core.callbacks.manager import AsyncCallbackManagerForLLMRun
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.runnables.config import (
    get_async_callback_manager_for_config,
    var_child_runnable_config,
)

from agent.llm.step_io import ModelCall, ModelReply
from agent.messages import REASONING

# Studio's "messages" stream would show the reply twice: once from this run, once from
# the node's output, which the service streams itself.
NOSTREAM = "nostream"


async def llm_run_started(
    call: ModelCall, model: str, provider: str
) -> AsyncCallbackManagerForLLMRun | None:
    """Open the LLM run of one model call (None when no callback handler listens)."""
    config = var_child_runnable_config.get()
    if not config or not config.get("callbacks"):
        return None
    manager = get_async_callback_manager_for_config(config)
    if not manager.handlers:
        return None
    manager.add_tags([NOSTREAM], inherit=False)
    manager.add_metadata(
        {"ls_provider": provider, "ls_model_name": model, "ls_model_type": "chat"},
        inherit=False,
    )
    params = {**call.params, "model": model, "stream": call.stream, "tools": call.tools}
    (run,) = await manager.on_chat_model_start(
        {"name": "oss-agent", "id": ["oss_agent", "ModelServer"]},
        [call.messages],
        invocation_params=params,
        options={"stop": call.params.get("stop")},
        name=f"{provider}:{model}",
    )
    return run


async def llm_run_ended(
    run: AsyncCallbackManagerForLLMRun | None, model: str, reply: ModelReply
) -> None:
    """Close the run with the reply and its token usage."""
    if run is None:
        return
    usage = reply.usage
    message = AIMessage(
        content=reply.content,
        tool_calls=reply.tool_calls,
        additional_kwargs={REASONING: reply.reasoning} if reply.reasoning else {},
        response_metadata={"finish_reason": reply.finish_reason, "model_name": model},
        usage_metadata={
            "input_tokens": usage.get("prompt_tokens", 0),
            "output_tokens": usage.get("completion_tokens", 0),
            "total_tokens": usage.get("total_tokens", 0),
        },
    )
    result = LLMResult(
        generations=[[ChatGeneration(message=message)]],
        llm_output={"token_usage": usage, "model_name": model},
    )
    await run.on_llm_end(result)


async def llm_run_failed(run: AsyncCallbackManagerForLLMRun | None, exc: BaseException) -> None:
    """Close the run as failed (or cancelled)."""
    if run is not None:
        await asyncio.shield(run.on_llm_error(exc))
