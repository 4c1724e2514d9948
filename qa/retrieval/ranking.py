"""Question -> ranked, scored sentences: the fusion of the retrieval signals, the answer cues,
recency for "latest" questions, and each hit's confidence (what abstention reads).

The weights were chosen by measurement on ../shared/eval (benchmarks/fusion_experiment.py, which
runs this module's own `signal_table` and `fuse`; docs/ranking.md). BM25's k1 and b live here too:
the index stores term counts, and the ranking turns them into scores.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from qa.embedding import Embedder
from qa.question import Question
from qa.retrieval.cues import CUES, answer_cues
from qa.retrieval.seam import IndexView, Layout, Record, Scope
from qa.retrieval.signals import Query, QuerySignals, candidates, coverage, unknown_names
from qa.retrieval.specifics import specifics, unwritten_share
from qa.terms import terms

WEIGHTS = {"dense": 1.0, "reduced": 1.0, "bm25": 0.5, "chunk_dense": 0.3, "chunk_bm25": 0.4,
           "neighbour": 0.1, "length": 0.15, "answer_type": 0.4, "counted": 0.4, "phrase": 0.0,
           "novelty": 0.0}
# (k1, b) chosen on ../shared/eval: sentences are short, so length normalization is weaker for them
# than for chunks.
BM25_PARAMS = {"sentences": (1.2, 0.5), "chunks": (1.5, 0.75)}
# Confidence (what abstains; benchmarks/abstention_experiment.py): the sentence's relevance +
# COVERAGE_WEIGHT x the IDF-weighted share of the question's terms found in the sentence or its
# neighbours - UNKNOWN_NAME_WEIGHT x the share of the question's names the corpus never mentions.
COVERAGE_WEIGHT = 0.4
UNKNOWN_NAME_WEIGHT = 0.5
# - UNWRITTEN_WEIGHT x the share of the question's names with a number ("RTX 4090") that none of the
# best sentences' articles writes (qa.retrieval.specifics): benchmarks/results/realnews-questions.md.
UNWRITTEN_WEIGHT = 1.0
# For questions asking for the latest state: the newest of the relevant candidates (fused score
# within RELEVANT_SHARE of the best) gains up to this much, the oldest nothing.
RECENCY_WEIGHT = 0.5
RELEVANT_SHARE = 0.8
TOPIC_SHARE = 0.05  # a term in more than this share of sentences is topic, not question, signal
ANSWER_TYPE_POOL = 50  # best fused candidates checked for the kind of answer asked
_EVERYTHING = Scope()  # no date range, every article


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoredSentence(Record):
    """A sentence row as ranked for one question."""
    score: float  # fused score: what ranks
    confidence: float  # relevance + question-term coverage - unknown names: what abstains
    relevance: float  # the higher dense cosine of the sentence or of its passage
    coverage: float  # IDF-weighted share of the question's terms in the sentence or its neighbours


@dataclass(frozen=True)
class SignalTable:
    """Every signal of every candidate row: per query (the question, and with its context), and
    the answer cues (0 or 1; unset outside the candidates checked for them)."""
    rows: np.ndarray
    layout: Layout | None
    queries: list[QuerySignals]
    cues: dict[str, np.ndarray] = field(default_factory=dict)  # CUES: answer_type bool, the rest float32


def reduce_question(question: str, topic: frozenset[str]) -> str:
    """The question without words that are topic terms of the whole corpus."""
    kept = [w for w in question.split() if not (terms(w) and all(t in topic for t in terms(w)))]
    return " ".join(kept) or question


def signal_table(view: IndexView, embedder: Embedder, question: Question, scope: Scope = _EVERYTHING,
                 cue_pool: int | None = ANSWER_TYPE_POOL, cues: Collection[str] | None = None) -> SignalTable:
    """The signals of the candidates for `question`; answer cues for the `cue_pool` best by the
    other signals (None: for every candidate). `cues`: which (`CUES`) to check; None: those the
    shipped weights use."""
    asked = question.queries
    vectors = embedder.encode_questions(list(asked) + [reduce_question(q, view.topic_terms) for q in asked])
    queries = [Query(view, q, vectors[i], vectors[len(asked) + i]) for i, q in enumerate(asked)]
    allowed = view.allowed(scope)
    cand = candidates(view, queries, allowed)
    if len(cand) == 0:
        return SignalTable(cand, None, [])
    layout = view.layout(cand)
    table = SignalTable(cand, layout, [q.signals(cand, layout) for q in queries])
    wanted = [c for c in CUES if (c in cues if cues is not None else WEIGHTS[c])]
    if question.answer_type is None:  # no kind of answer asked: those cues are off
        wanted = [c for c in wanted if c not in ("answer_type", "counted")]
    if not wanted:
        return table
    # The cues only reorder near the top: checked there only.
    base = fuse(table)
    pool = np.argsort(-base, kind="stable")[:cue_pool] if cue_pool is not None else np.arange(len(cand))
    found = answer_cues(view.texts(cand[pool]), question, view.topic_terms, wanted)
    values = {name: np.zeros(len(cand), dtype=bool if name == "answer_type" else np.float32)
              for name in found}
    for name, checked in found.items():
        values[name][pool] = checked
    return SignalTable(cand, layout, table.queries, values)


def fuse(table: SignalTable, weights: dict[str, float] = WEIGHTS) -> np.ndarray:
    """The fused score of each candidate: the weighted signals, averaged over the queries, plus the
    weighted answer cues."""
    fused = sum(_weighted(q, weights) for q in table.queries) / len(table.queries)
    for name in CUES:  # in place: the sum stays float32
        if name in table.cues:
            fused += weights[name] * table.cues[name]
    return fused


def _weighted(q: QuerySignals, w: dict[str, float]) -> np.ndarray:
    v = q.values
    return (w["dense"] * v["dense"] + w["reduced"] * v["reduced"] + w["bm25"] * v["bm25"] * q.bm25_scale
            + w["chunk_dense"] * v["chunk_dense"] + w["chunk_bm25"] * v["chunk_bm25"]
            + w["neighbour"] * v["neighbour"] + w["length"] * v["length"])


def rank(view: IndexView, embedder: Embedder, question: Question, *, k: int = 10,
         scope: Scope = _EVERYTHING) -> list[ScoredSentence]:
    """The `k` best sentences for `question` within `scope`, best first, each with its confidence.

    A follow-up question is ranked by the sum of its scores alone (what is asked now) and with its
    context (what it is about). A question asking for the latest state ranks newer articles higher
    among the relevant sentences."""
    if not view.sentence_count:
        return []
    table = signal_table(view, embedder, question, scope)
    cand = table.rows
    if len(cand) == 0:
        return []
    fused = fuse(table)
    if question.asks_latest:
        fused = fused + RECENCY_WEIGHT * _recency(table.layout.day, fused)
    order = np.argsort(-fused, kind="stable")[:k]
    rows = cand[order]
    cover = coverage(view, question.terms, rows, view.layout(rows))
    records = view.records(rows.tolist())
    unknown = UNKNOWN_NAME_WEIGHT * unknown_names(view, question.names) + UNWRITTEN_WEIGHT * unwritten_share(
        specifics(question.queries[-1]), {r.article.id: r.article for r in records}.values())
    relevance = table.queries[-1].relevance[order]  # with the context when there is one
    return [ScoredSentence(row=r.row, article=r.article, ordinal=r.ordinal, start=r.start, end=r.end,
                           text=r.text, score=float(fused[i]),
                           confidence=float(rel) + COVERAGE_WEIGHT * float(c) - unknown,
                           relevance=float(rel), coverage=float(c))
            for r, i, rel, c in zip(records, order, relevance, cover, strict=True)]


def _recency(days: np.ndarray, fused: np.ndarray) -> np.ndarray:
    """0 (oldest) to 1 (newest) among relevant dated candidates; 0 for the rest."""
    relevant = (fused >= RELEVANT_SHARE * fused.max()) & ~np.isnan(days)
    if relevant.sum() < 2:
        return np.zeros_like(fused)
    lo, hi = days[relevant].min(), days[relevant].max()
    if hi == lo:
        return np.zeros_like(fused)
    return np.where(relevant, (days - lo) / (hi - lo), 0.0).astype(np.float32)
