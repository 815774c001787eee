"""The tools a model may call, and the one place where a model's tool call is checked and run.

Every call goes through `ToolRegistry.run`: an unknown name is refused, input that is not JSON
or does not match the tool's schema is refused (schemas forbid extra properties, so nothing a
document says can add an argument), a tool's own failure becomes an error result the model can
read and recover from, and results are bounded in size. The user's identity comes from the
context the chat service builds, never from the model.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from ragchat.domain import ToolCall, ToolContext, ToolResult, ToolSpec
from ragchat.errors import RagchatError
from ragchat.ports import Tool

log = logging.getLogger(__name__)

MAX_RESULT_CHARS = 12_000  # about 3,000 tokens: one tool result never floods the context
MAX_SHOWN_INPUT_CHARS = 2_000  # a tool frame's copy of the input
MAX_SUMMARY_CHARS = 200  # a tool frame's summary is one line for the user, not the result


class ToolFailed(RagchatError):
    """A tool could not do what was asked; the message goes to the model, so make it actionable."""


@dataclass(frozen=True)
class ToolOutcome:
    result: ToolResult  # for the model
    status: str  # "done" or "error", for the user
    summary: str


def shown_input(args) -> dict:
    """The input as a tool frame shows it: whole when small, else a cut preview."""
    if not isinstance(args, dict):
        return {}
    text = json.dumps(args, ensure_ascii=False)
    return args if len(text) <= MAX_SHOWN_INPUT_CHARS else {"preview": text[:MAX_SHOWN_INPUT_CHARS] + "…"}


def _bounded(text: str) -> str:
    if len(text) <= MAX_RESULT_CHARS:
        return text
    return text[:MAX_RESULT_CHARS] + "\n[… cut: the result was longer than the tool output limit]"


def _whole_numbers(schema: dict, args: dict) -> dict:
    """JSON Schema counts 5.0 as an integer, and models do send it: give tools a real int."""
    properties = schema.get("properties", {})
    return {key: int(value) if isinstance(value, float) and value.is_integer()
            and properties.get(key, {}).get("type") == "integer" else value for key, value in args.items()}


def _short(summary: str, limit: int = MAX_SUMMARY_CHARS) -> str:
    return summary if len(summary) <= limit else summary[:limit - 1] + "…"


def _problem(error) -> str:
    """A schema violation (fastjsonschema's) in words a model can act on."""
    where = "/".join(str(p) for p in error.path[1:]) or "input"
    value, rule, definition = error.value, error.rule, error.rule_definition
    if rule == "required" and isinstance(value, dict):
        missing = [name for name in definition if name not in value]
        return f"at {where}: {', '.join(repr(m) for m in missing)} is a required property"
    if rule == "additionalProperties" and isinstance(value, dict):
        known = set((error.definition or {}).get("properties", {}))
        extra = ", ".join(repr(k) for k in value if k not in known)
        return f"at {where}: Additional properties are not allowed ({extra} was unexpected)"
    if rule == "type":
        return f"at {where}: {value!r} is not of type {definition!r}"
    return f"at {where}: {error.message.removeprefix(error.name).strip()}"


class ToolRegistry:
    def __init__(self, tools: Iterable[Tool]):
        # fastjsonschema (JSON Schema draft-07), not jsonschema: a tenth of the import time on the
        # chat function's cold start, and a compiled check per tool
        import fastjsonschema

        self.tools: dict[str, Tool] = {}
        self._validators = {}
        for tool in tools:
            if tool.name in self.tools:
                raise ValueError(f"two tools are named {tool.name!r}")
            if tool.input_schema.get("additionalProperties") is not False:
                raise ValueError(f"tool {tool.name!r}: its schema must set additionalProperties: false")
            try:
                self._validators[tool.name] = fastjsonschema.compile(tool.input_schema)
            except fastjsonschema.JsonSchemaDefinitionException as exc:
                raise ValueError(f"tool {tool.name!r}: its schema is not valid JSON Schema ({exc})") from exc
            self.tools[tool.name] = tool
        self.specs: tuple[ToolSpec, ...] = tuple(
            ToolSpec(t.name, t.description, t.input_schema) for t in self.tools.values())

    def only(self, names) -> ToolRegistry:
        """A registry of the listed tools among these (an unlisted tool is unknown to it)."""
        return ToolRegistry([tool for name, tool in self.tools.items() if name in names])

    def announce(self, call: ToolCall) -> str:
        tool = self.tools.get(call.name)
        if tool is None or call.input is None:
            return f"Calling {call.name}"
        try:
            return tool.announce(call.input)
        except Exception:  # input not validated yet: an odd value must not break the frame
            return f"Calling {call.name}"

    def check(self, call: ToolCall) -> str | None:
        """Why this call cannot run, or None if it may."""
        if call.name not in self.tools:
            return f"unknown tool {call.name!r}; the tools are: {', '.join(self.tools)}"
        if call.input is None:
            return f"the input of {call.name} was not valid JSON ({call.input_error or 'unreadable'})"
        from fastjsonschema import JsonSchemaValueException

        try:
            self._validators[call.name](call.input)
        except JsonSchemaValueException as error:
            return f"invalid input for {call.name} {_problem(error)}"
        return None

    def run(self, call: ToolCall, context: ToolContext,
            on_start: Callable[[], None] = lambda: None) -> ToolOutcome:
        """Check the call, then (only if it may run) call `on_start` and run it."""
        problem = self.check(call)
        if problem is not None:
            return self.refuse(call, problem)
        on_start()
        call = replace(call, input=_whole_numbers(self.tools[call.name].input_schema, call.input))
        try:
            output = self.tools[call.name].run(call.input, context)
        except ToolFailed as exc:
            return self.refuse(call, str(exc))
        except RagchatError as exc:  # e.g. InvalidQuery from the retriever: the model can fix it
            return self.refuse(call, f"{call.name} failed: {exc}")
        except Exception:
            log.exception("tool %s failed", call.name)
            return self.refuse(call, f"{call.name} failed unexpectedly; try again differently or answer without it")
        return ToolOutcome(ToolResult(call.call_id, _bounded(output.content)), "done", _short(output.summary))

    @staticmethod
    def refuse(call: ToolCall, message: str) -> ToolOutcome:
        return ToolOutcome(ToolResult(call.call_id, f"Error: {message}", is_error=True), "error", _short(message))
