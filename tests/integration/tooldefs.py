"""OpenAI function tools the integration tests offer as client tools."""

from __future__ import annotations


def function_tool(name: str, description: str, *params: str) -> dict:
    """A function tool whose parameters are required strings."""
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {param: {"type": "string"} for param in params},
                "required": list(params),
            },
        },
    }


WEATHER = function_tool("get_weather", "Current weather for a city", "city")
