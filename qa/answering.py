"""Scored sentences -> an `Answer`: verbatim sentences with numbered citations, or an abstention.

Answers are extractive by design: every sentence shown is quoted from an article, with the
article's title, date and outlet and the passage around it, so every claim can be checked. When
the best evidence is not relevant enough the answer says so instead of quoting something
unrelated. Follow-up questions ("why does he think so?") are retrieved together with the earlier
question they refer to.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from datetime import date

import numpy as np

from qa.embedding import Embedder
from qa.retrieval import LiveIndex, ScoredSentence, Searchable, search
from qa.settings import Settings
from qa.terms import terms

# Calibrated on ../shared/eval with the bundled model (benchmarks/abstention_experiment.py): the
# confidence (best dense cosine of the sentence or its passage, plus 0.3 x the share of the
# question's terms the corpus knows) below which a question is declined.
DEFAULT_MIN_CONFIDENCE = 0.68
NOT_FOUND = "I couldn't find this in the indexed articles."
_FOLLOW_UP = re.compile(r"\b(he|she|it|they|him|her|them|his|hers|its|their|theirs|this|these|those|"
                        r"there|such|the same|what about|how about|and what|what else)\b", re.I)


@dataclass(frozen=True)
class Citation:
    number: int
    article_id: str
    title: str
    date: str | None  # ISO date of publication
    source: str
    location: str  # file in the corpus (or record in it)
    url: str
    sentence: str
    start: int  # char span of the sentence in the article text
    end: int
    passage: str  # the sentence with its neighbours
    passage_start: int
    passage_end: int
    score: float


@dataclass(frozen=True)
class Answer:
    question: str
    found: bool
    text: str  # sentences with [n] markers, or the not-found message
    citations: list[Citation] = field(default_factory=list)
    closest: list[Citation] = field(default_factory=list)  # when not found: nearest passages, not an answer
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict:
        data = asdict(self)
        for c in data["citations"] + data["closest"]:
            c.pop("article_id")
        return data


def needs_context(question: str) -> bool:
    """Short questions or ones leaning on an earlier turn (pronouns, "what about ...")."""
    return len(terms(question)) <= 2 or bool(_FOLLOW_UP.search(question))


class Engine:
    """The answer engine over a live index: `answer(question, history) -> Answer`."""

    def __init__(self, settings: Settings, embedder: Embedder):
        self.settings = settings
        self.embedder = embedder
        self.index = LiveIndex(settings.index_dir, embedder.model_id)

    def answer(self, question: str, history: list[str] | None = None, *,
               max_sentences: int | None = None, min_confidence: float | None = None,
               since: date | None = None, until: date | None = None,
               article_ids: set[str] | None = None) -> Answer:
        started = time.perf_counter()
        question = " ".join(question.split())[:2000]
        if not terms(question) and not re.search(r"\w", question):
            return Answer(question, False, "Please ask a question about the articles.")
        index = self.index.get()
        context = _context(question, history or [])
        allowed = _filter(index, since, until, article_ids)
        k = max_sentences or self.settings.max_sentences
        hits = search(index, self.embedder, question, context=context, k=max(3 * k, 10), allowed=allowed)
        searched = time.perf_counter()
        threshold = min_confidence if min_confidence is not None else (
            self.settings.min_confidence if self.settings.min_confidence is not None else DEFAULT_MIN_CONFIDENCE)
        timings = {"search": (searched - started) * 1000}
        # Whether to answer is decided by the best-ranked sentence (the ranking stays the fused
        # one); every further sentence quoted must pass the same bar, or it is left out.
        found = bool(hits) and hits[0].confidence >= threshold
        chosen = _diverse([h for h in hits if h.confidence >= threshold], k) if found else []
        if not chosen:
            closest = [_citation(index, i + 1, h) for i, h in enumerate(_diverse(hits, 2))]
            timings["total"] = (time.perf_counter() - started) * 1000
            return Answer(question, False, NOT_FOUND, [], closest, timings)
        citations = [_citation(index, i + 1, h) for i, h in enumerate(chosen)]
        timings["total"] = (time.perf_counter() - started) * 1000
        return Answer(question, True, _compose(citations), citations, [], timings)


def _context(question: str, history: list[str]) -> str:
    previous = [h for h in history if h.strip()]
    return previous[-1] if previous and needs_context(question) else ""


def _filter(index: Searchable, since: date | None, until: date | None,
            article_ids: set[str] | None) -> np.ndarray | None:
    if since is None and until is None and not article_ids:
        return None
    snap = index.snapshot
    ok_articles = {a.id for a in snap.articles.values()
                   if (not article_ids or a.id in article_ids)
                   and (since is None or (a.published is not None and a.published >= since))
                   and (until is None or (a.published is not None and a.published <= until))}
    return np.fromiter((s.article_id in ok_articles for s in snap.sentences), dtype=bool,
                       count=len(snap.sentences))


def _diverse(hits: list[ScoredSentence], k: int) -> list[ScoredSentence]:
    """Best-first, skipping sentences that repeat one already chosen (copies of a story too)."""
    chosen: list[ScoredSentence] = []
    seen: list[set[str]] = []
    for h in hits:
        words = set(terms(h.text))
        if any(len(words & s) >= 0.8 * max(1, min(len(words), len(s))) for s in seen):
            continue
        chosen.append(h)
        seen.append(words)
        if len(chosen) == k:
            break
    return chosen


def _citation(index: Searchable, number: int, hit: ScoredSentence) -> Citation:
    snap = index.snapshot
    a = hit.article
    rows = [r for r in (hit.row - 1, hit.row + 1)
            if 0 <= r < len(snap.sentences) and snap.sentences[r].article_id == a.id]
    start = min([hit.start] + [snap.sentences[r].start for r in rows])
    end = max([hit.end] + [snap.sentences[r].end for r in rows])
    return Citation(number, a.id, a.title, a.published.isoformat() if a.published else None, a.source,
                    a.location, a.url, hit.text, hit.start, hit.end, a.text[start:end], start, end,
                    round(hit.score, 4))


def _compose(citations: list[Citation]) -> str:
    if len({c.article_id for c in citations}) == 1:
        return " ".join(f"{c.sentence} [{c.number}]" for c in citations)
    lines = []
    for c in citations:
        when = f", {c.date}" if c.date else ""
        lines.append(f"{c.sentence} [{c.number}] ({c.title}{when})")
    return "\n".join(lines)
