"""The contract every Generator adapter passes. Subclass it and provide two fixtures:

- `wire`: a function from a script (tests/fakes.py: one list of parts per model call) to a
  tests.support.wires.Wire whose generator is the adapter over a FAKE model saying that script;
- `failing`: the adapter over a model that fails while it answers.

Capabilities are honest: tool tests skip for a generator whose `supports_tools` is False, and
`complete` is checked against what `uses_language_model` promises.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from ragchat.domain import GenerationRequest, Source, ToolResult, ToolSpec, Turn
from ragchat.errors import ClientGone, GenerationError

STOP_REASONS = {"end_turn", "max_tokens", "tool_use", "guardrail"}
ANSWER = "Roll back with sam delete and redeploy the previous tag."
SOURCE = Source(number=1, chunk_id="c1", doc_id="d1", title="Deploy guide", uri="file:///deploy.md", path="deploy.md",
                heading_path=("Deploy guide", "Rollback"), page=None, snippet=ANSWER, score=0.9)
REQUEST = GenerationRequest(system="Answer from the numbered sources and cite them.",
                            turns=(Turn("user", f"Sources:\n[1] {ANSWER}\n\nQuestion: How do I roll back?"),),
                            question="How do I roll back?", sources=(SOURCE,), passages=(ANSWER,), max_tokens=300)
SEARCH = ToolSpec("search_documents", "Search the documents.", {
    "type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"],
    "additionalProperties": False})
CLOCK = ToolSpec("current_time", "The current time.", {"type": "object", "properties": {}})
WITH_TOOLS = replace(REQUEST, tools=(SEARCH, CLOCK))


def tools_or_skip(wire):
    if not wire.generator.supports_tools:
        pytest.skip(f"{wire.generator.name} does not use tools (supports_tools is False)")
    return wire


class GenerationContract:
    def test_generator_streams_text_in_order_and_returns_it(self, wire):
        w = wire([[("text", f"{ANSWER} [1]")]])
        pieces: list[str] = []
        result = w.generator.stream(REQUEST, pieces.append)
        assert len(pieces) > 1  # streamed as it comes, not one piece at the end
        assert "".join(pieces) == result.text
        assert ANSWER in result.text and "[1]" in result.text
        assert result.stop_reason == "end_turn" and result.tool_calls == ()

    def test_generator_with_tools_returns_the_models_calls_parsed(self, wire):
        w = tools_or_skip(wire([[("text", "Let me look."), ("tool", "search_documents", {"query": "rollback"}),
                                 ("tool", "current_time", {})]]))
        pieces: list[str] = []
        result = w.generator.stream(WITH_TOOLS, pieces.append)
        assert w.offered(w.requests[0]) == ["search_documents", "current_time"]
        assert result.stop_reason == "tool_use"
        assert [(c.name, c.input, c.input_error) for c in result.tool_calls] == [
            ("search_documents", {"query": "rollback"}, ""), ("current_time", {}, "")]
        ids = [c.call_id for c in result.tool_calls]
        assert all(ids) and len(set(ids)) == 2
        assert result.text == "".join(pieces) == "Let me look."

    def test_generator_with_tools_reports_arguments_that_are_not_json(self, wire):
        w = tools_or_skip(wire([[("tool", "search_documents", '{"query": "rollb')]]))
        (call,) = w.generator.stream(WITH_TOOLS, [].append).tool_calls
        assert call.name == "search_documents" and call.input is None and call.input_error

    def test_generator_sends_tool_results_in_the_follow_up_turn(self, wire):
        w = tools_or_skip(wire([[("tool", "search_documents", {"query": "rollback"})],
                                lambda results: [("text", f"Found: {results[-1]}")]]))
        first = w.generator.stream(WITH_TOOLS, [].append)
        (call,) = first.tool_calls
        follow_up = replace(WITH_TOOLS, turns=(
            *WITH_TOOLS.turns, Turn("assistant", first.text, tool_calls=first.tool_calls),
            Turn("user", "", tool_results=(ToolResult(call.call_id, f"[1] {ANSWER}"),))))
        pieces: list[str] = []
        second = w.generator.stream(follow_up, pieces.append)
        assert w.tool_results(1) == [f"[1] {ANSWER}"]
        assert second.text == "".join(pieces) == f"Found: [1] {ANSWER}"
        assert second.stop_reason == "end_turn" and second.tool_calls == ()

    def test_generator_failure_raises_generation_error(self, failing):
        with pytest.raises(GenerationError):
            failing.stream(REQUEST, [].append)

    def test_generator_stops_when_the_client_is_gone(self, wire):
        w = wire([[("text", f"{ANSWER} [1]")]])
        heard: list[str] = []

        def gone(piece: str) -> None:
            heard.append(piece)
            raise ClientGone("c1")

        with pytest.raises(ClientGone):
            w.generator.stream(REQUEST, gone)
        assert len(heard) == 1  # nothing more is produced for a client that left

    def test_generator_complete_returns_the_models_text(self, wire):
        w = wire([[("text", "How do I roll back the stack?")]])
        if not w.generator.uses_language_model:
            pytest.skip(f"{w.generator.name} has no language model to complete a prompt")
        assert w.generator.complete("Rewrite the question.", "and roll back?", max_tokens=60) == \
            "How do I roll back the stack?"

    def test_generator_without_a_language_model_refuses_to_complete(self, wire):
        w = wire([[("text", "unused")]])
        if w.generator.uses_language_model:
            pytest.skip(f"{w.generator.name} has a language model")
        with pytest.raises(GenerationError):
            w.generator.complete("Rewrite the question.", "and roll back?")
