"""Any LangChain chat model behind ragchat's Generator port.

ragchat's neutral turns become LangChain messages (tool calls on an AIMessage, each tool result a
ToolMessage), tool specs are bound in OpenAI's function format (which every LangChain model's
`bind_tools` accepts), and the streamed chunks are put back together: text goes to the sink as it
comes, tool calls from their `tool_call_chunks`, the stop reason from whichever key the provider
reports it under.
"""

from __future__ import annotations

import json

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from ragchat.adapters.tool_calls import tool_call
from ragchat.domain import GenerationRequest, GenerationResult, ToolSpec, Turn
from ragchat.errors import ClientGone, GenerationError
from ragchat.ports import TextSink

# Where providers report why a reply ended (Bedrock Converse, Anthropic, OpenAI, Ollama), and what it means.
_STOP_KEYS = ("stopReason", "stop_reason", "finish_reason", "done_reason")
_STOP_REASONS = {"end_turn": "end_turn", "stop": "end_turn", "stop_sequence": "end_turn", "max_tokens": "max_tokens",
                 "length": "max_tokens", "tool_use": "tool_use", "tool_calls": "tool_use",
                 "function_call": "tool_use", "guardrail_intervened": "guardrail", "content_filtered": "guardrail",
                 "content_filter": "guardrail"}
# Per-call options ragchat sets (answer length; 0 for rewrites) where the model's class has such fields.
_CALL_OPTIONS = ("max_tokens", "temperature")


def to_messages(system: str, turns: tuple[Turn, ...]) -> list[BaseMessage]:
    """Neutral turns to LangChain messages: each tool result a ToolMessage, text sent with results
    a HumanMessage after them, an assistant turn's tool calls on its AIMessage."""
    messages: list[BaseMessage] = [SystemMessage(system)]
    for turn in turns:
        messages += [ToolMessage(r.content, tool_call_id=r.call_id, status="error" if r.is_error else "success")
                     for r in turn.tool_results]
        if turn.role == "assistant":
            messages.append(AIMessage(turn.content, tool_calls=[
                {"name": c.name, "args": c.input if c.input is not None else {}, "id": c.call_id, "type": "tool_call"}
                for c in turn.tool_calls]))
        elif turn.content or not turn.tool_results:
            messages.append(HumanMessage(turn.content))
    return messages


def tool_definitions(specs: tuple[ToolSpec, ...]) -> list[dict]:
    return [{"type": "function", "function": {"name": s.name, "description": s.description,
                                              "parameters": s.input_schema}} for s in specs]


class _Reply:
    """A streamed reply put back together from its message chunks."""

    def __init__(self, on_text: TextSink):
        self.on_text = on_text
        self.text: list[str] = []
        self.stop_reason = "end_turn"
        self.message: BaseMessage | None = None

    def feed(self, message: BaseMessage) -> None:
        text = str(message.text)
        if text:
            self.text.append(text)
            self.on_text(text)
        reason = next((message.response_metadata[k] for k in _STOP_KEYS if message.response_metadata.get(k)), None)
        if isinstance(reason, str):
            self.stop_reason = _STOP_REASONS.get(reason, "end_turn")
        if isinstance(message, AIMessageChunk) and isinstance(self.message, AIMessageChunk):
            self.message = self.message + message
        else:  # the first chunk, or the one whole AIMessage of a model that does not stream
            self.message = message

    def _raw_calls(self) -> list[tuple[str | None, str | None, str]]:
        """(id, name, argument text) of each call, however the model delivered it."""
        message = self.message
        if isinstance(message, AIMessageChunk):
            return [(c["id"], c["name"], c["args"] or "") for c in message.tool_call_chunks]
        if isinstance(message, AIMessage):
            return ([(c["id"], c["name"], json.dumps(c["args"])) for c in message.tool_calls]
                    + [(c["id"], c["name"], c["args"] or "") for c in message.invalid_tool_calls])
        return []

    def result(self) -> GenerationResult:
        calls = tuple(tool_call(call_id or f"call_{i}", name or "", arguments)
                      for i, (call_id, name, arguments) in enumerate(self._raw_calls()))
        stop_reason = "tool_use" if calls and self.stop_reason == "end_turn" else self.stop_reason
        usage = getattr(self.message, "usage_metadata", None) or {}
        return GenerationResult(stop_reason=stop_reason, input_tokens=usage.get("input_tokens", 0),
                                output_tokens=usage.get("output_tokens", 0), text="".join(self.text),
                                tool_calls=calls)


class LangChainGenerator:
    """Generator port over a LangChain chat model. Tools are used when the model's class implements
    `bind_tools`; answer length and temperature are passed per call to models that declare
    `max_tokens` and `temperature` fields, and otherwise are the model's own configuration."""

    name = "langchain"
    uses_language_model = True

    def __init__(self, model: BaseChatModel):
        if not isinstance(model, BaseChatModel):
            raise TypeError(f"expected a LangChain chat model (BaseChatModel), got {type(model).__name__}")
        self.model = model
        self.supports_tools = type(model).bind_tools is not BaseChatModel.bind_tools

    def _options(self, max_tokens: int, temperature: float) -> dict:
        wanted = {"max_tokens": max_tokens, "temperature": temperature}
        return {name: wanted[name] for name in _CALL_OPTIONS if name in type(self.model).model_fields}

    def _failed(self, exc: Exception) -> GenerationError:
        return GenerationError(f"LangChain model {type(self.model).__name__} failed: {type(exc).__name__}: {exc}")

    def stream(self, request: GenerationRequest, on_text: TextSink) -> GenerationResult:
        reply = _Reply(on_text)
        try:
            model = (self.model.bind_tools(tool_definitions(request.tools))
                     if request.tools and self.supports_tools else self.model)
            for message in model.stream(to_messages(request.system, request.turns),
                                        **self._options(request.max_tokens, request.temperature)):
                reply.feed(message)
        except ClientGone:
            raise
        except Exception as exc:  # any model of any provider: whatever it raises is a failed generation
            raise self._failed(exc) from exc
        return reply.result()

    def complete(self, system: str, prompt: str, max_tokens: int = 200) -> str:
        try:
            reply = self.model.invoke([SystemMessage(system), HumanMessage(prompt)], **self._options(max_tokens, 0.0))
        except Exception as exc:  # as in stream: the provider's own errors, whatever their type
            raise self._failed(exc) from exc
        return str(reply.text)
