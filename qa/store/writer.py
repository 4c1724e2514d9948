"""The write protocol: a new build written next to the active one, then published atomically.

A whole build writes every row (database, FAISS and BM25 files, shingle postings). A delta build
hard-links the previous build's base files and writes beside them only the rows of the articles
added or changed, with the base articles they replace. Any write failure leaves the previous
build active (`layout.writing`). What goes into a build is decided by `qa.indexing`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.store.bm25 import count_terms, write_counts
from qa.store.catalog import write_postings
from qa.store.db import FileRecord, RowSet, write_rows
from qa.store.layout import DELTA, base_file_sizes, link_base, new_build_dir, publish, writing
from qa.store.manifest import IndexConfig, Manifest
from qa.store.vectors import write_npy, write_vectors
from qa.syndication import Postings


@dataclass(frozen=True, kw_only=True)
class NewBuild:
    """What a build writes: its rows and their vectors, the corpus files, every copy group."""
    rows: RowSet  # every article of the index for a whole build; the changed ones for a delta
    sentence_vectors: np.ndarray  # by row of `rows`
    chunk_vectors: np.ndarray
    files: list[FileRecord]
    copy_groups: list[list[str]]
    config: IndexConfig
    corpus_fingerprint: str
    articles: int  # in the index once published (base and delta)


@dataclass(frozen=True)
class DeltaBase:
    """The build a delta is written beside, and what of its base stays current."""
    build_dir: Path
    manifest: Manifest
    removed: frozenset[str]  # base articles replaced or removed
    sentences: int  # base rows still current
    chunks: int


def write_build(index_dir: Path, build: NewBuild, *, delta: DeltaBase | None, exact_limit: int,
                keep_builds: int) -> Manifest:
    """Write `build` (a delta beside `delta`'s base, or a whole build) and publish it."""
    with writing(index_dir):
        tmp = new_build_dir(index_dir)
        build_id = tmp.name.removeprefix(".tmp-")
        if delta is not None:
            fields = _write_delta(tmp, build, delta)
        else:
            fields = _write_whole(tmp, build, build_id, exact_limit)
        manifest = Manifest(build_id=build_id, built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                            config=build.config, articles=build.articles,
                            corpus_fingerprint=build.corpus_fingerprint, **fields)
        manifest.write(tmp)
        publish(index_dir, tmp, build_id, keep=keep_builds)
    return manifest


def _write_whole(tmp: Path, build: NewBuild, build_id: str, exact_limit: int) -> dict:
    rows = build.rows
    write_rows(tmp, rows, build.files, build.copy_groups)
    write_postings(tmp, Postings.of({a.id: rows.shingles[a.id] for a in rows.articles}))
    kind = write_vectors(tmp, "sentences", build.sentence_vectors, exact_limit=exact_limit)
    write_vectors(tmp, "chunks", build.chunk_vectors, exact_limit=exact_limit)
    write_counts(tmp, "sentences", count_terms(rows.sentence_terms))
    write_counts(tmp, "chunks", count_terms(rows.chunk_terms))
    n_sentences, n_chunks = len(rows.sentences), len(rows.chunks)
    return {"sentences": n_sentences, "chunks": n_chunks, "faiss_index": kind, "base_build": build_id,
            "base_sentences": n_sentences, "base_chunks": n_chunks, "base_files": base_file_sizes(tmp)}


def _write_delta(tmp: Path, build: NewBuild, delta: DeltaBase) -> dict:
    link_base(delta.build_dir, tmp)
    (tmp / DELTA).mkdir()
    write_rows(tmp / DELTA, build.rows, build.files, build.copy_groups, sorted(delta.removed))
    write_npy(tmp / DELTA / "sentences.npy", build.sentence_vectors)
    write_npy(tmp / DELTA / "chunks.npy", build.chunk_vectors)
    base = delta.manifest
    return {"sentences": delta.sentences + len(build.rows.sentences),
            "chunks": delta.chunks + len(build.rows.chunks), "faiss_index": base.faiss_index,
            "base_build": base.base_build, "base_sentences": base.base_sentences,
            "base_chunks": base.base_chunks, "base_files": base.base_files}
