"""One published build, loaded for reading: base and delta merged into one set of rows.

Rows are the base's rows that are still current, then the delta's. Queries never touch the disk
again, except to read the exact vectors of a large index (`DiskVectors`). Loading refuses a
damaged build or one built with another model, with the command to run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.articles import Article
from qa.chunking import Chunk
from qa.errors import IndexCorruptError, IndexMismatchError
from qa.sentences import Sentence
from qa.store.bm25 import TermCounts, merge_counts, read_counts
from qa.store.db import (
    database,
    read_articles,
    read_chunks,
    read_copy_groups,
    read_removed,
    read_sentences,
    read_terms,
)
from qa.store.layout import DELTA, current_build_dir
from qa.store.manifest import Manifest, read_manifest
from qa.store.vectors import CombinedVectors, DiskVectors, merge_vectors, read_npy, read_vectors

if TYPE_CHECKING:
    import faiss


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    build_dir: Path
    manifest: Manifest
    articles: dict[str, Article]
    sentences: list[Sentence]  # index = row
    chunks: list[Chunk]
    sentence_index: faiss.Index  # flat (exact) or IVF (candidates): qa.store.vectors
    chunk_index: faiss.Index
    sentence_vectors: np.ndarray | DiskVectors | CombinedVectors  # the exact vectors, by row
    chunk_vectors: np.ndarray | DiskVectors | CombinedVectors
    sentence_counts: TermCounts | None  # BM25 term counts (None when loaded for a build)
    chunk_counts: TermCounts | None
    copies: dict[str, tuple[str, ...]]  # article id -> its syndicated copies, cited one first
    sentence_ids: np.ndarray | None = None  # each row's id in sentence_index (None: the row itself)
    base_rows: tuple[np.ndarray, np.ndarray] | None = None  # base sentence and chunk rows kept (delta)

    def sentence_text(self, row: int) -> str:
        s = self.sentences[row]
        return self.articles[s.article_id].text[s.start:s.end]

    def terms(self, table: str) -> list[str]:
        """Every row's BM25 terms (`sentences` or `chunks`), read from the build's databases."""
        with database(self.build_dir) as db:
            base = read_terms(db, table)
        if self.base_rows is None:
            return base
        keep = self.base_rows[0 if table == "sentences" else 1]
        with database(self.build_dir / DELTA) as db:
            return [base[i] for i in keep.tolist()] + read_terms(db, table)


def load_snapshot(index_dir: Path, model: str | None = None, counts: bool = True,
                  chunk_texts: bool = True) -> Snapshot:
    """Load the active build; refuse a damaged one or one built with another model. `counts=False`
    leaves out the BM25 term counts (None), which only queries need; `chunk_texts=False` the
    chunks' texts (""), which queries do not read (a fifth of a large build's memory)."""
    return load_snapshot_dir(current_build_dir(index_dir), model, counts, chunk_texts)


def load_snapshot_dir(build_dir: Path, model: str | None = None, counts: bool = True,
                      chunk_texts: bool = True) -> Snapshot:
    manifest = read_manifest(build_dir)
    if model is not None and manifest.model != model:
        raise IndexMismatchError(f"the index was built with model {manifest.model!r} but "
                                 f"{model!r} is configured: run `qa index` to rebuild it")
    with database(build_dir) as db:
        articles = read_articles(db)
        sentences, chunks = read_sentences(db), read_chunks(db, articles, chunk_texts)
        copies = read_copy_groups(db)
    dim, delta = manifest.dimension, build_dir / DELTA
    mapped = not delta.is_dir()  # a delta's vectors are added to the base's indexes
    sentence_index, sentence_vectors = read_vectors(build_dir, "sentences", manifest.base_sentences, dim,
                                                    mapped)
    chunk_index, chunk_vectors = read_vectors(build_dir, "chunks", manifest.base_chunks, dim, mapped)
    if (len(sentences), len(chunks)) != (manifest.base_sentences, manifest.base_chunks):
        raise IndexCorruptError(f"{build_dir} does not match its manifest: run `qa index --full`")
    sentence_counts = read_counts(build_dir, "sentences") if counts else None
    chunk_counts = read_counts(build_dir, "chunks") if counts else None
    ids, base_rows = None, None
    if delta.is_dir():
        with database(delta) as db:
            more_articles = read_articles(db)
            more_sentences, more_chunks = read_sentences(db), read_chunks(db, more_articles, chunk_texts)
            copies, removed = read_copy_groups(db), read_removed(db)
            more_terms = (read_terms(db, "sentences"), read_terms(db, "chunks")) if counts else None
        keep_s = np.flatnonzero([s.article_id not in removed for s in sentences])
        keep_c = np.flatnonzero([c.article_id not in removed for c in chunks])
        articles = {k: v for k, v in articles.items() if k not in removed} | more_articles
        sentences = [sentences[i] for i in keep_s.tolist()] + more_sentences
        chunks = [chunks[i] for i in keep_c.tolist()] + more_chunks
        sentence_index, sentence_vectors, ids = merge_vectors(
            sentence_index, sentence_vectors, keep_s,
            read_npy(delta / "sentences.npy", len(more_sentences), dim))
        chunk_index, chunk_vectors, _ = merge_vectors(
            chunk_index, chunk_vectors, keep_c, read_npy(delta / "chunks.npy", len(more_chunks), dim))
        base_rows = (keep_s, keep_c)
        if more_terms is not None:  # one set of counts over base and delta, with the statistics of both
            sentence_counts = merge_counts(sentence_counts, keep_s, more_terms[0])
            chunk_counts = merge_counts(chunk_counts, keep_c, more_terms[1])
    if (len(articles), len(sentences), len(chunks)) \
            != (manifest.articles, manifest.sentences, manifest.chunks):
        raise IndexCorruptError(f"{build_dir} does not match its manifest: run `qa index --full`")
    return Snapshot(build_dir=build_dir, manifest=manifest, articles=articles, sentences=sentences,
                    chunks=chunks, sentence_index=sentence_index, chunk_index=chunk_index,
                    sentence_vectors=sentence_vectors, chunk_vectors=chunk_vectors,
                    sentence_counts=sentence_counts, chunk_counts=chunk_counts,
                    copies=copies, sentence_ids=ids, base_rows=base_rows)
