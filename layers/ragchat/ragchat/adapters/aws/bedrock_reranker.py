"""Reranking with Amazon Bedrock's Rerank API (bedrock-agent-runtime), standalone over inline
text: Amazon Rerank 1.0 (`amazon.rerank-v1:0`) or Cohere Rerank 3.5 (`cohere.rerank-v3-5:0`).

Limits from the API: one query, 1 to 1,000 sources, each text at most 32,000 characters. The
caller's role needs `bedrock:Rerank` and `bedrock:InvokeModel` on the reranking model ("Permissions
for reranking in Amazon Bedrock"); Cohere's model also needs the Marketplace subscription of any
third-party model. Which regions offer which model: "Supported Regions and models for reranking".
"""

from __future__ import annotations

from collections.abc import Sequence

DEFAULT_MODEL = "amazon.rerank-v1:0"
MAX_TEXT_CHARS = 32_000
MAX_SOURCES = 1_000


class BedrockReranker:
    def __init__(self, model_id: str = DEFAULT_MODEL, region: str | None = None, timeout_s: float = 1.5,
                 client=None):
        if client is None:
            import boto3
            from botocore.config import Config

            # one quick retry at most: past the budget the retriever keeps the fused order anyway
            client = boto3.client("bedrock-agent-runtime", region_name=region, config=Config(
                connect_timeout=timeout_s, read_timeout=timeout_s, retries={"mode": "standard", "max_attempts": 2}))
        self.client = client
        self.model_id = model_id
        self.name = f"bedrock:{model_id}"
        meta = client.meta
        self.model_arn = (model_id if model_id.startswith("arn:")
                          else f"arn:{meta.partition}:bedrock:{meta.region_name}::foundation-model/{model_id}")

    def rerank(self, query: str, passages: Sequence[str], timeout_s: float) -> list[float]:
        if not passages:
            return []
        if len(passages) > MAX_SOURCES:
            raise ValueError(f"Bedrock reranks at most {MAX_SOURCES} passages at once")
        response = self.client.rerank(
            queries=[{"type": "TEXT", "textQuery": {"text": query[:MAX_TEXT_CHARS]}}],
            sources=[{"type": "INLINE", "inlineDocumentSource": {
                "type": "TEXT", "textDocument": {"text": (text or " ")[:MAX_TEXT_CHARS]}}} for text in passages],
            rerankingConfiguration={"type": "BEDROCK_RERANKING_MODEL", "bedrockRerankingConfiguration": {
                "numberOfResults": len(passages), "modelConfiguration": {"modelArn": self.model_arn}}})
        scores = [float("nan")] * len(passages)  # a passage left out: the retriever keeps the fused order
        for result in response["results"]:
            scores[result["index"]] = float(result["relevanceScore"])
        return scores

