"""A build's lexical index: the BM25 term counts of its sentences and of its chunks.

Stored per table (`bm25-sentences/`, `bm25-chunks/`): the vocabulary, and for each (term, row)
pair, sorted by term then row, how often the term occurs in the row (a term-major sparse matrix),
with each row's length in terms. These are postings and term statistics, not scores: the ranking
turns them into BM25 scores with its own k1 and b (`qa.retrieval.lexical`), so a delta's rows can
be merged into a base's counts without tokenizing the base again, and a database backend can hold
the same numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import IndexCorruptError


@dataclass(frozen=True)
class TermCounts:
    """Documents as BM25 sees them. `indptr[t]:indptr[t + 1]` are term t's pairs in `doc` / `tf`."""
    vocab: dict[str, int]  # term -> id
    indptr: np.ndarray  # int64, one more than there are terms
    doc: np.ndarray  # int32 (as stored): the row of each pair
    tf: np.ndarray  # int32: the term's count in that row
    lengths: np.ndarray  # int32: each row's length in terms

    @property
    def term(self) -> np.ndarray:
        """The term of each pair."""
        return np.repeat(np.arange(len(self.indptr) - 1), np.diff(self.indptr))

    @property
    def rows(self) -> int:
        return len(self.lengths)


def count_terms(documents: list[str]) -> TermCounts:
    """Counts of documents of space-separated terms; an empty document gets a placeholder term."""
    docs = [d or "\0" for d in documents] or ["\0"]
    tokens = " ".join(docs).split(" ")
    vocab = {t: i for i, t in enumerate(dict.fromkeys(tokens))}  # in order of first use
    ids = np.fromiter(map(vocab.__getitem__, tokens), dtype=np.int64, count=len(tokens))
    del tokens
    lengths = np.fromiter(map(len, (d.split(" ") for d in docs)), dtype=np.int64, count=len(docs))
    n = len(docs)
    keys, tf = np.unique(ids * n + np.repeat(np.arange(n), lengths), return_counts=True)  # by term, then doc
    return _counts(vocab, keys // n, keys % n, tf, lengths)


def _counts(vocab: dict[str, int], term: np.ndarray, doc: np.ndarray, tf: np.ndarray,
            lengths: np.ndarray) -> TermCounts:
    indptr = np.concatenate([[0], np.cumsum(np.bincount(term, minlength=len(vocab)))]).astype(np.int64)
    return TermCounts(vocab, indptr, doc.astype(np.int32), tf.astype(np.int32), lengths.astype(np.int32))


def write_counts(build_dir: Path, name: str, counts: TermCounts) -> None:
    path = build_dir / f"bm25-{name}"
    path.mkdir()
    (path / "vocab.json").write_text(json.dumps(sorted(counts.vocab, key=counts.vocab.__getitem__)),
                                     encoding="utf-8")
    np.save(path / "indptr.npy", counts.indptr.astype(np.int64))
    np.save(path / "doc.npy", counts.doc.astype(np.int32))
    np.save(path / "tf.npy", counts.tf.astype(np.int32))
    np.save(path / "lengths.npy", counts.lengths.astype(np.int32))


def read_counts(build_dir: Path, name: str) -> TermCounts:
    path = build_dir / f"bm25-{name}"
    try:
        terms = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
        indptr, doc, tf, lengths = (np.load(path / f"{part}.npy").astype(dtype, copy=False) for part, dtype in
                                    (("indptr", np.int64), ("doc", np.int32), ("tf", np.int32),
                                     ("lengths", np.int32)))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{path} is damaged or missing ({exc}): "
                                "run `qa index --full` to rebuild") from exc
    if len(indptr) != len(terms) + 1 or len(doc) != len(tf) or indptr[-1] != len(doc) or (
            len(doc) and doc.max() >= len(lengths)):
        raise IndexCorruptError(f"{path} is damaged: run `qa index --full` to rebuild")
    return TermCounts({t: i for i, t in enumerate(terms)}, indptr, doc, tf, lengths)


def merge_counts(base: TermCounts, keep: np.ndarray, documents: list[str]) -> TermCounts:
    """The counts of a base's rows still current (`keep`, ascending) followed by a delta's
    `documents`: the same counts as `count_terms` over all those rows' terms."""
    row = np.full(base.rows, -1, dtype=np.int64)
    row[keep] = np.arange(len(keep))
    doc = row[base.doc]
    kept = doc >= 0
    term, doc, tf = base.term[kept], doc[kept], base.tf[kept]
    vocab = dict(base.vocab)
    lengths = [base.lengths[keep]]
    if documents:  # the delta's (few) pairs go in after the base's pairs of the same term
        more = count_terms(documents)
        ids = np.array([vocab.setdefault(t, len(vocab)) for t in more.vocab], dtype=np.int64)[more.term]
        order = np.lexsort((more.doc, ids))
        at = np.searchsorted(term, ids[order], side="right")
        term, doc = np.insert(term, at, ids[order]), np.insert(doc, at, more.doc[order] + len(keep))
        tf = np.insert(tf, at, more.tf[order])
        lengths.append(more.lengths)
    used = np.bincount(term, minlength=len(vocab)) > 0  # terms of removed rows only are gone
    new_id = np.cumsum(used) - 1
    names = list(vocab)
    vocab = {names[i]: int(new_id[i]) for i in np.flatnonzero(used).tolist()}
    return _counts(vocab, new_id[term], doc, tf, np.concatenate(lengths))
