"""The model on torch (sentence-transformers): what index builds embed with.

Loaded on first use, offline. In bfloat16 where the CPU computes it natively (AVX-512 BF16 or
AMX): builds several times faster, vectors within 1e-4 of fp32 (benchmarks/results/backends.md).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.embedding.model_files import resolve_model_path
from qa.embedding.protocol import Progress
from qa.errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def use_bf16(setting: str = "auto") -> bool:
    """bfloat16 for batches: "auto" where the CPU computes it natively (AVX-512 BF16 or AMX), or
    "1" / "0"."""
    if setting in ("0", "1"):
        return setting == "1"
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


class TorchModel:
    """One sentence-transformers model, loaded when first needed."""

    def __init__(self, model_id: str, device: str = "cpu", bf16: str = "auto"):
        self.model_id = model_id
        self._device = device
        self._bf16 = bf16
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                self._model = self._open()
        return self._model

    def _open(self) -> SentenceTransformer:
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

            model.to(torch.bfloat16)
        return model

    @property
    def dimension(self) -> int:
        return int(self.load().get_embedding_dimension())

    def fits(self, text: str) -> bool:
        model = self.load()
        ids = model.tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        return len(ids) <= model.max_seq_length

    def encode(self, texts: Sequence[str], batch_size: int, progress: Progress | None) -> np.ndarray:
        """Sorted by length over the whole call, so batches pad as little as one big encode would;
        encoded in windows so that progress can be reported between them."""
        model = self.load()
        total = len(texts)
        order = sorted(range(total), key=lambda i: -len(texts[i]))
        out: np.ndarray | None = None
        step = max(batch_size * 8, 1)
        for begin in range(0, total, step):
            window = order[begin:begin + step]
            vectors = model.encode([texts[i] for i in window], batch_size=batch_size,
                                   normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
            vectors = np.asarray(vectors, dtype=np.float32)
            if out is None:
                out = np.empty((total, vectors.shape[1]), dtype=np.float32)
            out[window] = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            if progress:
                progress(min(begin + step, total), total)
        assert out is not None  # texts is not empty: the router sends none
        return out
