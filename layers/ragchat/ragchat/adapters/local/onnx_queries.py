"""The local embedder's query side on ONNX Runtime: one question in about 4 ms instead of 12 ms
through PyTorch on a 2-core machine, with the same vectors (they differ by about 1e-7).

No package ships the model as ONNX, so it is exported once from the packaged PyTorch model into a
cache folder, and every time it is loaded it must reproduce PyTorch's vector for a probe sentence
before it is used. Documents are still embedded by PyTorch in batches, where ONNX Runtime is no
faster. Whatever goes wrong (onnxruntime or onnx not installed, a model that is not a plain
transformer with mean pooling and normalisation, an export or a check that fails) leaves the
PyTorch path in place and says why in the log.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

PROBE = "How do I restore the database from last night's backup?"
TOLERANCE = 1e-4  # largest difference allowed between the two paths' vectors, per dimension
OPSET = 17


class OnnxQueryEncoder:
    """Transformer on ONNX Runtime, then mean pooling over the real tokens and L2 normalisation,
    as sentence-transformers does for all-MiniLM-L6-v2."""

    def __init__(self, session, tokenizer, max_length: int):
        self.session, self.tokenizer, self.max_length = session, tokenizer, max_length
        self.inputs = [i.name for i in session.get_inputs()]

    def encode(self, text: str) -> np.ndarray:
        features = self.tokenizer([text], return_tensors="np", truncation=True, max_length=self.max_length)
        hidden = self.session.run(None, {name: features[name].astype(np.int64) for name in self.inputs})[0]
        mask = features["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        vector = pooled[0] / max(float(np.linalg.norm(pooled[0])), 1e-12)
        return vector.astype(np.float32)


def onnx_query_encoder(model, model_path: str, cache_dir: Path) -> OnnxQueryEncoder | None:
    """An encoder that gives `model`'s query vectors, or None (the caller keeps PyTorch)."""
    try:
        import onnxruntime
    except ImportError:
        log.info("onnxruntime is not installed: questions are embedded with PyTorch")
        return None
    reason = _unsupported(model)
    if reason:
        log.info("questions are embedded with PyTorch: %s", reason)
        return None
    try:
        path = _exported(model, model_path, cache_dir)
        options = onnxruntime.SessionOptions()
        # no spinning threads: the keyword arm and the vector scan need the same cores right after
        # (100k chunks, hybrid p50: 18.8 ms without spinning, 21.6 ms with it)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        encoder = OnnxQueryEncoder(session, model.tokenizer, model.max_seq_length)
        expected = model.encode([PROBE], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)[0]
        difference = float(np.abs(encoder.encode(PROBE) - expected).max())
    except Exception as error:  # any failure keeps the slower, known-good path
        log.warning("questions are embedded with PyTorch: the ONNX export failed (%s: %s)",
                    type(error).__name__, error)
        return None
    if difference > TOLERANCE:
        log.warning("questions are embedded with PyTorch: the ONNX model differs by %.2g (removed: the next "
                    "start exports it again)", difference)
        path.unlink(missing_ok=True)
        return None
    return encoder


def _unsupported(model) -> str:
    names = [type(module).__name__ for module in model]
    if names != ["Transformer", "Pooling", "Normalize"]:
        return f"the model's modules are {names}, not a transformer, a pooling and a normalisation"
    pooling = model[1]
    mode = getattr(pooling, "pooling_mode", None) or getattr(pooling, "get_pooling_mode_str", lambda: None)()
    if mode != "mean":
        return f"the model pools by {mode}, not by mean"
    return ""


def _exported(model, model_path: str, cache_dir: Path) -> Path:
    import torch
    import transformers

    weights = sorted(p for p in Path(model_path).rglob("*") if p.is_file() and p.suffix in {".safetensors", ".bin"})
    key = hashlib.sha256("|".join([str(Path(model_path).resolve()), torch.__version__, transformers.__version__,
                                   str(OPSET), *(
        f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in weights)]).encode()).hexdigest()[:16]
    path = cache_dir / f"query-encoder-{key}.onnx"
    if path.is_file():
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    transformer = model[0].auto_model.eval()
    features = model.tokenizer([PROBE], return_tensors="pt")
    names = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in features]

    class Wrapped(torch.nn.Module):  # keyword arguments: the model's positional order changes between versions
        def __init__(self):
            super().__init__()
            self.transformer = transformer

        def forward(self, *inputs):
            return self.transformer(**dict(zip(names, inputs))).last_hidden_state

    handle, scratch = tempfile.mkstemp(dir=cache_dir, suffix=".onnx.part")
    os.close(handle)
    try:
        # the tracer's warnings are about graph shapes the check against PyTorch covers anyway
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(Wrapped(), tuple(features[name] for name in names), scratch, input_names=names,
                              output_names=["last_hidden_state"], opset_version=OPSET, dynamo=False,
                              dynamic_axes={name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]})
        os.replace(scratch, path)  # whole or not at all: another process may be exporting too
    finally:
        if os.path.exists(scratch):
            os.unlink(scratch)
    log.info("exported the query encoder to %s", path)
    return path
