"""Question -> ranked, scored sentences from the active index build (hybrid retrieval).

Each candidate sentence is scored by a weighted sum of signals, chosen by measurement on
../shared/eval (benchmarks/fusion_experiment.py; numbers in the README):
dense cosine of the sentence to the question, the same for the question without its corpus-wide
topic words, BM25 of the sentence, dense and BM25 scores of the best chunk holding the sentence
(passage context), the dense cosine of its neighbouring sentences, whether the sentence holds the
kind of answer asked for (number, date, name) and, for a figure, whether it counts what is asked
("How many times ..." -> "10 times"), and a small length prior. `LiveIndex` switches to a
newer build as soon as it is published.
"""

from __future__ import annotations

import math
import threading
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from qa import store
from qa.articles import Article
from qa.disagreement import asked_outcome, asked_units, states_figure
from qa.embedding import Embedder
from qa.errors import QAError
from qa.terms import answer_type, has_answer_type, names, terms

WEIGHTS = {"dense": 1.0, "reduced": 1.0, "bm25": 0.5, "chunk_dense": 0.3, "chunk_bm25": 0.4,
           "neighbour": 0.1, "answer_type": 0.4, "counted": 0.4, "length": 0.15}
# Confidence (what abstains; benchmarks/abstention_experiment.py): the sentence's relevance (the
# higher dense cosine of the sentence or its passage) + COVERAGE_WEIGHT x the IDF-weighted share of
# the question's terms found in the sentence or its neighbours - UNKNOWN_NAME_WEIGHT x the share of
# the names in the question (capitalized words) that the corpus never mentions.
COVERAGE_WEIGHT = 0.4
UNKNOWN_NAME_WEIGHT = 0.5
# For questions asking for the latest state: the newest of the relevant candidates (fused score
# within RELEVANT_SHARE of the best) gains up to this much, the oldest nothing.
RECENCY_WEIGHT = 0.5
RELEVANT_SHARE = 0.8
TOPIC_SHARE = 0.05  # a term in more than this share of sentences is topic, not question, signal
CANDIDATES = 200  # per signal, before fusion
ANSWER_TYPE_POOL = 50  # best fused candidates checked for the kind of answer asked
FILTERED_EXACT = 100_000  # a date filter leaving at most this many sentences is searched exactly


@dataclass(frozen=True)
class ScoredSentence:
    row: int
    article: Article
    ordinal: int
    start: int
    end: int
    text: str
    score: float  # fused score: what ranks
    confidence: float  # relevance + question-term coverage - unknown names: what abstains
    relevance: float  # the higher dense cosine of the sentence or of its passage
    coverage: float  # IDF-weighted share of the question's terms in the sentence or its neighbours


