"""Model access: everything between a graph step and the model servers.

* step.py: one model step: the backend (failover), re-asks for tool_choice, the fallback
  when native tool calling is missing, the calls checked. It takes a `ModelCall` and
  yields the deltas of each network read, then a `ModelReply` (both in step_io.py).
* strategies.py: the strategy per tool-call mode: auto, native and prompt over
  chat_completion.py (one chat completion through the reply parser), and harmony (raw
  `/v1/completions`).
* wire.py: the OpenAI wire format as plain dicts; request_fields.py: the request fields
  each kind of server takes.
* http.py: the HTTP client to a model server; failures.py: how a call fails and what the
  client is told; probe.py: is a base URL a model server (`GET /models`).
* backend.py: one model server and what it turned out able to do (native tool calling,
  context length), read from what its answers say it cannot do; backend_pool.py: the
  backends, routing and the background health checks; backend_config.py:
  LLM_BACKENDS_FILE or LLM_BASE_URL; context_window.py: token counts of a model call.
* langchain_run.py: a model call as a LangChain LLM run (LangSmith, Studio).
"""
