"""Any OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp's server, LM Studio, OpenAI itself).

Streams `POST {base_url}/chat/completions` with `"stream": true` and reads the server-sent events.
"""

from __future__ import annotations

import json

from ragchat.adapters.tool_calls import tool_call
from ragchat.domain import GenerationRequest, GenerationResult
from ragchat.errors import ClientGone, GenerationError
from ragchat.ports import TextSink

TIMEOUT_S = 120


def _tool_call_of(piece: dict, calls: list[dict], by_index: dict[int, dict]) -> dict:
    """The call a streamed `tool_calls` piece belongs to. The first piece of a call carries its id
    and name, later ones only argument text. Servers differ: OpenAI numbers calls by `index`, some
    omit it, and Ollama sends each of several parallel calls whole with `index` 0, so a piece with
    a new id always starts a new call."""
    index, call_id = piece.get("index"), piece.get("id")
    known = by_index.get(index) if index is not None else (calls[-1] if calls else None)
    if known is None or (call_id and known["id"] and call_id != known["id"]):
        known = {"id": call_id or "", "name": "", "arguments": []}
        calls.append(known)
        if index is not None:
            by_index[index] = known
    known["id"] = known["id"] or call_id or ""
    return known


class OpenAICompatibleGenerator:
    """With tools, the endpoint's model must support function calling (OpenAI's, Ollama's llama3.1,
    qwen2.5, mistral-nemo and others; vLLM with --enable-auto-tool-choice): see the README."""

    name = "openai-compatible"
    uses_language_model = True
    supports_tools = True

    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = TIMEOUT_S):
        import httpx

        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)

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

    def stream(self, request: GenerationRequest, on_text: TextSink) -> GenerationResult:
        import httpx

        body = {"model": self.model, "messages": self._messages(request.system, request.turns), "stream": True,
                "max_tokens": request.max_tokens, "temperature": request.temperature,
                "stream_options": {"include_usage": True}}
        if request.tools:
            body["tools"] = self.tools_param(request.tools)
            body["tool_choice"] = "auto"
        stop_reason, usage = "end_turn", {}
        text: list[str] = []
        calls: list[dict] = []  # {"id", "name", "arguments": [pieces]}, in the order they started
        by_index: dict[int, dict] = {}
        try:
            with self.client.stream("POST", "/chat/completions", json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    hint = (" (if this model cannot use tools, set RAGCHAT_TOOLS=off)"
                            if request.tools and response.status_code == 400 else "")
                    raise GenerationError(
                        f"model endpoint answered {response.status_code}: {response.text[:300]}{hint}")
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    event = json.loads(data)
                    usage = event.get("usage") or usage
                    for choice in event.get("choices") or ():
                        delta = choice.get("delta") or {}
                        if delta.get("content"):
                            text.append(delta["content"])
                            on_text(delta["content"])
                        for piece in delta.get("tool_calls") or ():
                            call = _tool_call_of(piece, calls, by_index)
                            function = piece.get("function") or {}
                            call["name"] = function.get("name") or call["name"]
                            call["arguments"].append(function.get("arguments") or "")
                        reason = choice.get("finish_reason")
                        if reason == "length":
                            stop_reason = "max_tokens"
                        elif reason == "tool_calls":
                            stop_reason = "tool_use"
        except ClientGone:
            raise
        except (httpx.HTTPError, json.JSONDecodeError) as exc:
            raise GenerationError(f"model endpoint failed ({type(exc).__name__}: {exc})") from exc
        tool_calls = tuple(tool_call(c["id"] or f"call_{i}", c["name"], "".join(c["arguments"]))
                           for i, c in enumerate(calls))
        return GenerationResult(stop_reason=stop_reason, input_tokens=usage.get("prompt_tokens", 0),
                                output_tokens=usage.get("completion_tokens", 0), text="".join(text),
                                tool_calls=tool_calls)

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
