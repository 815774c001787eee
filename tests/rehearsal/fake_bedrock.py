"""A FAKE bedrock-runtime over HTTP for the rehearsal: the built functions reach it through botocore
(AWS_ENDPOINT_URL_BEDROCK_RUNTIME), so their own request building, signing and response parsing run.

- InvokeModel for Titan Text Embeddings V2: the request body ({inputText, dimensions, normalize}) is
  checked and a normalised vector of the asked dimension returned (hashed bag of words).
- ConverseStream: the real event stream encoding. A model that is offered tools and has no tool
  results yet calls `search_documents` with the question; otherwise it answers by quoting the first
  passage of the latest tool result, citing it. Only the configured model id is served.
- A model id that is not served answers 400 ValidationException, as Bedrock does for an unknown or
  retired model; `throttle(n)` makes the next n calls answer 429 ThrottlingException; `deny(n)`
  makes them answer 403 AccessDeniedException, as calls do before a model's access is granted (or
  its Marketplace subscription completes). `refused` counts the answers either gave.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.fakes import FakeHashingEmbedder
from tests.rehearsal import eventstream


class FakeBedrock:
    def __init__(self, chat_model: str, embedding_model: str):
        self.chat_model, self.embedding_model = chat_model, embedding_model
        self.calls: list[tuple[str, str]] = []
        self._throttle = self._deny = self.refused = 0
        self.stream_delay_s = 0.0  # how long ConverseStream takes before it answers
        self._lock = threading.Lock()
        self._hasher = FakeHashingEmbedder(dimension=1024)

    def throttle(self, calls: int) -> None:
        self._throttle = calls

    def deny(self, calls: int) -> None:
        self._deny = calls

    def _refusal(self, model_id: str, served: str) -> JSONResponse | None:
        with self._lock:
            if self._deny > 0:
                self._deny -= 1
                self.refused += 1
                return JSONResponse({"message": "You don't have access to the model with the specified model ID."},
                                    status_code=403, headers={"x-amzn-ErrorType": "AccessDeniedException"})
            if self._throttle > 0:
                self._throttle -= 1
                self.refused += 1
                return JSONResponse({"message": "Too many requests, please wait before trying again."},
                                    status_code=429, headers={"x-amzn-ErrorType": "ThrottlingException"})
        if model_id != served:
            return JSONResponse({"message": f"The provided model identifier is invalid: {model_id}"},
                                status_code=400, headers={"x-amzn-ErrorType": "ValidationException"})
        return None

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/model/{model_id}/invoke")
        async def invoke(model_id: str, request: Request):
            self.calls.append(("invoke", model_id))
            refused = self._refusal(model_id, self.embedding_model)
            if refused:
                return refused
            body = json.loads(await request.body())
            if set(body) - {"inputText", "dimensions", "normalize"} or not body.get("inputText"):
                return JSONResponse({"message": "Malformed input request"}, status_code=400,
                                    headers={"x-amzn-ErrorType": "ValidationException"})
            vector = self._hasher.embed_query(body["inputText"])[: body.get("dimensions", 1024)]
            return {"embedding": [float(x) for x in vector], "inputTextTokenCount": len(body["inputText"].split())}

        @app.post("/model/{model_id}/converse-stream")
        async def converse_stream(model_id: str, request: Request):
            self.calls.append(("converse-stream", model_id))
            refused = self._refusal(model_id, self.chat_model)
            if refused:
                return refused
            body = json.loads(await request.body())
            await asyncio.sleep(self.stream_delay_s)
            return Response(b"".join(self._reply(body)), media_type="application/vnd.amazon.eventstream")

        return app

    @staticmethod
    def _reply(body: dict):
        messages = body["messages"]
        results = [block["toolResult"]["content"][0]["text"] for m in messages for block in m["content"]
                   if "toolResult" in block]
        question = next(block["text"] for block in messages[-1]["content"] if "text" in block) if not results else ""
        yield eventstream.event("messageStart", {"role": "assistant"})
        if body.get("toolConfig") and not results:
            yield eventstream.event("contentBlockStart", {"contentBlockIndex": 0, "start": {"toolUse": {
                "toolUseId": "tooluse_1", "name": "search_documents"}}})
            arguments = json.dumps({"query": question[:200]})
            for start in range(0, len(arguments), 16):
                yield eventstream.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {
                    "toolUse": {"input": arguments[start:start + 16]}}})
            yield eventstream.event("contentBlockStop", {"contentBlockIndex": 0})
            stop = "tool_use"
        else:
            found = re.search(r"^\[(\d+)\][^\n]*\n([^\n]+)", results[-1], re.M) if results else None
            text = f"{found.group(2)[:200]} [{found.group(1)}]" if found else "The documents do not cover it."
            for start in range(0, len(text), 12):
                yield eventstream.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {
                    "text": text[start:start + 12]}})
            yield eventstream.event("contentBlockStop", {"contentBlockIndex": 0})
            stop = "end_turn"
        yield eventstream.event("messageStop", {"stopReason": stop})
        yield eventstream.event("metadata", {"usage": {"inputTokens": 100, "outputTokens": 20, "totalTokens": 120},
                                             "metrics": {"latencyMs": 5}})
