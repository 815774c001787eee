"""Amazon Bedrock generation through the Converse API (ConverseStream), with boto3."""

from __future__ import annotations

from ragchat.domain import GenerationRequest, GenerationResult
from ragchat.errors import ClientGone, GenerationError
from ragchat.ports import TextSink

DEFAULT_MODEL_ID = "anthropic.claude-3-5-haiku-20241022-v1:0"
_STOP_REASONS = {"end_turn": "end_turn", "stop_sequence": "end_turn", "max_tokens": "max_tokens",
                 "guardrail_intervened": "guardrail", "content_filtered": "guardrail", "tool_use": "tool_use"}


class BedrockConverseGenerator:
    name = "bedrock"
    uses_language_model = True

    def __init__(self, model_id: str = DEFAULT_MODEL_ID, client=None, region: str | None = None):
        self.model_id = model_id
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client("bedrock-runtime", region_name=region,
                                  config=Config(retries={"mode": "adaptive", "max_attempts": 6}, read_timeout=120))
        self.client = client

    @staticmethod
    def _messages(turns) -> list[dict]:
        return [{"role": t.role, "content": [{"text": t.content}]} for t in turns]

    def stream(self, request: GenerationRequest, on_text: TextSink) -> GenerationResult:
        from botocore.exceptions import BotoCoreError, ClientError

        stop_reason, usage = "end_turn", {}
        try:
            response = self.client.converse_stream(
                modelId=self.model_id, system=[{"text": request.system}], messages=self._messages(request.turns),
                inferenceConfig={"maxTokens": request.max_tokens, "temperature": request.temperature},
            )
            for event in response["stream"]:
                if "contentBlockDelta" in event:
                    text = event["contentBlockDelta"].get("delta", {}).get("text")
                    if text:
                        on_text(text)
                elif "messageStop" in event:
                    stop_reason = _STOP_REASONS.get(event["messageStop"].get("stopReason"), "end_turn")
                elif "metadata" in event:
                    usage = event["metadata"].get("usage", {})
                else:
                    for error in ("internalServerException", "modelStreamErrorException", "validationException",
                                  "throttlingException", "serviceUnavailableException"):
                        if error in event:
                            raise GenerationError(f"Bedrock stream error: {error}: {event[error].get('message', '')}")
        except ClientGone:
            raise
        except (ClientError, BotoCoreError) as exc:
            raise GenerationError(f"Bedrock ConverseStream failed: {exc}") from exc
        return GenerationResult(stop_reason=stop_reason, input_tokens=usage.get("inputTokens", 0),
                                output_tokens=usage.get("outputTokens", 0))

    def complete(self, system: str, prompt: str, max_tokens: int = 200) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.converse(
                modelId=self.model_id, system=[{"text": system}],
                messages=[{"role": "user", "content": [{"text": prompt}]}],
                inferenceConfig={"maxTokens": max_tokens, "temperature": 0},
            )
        except (ClientError, BotoCoreError) as exc:
            raise GenerationError(f"Bedrock Converse failed: {exc}") from exc
        blocks = response.get("output", {}).get("message", {}).get("content", [])
        return "".join(block.get("text", "") for block in blocks)
