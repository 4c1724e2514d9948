"""What a build holds without loading its vectors: what an update needs to know.

The catalog (articles, files, copy groups, which base articles a delta replaced), the articles'
stored shingles and the base's shingle postings (to regroup syndicated copies around the articles
an update touches), and a delta's own rows with their vectors and terms (to carry them into the
next build).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.articles import Article
from qa.chunking import Chunk
from qa.errors import IndexCorruptError
from qa.sentences import Sentence
from qa.store.db import (
    FileRecord,
    database,
    read_articles,
    read_chunks,
    read_copy_groups,
    read_files,
    read_removed,
    read_sentences,
    read_shingles,
    read_terms,
    where_in,
)
from qa.store.layout import DELTA
from qa.store.vectors import read_npy
from qa.syndication import Postings


@dataclass(frozen=True, kw_only=True)
class Catalog:
    articles: dict[str, Article]  # base and delta merged, as in a Snapshot
    files: dict[str, FileRecord]
    copies: dict[str, tuple[str, ...]]
    base_ids: set[str]  # articles in the base files, replaced or not
    removed: set[str]  # base articles replaced by the delta or removed
    base_sentences: dict[str, int]  # article id -> its rows in the base files
    base_chunks: dict[str, int]


def read_catalog(build_dir: Path) -> Catalog:
    delta = (build_dir / DELTA).is_dir()
    with database(build_dir) as db:
        base_sentences: dict[str, int] = {}
        base_chunks: dict[str, int] = {}
        articles, copies = read_articles(db, (base_sentences, base_chunks)), read_copy_groups(db)
        files = {} if delta else read_files(db)  # a delta holds the current list
    base_ids, removed = set(articles), set()
    if delta:
        with database(build_dir / DELTA) as db:
            removed, files, copies = read_removed(db), read_files(db), read_copy_groups(db)
            articles = {k: v for k, v in articles.items() if k not in removed} | read_articles(db)
    return Catalog(articles=articles, files=files, copies=copies, base_ids=base_ids, removed=removed,
                   base_sentences=base_sentences, base_chunks=base_chunks)


def read_signatures(build_dir: Path, ids: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """The stored shingles of the build's current articles (base and delta), or of the given ones."""
    wanted = None if ids is None else set(ids)
    delta = build_dir / DELTA
    found: dict[str, np.ndarray] = {}
    removed: set[str] = set()
    if delta.is_dir():
        with database(delta) as db:
            removed = read_removed(db)
            found = read_shingles(db, wanted)
    with database(build_dir) as db:
        base = read_shingles(db, None if wanted is None else wanted - found.keys())
    return {k: v for k, v in base.items() if k not in removed} | found


def write_postings(build_dir: Path, postings: Postings) -> None:
    """The base's shingle postings, made from the articles in the order they were inserted (an
    owner's position + 1 is its article's rowid)."""
    np.save(build_dir / "shingle-hashes.npy", postings.hashes.astype("<u4"))
    np.save(build_dir / "shingle-owners.npy", postings.owners.astype("<i4"))


def read_postings(build_dir: Path, gone: Iterable[str] = ()) -> Postings:
    """The base's shingle postings, read on demand; `gone`: base articles no longer current. Only
    the articles found are read from the database."""
    try:
        hashes = np.load(build_dir / "shingle-hashes.npy", mmap_mode="r")
        owners = np.load(build_dir / "shingle-owners.npy", mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{build_dir} has damaged shingle postings ({exc}): "
                                "run `qa index --full`") from exc
    if len(hashes) != len(owners):
        raise IndexCorruptError(f"{build_dir} has damaged shingle postings: run `qa index --full`")

    def resolve(positions: np.ndarray) -> tuple[list[str], np.ndarray]:
        rowids = (positions + 1).tolist()  # articles were inserted in postings order: rowid 1, 2, ...
        with database(build_dir) as db:
            found = {r[0]: (r[1], (r[2] or 0) // 4) for r in where_in(
                db, "SELECT rowid, id, length(shingles) FROM articles WHERE rowid IN ({})", rowids)}
        if len(found) != len(rowids):
            raise IndexCorruptError(f"{build_dir} has shingle postings of unknown articles: "
                                    "run `qa index --full`")
        return [found[r][0] for r in rowids], np.array([found[r][1] for r in rowids], dtype=np.int64)

    return Postings(hashes, owners, resolve, frozenset(gone))


@dataclass(frozen=True, kw_only=True)
class DeltaRows:
    """A build's delta rows, with their vectors and BM25 terms (all empty without a delta)."""
    sentences: list[Sentence]
    chunks: list[Chunk]
    sentence_vectors: np.ndarray
    chunk_vectors: np.ndarray
    sentence_terms: list[str]
    chunk_terms: list[str]


def read_delta(build_dir: Path, dimension: int) -> DeltaRows:
    delta = build_dir / DELTA
    if not delta.is_dir():
        empty = np.zeros((0, dimension), dtype=np.float32)
        return DeltaRows(sentences=[], chunks=[], sentence_vectors=empty, chunk_vectors=empty,
                         sentence_terms=[], chunk_terms=[])
    with database(delta) as db:
        articles = read_articles(db)
        sentences, chunks = read_sentences(db), read_chunks(db, articles)
        sentence_terms, chunk_terms = read_terms(db, "sentences"), read_terms(db, "chunks")
    return DeltaRows(sentences=sentences, chunks=chunks,
                     sentence_vectors=read_npy(delta / "sentences.npy", len(sentences), dimension),
                     chunk_vectors=read_npy(delta / "chunks.npy", len(chunks), dimension),
                     sentence_terms=sentence_terms, chunk_terms=chunk_terms)
