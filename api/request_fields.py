"""Which request fields reach the model server, and which are refused with a 400."""

from __future__ import annotations

from typing import Any

from agent.llm.request_fields import EXTRA_FIELDS, STANDARD_FIELDS, not_honoured
from api.protocol import ChatCompletionRequest

NO_LOGPROBS = "a turn's answer joins several model calls, so there are no token logprobs"
# Fields with a meaning this service cannot give, and the values that ask for nothing.
REFUSED: dict[str, tuple[str, tuple[Any, ...]]] = {
    "logprobs": (NO_LOGPROBS, (False,)),
    "top_logprobs": (NO_LOGPROBS, (0,)),
    "audio": ("gpt-oss answers in text only", ()),
    "modalities": ("gpt-oss answers in text only", (["text"],)),
    "prediction": ("predicted outputs are not supported", ()),
    "web_search_options": ("web search is not built in; offer a tool instead", ()),
    "functions": ("use `tools` (the deprecated `functions` is not read)", ()),
    "function_call": ("use `tool_choice` (the deprecated `function_call` is not read)", ()),
    "service_tier": ("there is one tier", ("auto", "default")),
    "store": ("completions are not stored for distillation; sessions keep turns", (False,)),
}


def upstream_fields(request: ChatCompletionRequest) -> dict[str, Any]:
    """The fields to forward upstream, or the 400 naming the first one not honoured."""
    given = request.model_dump(exclude_none=True, exclude_unset=True)
    for name, (why, harmless) in REFUSED.items():
        if name in given and given[name] not in harmless:
            raise not_honoured(name, why)
    for name in request.model_extra or {}:
        if name not in EXTRA_FIELDS and name not in REFUSED:
            raise not_honoured(name, "this service does not know it (see docs/api.md)")
    forwarded = {name: given[name] for name in STANDARD_FIELDS if name in given}
    extras = {name: given[name] for name in EXTRA_FIELDS if name in given}
    return forwarded | extras
