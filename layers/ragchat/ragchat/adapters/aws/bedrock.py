"""Amazon Bedrock generation through the Converse API (ConverseStream), with boto3."""

from __future__ import annotations

from ragchat.adapters.tool_calls import tool_call
from ragchat.domain import GenerationRequest, GenerationResult
from ragchat.errors import ClientGone, GenerationError
from ragchat.ports import TextSink

_STATUS_MODELS = ("anthropic.", "amazon.nova")  # also matches inference profiles: us.anthropic.claude-...
_STOP_REASONS = {"end_turn": "end_turn", "stop_sequence": "end_turn", "max_tokens": "max_tokens",
                 "guardrail_intervened": "guardrail", "content_filtered": "guardrail", "tool_use": "tool_use"}
_STREAM_ERRORS = ("internalServerException", "modelStreamErrorException", "validationException",
                  "throttlingException", "serviceUnavailableException")


def _public(error: Exception) -> str:
    """What a client may learn of a failed call: the error's code, never its message (which can
    name the account and the role)."""
    code = getattr(error, "response", {}).get("Error", {}).get("Code") or type(error).__name__
    return f"the model service could not answer ({code})"


class ConverseReply:
    """A ConverseStream reply put back together from its events: text as it comes, tool calls from
    their streamed input pieces, the stop reason and the usage."""

    def __init__(self, on_text: TextSink):
        self.on_text = on_text
        self.text: list[str] = []
        self.tools: dict[int, dict] = {}  # contentBlockIndex -> {"id", "name", "input": [json pieces]}
        self.stop_reason = "end_turn"
        self.usage: dict = {}

    def feed(self, event: dict) -> None:
        if "contentBlockStart" in event:
            start = event["contentBlockStart"]
            tool = start.get("start", {}).get("toolUse")
            if tool:
                self.tools[start.get("contentBlockIndex", 0)] = {"id": tool["toolUseId"], "name": tool["name"],
                                                                 "input": []}
        elif "contentBlockDelta" in event:
            block = event["contentBlockDelta"]
            delta = block.get("delta", {})
            if delta.get("text"):
                self.text.append(delta["text"])
                self.on_text(delta["text"])
            elif "toolUse" in delta:  # tool input arrives as pieces of one JSON document
                self.tools[block.get("contentBlockIndex", 0)]["input"].append(delta["toolUse"].get("input", ""))
        elif "messageStop" in event:
            self.stop_reason = _STOP_REASONS.get(event["messageStop"].get("stopReason"), "end_turn")
        elif "metadata" in event:
            self.usage = event["metadata"].get("usage", {})
        else:
            error = next((name for name in _STREAM_ERRORS if name in event), None)
            if error:
                raise GenerationError(f"Bedrock stream error: {error}: {event[error].get('message', '')}",
                                      public=f"the model stopped with an error ({error})")

    def result(self) -> GenerationResult:
        calls = tuple(tool_call(t["id"], t["name"], "".join(t["input"])) for _, t in sorted(self.tools.items()))
        return GenerationResult(stop_reason=self.stop_reason, input_tokens=self.usage.get("inputTokens", 0),
                                output_tokens=self.usage.get("outputTokens", 0), text="".join(self.text),
                                tool_calls=calls)


class BedrockConverseGenerator:
    """Tool use works with the models whose Converse support lists it (Anthropic Claude 3 and later,
    Amazon Nova, Meta Llama 3.1 and later, Mistral Large, Cohere Command R): see the README."""

    name = "bedrock"
    uses_language_model = True
    supports_tools = True

    def __init__(self, model_id: str, client=None, region: str | None = None):
        self.model_id = model_id
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client("bedrock-runtime", region_name=region,
                                  config=Config(retries={"mode": "adaptive", "max_attempts": 6}, read_timeout=120))
        self.client = client

    def _messages(self, turns) -> list[dict]:
        """Neutral turns to Converse messages: text, toolUse and toolResult content blocks
        (Converse refuses blank text blocks, so empty text is left out). A result's `status` is
        sent only to the models that accept it (Claude, Nova); for the others the text says "Error:"."""
        with_status = any(family in self.model_id for family in _STATUS_MODELS)
        messages = []
        for turn in turns:
            content = []
            for r in turn.tool_results:
                block = {"toolUseId": r.call_id, "content": [{"text": r.content}]}
                if with_status:
                    block["status"] = "error" if r.is_error else "success"
                content.append({"toolResult": block})
            if turn.content.strip():
                content.append({"text": turn.content})
            content += [{"toolUse": {"toolUseId": c.call_id, "name": c.name,
                                     "input": c.input if c.input is not None else {}}} for c in turn.tool_calls]
            messages.append({"role": turn.role, "content": content})
        return messages

    @staticmethod
    def tool_config(specs) -> dict:
        # no toolChoice: "auto" is the default, and not every model accepts the field
        return {"tools": [{"toolSpec": {"name": s.name, "description": s.description,
                                        "inputSchema": {"json": s.input_schema}}} for s in specs]}

    def _arguments(self, request: GenerationRequest) -> dict:
        arguments = {"modelId": self.model_id, "system": [{"text": request.system}],
                     "messages": self._messages(request.turns),
                     "inferenceConfig": {"maxTokens": request.max_tokens, "temperature": request.temperature}}
        if request.tools:
            arguments["toolConfig"] = self.tool_config(request.tools)
        return arguments

    def stream(self, request: GenerationRequest, on_text: TextSink) -> GenerationResult:
        from botocore.exceptions import BotoCoreError, ClientError

        reply = ConverseReply(on_text)
        try:
            for event in self.client.converse_stream(**self._arguments(request))["stream"]:
                reply.feed(event)
        except ClientGone:
            raise
        except (ClientError, BotoCoreError) as exc:
            raise GenerationError(f"Bedrock ConverseStream failed: {exc}", public=_public(exc)) from exc
        return reply.result()

    def complete(self, system: str, prompt: str, max_tokens: int = 200) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.converse(
                modelId=self.model_id, system=[{"text": system}],
                messages=[{"role": "user", "content": [{"text": prompt}]}],
                inferenceConfig={"maxTokens": max_tokens, "temperature": 0},
            )
        except (ClientError, BotoCoreError) as exc:
            raise GenerationError(f"Bedrock Converse failed: {exc}", public=_public(exc)) from exc
        blocks = response.get("output", {}).get("message", {}).get("content", [])
        return "".join(block.get("text", "") for block in blocks)
