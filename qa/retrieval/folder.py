"""The folder index (FAISS + SQLite + BM25 counts) as an `IndexView`.

Everything a query needs that does not depend on the query is computed once per loaded build:
which chunks hold each sentence, each sentence's neighbours, the length prior, publication days,
the BM25 score matrices and the corpus's topic terms. A small index is scored exactly over all its
rows; a large one (an IVF index) gives candidates, whose exact vectors are then read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from qa.articles import Article
from qa.retrieval.lexical import bm25_index, scores
from qa.retrieval.ranking import BM25_PARAMS, TOPIC_SHARE
from qa.retrieval.seam import ArticleSummary, Layout, Record, Scope
from qa.store import Snapshot
from qa.store.vectors import is_exact

FILTERED_EXACT = 100_000  # a filter leaving at most this many sentences is searched exactly


@dataclass(frozen=True)
class Mask:
    """Allowed rows as a boolean mask over every sentence row."""
    mask: np.ndarray

    def contains(self, rows: np.ndarray) -> np.ndarray:
        return self.mask[rows]


class FolderView:
    """One loaded build of the folder index."""

    def __init__(self, snapshot: Snapshot):
        self.build_id = snapshot.manifest.build_id
        self.sentence_count, self.chunk_count = len(snapshot.sentences), len(snapshot.chunks)
        self.ann = not is_exact(snapshot.sentence_index)  # a large index: candidates from IVF
        self._sentence_bm25 = bm25_index(snapshot.sentence_counts, *BM25_PARAMS["sentences"])
        self._chunk_bm25 = bm25_index(snapshot.chunk_counts, *BM25_PARAMS["chunks"])
        # With a delta beside an IVF base, index ids are not rows: each id's row (-1: replaced).
        self.row_of_id = None
        if snapshot.sentence_ids is not None:
            self.row_of_id = np.full(snapshot.sentence_index.ntotal, -1, dtype=np.int64)
            self.row_of_id[snapshot.sentence_ids] = np.arange(self.sentence_count)
        self._chunk_lo, self._chunk_hi = _chunk_ranges(snapshot)
        # Queries read the term counts as the scores above and the chunks as their ranges: the
        # view keeps those, not the counts themselves (a large build's memory: results/archive.md).
        self.snapshot = snapshot = replace(snapshot, chunks=[], sentence_counts=None, chunk_counts=None)
        n, sentences = self.sentence_count, snapshot.sentences
        ordinal = np.fromiter((s.ordinal for s in sentences), np.int64, n)
        self._prev_row = np.where(ordinal > 0, np.arange(n) - 1, -1)  # an article's rows are consecutive
        self._next_row = np.full(n, -1, dtype=np.int64)
        self._next_row[:-1] = np.where(ordinal[1:] > 0, np.arange(1, n), -1)
        lengths = np.fromiter((s.end - s.start for s in sentences), np.float64, n)
        self._length_prior = (np.log(np.maximum(lengths, 20) / 20) / math.log(15)).astype(np.float32)
        day = {a.id: a.published.toordinal() if a.published else np.nan for a in snapshot.articles.values()}
        self._day = np.fromiter((day[s.article_id] for s in sentences), np.float64, n)
        dated = self._day[~np.isnan(self._day)]
        self.spans_dates = bool(len(dated)) and bool(dated.min() < dated.max())

    @cached_property
    def _df(self) -> np.ndarray:
        """Sentences holding each term, by vocabulary id."""
        return np.diff(self._sentence_bm25.indptr)

    @cached_property
    def topic_terms(self) -> frozenset[str]:
        df, n = self._df, self.sentence_count
        return frozenset(t for t, i in self._sentence_bm25.vocab.items() if df[i] > TOPIC_SHARE * n)

    def doc_freq(self, terms: Sequence[str]) -> np.ndarray:
        vocab = self._sentence_bm25.vocab
        return np.array([self._df[vocab[t]] if t in vocab else 0 for t in terms], dtype=np.int64)

    def rows(self) -> np.ndarray:
        return np.arange(self.sentence_count)

    def allowed(self, scope: Scope) -> Mask | None:
        if scope.everything:
            return None
        snap = self.snapshot
        ok = {a.id for a in snap.articles.values() if scope.admits(a)}
        return Mask(np.fromiter((s.article_id in ok for s in snap.sentences), dtype=bool,
                                count=self.sentence_count))

    def dense(self, vectors: np.ndarray) -> FolderDense:
        return FolderDense(self, vectors)

    def chunk_scores(self, vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return self.snapshot.chunk_vectors[rows] @ vector

    def lexical(self, terms: Sequence[str], table: str) -> FolderLexical:
        if table == "sentences":
            return FolderLexical(scores(self._sentence_bm25, terms, self.sentence_count))
        return FolderLexical(scores(self._chunk_bm25, terms, self.chunk_count))

    def layout(self, rows: np.ndarray) -> Layout:
        return Layout(self._chunk_lo[rows], self._chunk_hi[rows], self._prev_row[rows], self._next_row[rows],
                      self._length_prior[rows], self._day[rows])

    def texts(self, rows: np.ndarray) -> list[str]:
        return [self.snapshot.sentence_text(int(r)) for r in rows]

    def sentence_vectors(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.snapshot.sentence_vectors[np.asarray(rows, dtype=np.int64)])

    def records(self, rows: Sequence[int]) -> list[Record]:
        snap = self.snapshot
        out = []
        for row in rows:
            s = snap.sentences[row]
            a = snap.articles[s.article_id]
            out.append(Record(row=int(row), article=a, ordinal=s.ordinal, start=s.start, end=s.end,
                              text=a.text[s.start:s.end]))
        return out

    def copies(self, article_id: str) -> tuple[str, ...]:
        return self.snapshot.copies.get(article_id, ())

    def article(self, article_id: str) -> Article | None:
        return self.snapshot.articles.get(article_id)

    def summaries(self) -> list[ArticleSummary]:
        counts: dict[str, int] = {}
        for s in self.snapshot.sentences:
            counts[s.article_id] = counts.get(s.article_id, 0) + 1
        return [ArticleSummary(article=a, sentences=counts.get(a.id, 0))
                for a in self.snapshot.articles.values()]


class FolderDense:
    """Query vectors against a loaded build: exact scores over every row of a flat index (computed
    once per query vector), or IVF candidates and their exact vectors read on demand."""

    def __init__(self, view: FolderView, vectors: np.ndarray):
        self.view, self.vectors = view, vectors
        vecs = view.snapshot.sentence_vectors
        self._all = None if view.ann else [vecs @ v for v in vectors]

    def pools(self, k: int, allowed: Mask | None) -> list[np.ndarray]:
        if self._all is not None:
            return [_top(s if allowed is None else np.where(allowed.mask, s, -np.inf), k) for s in self._all]
        snap = self.view.snapshot
        if allowed is not None:
            rows = np.flatnonzero(allowed.mask)
            if len(rows) <= FILTERED_EXACT:  # a filter narrow enough to score its rows exactly
                vectors = snap.sentence_vectors[rows]
                return [rows[_top(vectors @ v, k)] for v in self.vectors]
        import faiss

        params = None if allowed is None else faiss.SearchParametersIVF(
            sel=faiss.IDSelectorBatch(self._ids(np.flatnonzero(allowed.mask))),
            nprobe=snap.sentence_index.nprobe)
        _, found = snap.sentence_index.search(np.stack(list(self.vectors)), k, params=params)
        return [self._rows(ids[ids >= 0]) for ids in found]

    def scores(self, rows: np.ndarray) -> np.ndarray:
        if self._all is not None:
            return np.stack([s[rows] for s in self._all])
        vectors = self.view.snapshot.sentence_vectors[rows]
        return np.stack([vectors @ v for v in self.vectors])

    def _ids(self, rows: np.ndarray) -> np.ndarray:
        ids = self.view.snapshot.sentence_ids
        return rows if ids is None else ids[rows]

    def _rows(self, ids: np.ndarray) -> np.ndarray:
        if self.view.row_of_id is None:
            return ids
        rows = self.view.row_of_id[ids]
        return rows[rows >= 0]


@dataclass(frozen=True)
class FolderLexical:
    """One query's BM25 scores over every row of a table."""
    all: np.ndarray

    @property
    def best(self) -> float:
        return float(self.all.max()) if len(self.all) else 0.0

    def top(self, k: int, allowed: Mask | None) -> np.ndarray:
        values = self.all if allowed is None else np.where(allowed.mask, self.all, 0)
        rows = np.flatnonzero(values > 0)
        return rows if len(rows) <= k else rows[np.argpartition(-values[rows], k)[:k]]

    def at(self, rows: np.ndarray) -> np.ndarray:
        return self.all[rows]


def _chunk_ranges(snapshot: Snapshot) -> tuple[np.ndarray, np.ndarray]:
    """The chunks holding each sentence row form a contiguous range of chunk rows [lo, hi] (-1:
    none). Each chunk's sentence rows are expanded and the lowest and highest chunk row holding
    each sentence row kept."""
    sentences, chunks = snapshot.sentences, snapshot.chunks
    n, m = len(sentences), len(chunks)
    first_row = {s.article_id: row for row, s in enumerate(sentences) if s.ordinal == 0}
    base = np.fromiter((first_row[c.article_id] for c in chunks), np.int64, m)
    first = base + np.fromiter((c.first_sentence for c in chunks), np.int64, m)
    counts = base + np.fromiter((c.last_sentence for c in chunks), np.int64, m) - first + 1
    owner = np.repeat(np.arange(m), counts)
    rows = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts - first, counts)
    lo = np.full(n, m, dtype=np.int64)
    np.minimum.at(lo, rows, owner)
    lo[lo == m] = -1
    hi = np.full(n, -1, dtype=np.int64)
    np.maximum.at(hi, rows, owner)
    return lo, hi


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    if len(scores) <= k:
        return np.arange(len(scores))
    return np.argpartition(-scores, k)[:k]
