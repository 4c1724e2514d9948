"""The retrieval signals of one query over candidate sentence rows, read through an `IndexView`.

Dense cosine of the sentence to the query and to the query without its topic words, BM25 of the
sentence and of the best chunk holding it, the dense cosine of that chunk (its passage) and of the
sentence's neighbours, and a length prior; plus the question-level measures of a hit: how much of
the question's terms its window covers, and how many of the question's names the corpus lacks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qa.retrieval.seam import Allowed, IndexView, Layout
from qa.terms import term_set, terms

CANDIDATES = 200  # per signal, before fusion
SIGNALS = ("dense", "reduced", "bm25", "chunk_dense", "chunk_bm25", "neighbour", "length")


@dataclass(frozen=True)
class QuerySignals:
    """Each signal's value for each candidate (in `SIGNALS` order; "bm25" raw, to be multiplied by
    `bm25_scale`, which brings the query's best sentence to 1), and each candidate's relevance:
    the higher dense cosine of the sentence or of its passage."""
    values: dict[str, np.ndarray]
    bm25_scale: float
    relevance: np.ndarray


class Query:
    """One query (the question, or the question with its context) against one index build."""

    def __init__(self, view: IndexView, text: str, qv: np.ndarray, rv: np.ndarray):
        self.view, self.qv = view, qv
        self.terms = terms(text)
        self.bm25 = view.lexical(self.terms, "sentences")
        self.chunk_bm25 = view.lexical(self.terms, "chunks")
        self.dense = view.dense(np.stack([qv, rv]))

    def pools(self, allowed: Allowed | None) -> list[np.ndarray]:
        """The best rows by BM25 (rows holding a query term), by dense and by topic-reduced dense."""
        return [self.bm25.top(CANDIDATES, allowed), *self.dense.pools(CANDIDATES, allowed)]

    def signals(self, cand: np.ndarray, layout: Layout) -> QuerySignals:
        lo, hi = layout.chunk_lo, layout.chunk_hi
        ids = _chunk_rows(lo, hi)
        at_lo, at_hi = np.searchsorted(ids, lo), np.searchsorted(ids, hi)
        dc = _range_max(self.view.chunk_scores(self.qv, ids), lo, at_lo, at_hi)
        bc = _range_max(self.chunk_bm25.at(ids), lo, at_lo, at_hi) * _scale(self.chunk_bm25.best)
        dense, reduced = self.dense.scores(cand)
        values = {"dense": dense, "reduced": reduced, "bm25": self.bm25.at(cand), "chunk_dense": dc,
                  "chunk_bm25": bc, "neighbour": self._neighbour(layout), "length": layout.length_prior}
        return QuerySignals(values, _scale(self.bm25.best), np.maximum(dense, dc))

    def _neighbour(self, layout: Layout) -> np.ndarray:
        """The higher dense cosine of the sentences either side of each row (0 with none)."""
        sides = np.concatenate([layout.prev_row, layout.next_row])
        cosine = np.zeros(len(sides), dtype=np.float32)
        present = sides >= 0
        if present.any():
            cosine[present] = self.dense.scores(sides[present])[0]
        n = len(layout.prev_row)
        return np.maximum(cosine[:n], cosine[n:])


def candidates(view: IndexView, queries: list[Query], allowed: Allowed | None) -> np.ndarray:
    """Union of the best rows of each signal of each query (all rows when the index is small)."""
    if view.sentence_count <= 2 * CANDIDATES:
        cand = view.rows()
    else:  # filtered first, so a narrow filter still finds its sentences
        cand = np.unique(np.concatenate([p for q in queries for p in q.pools(allowed)]))
    return cand[allowed.contains(cand)] if allowed is not None else cand


def coverage(view: IndexView, query_terms: list[str], rows: np.ndarray, layout: Layout) -> np.ndarray:
    """For each row: the IDF-weighted share of the query's terms found in its sentence or in the
    sentences either side of it in its article."""
    unique = list(dict.fromkeys(query_terms))
    if not unique:
        return np.zeros(len(rows), dtype=np.float32)
    weights = np.array([_idf(df, view.sentence_count) for df in view.doc_freq(unique).tolist()])
    window = [(p, r, x) for p, r, x in zip(layout.prev_row.tolist(), rows.tolist(), layout.next_row.tolist(),
                                           strict=True)]
    wanted = sorted({r for w in window for r in w if r >= 0})
    texts = view.texts(np.array(wanted, dtype=np.int64))
    words = dict(zip(wanted, (term_set(t) for t in texts), strict=True))
    out = np.empty(len(rows), dtype=np.float32)
    for j, w in enumerate(window):
        found = set().union(*(words[r] for r in w if r >= 0))
        out[j] = weights[[t in found for t in unique]].sum() / weights.sum()
    return out


def known_share(view: IndexView, query_terms: list[str]) -> float:
    """Share of the query's terms that occur anywhere in the index (0 for an empty query)."""
    if not query_terms:
        return 0.0
    return float((view.doc_freq(query_terms) > 0).sum()) / len(query_terms)


def unknown_names(view: IndexView, names: list[str]) -> float:
    """Share of the names that occur nowhere in the index (0 without names)."""
    return 1.0 - known_share(view, names) if names else 0.0


def _idf(df: int, n: int) -> float:
    """BM25's inverse document frequency over sentences (highest for a term the index lacks)."""
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def _chunk_rows(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Every chunk row in the ranges [lo, hi], sorted (rows without a chunk have lo = -1)."""
    ok = lo >= 0
    if (hi[ok] - lo[ok] <= 1).all():  # one sentence of overlap: a sentence is in at most two chunks
        return np.unique(np.concatenate([lo[ok], hi[ok]]))
    ranges = [np.arange(a, b + 1) for a, b in zip(lo[ok], hi[ok], strict=True)]
    return np.unique(np.concatenate(ranges or [[]])).astype(np.int64)


def _range_max(scores: np.ndarray, lo: np.ndarray, at_lo: np.ndarray, at_hi: np.ndarray) -> np.ndarray:
    """For each candidate, the best of `scores` (by position in the sorted chunk rows) among the
    chunks holding it, positions [at_lo, at_hi] (0 if it has none: lo = -1)."""
    ok = lo >= 0
    out = np.zeros(len(lo), dtype=np.float32)
    if (at_hi[ok] - at_lo[ok] <= 1).all():
        out[ok] = np.maximum(scores[at_lo[ok]], scores[at_hi[ok]])
        return out
    out[ok] = [scores[a:b + 1].max() for a, b in zip(at_lo[ok], at_hi[ok], strict=True)]
    return out


def _scale(best: float) -> float:
    """The factor that brings the best score to 1 (0 when nothing scores)."""
    return 1.0 / best if best > 0 else 0.0
