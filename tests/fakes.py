"""A deterministic, instant embedder for unit tests: hashed bag of words, unit length.

Similar texts (shared words) get similar vectors, so retrieval behaves plausibly; nothing loads.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np


class FakeEmbedder:
    def __init__(self, dimension: int = 64, model_id: str = "fake-bow-64", max_words: int = 400):
        self.model_id = model_id
        self._dimension = dimension
        self._max_words = max_words
        self.encoded: list[str] = []  # every text ever embedded, for incremental-build tests

    @property
    def dimension(self) -> int:
        return self._dimension

    def fits(self, text: str) -> bool:
        return len(text.split()) <= self._max_words

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress=None) -> np.ndarray:
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = int(hashlib.md5(word.encode()).hexdigest()[:8], 16)
                out[i, h % self._dimension] += 1.0 if (h >> 20) & 1 else -1.0
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm else 1.0 / np.sqrt(self._dimension)
        self.encoded.extend(texts)
        if progress and len(texts):
            progress(len(texts), len(texts))
        return out

    def encode_questions(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts)
