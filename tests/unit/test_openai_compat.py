"""The OpenAI-compatible adapter's reading of streamed replies, fed server-sent events through an
httpx mock transport (the same wire format a real endpoint sends; tests over a real socket are in
tests/functional/test_openai_compat.py)."""

import json

import httpx

from ragchat.adapters.openai_compat import OpenAICompatibleGenerator
from ragchat.domain import GenerationRequest, Turn

REQUEST = GenerationRequest(system="be brief", turns=(Turn("user", "Sources: [1] ...\n\nQuestion: q"),),
                            question="q", sources=())


def serving(body: str) -> OpenAICompatibleGenerator:
    """The adapter over a transport that answers every request with this event stream."""
    return OpenAICompatibleGenerator("http://model.invalid/v1", "m", transport=httpx.MockTransport(
        lambda request: httpx.Response(200, content=body.encode(), headers={"content-type": "text/event-stream"})))


def events(*deltas, finish=None) -> str:
    body = "".join("data: " + json.dumps({"choices": [{"index": 0, "delta": d}]}) + "\n\n" for d in deltas)
    if finish:
        body += "data: " + json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}) + "\n\n"
    return body + "data: [DONE]\n\n"


def test_openai_adapter_reads_tool_calls_from_servers_that_omit_the_index():
    """Some servers (older llama.cpp, some proxies) send tool-call pieces without `index`:
    a piece with an id starts a call, a piece without one continues the last."""
    pieces = [{"id": "a", "function": {"name": "calculator", "arguments": '{"expre'}},
              {"function": {"arguments": 'ssion": "1+1"}'}},
              {"id": "b", "function": {"name": "current_time", "arguments": ""}}]
    result = serving(events(*({"tool_calls": [p]} for p in pieces), finish="tool_calls")).stream(REQUEST, [].append)
    assert result.stop_reason == "tool_use"
    assert [(c.call_id, c.name, c.input) for c in result.tool_calls] == [
        ("a", "calculator", {"expression": "1+1"}), ("b", "current_time", {})]


def test_openai_adapter_separates_parallel_calls_that_reuse_index_zero():
    """Ollama sends each of several parallel calls whole, every one with `index` 0."""
    pieces = [{"index": 0, "id": "a", "function": {"name": "calculator", "arguments": '{"expression": "1+1"}'}},
              {"index": 0, "id": "b", "function": {"name": "current_time", "arguments": "{}"}}]
    result = serving(events(*({"tool_calls": [p]} for p in pieces))).stream(REQUEST, [].append)
    assert [(c.call_id, c.name, c.input) for c in result.tool_calls] == [
        ("a", "calculator", {"expression": "1+1"}), ("b", "current_time", {})]


def test_openai_adapter_length_finish_is_max_tokens_and_text_is_kept():
    out = []
    reply = events({"content": "Half an"}, {"content": " answer"}, finish="length")
    result = serving(reply).stream(REQUEST, out.append)
    assert (result.stop_reason, result.text, out) == ("max_tokens", "Half an answer", ["Half an", " answer"])
