"""The tool loop: the model answers, or asks for tools; the tools run; their results go back; again.

Bounded three ways, all configurable: model calls that may use tools (`max_steps`), tokens spent
across the calls (`max_tokens`), and wall time (`max_seconds`). When the step bound is reached,
the model gets one last call to answer from what it has; its tool calls are not run then. When
tokens or time run out, the loop stops where it is. Either way the turn ends normally (an `end`
frame), with the stop reason saying which bound was hit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from ragchat.domain import GenerationRequest, GenerationResult, ToolCall, ToolContext, ToolResult, Turn
from ragchat.ports import Generator, TextSink
from ragchat.text import count_tokens
from ragchat.tools.registry import ToolOutcome, ToolRegistry, shown_input

ToolEventSink = Callable[[dict], None]  # receives {"callId", "name", "input", "status", "summary", "step"}

LAST_CALL = ("The tool budget for this answer is used up. Answer now from the sources above, without "
             "calling tools; if they do not answer the question, say so.")
STOPPED = {
    "tool_limit": "\n\n*(stopped: the tools could not finish within this answer's step limit)*",
    "token_limit": "\n\n*(stopped: this answer reached its token limit)*",
    "time_limit": "\n\n*(stopped: this answer reached its time limit)*",
}


def estimate_tokens(request: GenerationRequest) -> int:
    """What a model call sends, counted the way ragchat counts text: the system prompt, every turn
    with its tool calls and results, and the tool specs."""
    total = count_tokens(request.system) + sum(
        count_tokens(json.dumps({"name": s.name, "description": s.description, "schema": s.input_schema}))
        for s in request.tools)
    for turn in request.turns:
        total += count_tokens(turn.content)
        total += sum(count_tokens(json.dumps(c.input)) + 2 for c in turn.tool_calls)
        total += sum(count_tokens(r.content) for r in turn.tool_results)
    return total


@dataclass(frozen=True)
class LoopLimits:
    max_steps: int  # model calls that may run tools; one more call then answers
    max_tokens: int  # input + output tokens over all calls of one answer
    max_seconds: float
    max_calls_per_step: int  # tool calls one model reply may ask for; more are refused


@dataclass(frozen=True)
class LoopResult:
    stop_reason: str
    steps: int  # model calls made
    tool_calls: int
    input_tokens: int
    output_tokens: int


class _Paragraphs:
    """Passes text on, starting the first text after a tool step on a new paragraph."""

    def __init__(self, on_text: TextSink):
        self.on_text = on_text
        self.said_something = False
        self.step_text = False  # this step has said something already

    def new_step(self) -> None:
        self.step_text = False

    def __call__(self, piece: str) -> None:
        if piece and self.said_something and not self.step_text and not piece[0].isspace():
            piece = "\n\n" + piece
        self.step_text = self.step_text or bool(piece)
        self.said_something = self.said_something or bool(piece)
        self.on_text(piece)


@dataclass
class _Spend:
    """What an answer has spent so far."""

    input_tokens: int = 0
    output_tokens: int = 0
    tool_calls: int = 0

    def account(self, result: GenerationResult, sent: GenerationRequest) -> None:
        # adapters report usage; where one does not, estimate everything that was sent
        self.input_tokens += result.input_tokens or estimate_tokens(sent)
        self.output_tokens += result.output_tokens or count_tokens(result.text) + sum(
            count_tokens(json.dumps(c.input)) for c in result.tool_calls)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class ToolLoop:
    def __init__(self, generator: Generator, registry: ToolRegistry, limits: LoopLimits,
                 clock: Callable[[], float] = time.monotonic):
        self.generator = generator
        self.registry = registry
        self.limits = limits
        self.clock = clock

    def run(self, request: GenerationRequest, context: ToolContext, on_text: TextSink,
            on_tool: ToolEventSink, before_tool: Callable[[], None] = lambda: None) -> LoopResult:
        """`before_tool` runs before the first tool event of a step (the chat flushes its text there,
        so text and tool frames arrive in the order they happened)."""
        limits, started = self.limits, self.clock()
        turns = list(request.turns)
        spend, text = _Spend(), _Paragraphs(on_text)

        def finish(reason: str, steps: int) -> LoopResult:
            if reason in STOPPED:
                on_text(STOPPED[reason])
            return LoopResult(reason, steps, spend.tool_calls, spend.input_tokens, spend.output_tokens)

        for step in range(1, limits.max_steps + 2):
            text.new_step()
            call = replace(request, turns=tuple(turns), tools=self.registry.specs)
            if step > 1:  # each model call must fit what is left of the answer's time and tokens
                if self.clock() - started > limits.max_seconds:
                    return finish("time_limit", step - 1)
                if spend.tokens + estimate_tokens(call) > limits.max_tokens:
                    return finish("token_limit", step - 1)
            result = self.generator.stream(call, text)
            spend.account(result, call)
            if not result.tool_calls:
                return finish(result.stop_reason, step)
            if step > limits.max_steps:
                return finish("tool_limit", step)
            turns.append(Turn("assistant", result.text, tool_calls=result.tool_calls))
            before_tool()
            results = self._run_calls(result.tool_calls, context, on_tool, step, started, spend)
            turns.append(Turn("user", LAST_CALL if step == limits.max_steps else "", tool_results=results))
        raise AssertionError("unreachable: the last step always returns")

    def _run_calls(self, calls: tuple[ToolCall, ...], context: ToolContext, on_tool: ToolEventSink, step: int,
                   started: float, spend: _Spend) -> tuple[ToolResult, ...]:
        """Run one step's calls, refusing those past the time limit or the per-step bound."""
        results: list[ToolResult] = []
        for index, call in enumerate(calls):
            refusal = None
            if self.clock() - started > self.limits.max_seconds:
                refusal = "not run: the answer's time limit was reached"
            elif index >= self.limits.max_calls_per_step:
                refusal = f"not run: at most {self.limits.max_calls_per_step} tool calls per step"
            else:
                spend.tool_calls += 1
            results.append(self._run(call, context, on_tool, step, refusal).result)
        return tuple(results)

    def _run(self, call: ToolCall, context: ToolContext, on_tool: ToolEventSink, step: int,
             refusal: str | None) -> ToolOutcome:
        event = {"callId": call.call_id, "name": call.name, "input": shown_input(call.input), "step": step}
        if refusal is not None:
            outcome = ToolRegistry.refuse(call, refusal)
        else:  # an unknown tool or bad input is refused without a "started" frame
            outcome = self.registry.run(call, context, on_start=lambda: on_tool(
                {**event, "status": "started", "summary": self.registry.announce(call)}))
        on_tool({**event, "status": outcome.status, "summary": outcome.summary})
        return outcome
