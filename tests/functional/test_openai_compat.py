"""The OpenAI-compatible adapter against a FAKE endpoint served over a real socket, speaking the
wire format of /v1/chat/completions (server-sent events, `data: [DONE]`)."""

import json

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ragchat.adapters.openai_compat import OpenAICompatibleGenerator
from ragchat.domain import GenerationRequest, Turn
from ragchat.errors import GenerationError
from tests.support.servers import running


def fake_openai_app(pieces: list[str], status: int = 200) -> tuple[FastAPI, list]:
    app, seen = FastAPI(), []

    @app.post("/v1/chat/completions")
    async def completions(request: Request):
        body = await request.json()
        seen.append(body)
        if status != 200:
            return JSONResponse({"error": {"message": "model not found"}}, status_code=status)
        if not body.get("stream"):
            return {"id": "c1", "object": "chat.completion", "model": body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Standalone?"},
                                 "finish_reason": "stop"}]}

        def events():
            for piece in pieces:
                chunk = {"id": "c1", "object": "chat.completion.chunk", "model": body["model"],
                         "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                yield f"data: {json.dumps(chunk)}\n\n"
            done = {"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {},
                                                                                 "finish_reason": "stop"}]}
            yield f"data: {json.dumps(done)}\n\n"
            usage = {"id": "c1", "object": "chat.completion.chunk", "choices": [],
                     "usage": {"prompt_tokens": 42, "completion_tokens": len(pieces)}}
            yield f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app, seen


REQUEST = GenerationRequest(system="be brief", turns=(Turn("user", "Sources: [1] ...\n\nQuestion: q"),),
                            question="q", sources=())


def test_openai_adapter_streams_pieces_and_reads_usage():
    app, seen = fake_openai_app(["Hello", " world", " [1]"])
    with running(app) as address:
        generator = OpenAICompatibleGenerator(f"http://{address}/v1", "llama3.1", api_key="k")
        out = []
        result = generator.stream(REQUEST, out.append)
        assert generator.complete("rewrite", "and it?") == "Standalone?"
    assert out == ["Hello", " world", " [1]"]
    assert (result.input_tokens, result.output_tokens, result.stop_reason) == (42, 3, "end_turn")
    assert seen[0]["messages"] == [{"role": "system", "content": "be brief"},
                                   {"role": "user", "content": "Sources: [1] ...\n\nQuestion: q"}]
    assert seen[0]["stream"] is True and seen[0]["model"] == "llama3.1"


def test_openai_adapter_turns_http_errors_into_generation_errors():
    app, _ = fake_openai_app([], status=404)
    with running(app) as address:
        generator = OpenAICompatibleGenerator(f"http://{address}/v1", "missing-model")
        with pytest.raises(GenerationError, match="404"):
            generator.stream(REQUEST, [].append)
        with pytest.raises(GenerationError):
            generator.complete("s", "p")


def test_openai_adapter_unreachable_endpoint_is_a_generation_error():
    generator = OpenAICompatibleGenerator("http://127.0.0.1:9/v1", "m", timeout=2)
    with pytest.raises(GenerationError, match="ConnectError"):
        generator.stream(REQUEST, [].append)


def test_openai_adapter_refusal_of_tools_says_how_to_turn_them_off():
    from ragchat.domain import ToolSpec

    app, _ = fake_openai_app([], status=400)
    with running(app) as address:
        generator = OpenAICompatibleGenerator(f"http://{address}/v1", "tiny-model")
        request = GenerationRequest("s", REQUEST.turns, "q", (), tools=(ToolSpec("t", "d", {"type": "object"}),))
        with pytest.raises(GenerationError, match="set RAGCHAT_TOOLS=off"):
            generator.stream(request, [].append)
