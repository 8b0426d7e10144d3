"""What vLLM does with the `tools` and `tool_choice` of a chat request (vllm/raw flavors)."""

from __future__ import annotations

from typing import Any

from tests.upstream_sim.steps import FlavorConfig

# vLLM <= 0.10 started without the flags, to any request carrying tools with tool_choice auto
AUTO_NEEDS_FLAGS = (
    '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
)
NAMED_NOT_OFFERED = (
    "The tool specified in `tool_choice` does not match any of the specified `tools`"
)


def refusal(body: dict[str, Any], flavor: FlavorConfig) -> tuple[str, str | None] | None:
    """(message, param) of the 400 vLLM answers to these tools, or None."""
    if flavor.name not in ("vllm", "raw"):
        return None
    tools = body.get("tools") or []
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        if name not in [(t.get("function") or {}).get("name") for t in tools]:
            suffix = " (parameter=tool_choice)" if flavor.current_vllm else ""
            return NAMED_NOT_OFFERED + suffix, "tool_choice"
    refuses = not flavor.tool_parser and not flavor.current_vllm
    if tools and refuses and choice in (None, "auto"):
        return AUTO_NEEDS_FLAGS, None
    return None


def named_choice(body: dict[str, Any]) -> bool:
    return isinstance(body.get("tool_choice"), dict)


def drops_calls(flavor: FlavorConfig) -> bool:
    """vLLM 0.32 without a tool-call parser ends on <|call|> but sends no tool_calls."""
    return flavor.name == "vllm" and not flavor.tool_parser
