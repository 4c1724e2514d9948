"""The production embedder: one model, two runtimes, and the one policy that picks between them.

Questions go to the int8 model on ONNX Runtime, each distinct text once per call, and the last
`QUESTION_CACHE` questions' vectors are kept (a chat asks again, a follow-up repeats its context).
A few texts (a `qa index` that adds an article while torch is not loaded) go to the fp32 model on
ONNX Runtime, which embeds without loading torch; batches (index builds) go to torch, in bfloat16
where the CPU has it. If ONNX Runtime cannot be set up, everything goes to torch.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa.embedding.model_files import mean_pooled, pooled_dimension, resolve_model_path
from qa.embedding.onnx_model import OnnxModel
from qa.embedding.protocol import Progress
from qa.embedding.torch_model import TorchModel
from qa.settings import BUNDLED_MODEL, Settings

SMALL_BATCH = 8  # up to this many texts go to ONNX Runtime when it is available
# Up to this many texts also go to ONNX Runtime while torch is not loaded: embedding them there
# takes less time than loading torch and the model (a `qa index` that adds a few articles).
ONNX_BUILD_LIMIT = 256
QUESTION_CACHE = 256  # recent questions whose vectors are kept


class SentenceTransformerEmbedder:
    """A sentence-transformers model (the bundled MiniLM by default), embedding on ONNX Runtime or
    torch as `SMALL_BATCH` and `ONNX_BUILD_LIMIT` say."""

    @classmethod
    def from_settings(cls, settings: Settings) -> SentenceTransformerEmbedder:
        return cls(settings.model, bf16=settings.bf16, cache_dir=settings.cache_dir)

    def __init__(self, model: str = BUNDLED_MODEL, device: str = "cpu", onnx: bool = True,
                 bf16: str = "auto", cache_dir: Path | None = None):
        self.model_id = model
        self._torch = TorchModel(model, device, bf16)
        self._path: str | None = None
        self._onnx_enabled = onnx
        self._cache_dir = cache_dir or Settings().cache_dir
        self._onnx: OnnxModel | None = None
        self._int8: OnnxModel | None = None
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()

    @property
    def _model_path(self) -> str:
        if self._path is None:
            self._path = resolve_model_path(self.model_id)
        return self._path

    def _small(self) -> OnnxModel | None:
        """The ONNX Runtime model if it can be used."""
        if self._onnx is None:
            self._onnx = OnnxModel(self._model_path, self._cache_dir, self._onnx_enabled)
        return self._onnx if self._onnx.available else None

    def _questions_model(self) -> OnnxModel | None:
        """The int8 ONNX Runtime model if it can be used."""
        if self._int8 is None:
            self._int8 = OnnxModel(self._model_path, self._cache_dir, self._onnx_enabled, int8=True)
        return self._int8 if self._int8.available else None

    @property
    def dimension(self) -> int:
        if not self._torch.loaded and mean_pooled(self._model_path):
            found = pooled_dimension(self._model_path)
            if found is not None:
                return found
        return self._torch.dimension

    def fits(self, text: str) -> bool:
        """Whether the model reads `text` whole (within its max sequence length)."""
        small = self._small()
        return small.fits(text) if small is not None else self._torch.fits(text)

    def encode(self, texts: Sequence[str], *, batch_size: int = 64,
               progress: Progress | None = None) -> np.ndarray:
        """Unit-length vectors of `texts`, one row each."""
        total = len(texts)
        if total == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        few = total <= SMALL_BATCH or (total <= ONNX_BUILD_LIMIT and not self._torch.loaded)
        small = self._small() if few else None
        if small is not None:
            return small.encode(texts, progress)
        return self._torch.encode(texts, batch_size, progress)

    def encode_questions(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length vectors of questions (int8 model; never index vectors), one row each."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._recent_lock:
            known = {t: self._recent[t] for t in texts if t in self._recent}
            for t in known:
                self._recent.move_to_end(t)
        todo = [t for t in dict.fromkeys(texts) if t not in known]
        if todo:
            model = self._questions_model()
            vectors = model.encode(todo) if model is not None else self.encode(todo)
            fresh = dict(zip(todo, vectors, strict=True))
            with self._recent_lock:
                self._recent.update(fresh)
                while len(self._recent) > QUESTION_CACHE:
                    self._recent.popitem(last=False)
            known |= fresh
        return np.stack([known[t] for t in texts])