class Searchable:
    """A loaded build plus the derived arrays queries need (computed once per build)."""

    def __init__(self, snapshot: store.Snapshot):
        self.snapshot = snapshot
        n = len(snapshot.sentences)
        self.sentence_vectors = snapshot.sentence_vectors
        self.chunk_vectors = snapshot.chunk_vectors
        # A large index is an IVF index: candidates come from it instead of a full scan.
        self.ann = not store.is_exact(snapshot.sentence_index)
        # With a delta beside an IVF base, index ids are not rows: each id's row (-1: replaced).
        self.row_of_id = None
        if snapshot.sentence_ids is not None:
            self.row_of_id = np.full(snapshot.sentence_index.ntotal, -1, dtype=np.int64)
            self.row_of_id[snapshot.sentence_ids] = np.arange(n)
        sentences, chunks, m = snapshot.sentences, snapshot.chunks, len(snapshot.chunks)
        first_row = {s.article_id: row for row, s in enumerate(sentences) if s.ordinal == 0}
        # Chunks holding each sentence form a contiguous range of chunk rows [chunk_lo, chunk_hi]
        # (-1: none). Each chunk's sentence rows are expanded and the lowest and highest chunk row
        # holding each sentence row kept.
        base = np.fromiter((first_row[c.article_id] for c in chunks), np.int64, m)
        first = base + np.fromiter((c.first_sentence for c in chunks), np.int64, m)
        counts = base + np.fromiter((c.last_sentence for c in chunks), np.int64, m) - first + 1
        owner = np.repeat(np.arange(m), counts)
        rows = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts - first, counts)
        self.chunk_lo = np.full(n, m, dtype=np.int64)
        np.minimum.at(self.chunk_lo, rows, owner)
        self.chunk_lo[self.chunk_lo == m] = -1
        self.chunk_hi = np.full(n, -1, dtype=np.int64)
        np.maximum.at(self.chunk_hi, rows, owner)
        # The sentences either side of each row in its article (-1: none); rows of an article are
        # consecutive, in order.
        ordinal = np.fromiter((s.ordinal for s in sentences), np.int64, n)
        self.prev_row = np.where(ordinal > 0, np.arange(n) - 1, -1)
        self.next_row = np.full(n, -1, dtype=np.int64)
        self.next_row[:-1] = np.where(ordinal[1:] > 0, np.arange(1, n), -1)
        lengths = np.fromiter((s.end - s.start for s in sentences), np.float64, n)
        self.length_prior = (np.log(np.maximum(lengths, 20) / 20) / math.log(15)).astype(np.float32)
        day = {a.id: a.published.toordinal() if a.published else np.nan for a in snapshot.articles.values()}
        self.published_day = np.fromiter((day[s.article_id] for s in sentences), np.float64, n)
        dated = self.published_day[~np.isnan(self.published_day)]
        self.spans_dates = bool(len(dated)) and bool(dated.min() < dated.max())  # "latest" means something

    def known_share(self, query_terms: list[str]) -> float:
        """Share of the query's terms that occur anywhere in the index (0 for an empty query)."""
        vocab = self.snapshot.sentence_bm25.vocab_dict
        return sum(t in vocab for t in query_terms) / len(query_terms) if query_terms else 0.0

    def unknown_names(self, query: str) -> float:
        """Share of the names in the query that occur nowhere in the index (0 without names)."""
        found = names(query)
        return 1.0 - self.known_share(found) if found else 0.0

    @cached_property
    def _doc_freq(self) -> np.ndarray:
        """Sentences holding each term, by BM25 vocabulary id."""
        return np.diff(self.snapshot.sentence_bm25.scores["indptr"])

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency over sentences (highest for a term the index lacks)."""
        i = self.snapshot.sentence_bm25.vocab_dict.get(term)
        df = int(self._doc_freq[i]) if i is not None and i < len(self._doc_freq) else 0
        n = len(self.snapshot.sentences)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def coverage(self, query_terms: list[str], rows: np.ndarray) -> np.ndarray:
        """For each row: the IDF-weighted share of the query's terms found in its sentence or in
        the sentences either side of it in its article."""
        unique = list(dict.fromkeys(query_terms))
        if not unique:
            return np.zeros(len(rows), dtype=np.float32)
        weights = np.array([self.idf(t) for t in unique])
        out = np.empty(len(rows), dtype=np.float32)
        for j, row in enumerate(rows):
            window = set().union(*(terms(self.snapshot.sentence_text(int(r)))
                                   for r in (self.prev_row[row], row, self.next_row[row]) if r >= 0))
            out[j] = weights[[t in window for t in unique]].sum() / weights.sum()
        return out

    @cached_property
    def topic_terms(self) -> frozenset[str]:
        df, n = self._doc_freq, len(self.snapshot.sentences)
        return frozenset(t for t, i in self.snapshot.sentence_bm25.vocab_dict.items()
                         if i < len(df) and df[i] > TOPIC_SHARE * n)


class LiveIndex:
    """The active build of an index folder, reloaded when `CURRENT` changes.

    `background=True` (the web app): while a new build loads, in a thread of its own, questions
    are answered from the build already loaded, so a reload (seconds on a large index) never
    stalls the chat; `get(wait=True)` still waits for the newest build."""

    def __init__(self, index_dir: Path, model: str | None = None, background: bool = False):
        self.index_dir = index_dir
        self._model = model
        self._background = background
        self._current: Searchable | None = None
        self._lock = threading.Lock()  # held while a build loads
        self._starting = threading.Lock()  # held while a background load is started
        self._loading: threading.Thread | None = None
        self._failed: str | None = None  # a build that could not be loaded in the background

    def get(self, wait: bool | None = None) -> Searchable:
        build_id = store.current_build_id(self.index_dir)
        current = self._current
        if current is not None and current.snapshot.manifest.build_id == build_id:
            return current
        if wait is None:
            wait = not self._background
        if current is not None and not wait:
            self._load_in_background()
            return current
        with self._lock:
            if self._current is None or self._current.snapshot.manifest.build_id != build_id:
                self._current = Searchable(store.load_snapshot(self.index_dir, self._model))
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


def reduce_question(question: str, topic: frozenset[str]) -> str:
    """The question without words that are topic terms of the whole corpus."""
    kept = [w for w in question.split() if not (terms(w) and all(t in topic for t in terms(w)))]
    return " ".join(kept) or question


def search(index: Searchable, embedder: Embedder, question: str, *, context: str = "",
           k: int = 10, allowed: np.ndarray | None = None, prefer_recent: bool = False) -> list[ScoredSentence]:
    """The `k` best sentences for `question`, best first.

    `context`: an earlier question this one follows up; then sentences are ranked by the sum of
    their scores for the question alone (what is asked now) and with its context (what it is
    about). `allowed`: optional boolean mask over sentence rows (date or article filters).
    `prefer_recent`: among the relevant sentences, newer articles rank higher.
    """
    snap = index.snapshot
    if not snap.sentences:
        return []
    queries = [question] + ([f"{context} {question}"] if context else [])
    vectors = embedder.encode(queries + [reduce_question(q, index.topic_terms) for q in queries])
    signals = [_Signals(index, q, vectors[i], vectors[len(queries) + i]) for i, q in enumerate(queries)]
    cand = _candidates(signals, len(snap.sentences), allowed)
    if len(cand) == 0:
        return []
    scored = [sig.score(cand) for sig in signals]
    fused = sum(f for f, _ in scored) / len(signals)
    relevance = scored[-1][1]  # with context when there is one
    kind = answer_type(question)
    if kind is not None:  # the answer-type cues only reorder near the top: checked there only
        pool = np.argsort(-fused, kind="stable")[:ANSWER_TYPE_POOL]
        texts = [snap.sentence_text(int(cand[i])) for i in pool]
        typed = np.array([has_answer_type(t, kind, question, index.topic_terms) for t in texts], dtype=bool)
        fused[pool] += WEIGHTS["answer_type"] * typed
        units = asked_units(question) if kind == "number" else None
        if units:  # a figure written with the unit asked for: "How many times ..." -> "10 times"; of
            # soldiers killed, when the question asks how many were killed, not how many moved
            outcome = asked_outcome(question)
            fused[pool] += WEIGHTS["counted"] * np.array(
                [ok and states_figure(t, units, outcome) for ok, t in zip(typed, texts)], dtype=np.float32)
    if prefer_recent:
        fused = fused + RECENCY_WEIGHT * _recency(index.published_day[cand], fused)
    order = np.argsort(-fused, kind="stable")[:k]
    asked = signals[-1].terms
    coverage = index.coverage(asked, cand[order])
    unknown = UNKNOWN_NAME_WEIGHT * index.unknown_names(queries[-1])
    out = []
    for i, cover in zip(order, coverage):
        row = int(cand[i])
        s = snap.sentences[row]
        rel = float(relevance[i])
        out.append(ScoredSentence(row, snap.articles[s.article_id], s.ordinal, s.start, s.end,
                                  snap.sentence_text(row), float(fused[i]),
                                  rel + COVERAGE_WEIGHT * float(cover) - unknown, rel, float(cover)))
    return out


class _Signals:
    """The retrieval signals of one query over every sentence of the index."""

    def __init__(self, index: Searchable, query: str, qv: np.ndarray, rv: np.ndarray):
        snap = index.snapshot
        self.index, self.qv = index, qv
        self.terms = terms(query)
        n, m = len(snap.sentences), len(snap.chunks)
        # Raw BM25 scores; each signal is scaled to a best of 1 where it is read (cheaper than
        # scaling every row of a large index).
        self.bm25 = snap.sentence_bm25.get_scores(self.terms)[:n] if self.terms else np.zeros(n, np.float32)
        self.chunk_bm25 = snap.chunk_bm25.get_scores(self.terms)[:m] if self.terms else np.zeros(m, np.float32)
        self.bm25_scale, self.chunk_bm25_scale = _scale(self.bm25), _scale(self.chunk_bm25)
        self.rv = rv
        # Exact scores over all sentences (a flat matrix product, ~1 ms per 10^4 sentences), unless
        # the index is large: then the IVF index gives candidates and only they are scored.
        self.dense = None if index.ann else index.sentence_vectors @ qv
        self.reduced = None if index.ann else index.sentence_vectors @ rv

    def pools(self, allowed: np.ndarray | None) -> list[np.ndarray]:
        """The best rows by each signal: BM25, dense and topic-reduced dense."""
        def best(scores: np.ndarray) -> np.ndarray:
            return _top(scores if allowed is None else np.where(allowed, scores, -np.inf), CANDIDATES)

        # BM25 proposes only rows that hold a query term
        lexical = _top_nonzero(self.bm25 if allowed is None else np.where(allowed, self.bm25, 0), CANDIDATES)
        if not self.index.ann:
            return [lexical, best(self.dense), best(self.reduced)]
        if allowed is not None:
            rows = np.flatnonzero(allowed)
            if len(rows) <= FILTERED_EXACT:  # a filter narrow enough to score its rows exactly
                vectors = self.index.sentence_vectors[rows]
                return [lexical, rows[_top(vectors @ self.qv, CANDIDATES)], rows[_top(vectors @ self.rv, CANDIDATES)]]
        import faiss

        params = None if allowed is None else faiss.SearchParametersIVF(
            sel=faiss.IDSelectorBatch(self._ids(np.flatnonzero(allowed))), nprobe=self.index.snapshot.sentence_index.nprobe)
        _, found = self.index.snapshot.sentence_index.search(np.stack([self.qv, self.rv]), CANDIDATES, params=params)
        return [lexical] + [self._rows(ids[ids >= 0]) for ids in found]

    def _ids(self, rows: np.ndarray) -> np.ndarray:
        ids = self.index.snapshot.sentence_ids
        return rows if ids is None else ids[rows]

    def _rows(self, ids: np.ndarray) -> np.ndarray:
        if self.index.row_of_id is None:
            return ids
        rows = self.index.row_of_id[ids]
        return rows[rows >= 0]

    def dense_at(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact cosine of the question and of its reduced form to the given sentence rows."""
        if self.dense is not None:
            return self.dense[rows], self.reduced[rows]
        vectors = self.index.sentence_vectors[rows]
        return vectors @ self.qv, vectors @ self.rv

    def score(self, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fused score without the answer-type cue (what ranks) and relevance (part of what abstains)."""
        lo, hi = self.index.chunk_lo[cand], self.index.chunk_hi[cand]
        ids = _chunk_rows(lo, hi)
        chunk_dense = np.full(len(self.chunk_bm25), -1.0, dtype=np.float32)
        chunk_dense[ids] = self.index.chunk_vectors[ids] @ self.qv
        dc, bc = _range_max(chunk_dense, lo, hi), _range_max(self.chunk_bm25, lo, hi) * self.chunk_bm25_scale
        w = WEIGHTS
        dense, reduced = self.dense_at(cand)
        fused = (w["dense"] * dense + w["reduced"] * reduced + w["bm25"] * self.bm25[cand] * self.bm25_scale
                 + w["chunk_dense"] * dc + w["chunk_bm25"] * bc + w["neighbour"] * self.neighbour(cand)
                 + w["length"] * self.index.length_prior[cand])
        return fused, np.maximum(dense, dc)

    def neighbour(self, rows: np.ndarray) -> np.ndarray:
        """The higher dense cosine of the sentences either side of each row (0 with none)."""
        sides = np.concatenate([self.index.prev_row[rows], self.index.next_row[rows]])
        cosine = np.zeros(len(sides), dtype=np.float32)
        present = sides >= 0
        if present.any():
            cosine[present] = self.dense[sides[present]] if self.dense is not None else (
                self.index.sentence_vectors[sides[present]] @ self.qv)
        return np.maximum(cosine[:len(rows)], cosine[len(rows):])


def _recency(days: np.ndarray, fused: np.ndarray) -> np.ndarray:
    """0 (oldest) to 1 (newest) among relevant dated candidates; 0 for the rest."""
    relevant = (fused >= RELEVANT_SHARE * fused.max()) & ~np.isnan(days)
    if relevant.sum() < 2:
        return np.zeros_like(fused)
    lo, hi = days[relevant].min(), days[relevant].max()
    if hi == lo:
        return np.zeros_like(fused)
    return np.where(relevant, (days - lo) / (hi - lo), 0.0).astype(np.float32)


def _chunk_rows(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Every chunk row in the ranges [lo, hi] (rows without a chunk have lo = -1)."""
    ok = lo >= 0
    if (hi[ok] - lo[ok] <= 1).all():  # one sentence of overlap: a sentence is in at most two chunks
        return np.unique(np.concatenate([lo[ok], hi[ok]]))
    return np.unique(np.concatenate([np.arange(a, b + 1) for a, b in zip(lo[ok], hi[ok])] or [[]])).astype(np.int64)


def _range_max(scores: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """For each candidate, the best score among the chunks [lo, hi] holding it (0 if none)."""
    ok = lo >= 0
    out = np.zeros(len(lo), dtype=np.float32)
    if (hi[ok] - lo[ok] <= 1).all():
        out[ok] = np.maximum(scores[lo[ok]], scores[hi[ok]])
        return out
    out[ok] = [scores[a:b + 1].max() for a, b in zip(lo[ok], hi[ok])]
    return out


def _scale(scores: np.ndarray) -> float:
    """The factor that brings the best score to 1 (0 when nothing scores)."""
    top = float(scores.max()) if len(scores) else 0.0
    return 1.0 / top if top > 0 else 0.0


def _candidates(signals: list[_Signals], n: int, allowed: np.ndarray | None) -> np.ndarray:
    """Union of the best rows of each signal of each query (all rows when the index is small)."""
    if n <= 2 * CANDIDATES:
        cand = np.arange(n)
    else:  # filtered first, so a narrow filter still finds its sentences
        cand = np.unique(np.concatenate([p for sig in signals for p in sig.pools(allowed)]))
    return cand[allowed[cand]] if allowed is not None else cand


def _top_nonzero(scores: np.ndarray, k: int) -> np.ndarray:
    """The best k rows among those scoring above zero."""
    rows = np.flatnonzero(scores > 0)
    return rows if len(rows) <= k else rows[np.argpartition(-scores[rows], k)[:k]]


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    if len(scores) <= k:
        return np.arange(len(scores))
    return np.argpartition(-scores, k)[:k]
