"""What the scripted engine model says, and the prompt word that selects each script.

Pure data, shared by the model builder (run inside the engine venv) and the tests.
A script is a list of pieces: a harmony special token (`<|...|>`) or a piece of text that
is tokenized on its own. Splitting text by hand (`"ass", "istant"`) gives a second spelling
of the same text, which is how a script says the same thing twice: the model predicts the
next token from (selector, previous token, current token), so each such pair may be
followed by only one token within a script.
"""

from __future__ import annotations

START, END, CHANNEL, MESSAGE = "<|start|>", "<|end|>", "<|channel|>", "<|message|>"
CONSTRAIN, CALL, RETURN = "<|constrain|>", "<|call|>", "<|return|>"

# The prompt ends with `<|start|>assistant`; a second message in a script re-spells the role.
NEXT_MESSAGE = [END, START, "ass", "istant", CHANNEL]

# `functions` alone is the after-tool selector, so scripts spell it in two pieces;
# a second `commentary` in a script is spelled com|ment|ary.
FUNCTIONS = ["fun", "ctions"]
TO_WEATHER = ["com", "mentary to=", *FUNCTIONS, ".get_weather "]

REASONING = "The user wants a short answer."
ANSWER = "Hello from the scripted model."
PREAMBLE = "Checking the weather."
WEATHER_ARGS = '{"city":"Paris"}'
CALC_ARGS = '{"expression":"6*7"}'
AFTER_TOOL_REASONING = "The tool answered."
AFTER_TOOL_ANSWER = "All done with that."
PYTHON_REASONING = "I will compute it with code."
PYTHON_CODE = "print(6*7)"
AFTER_PYTHON_REASONING = "The code printed the product."
AFTER_PYTHON_ANSWER = "6 times 7 makes 42 exactly"
SEARCH_ARGS = '{"query":"sea otters"}'
OPEN_ARGS = '{"id":0}'
# cites lines 6-8 of the page at cursor 1 (the opened one), the way gpt-oss cites
BROWSER_ANSWER = "Sea otters use stones【1†L6-L8】"

SCRIPTS: dict[str, list[str]] = {
    # plain final answer with reasoning
    "answer": [CHANNEL, "analysis", MESSAGE, REASONING, *NEXT_MESSAGE, "final", MESSAGE,
               ANSWER, RETURN],
    # reasoning, then one call
    "call": [CHANNEL, "analysis", MESSAGE, "I will call get_weather.", *NEXT_MESSAGE,
             *TO_WEATHER, CONSTRAIN, "json", MESSAGE,
             WEATHER_ARGS, CALL],
    # a preamble on the commentary channel, then a call
    "preamble": [CHANNEL, "commentary", MESSAGE, PREAMBLE, *NEXT_MESSAGE, *TO_WEATHER,
                 CONSTRAIN, "json", MESSAGE, WEATHER_ARGS,
                 CALL],
    # `json` glued to the recipient: vLLM's parser reports the tool as `get_weatherjson`
    "garbled": [CHANNEL, "commentary to=", *FUNCTIONS, ".get_weatherjson", MESSAGE, WEATHER_ARGS,
                CALL],
    # a call of the server-side calculator tool
    "calculator": [CHANNEL, "commentary to=", *FUNCTIONS, ".calculator ", CONSTRAIN, "json",
                   MESSAGE, CALC_ARGS, CALL],
    # gpt-oss's own python tool, called on the analysis channel (the second `analysis` is
    # spelled ana|lysis; `python`, the after-python selector, py|thon)
    "python": [CHANNEL, "analysis", MESSAGE, PYTHON_REASONING, *NEXT_MESSAGE, "ana",
               "lysis to=py", "thon code", MESSAGE, PYTHON_CODE, CALL],
    # after the python tool's result: reasoning, then a final answer quoting it
    "after_python": [CHANNEL, "analysis", MESSAGE, AFTER_PYTHON_REASONING, *NEXT_MESSAGE,
                     "final", MESSAGE, AFTER_PYTHON_ANSWER, RETURN],
    # gpt-oss's own browser: a search on the analysis channel (`.search` and `.open`, the
    # after-browser selectors, are spelled se|arch and o|pen)
    "browse": [CHANNEL, "ana", "lysis to=bro", "wser.se", "arch code", MESSAGE, SEARCH_ARGS,
               CALL],
    # after the search results: open the first result
    "after_search": [CHANNEL, "ana", "lysis to=bro", "wser.o", "pen code", MESSAGE, OPEN_ARGS,
                     CALL],
    # after the opened page: a final answer citing it
    "after_open": [CHANNEL, "final", MESSAGE, BROWSER_ANSWER, RETURN],
    # after any tool result: reasoning, then a final answer (ends every tool loop)
    "after_tool": [CHANNEL, "analysis", MESSAGE, AFTER_TOOL_REASONING, *NEXT_MESSAGE,
                   "final", MESSAGE, AFTER_TOOL_ANSWER, RETURN],
}  # fmt: skip

# The word in a user message that selects a script (the latest selector in the prompt wins).
SELECTORS: dict[str, str] = {
    "answer": " zebra",
    "call": " dolphin",
    "preamble": " banana",
    "garbled": " cobalt",
    "calculator": " violet",
    "python": " tiger",
    # python's result is rendered `<|start|>python to=assistant...`
    "after_python": "python",
    "browse": " whale",
    # the browser's results are rendered `<|start|>browser.search to=assistant...`
    "after_search": ".search",
    "after_open": ".open",
    # a tool result is rendered `<|start|>functions.NAME to=assistant...`
    "after_tool": "functions",
}

PROMPT_TAIL = [START, "assistant"]


def prompt_for(script: str) -> str:
    """A user message that selects `script`."""
    return f"Please answer,{SELECTORS[script]} style."
