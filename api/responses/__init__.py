"""The OpenAI Responses API over the same graph, sessions and tools as chat completions."""
