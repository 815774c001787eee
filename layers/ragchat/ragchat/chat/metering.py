"""What one answer spends on a language model: every call counted, the tokens the model reports
or, where it reports none (or the call failed half way), an estimate of what was sent and said."""

from __future__ import annotations

import json

from ragchat.chat.tool_loop import estimate_tokens
from ragchat.domain import GenerationRequest, GenerationResult
from ragchat.ports import Generator, TextSink
from ragchat.text import count_tokens


class Meter:
    def __init__(self) -> None:
        self.tokens = 0


class MeteredGenerator:
    """A Generator that adds what each call spends to a meter. A generator that uses no language
    model (the extractive default) spends nothing."""

    def __init__(self, generator: Generator, meter: Meter):
        self.generator = generator
        self.meter = meter
        self.name = generator.name
        self.uses_language_model = generator.uses_language_model
        self.supports_tools = generator.supports_tools

    def stream(self, request: GenerationRequest, on_text: TextSink) -> GenerationResult:
        if not self.uses_language_model:
            return self.generator.stream(request, on_text)
        said: list[str] = []

        def counting(piece: str) -> None:
            said.append(piece)
            on_text(piece)

        result = None
        try:
            result = self.generator.stream(request, counting)
            return result
        finally:
            if result is None:  # the client left or the model failed: it was sent, and said this much
                self.meter.tokens += estimate_tokens(request) + count_tokens("".join(said))
            else:
                self.meter.tokens += (result.input_tokens or estimate_tokens(request)) + (
                    result.output_tokens or count_tokens(result.text) + sum(
                        count_tokens(json.dumps(c.input)) for c in result.tool_calls))

    def complete(self, system: str, prompt: str, max_tokens: int = 200) -> str:
        text = ""
        try:
            text = self.generator.complete(system, prompt, max_tokens)
            return text
        finally:
            if self.uses_language_model:
                self.meter.tokens += count_tokens(system) + count_tokens(prompt) + count_tokens(text)
