"""An engine over a throwaway index: what every `qa eval` runs its questions against."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from qa.answering import Engine, update_index
from qa.embedding import Embedder, Progress
from qa.settings import Settings


@contextmanager
def scratch_engine(settings: Settings, embedder: Embedder, fill: Callable[[Path], None],
                   progress: Progress | None = None) -> Iterator[Engine]:
    """An engine over a new index, in a temporary folder, of the corpus that `fill` writes into
    the folder it is given; warmed up (model and index loaded) before it is handed out. With
    `settings.database_url`, the index is built in that database instead, replacing what it holds."""
    with tempfile.TemporaryDirectory(prefix="qa-eval-") as tmp:
        local = replace(settings, corpus_dir=Path(tmp) / "corpus", index_dir=Path(tmp) / "index")
        fill(local.corpus_dir)
        update_index(local, embedder, full=True, progress=progress)
        engine = Engine(local, embedder)
        engine.answer("warm up")
        yield engine
