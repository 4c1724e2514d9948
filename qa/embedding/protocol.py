"""What the rest of the package needs from an embedder: the `Embedder` protocol."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

Progress = Callable[[int, int], None]  # (done, total)


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors (one row per text) of `dimension` columns.

    `model_id` names the model in the index manifest: an index is only read with the model that
    built it. `fits` says whether the model reads a text whole (within its max sequence length),
    so chunks can be sized to what the model actually sees. `encode_questions` embeds what is
    searched for (questions): it may trade a little precision for speed, and is never stored."""

    model_id: str

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str], *, batch_size: int = 64,
               progress: Progress | None = None) -> np.ndarray: ...

    def encode_questions(self, texts: Sequence[str]) -> np.ndarray: ...

    def fits(self, text: str) -> bool: ...
