"""A model's tool call from the JSON text it streamed, shared by the generation adapters."""

from __future__ import annotations

import json

from ragchat.domain import ToolCall


def tool_call(call_id: str, name: str, arguments: str) -> ToolCall:
    """Arguments that are not a JSON object make a call that is answered with an error, never run."""
    text = arguments.strip() or "{}"  # a tool without input may stream nothing at all
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return ToolCall(call_id, name, None, f"{exc.msg} at character {exc.pos}")
    if not isinstance(value, dict):
        return ToolCall(call_id, name, None, f"expected a JSON object, got {type(value).__name__}")
    return ToolCall(call_id, name, value)
