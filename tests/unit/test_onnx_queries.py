"""Questions through ONNX Runtime: the same vectors as PyTorch, exported once, and PyTorch kept
whenever the ONNX path cannot be trusted."""

import numpy as np
import pytest

pytest.importorskip("sentence_transformers", reason="the 'local' extra is not installed")
pytest.importorskip("onnxruntime", reason="the 'local' extra is not installed")

from ragchat.adapters.local import onnx_queries
from ragchat.adapters.local.embedder import SentenceTransformerEmbedder

QUESTIONS = ["How do I restore last night's backup?", "ERR_CONN_RESET after the t3.medium resize",
             "what is vlan 99 for", "x", "word " * 400]  # short, keyword-like, one letter, past max length


def embedder(cache_dir) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(batch_size=8, query_cache_dir=cache_dir)


def test_onnx_questions_match_pytorch_documents(tmp_path):
    model = embedder(tmp_path / "models")
    questions = np.vstack([model.embed_query(q) for q in QUESTIONS])
    assert isinstance(model._query_encoder, onnx_queries.OnnxQueryEncoder)
    assert len(list((tmp_path / "models").glob("query-encoder-*.onnx"))) == 1
    assert np.abs(questions - model.embed_documents(QUESTIONS)).max() < 1e-5
    assert np.allclose(np.linalg.norm(questions, axis=1), 1.0, atol=1e-5)


def test_onnx_export_is_reused_by_the_next_process(tmp_path, monkeypatch):
    embedder(tmp_path).embed_query("first")

    def no_export(*args, **kwargs):
        raise AssertionError("exported again")

    import torch

    monkeypatch.setattr(torch.onnx, "export", no_export)
    again = embedder(tmp_path)
    again.embed_query("second")
    assert isinstance(again._query_encoder, onnx_queries.OnnxQueryEncoder)


def test_onnx_disagreeing_with_pytorch_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setattr(onnx_queries, "TOLERANCE", -1.0)  # any difference at all is too much
    model = embedder(tmp_path)
    vector = model.embed_query(QUESTIONS[0])
    assert model._query_encoder is None
    assert np.abs(vector - model.embed_documents(QUESTIONS[:1])[0]).max() < 1e-6
    assert list(tmp_path.glob("*.onnx")) == []  # removed, so the next start exports afresh


def test_onnx_export_failure_keeps_pytorch_and_leaves_no_partial_file(tmp_path, monkeypatch):
    import torch

    def broken_export(model, args, path, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"half a model")
        raise RuntimeError("disk full")

    monkeypatch.setattr(torch.onnx, "export", broken_export)
    model = embedder(tmp_path)
    assert model.embed_query("still answered").shape == (384,)
    assert model._query_encoder is None
    assert list(tmp_path.iterdir()) == []


def test_onnx_without_onnxruntime_keeps_pytorch(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    model = embedder(tmp_path)
    assert model.embed_query("still answered").shape == (384,)
    assert model._query_encoder is None and not list(tmp_path.iterdir())


def test_onnx_failing_at_question_time_falls_back_to_pytorch(tmp_path):
    model = embedder(tmp_path)
    expected = model.embed_query(QUESTIONS[0])

    class Broken:
        def encode(self, text):
            raise RuntimeError("session lost")

    model._query_encoder = Broken()
    model.forget_queries()
    assert np.abs(model.embed_query(QUESTIONS[0]) - expected).max() < 1e-5
    assert model._query_encoder is None
