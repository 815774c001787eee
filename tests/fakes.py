"""Fakes for tests: named as such, behaving like the real thing at the port boundary."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from ragchat.config import Settings

_WORD = re.compile(r"\w+")
DEFAULTS = Settings()
BEDROCK_MODEL = DEFAULTS.bedrock_model_id  # the model the chat function names by default


class FakeHashingEmbedder:
    """A FAKE embedder: hashed bag of words, L2-normalised. Texts sharing words get close vectors,
    so vector search behaves sensibly in tests without loading a model."""

    def __init__(self, dimension: int = 64, model_id: str = "fake/hashing-embedder"):
        self.dimension = dimension
        self.model_id = model_id
        self.calls: list[int] = []  # batch sizes seen, so tests can check batching

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
            vector[bucket % self.dimension] += 1.0
        norm = np.linalg.norm(vector)
        return vector / norm if norm else vector

    def embed_documents(self, texts):
        self.calls.append(len(texts))
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    def embed_query(self, text: str):
        return self._vector(text)


class FailingEmbedder(FakeHashingEmbedder):
    """A FAKE embedder whose document batches fail, like a throttled or unreachable service."""

    def embed_documents(self, texts):
        raise ConnectionError("embedding service unavailable")


class ScriptedGenerator:
    """A FAKE language model: streams the scripted pieces, records the requests it got."""

    name = "scripted"
    uses_language_model = True
    supports_tools = False

    def __init__(self, pieces: list[str] | None = None, rewrite: str | None = None, fail_after: int | None = None):
        self.pieces = pieces if pieces is not None else ["The answer", " is here", " [1]."]
        self.rewrite = rewrite
        self.fail_after = fail_after
        self.requests = []
        self.prompts = []

    def stream(self, request, on_text):
        from ragchat.domain import GenerationResult
        from ragchat.errors import GenerationError

        self.requests.append(request)
        for index, piece in enumerate(self.pieces):
            if self.fail_after is not None and index >= self.fail_after:
                raise GenerationError("model endpoint failed")
            on_text(piece)
        return GenerationResult(stop_reason="end_turn", output_tokens=len(self.pieces))

    def complete(self, system, prompt, max_tokens=200):
        self.prompts.append(prompt)
        if self.rewrite is None:
            raise ConnectionError("model unavailable")
        return self.rewrite


class RecordingSink:
    """Collects frames per connection like a client would; can vanish after N frames."""

    def __init__(self, vanish_after: int | None = None):
        self.frames: dict[str, list[dict]] = {}
        self.vanish_after = vanish_after

    def post(self, connection_id, data):
        import json

        from ragchat.errors import ClientGone

        frames = self.frames.setdefault(connection_id, [])
        if self.vanish_after is not None and len(frames) >= self.vanish_after:
            raise ClientGone(connection_id)
        frames.append(json.loads(data))

    def types(self, connection_id):
        return [f["type"] for f in self.frames.get(connection_id, [])]


class FakeBedrockRuntime:
    """A FAKE bedrock-runtime client (moto has no ConverseStream). It returns the event sequence of
    the real ConverseStream API: messageStart, contentBlockDelta..., contentBlockStop, messageStop,
    metadata; and the response shape of Converse. It records the requests it gets."""

    def __init__(self, pieces=("Hello", " there [1]."), stop_reason="end_turn", error_event=None, client_error=None,
                 completion=("How is ragchat deployed?",)):
        self.pieces, self.stop_reason, self.completion = list(pieces), stop_reason, list(completion)
        self.error_event, self.client_error = error_event, client_error
        self.requests = []

    def converse_stream(self, **request):
        self.requests.append(request)
        if self.client_error:
            raise self.client_error
        events = [{"messageStart": {"role": "assistant"}}]
        events += [{"contentBlockDelta": {"delta": {"text": p}, "contentBlockIndex": 0}} for p in self.pieces]
        if self.error_event:
            events.append(self.error_event)
        events += [{"contentBlockStop": {"contentBlockIndex": 0}}, {"messageStop": {"stopReason": self.stop_reason}},
                   {"metadata": {"usage": {"inputTokens": 120, "outputTokens": len(self.pieces), "totalTokens": 0},
                                 "metrics": {"latencyMs": 250}}}]
        return {"ResponseMetadata": {"HTTPStatusCode": 200}, "stream": iter(events)}

    def converse(self, **request):
        self.requests.append(request)
        return {"output": {"message": {"role": "assistant", "content": [{"text": t} for t in self.completion]}},
                "stopReason": "end_turn", "usage": {"inputTokens": 30, "outputTokens": 6, "totalTokens": 36}}


class FakeTitanRuntime:
    """A FAKE bedrock-runtime for Titan Text Embeddings V2 (moto's invoke_model returns {}): the real
    request body ({inputText, dimensions, normalize}) and response body ({embedding, inputTextTokenCount})."""

    def __init__(self):
        import threading

        self.bodies = []
        self._lock = threading.Lock()
        self._hasher = FakeHashingEmbedder(dimension=1024)

    def invoke_model(self, modelId, body, contentType, accept):
        import io
        import json

        request = json.loads(body)
        with self._lock:
            self.bodies.append(request)
        vector = self._hasher.embed_query(request["inputText"])[: request["dimensions"]]
        payload = json.dumps({"embedding": [float(x) for x in vector],
                              "inputTextTokenCount": len(request["inputText"].split())}).encode()
        return {"body": io.BytesIO(payload), "contentType": "application/json"}


def titan_embedder(client=None, concurrency: int | None = None):
    """The real Titan adapter, configured as the deployed stack configures it, over a FAKE runtime."""
    from ragchat.adapters.aws.bedrock_embedder import BedrockTitanEmbedder

    return BedrockTitanEmbedder(DEFAULTS.bedrock_embedding_model, DEFAULTS.embedding_dimension,
                                concurrency=concurrency or DEFAULTS.embedding_concurrency,
                                client=client or FakeTitanRuntime())


# -- FAKE tool-using models ----------------------------------------------------------------------
# A script is a list of steps, one per model call. A step is a list of parts, or a function that
# gets every tool result the model has seen so far (texts, oldest first) and returns the parts.
# Parts: ("text", "...") or ("tool", name, input) where input is a dict, or a string sent as the
# raw argument text (to send JSON that does not parse). After the last step the model repeats it.
def scripted_parts(script, call_index, results):
    step = script[min(call_index, len(script) - 1)]
    return step(results) if callable(step) else step


def _pieces(text: str, size: int = 7) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def _arguments(value) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value)


def converse_validation_error(operation: str, message: str):
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": "ValidationException", "Message": message}}, operation)


class ScriptedConverseRuntime:
    """A FAKE bedrock-runtime client for tool use: ConverseStream's real event sequence, with tool
    input streamed in pieces (contentBlockStart toolUse, contentBlockDelta toolUse.input, stop), and
    Converse's whole message. Like the real API it refuses a request with a blank text block."""

    def __init__(self, script):
        self.script, self.requests = script, []

    @staticmethod
    def tool_results(request) -> list[str]:
        return [block["toolResult"]["content"][0]["text"] for message in request["messages"]
                for block in message["content"] if "toolResult" in block]

    @staticmethod
    def offered_tools(request) -> list[str]:
        return [tool["toolSpec"]["name"] for tool in request.get("toolConfig", {}).get("tools", [])]

    def _receive(self, operation: str, request: dict) -> list:
        """Record the request and return this call's scripted parts."""
        for m, message in enumerate(request["messages"]):
            for b, block in enumerate(message["content"]):
                if "text" in block and not block["text"].strip():
                    raise converse_validation_error(
                        operation, f"The text field in the ContentBlock object at messages.{m}.content.{b} is blank.")
        self.requests.append(request)
        return scripted_parts(self.script, len(self.requests) - 1, self.tool_results(request))

    def converse(self, **request):
        parts = self._receive("Converse", request)
        content = []
        for index, part in enumerate(parts):
            if part[0] == "text":
                content.append({"text": part[1]})
            else:  # Converse returns tool input parsed: a script's raw argument text cannot be said here
                assert isinstance(part[2], dict), "a non-streamed Converse reply carries tool input as an object"
                content.append({"toolUse": {"toolUseId": f"tooluse_{len(self.requests)}_{index}", "name": part[1],
                                            "input": part[2]}})
        used_tools = any("toolUse" in block for block in content)
        return {"ResponseMetadata": {"HTTPStatusCode": 200},
                "output": {"message": {"role": "assistant", "content": content}},
                "stopReason": "tool_use" if used_tools else "end_turn",
                "usage": {"inputTokens": 200, "outputTokens": 20, "totalTokens": 220}, "metrics": {"latencyMs": 5}}

    def converse_stream(self, **request):
        parts = self._receive("ConverseStream", request)
        events, used_tools = [{"messageStart": {"role": "assistant"}}], False
        for index, part in enumerate(parts):
            if part[0] == "text":
                events += [{"contentBlockDelta": {"delta": {"text": p}, "contentBlockIndex": index}}
                           for p in _pieces(part[1])]
            else:
                used_tools = True
                tool_use = {"toolUseId": f"tooluse_{len(self.requests)}_{index}", "name": part[1]}
                events.append({"contentBlockStart": {"start": {"toolUse": tool_use}, "contentBlockIndex": index}})
                events += [{"contentBlockDelta": {"delta": {"toolUse": {"input": p}}, "contentBlockIndex": index}}
                           for p in _pieces(_arguments(part[2]))]
            events.append({"contentBlockStop": {"contentBlockIndex": index}})
        events += [{"messageStop": {"stopReason": "tool_use" if used_tools else "end_turn"}},
                   {"metadata": {"usage": {"inputTokens": 200, "outputTokens": 20, "totalTokens": 220},
                                 "metrics": {"latencyMs": 5}}}]
        return {"ResponseMetadata": {"HTTPStatusCode": 200}, "stream": iter(events)}


def openai_tool_results(body) -> list[str]:
    return [m["content"] for m in body["messages"] if m["role"] == "tool"]


def openai_offered_tools(body) -> list[str]:
    return [tool["function"]["name"] for tool in body.get("tools", [])]


def openai_sse_events(parts, model: str, call_no: int):
    """The server-sent events of one streamed chat completion that says `parts`."""
    import json

    def chunk(delta, finish=None):
        return "data: " + json.dumps({"id": f"c{call_no}", "object": "chat.completion.chunk", "model": model,
                                      "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}) + "\n\n"

    yield chunk({"role": "assistant", "content": ""})
    calls = 0
    for part in parts:
        if part[0] == "text":
            for piece in _pieces(part[1]):
                yield chunk({"content": piece})
            continue
        yield chunk({"tool_calls": [{"index": calls, "id": f"call_{call_no}_{calls}", "type": "function",
                                     "function": {"name": part[1], "arguments": ""}}]})
        for piece in _pieces(_arguments(part[2])):
            yield chunk({"tool_calls": [{"index": calls, "function": {"arguments": piece}}]})
        calls += 1
    yield chunk({}, "tool_calls" if calls else "stop")
    yield "data: " + json.dumps({"id": "u", "object": "chat.completion.chunk", "choices": [],
                                 "usage": {"prompt_tokens": 200, "completion_tokens": 20}}) + "\n\n"
    yield "data: [DONE]\n\n"


def scripted_openai_app(script):
    """A FAKE OpenAI-compatible endpoint for tool use, served over a real socket: streamed
    `delta.tool_calls` pieces (id and name first, then argument text), finish_reason tool_calls; a
    request with `"stream": false` gets one chat.completion (text only)."""
    from fastapi import Body, FastAPI
    from fastapi.responses import StreamingResponse

    app, seen = FastAPI(), []

    @app.post("/v1/chat/completions")
    async def completions(body: dict = Body(...)):  # noqa: B008 (FastAPI's way to take the JSON body)
        seen.append(body)
        parts = scripted_parts(script, len(seen) - 1, openai_tool_results(body))
        if body.get("stream") is False:
            assert all(part[0] == "text" for part in parts), "a non-streamed scripted reply says text only"
            return {"id": f"c{len(seen)}", "object": "chat.completion", "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {
                        "role": "assistant", "content": "".join(part[1] for part in parts)}}],
                    "usage": {"prompt_tokens": 30, "completion_tokens": 6}}

        def events():
            yield from openai_sse_events(parts, body["model"], len(seen))

        return StreamingResponse(events(), media_type="text/event-stream")

    return app, seen


class ScriptedToolGenerator:
    """A FAKE tool-using model at the Generator port (no wire format): each call returns the next
    scripted (text, tool calls, tokens); after the last it repeats it. An optional clock advances by
    `tick` per call, to drive time bounds."""

    name = "scripted-tools"
    uses_language_model = True
    supports_tools = True

    def __init__(self, replies, clock=None, tick=0.0):
        self.replies, self.requests, self.clock, self.tick = replies, [], clock, tick

    def stream(self, request, on_text):
        from ragchat.domain import GenerationResult

        self.requests.append(request)
        text, calls, tokens = self.replies[min(len(self.requests) - 1, len(self.replies) - 1)]
        if self.clock:
            self.clock.now += self.tick
        if text:
            on_text(text)
        return GenerationResult("tool_use" if calls else "end_turn", tokens, tokens, text, tuple(calls))

    def complete(self, system, prompt, max_tokens=200):
        raise AssertionError("a tool-using chat does not condense questions")
