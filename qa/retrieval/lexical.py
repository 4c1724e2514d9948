"""BM25 scores from a build's stored term counts, with the ranking's own k1 and b.

The score matrix is computed once per loaded build, vectorized, exactly as bm25s's own `index`
would compute it (the Lucene variant; a test compares the two), and queried through bm25s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from qa.store.bm25 import TermCounts

if TYPE_CHECKING:
    import bm25s


def bm25_index(counts: TermCounts, k1: float, b: float) -> bm25s.BM25:
    """The BM25 index of counted documents."""
    import bm25s

    term, doc, tf, lengths = counts.term, counts.doc, counts.tf, counts.lengths
    n = len(lengths)
    df = np.diff(counts.indptr)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
    tfc = tf / (tf + k1 * (1 - b + b * lengths[doc] / lengths.mean()))  # bm25s leaves out (k1 + 1)
    retriever = bm25s.BM25(k1=k1, b=b)
    retriever.scores = {"data": (idf[term] * tfc).astype(np.float32), "indices": doc.astype(np.int32),
                        "indptr": counts.indptr.astype(np.int32), "num_docs": n}
    vocab = dict(counts.vocab)
    vocab[""] = len(vocab)  # bm25s's empty token
    retriever.vocab_dict = vocab
    retriever.unique_token_ids_set = set(vocab.values())
    retriever.nonoccurrence_array = None  # the Lucene variant has none
    return retriever


def scores(index: bm25s.BM25, terms: Sequence[str], rows: int) -> np.ndarray:
    """Every row's score for the query `terms` (zeros for an empty query)."""
    if not terms:
        return np.zeros(rows, dtype=np.float32)
    return index.get_scores(list(terms))[:rows]
