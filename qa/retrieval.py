"""Question -> scored sentences from the active index build.

`LiveIndex` keeps the loaded build and switches to a newer one as soon as it is published, so a
running app never needs a restart and never sees a half-written build.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa import store
from qa.articles import Article
from qa.embedding import Embedder


@dataclass(frozen=True)
class ScoredSentence:
    row: int
    article: Article
    ordinal: int
    start: int
    end: int
    text: str
    score: float


class LiveIndex:
    """The active build of an index folder, reloaded when `CURRENT` changes."""

    def __init__(self, index_dir: Path, model: str | None = None):
        self.index_dir = index_dir
        self._model = model
        self._snapshot: store.Snapshot | None = None
        self._lock = threading.Lock()

    def snapshot(self) -> store.Snapshot:
        build_id = store.current_build_id(self.index_dir)
        current = self._snapshot
        if current is not None and current.manifest.build_id == build_id:
            return current
        with self._lock:
            if self._snapshot is None or self._snapshot.manifest.build_id != build_id:
                self._snapshot = store.load_snapshot(self.index_dir, self._model)
            return self._snapshot


def dense_sentences(snapshot: store.Snapshot, embedder: Embedder, question: str,
                    k: int = 5) -> list[ScoredSentence]:
    if not snapshot.sentences:
        return []
    query = embedder.encode([question])
    scores, rows = snapshot.sentence_index.search(np.asarray(query, dtype=np.float32), k)
    out = []
    for score, row in zip(scores[0], rows[0]):
        if row < 0:
            continue
        s = snapshot.sentences[row]
        out.append(ScoredSentence(int(row), snapshot.articles[s.article_id], s.ordinal, s.start,
                                  s.end, snapshot.sentence_text(int(row)), float(score)))
    return out
