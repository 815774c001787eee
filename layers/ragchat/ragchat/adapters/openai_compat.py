"""Any OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp's server, LM Studio, OpenAI itself).

Streams `POST {base_url}/chat/completions` with `"stream": true` and reads the server-sent events.
"""

from __future__ import annotations

import json

from ragchat.domain import GenerationRequest, GenerationResult
from ragchat.errors import ClientGone, GenerationError
from ragchat.ports import TextSink

TIMEOUT_S = 120


class OpenAICompatibleGenerator:
    name = "openai-compatible"
    uses_language_model = True

    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = TIMEOUT_S):
        import httpx

        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)

    def _messages(self, system: str, turns) -> list[dict]:
        return [{"role": "system", "content": system}] + [{"role": t.role, "content": t.content} for t in turns]

    def stream(self, request: GenerationRequest, on_text: TextSink) -> GenerationResult:
        import httpx

        body = {"model": self.model, "messages": self._messages(request.system, request.turns), "stream": True,
                "max_tokens": request.max_tokens, "temperature": request.temperature,
                "stream_options": {"include_usage": True}}
        stop_reason, usage = "end_turn", {}
        try:
            with self.client.stream("POST", "/chat/completions", json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    raise GenerationError(f"model endpoint answered {response.status_code}: {response.text[:300]}")
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    event = json.loads(data)
                    usage = event.get("usage") or usage
                    for choice in event.get("choices") or ():
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            on_text(text)
                        if choice.get("finish_reason") == "length":
                            stop_reason = "max_tokens"
        except ClientGone:
            raise
        except (httpx.HTTPError, json.JSONDecodeError) as exc:
            raise GenerationError(f"model endpoint failed ({type(exc).__name__}: {exc})") from exc
        return GenerationResult(stop_reason=stop_reason, input_tokens=usage.get("prompt_tokens", 0),
                                output_tokens=usage.get("completion_tokens", 0))

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
