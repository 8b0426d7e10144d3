"""What the agent tells the model when a reply must be redone: the re-ask nudges."""

REQUIRED_NUDGE = "Answer by calling {which} now, with arguments that fit its schema."
"""Sent (not stored) when tool_choice demands a call the reply lacks."""

TOOL_ERROR_MESSAGE = "Error: {error}\nFix the call and try again, or answer without the tool."
"""The tool result of an unusable call: what was wrong, so the model can fix it."""
