"""The ways of getting one reply with tool calls out of the upstream (TOOL_CALL_MODE).

* native (also `auto`): send `tools`, take the server's `tool_calls`, sanitise them, and in
  `auto` recover calls or markup left in `content` / `reasoning`.
* harmony: render the harmony prompt ourselves, call `/v1/completions` with special
  tokens kept, parse the raw text.
* prompt: describe the tools in the system prompt (Hermes format), parse the reply.
"""

from agent.strategies.base import RawReply
from agent.strategies.harmony import harmony_reply
from agent.strategies.native import native_reply
from agent.strategies.prompt import prompt_reply

__all__ = ["RawReply", "harmony_reply", "native_reply", "prompt_reply"]
