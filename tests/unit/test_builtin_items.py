"""gpt-oss's own tools in the Responses API: hosted tool types in, code_interpreter_call
and web_search_call items out."""

from __future__ import annotations

from openai.types.responses import ResponseFunctionWebSearch

from api.responses.output import builtin_call_item
from api.responses.request import ResponsesRequest


def call(name: str, args: dict, result: str = "ok", status: str = "success") -> dict:
    return {"id": "c1", "name": name, "args": args, "result": result, "status": status}


def test_python_is_a_code_interpreter_call_with_its_logs() -> None:
    item = builtin_call_item(call("python", {"code": "print(1)"}, "1"))
    assert item == {
        "type": "code_interpreter_call",
        "id": "ci_c1",
        "status": "completed",
        "code": "print(1)",
        "container_id": "sandbox",
        "outputs": [{"type": "logs", "logs": "1"}],
    }
    assert builtin_call_item(call("python", {"code": "1/0"}, "boom", "error"))["status"] == "failed"


PAGE = "[1] Sea otters (https://example.org/otters)\n**viewing lines [0 - 3] of 3**\n\nL0: Otters"
FOUND = (
    "[2] Find results for text: `kelp` in `Sea otters` "
    "(https://example.org/otters/find?pattern=kelp)\n**viewing lines [0 - 1] of 1**\n\nL0: x"
)


def test_browser_calls_are_web_search_calls_with_their_action() -> None:
    search = builtin_call_item(call("browser_search", {"query": "oslo"}))
    assert (search["type"], search["id"]) == ("web_search_call", "ws_c1")
    assert search["action"] == {"type": "search", "query": "oslo"}
    opened = builtin_call_item(call("browser_open", {"id": 1}, PAGE))
    assert opened["action"] == {"type": "open_page", "url": "https://example.org/otters"}
    asked = builtin_call_item(call("browser_open", {"id": "https://example.org/"}, "boom", "error"))
    assert asked["action"]["url"] == "https://example.org/"
    unknown = builtin_call_item(call("browser_open", {"id": 3}, "boom", "error"))
    assert unknown["action"]["url"] is None
    clipped = PAGE.replace("/otters)", "/ott...)")
    assert builtin_call_item(call("browser_open", {"id": 1}, clipped))["action"]["url"] is None
    found = builtin_call_item(call("browser_find", {"pattern": "kelp"}, FOUND))
    assert found["action"] == {
        "type": "find_in_page",
        "pattern": "kelp",
        "url": "https://example.org/otters",
    }


def test_web_search_items_are_the_sdk_types() -> None:
    for name, args, result in [
        ("browser_search", {"query": "oslo"}, "[0] oslo"),
        ("browser_open", {"id": 1}, PAGE),
        ("browser_open", {"id": 7}, "no such link"),
        ("browser_find", {"pattern": "kelp"}, FOUND),
        ("browser_find", {"pattern": "kelp"}, "no page is open"),
    ]:
        item = builtin_call_item(call(name, args, result))
        parsed = ResponseFunctionWebSearch.model_validate(item)
        assert parsed.model_dump(exclude_unset=True) == item


def test_hosted_tool_types_become_the_builtin_tools() -> None:
    body = {"input": "hi", "tools": [{"type": "code_interpreter"}, {"type": "web_search"}]}
    body["tool_choice"] = {"type": "code_interpreter"}
    chat = ResponsesRequest.model_validate(body).to_chat(["python", "browser_search"])
    assert chat.tools is None  # the server's own tools, not client functions
    assert chat.tool_choice.function == {"name": "python"}
