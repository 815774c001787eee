"""Any OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp's server, LM Studio, OpenAI itself).

Streams `POST {base_url}/chat/completions` with `"stream": true` and reads the server-sent events.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from ragchat.adapters.tool_calls import tool_call
from ragchat.domain import GenerationRequest, GenerationResult
from ragchat.errors import ClientGone, GenerationError
from ragchat.ports import TextSink

TIMEOUT_S = 120
_FINISH_REASONS = {"length": "max_tokens", "tool_calls": "tool_use"}


def sse_events(lines: Iterable[str]) -> Iterator[dict]:
    """The JSON events of a server-sent event stream, up to `data: [DONE]`."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        yield json.loads(data)


class ReplyAssembly:
    """A streamed reply put back together: text as it comes, tool calls from their pieces, the
    stop reason and the usage the server reports."""

    def __init__(self, on_text: TextSink):
        self.on_text = on_text
        self.text: list[str] = []
        self.calls: list[dict] = []  # {"id", "name", "arguments": [pieces]}, in the order they started
        self.by_index: dict[int, dict] = {}
        self.stop_reason = "end_turn"
        self.usage: dict = {}

    def feed(self, event: dict) -> None:
        self.usage = event.get("usage") or self.usage
        for choice in event.get("choices") or ():
            delta = choice.get("delta") or {}
            if delta.get("content"):
                self.text.append(delta["content"])
                self.on_text(delta["content"])
            for piece in delta.get("tool_calls") or ():
                call = self._call_of(piece)
                function = piece.get("function") or {}
                call["name"] = function.get("name") or call["name"]
                call["arguments"].append(function.get("arguments") or "")
            self.stop_reason = _FINISH_REASONS.get(choice.get("finish_reason"), self.stop_reason)

    def _call_of(self, piece: dict) -> dict:
        """The call a streamed `tool_calls` piece belongs to. The first piece of a call carries its
        id and name, later ones only argument text. Servers differ: OpenAI numbers calls by `index`,
        some omit it, and Ollama sends each of several parallel calls whole with `index` 0, so a
        piece with a new id always starts a new call."""
        index, call_id = piece.get("index"), piece.get("id")
        known = self.by_index.get(index) if index is not None else (self.calls[-1] if self.calls else None)
        if known is None or (call_id and known["id"] and call_id != known["id"]):
            known = {"id": call_id or "", "name": "", "arguments": []}
            self.calls.append(known)
            if index is not None:
                self.by_index[index] = known
        known["id"] = known["id"] or call_id or ""
        return known

    def result(self) -> GenerationResult:
        tool_calls = tuple(tool_call(c["id"] or f"call_{i}", c["name"], "".join(c["arguments"]))
                           for i, c in enumerate(self.calls))
        return GenerationResult(stop_reason=self.stop_reason, input_tokens=self.usage.get("prompt_tokens", 0),
                                output_tokens=self.usage.get("completion_tokens", 0), text="".join(self.text),
                                tool_calls=tool_calls)


class OpenAICompatibleGenerator:
    """With tools, the endpoint's model must support function calling (OpenAI's, Ollama's llama3.1,
    qwen2.5, mistral-nemo and others; vLLM with --enable-auto-tool-choice): see the README."""

    name = "openai-compatible"
    uses_language_model = True
    supports_tools = True

    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = TIMEOUT_S, transport=None):
        """`transport`: an httpx transport to use instead of the network (tests pass a mock one)."""
        import httpx

        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout,
                                   transport=transport)

    @staticmethod
    def _messages(system: str, turns) -> list[dict]:
        """Neutral turns to chat messages: an assistant message carries `tool_calls`; each result is
        a `tool` message after it; text sent with results follows them as a user message."""
        messages = [{"role": "system", "content": system}]
        for turn in turns:
            messages += [{"role": "tool", "tool_call_id": r.call_id, "content": r.content} for r in turn.tool_results]
            if turn.tool_calls:
                messages.append({"role": "assistant", "content": turn.content or None, "tool_calls": [
                    {"id": c.call_id, "type": "function",
                     "function": {"name": c.name, "arguments": json.dumps(c.input if c.input is not None else {})}}
                    for c in turn.tool_calls]})
            elif turn.content or not turn.tool_results:
                messages.append({"role": turn.role, "content": turn.content})
        return messages

    @staticmethod
    def tools_param(specs) -> list[dict]:
        return [{"type": "function", "function": {"name": s.name, "description": s.description,
                                                  "parameters": s.input_schema}} for s in specs]

    def _body(self, request: GenerationRequest) -> dict:
        body = {"model": self.model, "messages": self._messages(request.system, request.turns), "stream": True,
                "max_tokens": request.max_tokens, "temperature": request.temperature,
                "stream_options": {"include_usage": True}}
        if request.tools:
            body["tools"] = self.tools_param(request.tools)
            body["tool_choice"] = "auto"
        return body

    def stream(self, request: GenerationRequest, on_text: TextSink) -> GenerationResult:
        import httpx

        reply = ReplyAssembly(on_text)
        try:
            with self.client.stream("POST", "/chat/completions", json=self._body(request)) as response:
                if response.status_code >= 400:
                    response.read()
                    hint = (" (if this model cannot use tools, set RAGCHAT_TOOLS=off)"
                            if request.tools and response.status_code == 400 else "")
                    raise GenerationError(
                        f"model endpoint answered {response.status_code}: {response.text[:300]}{hint}",
                        public=f"the model endpoint answered {response.status_code}{hint}")
                for event in sse_events(response.iter_lines()):
                    reply.feed(event)
        except ClientGone:
            raise
        except (httpx.HTTPError, json.JSONDecodeError) as exc:
            raise GenerationError(f"model endpoint failed ({type(exc).__name__}: {exc})",
                                  public=f"the model endpoint could not be reached ({type(exc).__name__})") from exc
        return reply.result()

    def complete(self, system: str, prompt: str, max_tokens: int = 200) -> str:
        import httpx

        body = {"model": self.model, "max_tokens": max_tokens, "temperature": 0, "stream": False,
                "messages": [{"role": "system", "content": system}, {"role": "user", "content": prompt}]}
        try:
            response = self.client.post("/chat/completions", json=body)
            response.raise_for_status()
            return response.json()["choices"][0]["message"]["content"] or ""
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
            raise GenerationError(f"model endpoint failed ({type(exc).__name__}: {exc})") from exc
