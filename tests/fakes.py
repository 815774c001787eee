"""Fakes for tests: named as such, behaving like the real thing at the port boundary."""

from __future__ import annotations

import hashlib
import re

import numpy as np

_WORD = re.compile(r"\w+")


class FakeHashingEmbedder:
    """A FAKE embedder: hashed bag of words, L2-normalised. Texts sharing words get close vectors,
    so vector search behaves sensibly in tests without loading a model."""

    def __init__(self, dimension: int = 64, model_id: str = "fake/hashing-embedder"):
        self.dimension = dimension
        self.model_id = model_id
        self.calls: list[int] = []  # batch sizes seen, so tests can check batching

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
            vector[bucket % self.dimension] += 1.0
        norm = np.linalg.norm(vector)
        return vector / norm if norm else vector

    def embed_documents(self, texts):
        self.calls.append(len(texts))
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    def embed_query(self, text: str):
        return self._vector(text)


class FailingEmbedder(FakeHashingEmbedder):
    """A FAKE embedder whose document batches fail, like a throttled or unreachable service."""

    def embed_documents(self, texts):
        raise ConnectionError("embedding service unavailable")
