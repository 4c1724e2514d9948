"""The active build of an index folder, reloaded when `CURRENT` changes.

`background=True` (the web app): while a new build loads, in a thread of its own, questions are
answered from the build already loaded, so a reload (seconds on a large index) never stalls the
chat; `get(wait=True)` still waits for the newest build.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from qa import store
from qa.errors import QAError
from qa.retrieval.folder import FolderView


class LiveIndex:
    def __init__(self, index_dir: Path, model: str | None = None, background: bool = False):
        self.index_dir = index_dir
        self._model = model
        self._background = background
        self._current: FolderView | None = None
        self._lock = threading.Lock()  # held while a build loads
        self._starting = threading.Lock()  # held while a background load is started
        self._loading: threading.Thread | None = None
        self._failed: str | None = None  # a build that could not be loaded in the background

    def current_build_id(self) -> str | None:
        return store.current_build_id(self.index_dir)

    @property
    def loaded_build_id(self) -> str | None:
        """The build answering now (None before the first is loaded); may lag `current_build_id`."""
        current = self._current
        return current.build_id if current is not None else None

    @contextmanager
    def reading(self) -> Iterator[FolderView]:
        """The build that answers now (a loaded build needs nothing released afterwards)."""
        yield self.get()

    def get(self, wait: bool | None = None) -> FolderView:
        build_id = store.current_build_id(self.index_dir)
        current = self._current
        if current is not None and current.build_id == build_id:
            return current
        if wait is None:
            wait = not self._background
        if current is not None and not wait:
            self._load_in_background()
            return current
        with self._lock:
            if self._current is None or self._current.build_id != build_id:
                snapshot = store.load_snapshot(self.index_dir, self._model, chunk_texts=False)
                self._current = FolderView(snapshot)
            return self._current

    def _load_in_background(self) -> None:
        build_id = store.current_build_id(self.index_dir)

        def load() -> None:
            try:
                self.get(wait=True)
            except QAError as exc:  # a damaged build: keep answering from the loaded one
                self._failed = build_id
                warnings.warn(f"the new index build was not loaded: {exc}", RuntimeWarning, stacklevel=1)

        with self._starting:
            if build_id != self._failed and (self._loading is None or not self._loading.is_alive()):
                self._loading = threading.Thread(target=load, name="index-reload", daemon=True)
                self._loading.start()
