"""gpt-oss's own tools in the Responses API: hosted tool types in, code_interpreter_call
and web_search_call items out."""

from __future__ import annotations

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


def test_browser_calls_are_web_search_calls_with_their_action() -> None:
    search = builtin_call_item(call("browser_search", {"query": "oslo"}))
    assert (search["type"], search["id"]) == ("web_search_call", "ws_c1")
    assert search["action"] == {"type": "search", "query": "oslo"}
    opened = builtin_call_item(call("browser_open", {"id": "https://example.org/"}))
    assert opened["action"] == {"type": "open_page", "url": "https://example.org/"}
    assert builtin_call_item(call("browser_open", {"id": 3}))["action"]["url"] is None
    found = builtin_call_item(call("browser_find", {"pattern": "fjord"}))
    assert found["action"]["type"] == "find" and found["action"]["pattern"] == "fjord"


def test_hosted_tool_types_become_the_builtin_tools() -> None:
    body = {"input": "hi", "tools": [{"type": "code_interpreter"}, {"type": "web_search"}]}
    body["tool_choice"] = {"type": "code_interpreter"}
    chat = ResponsesRequest.model_validate(body).to_chat(["python", "browser_search"])
    assert chat.tools is None  # the server's own tools, not client functions
    assert chat.tool_choice.function == {"name": "python"}
