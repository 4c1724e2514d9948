"""BM25 scores from a build's stored term counts, with the ranking's own k1 and b.

Each term's score in each row holding it is computed once per loaded build, vectorized, exactly as
bm25s's own `index` would compute it (the Lucene variant; a test compares the two), and a query
adds up its terms' scores term by term, as bm25s's `get_scores` does, to the same float32 values.
bm25s itself (and the scipy it imports) is not loaded to answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.store.bm25 import TermCounts


@dataclass(frozen=True)
class BM25:
    """A table's BM25 scores by term: term t's rows are `rows_of[indptr[t]:indptr[t + 1]]`, and
    its score in each of them is `scores` at the same positions."""
    vocab: dict[str, int]
    indptr: np.ndarray
    rows_of: np.ndarray  # int32
    scores: np.ndarray  # float32
    rows: int


def bm25_index(counts: TermCounts, k1: float, b: float) -> BM25:
    """The BM25 index of counted documents."""
    doc, tf, lengths = counts.doc, counts.tf, counts.lengths
    n = len(lengths)
    df = np.diff(counts.indptr)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
    tfc = tf / (tf + k1 * (1 - b + b * lengths[doc] / lengths.mean()))  # bm25s leaves out (k1 + 1)
    return BM25(vocab=counts.vocab, indptr=counts.indptr, rows_of=doc.astype(np.int32, copy=False),
                scores=(np.repeat(idf, df) * tfc).astype(np.float32), rows=n)


def scores(index: BM25, terms: Sequence[str], rows: int) -> np.ndarray:
    """Every row's score for the query `terms` (a repeated term counts again; zeros for an empty
    query or one of unknown terms)."""
    out = np.zeros(rows, dtype=np.float32)
    for term in terms:
        t = index.vocab.get(term)
        if t is not None:  # a term holds a row once: a plain indexed add adds each score once
            lo, hi = index.indptr[t], index.indptr[t + 1]
            out[index.rows_of[lo:hi]] += index.scores[lo:hi]
    return out
