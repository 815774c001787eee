"""Amazon Titan Text Embeddings V2 on Bedrock: one text per call, so batches fan out over a small,
bounded thread pool; throttling is absorbed by botocore's adaptive retry mode."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from ragchat.errors import ConfigurationError

MAX_CHARS = 50_000  # Titan V2's input limit


class BedrockTitanEmbedder:
    def __init__(self, model_id: str, dimension: int, concurrency: int, client=None, region: str | None = None):
        if dimension not in (256, 512, 1024):
            raise ConfigurationError("Titan Text Embeddings V2 gives 256, 512 or 1024 dimensions")
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client("bedrock-runtime", region_name=region, config=Config(
                retries={"mode": "adaptive", "max_attempts": 8}, max_pool_connections=concurrency * 2))
        self.model_id = model_id
        self.dimension = dimension
        self.concurrency = concurrency
        self.client = client

    def _embed(self, text: str) -> list[float]:
        body = json.dumps({"inputText": text[:MAX_CHARS] or " ", "dimensions": self.dimension, "normalize": True})
        response = self.client.invoke_model(modelId=self.model_id, body=body, contentType="application/json",
                                            accept="application/json")
        vector = json.loads(response["body"].read())["embedding"]
        if len(vector) != self.dimension:
            raise ConfigurationError(f"{self.model_id} returned {len(vector)} dimensions, expected {self.dimension}")
        return vector

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if len(texts) <= 1:
            return [self._embed(t) for t in texts]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(texts))) as pool:
            return list(pool.map(self._embed, texts))

    def embed_query(self, text: str) -> list[float]:
        return self._embed(text)
