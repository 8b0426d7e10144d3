"""Texts the graph itself adds to a conversation."""

STEP_LIMIT_MESSAGE = (
    "I stopped after {steps} model calls in this turn without reaching an answer "
    "(the limit is MAX_STEPS={steps}). Ask me to continue, or narrow the request."
)
UNUSABLE_CALL_MESSAGE = (
    "I tried to call a tool but could not produce a valid call after {retries} attempts: {errors}"
)
NOT_RUN_MESSAGE = (
    "Not run: another tool call in the same reply was invalid. Call it again if it is still needed."
)
OVER_CAP_MESSAGE = (
    "Not run: this reply made {made} tool calls and at most {cap} run per reply "
    "(MAX_TOOL_CALLS_PER_REPLY={cap}). Call it again in a later reply if it is still needed."
)
TRUNCATED_NOTE = "\n[output truncated: showing {shown} of {total} characters]"
