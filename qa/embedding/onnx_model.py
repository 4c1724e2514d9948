"""The model on ONNX Runtime: what questions and small updates embed with.

The mean-pooled transformer is exported once to ONNX (pooling and normalization included, fused
with ONNX Runtime's BERT optimizer, fp32, so its vectors equal torch's to five decimals) and cached
under the cache folder. Questions read an int8 copy of it (dynamic per-channel quantization of the
weights, made once from the fp32 file and cached beside it): 2.5x faster for a question pair, its
vectors within cosine 0.99 of fp32, `qa eval` within 0.5 points (benchmarks/results/peer.md).
Index vectors are never int8. Nothing here imports torch except the one-time export.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.embedding.model_files import max_seq_length, mean_pooled
from qa.embedding.protocol import Progress

if TYPE_CHECKING:
    import onnxruntime
    import tokenizers

BATCH = 32  # texts per ONNX Runtime call, sorted by length so that little is padded


class OnnxModel:
    """An ONNX Runtime session of the model, opened on first use; `available` is False (with a
    warning) when it cannot be set up, and the caller uses torch instead."""

    def __init__(self, model_path: str, cache_dir: Path, enabled: bool = True, int8: bool = False):
        self._model_path = model_path
        self._int8 = int8
        self._cache_dir = cache_dir
        self._enabled = enabled
        self._lock = threading.Lock()
        self._session: onnxruntime.InferenceSession | None = None
        self._tokenizer: tokenizers.Tokenizer | None = None  # truncating and padding
        self._counter: tokenizers.Tokenizer | None = None  # plain, to count a text's tokens
        self._max_tokens = 0

    @property
    def available(self) -> bool:
        if self._session is None and self._enabled:
            with self._lock:
                if self._session is None and self._enabled:
                    self._open()
        return self._session is not None

    def _open(self) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer

            if not mean_pooled(self._model_path):
                raise ValueError("the ONNX export covers mean-pooled models only")
            options = ort.SessionOptions()
            options.log_severity_level = 3
            model = onnx_model_file(self._model_path, self._cache_dir)
            if self._int8:
                model = int8_model_file(model)
                # One call per question: threads left spinning for more work only take the CPU
                # from the rest of the answer and from the server's other requests.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
            file = str(Path(self._model_path) / "tokenizer.json")
            self._max_tokens = max_seq_length(self._model_path)
            self._counter = Tokenizer.from_file(file)
            self._counter.no_truncation()  # the file may carry its own truncation and padding
            self._counter.no_padding()
            self._tokenizer = Tokenizer.from_file(file)
            self._tokenizer.enable_truncation(self._max_tokens)
            self._tokenizer.enable_padding()
            self._session = session
        except (ImportError, OSError, RuntimeError, ValueError) as exc:  # ORT's errors are RuntimeErrors
            warnings.warn(f"ONNX Runtime not used ({type(exc).__name__}: {exc}); using torch",
                          RuntimeWarning, stacklevel=3)
            self._enabled = False

    def fits(self, text: str) -> bool:
        """Whether the model reads `text` whole (the same tokenizer as torch's, without torch)."""
        assert self._counter is not None, "call only when available"
        return len(self._counter.encode(text).ids) <= self._max_tokens

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        assert self._session is not None and self._tokenizer is not None, "call only when available"
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: np.ndarray | None = None
        for begin in range(0, len(texts), BATCH):
            window = order[begin:begin + BATCH]
            encoded = self._tokenizer.encode_batch([texts[i] for i in window])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            vectors = self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                               "token_type_ids": np.zeros_like(ids)})[0]
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[window] = vectors
            if progress:
                progress(min(begin + BATCH, len(texts)), len(texts))
        assert out is not None  # texts is not empty: the router sends none
        return out


def onnx_model_file(model_path: str, cache_dir: Path) -> Path:
    """The model exported to ONNX (mean pooling and normalization included), made once and cached."""
    weights = sorted(Path(model_path).glob("*.safetensors")) + sorted(Path(model_path).glob("*.bin"))
    key = hashlib.sha256("|".join(f"{w.resolve()}:{w.stat().st_size}:{w.stat().st_mtime_ns}"
                                  for w in weights).encode() or model_path.encode()).hexdigest()[:16]
    target = cache_dir / "onnx" / key / "model.onnx"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    _export(model_path, target)
    return target


def int8_model_file(fp32: Path) -> Path:
    """The int8 copy of an exported model (weights quantized per channel), made once and cached."""
    target = fp32.with_name("model.int8.onnx")
    if target.is_file():
        return target
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        part = Path(tmp) / target.name
        # DefaultTensorType: the fused BERT nodes are not typed by ONNX's shape inference; fp32.
        quantize_dynamic(str(fp32), str(part), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": 1})
        os.replace(part, target)  # atomic: a half-written file is never used
    return target


def _export(model_path: str, target: Path) -> None:
    import torch
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoConfig, AutoModel

    class Pooled(torch.nn.Module):  # the sentence-transformers pipeline: mean pooling, normalized
        def __init__(self, model: torch.nn.Module):
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    config = AutoConfig.from_pretrained(model_path)
    model = Pooled(AutoModel.from_pretrained(model_path, attn_implementation="eager").eval())
    example = torch.ones((1, 8), dtype=torch.int64)
    axes = {name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "token_type_ids")}
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        raw = Path(tmp) / "raw.onnx"
        with torch.no_grad():
            torch.onnx.export(model, (example, example, torch.zeros_like(example)), str(raw),
                              input_names=list(axes), output_names=["embedding"], dynamic_axes=axes,
                              opset_version=17, dynamo=False)
        fused = optimize_model(str(raw), model_type="bert", num_heads=config.num_attention_heads,
                               hidden_size=config.hidden_size)
        fused.save_model_to_file(str(Path(tmp) / "model.onnx"))
        os.replace(Path(tmp) / "model.onnx", target)  # atomic: a half-written export is never used
