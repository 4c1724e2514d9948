"""Scored sentences -> an `Answer`: verbatim sentences with numbered citations, or an abstention.

Answers are extractive by design: every sentence shown is quoted from an article, with the
article's title, date and outlet and the passage around it, so every claim can be checked. When
the best evidence is not relevant enough the answer says so instead of quoting something
unrelated. Follow-up questions ("why does he think so?") are retrieved together with the earlier
question they refer to.

News-aware: a story carried by several outlets is cited once, with the others listed ("also in");
questions about the latest state prefer newer articles; citations that span dates are listed
oldest to newest; and when the sources state different figures for what is asked, the answer
quotes each of them and says that they differ.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from datetime import date

import numpy as np

from qa.disagreement import asked_units, differ, figures, normal_unit
from qa.embedding import Embedder
from qa.retrieval import LiveIndex, ScoredSentence, Searchable, search
from qa.settings import Settings
from qa.terms import terms

# Calibrated on ../shared/eval with the bundled model (benchmarks/abstention_experiment.py): the
# confidence (`retrieval.ScoredSentence.confidence`) below which a question is declined.
DEFAULT_MIN_CONFIDENCE = 0.41
NOT_FOUND = "I couldn't find this in the indexed articles."
_FOLLOW_UP = re.compile(r"\b(he|she|it|they|him|her|them|his|hers|its|their|theirs|this|these|those|"
                        r"there|such|the same|what about|how about|and what|what else)\b", re.I)
_LATEST = re.compile(r"\b(latest|most recent|newest|recent|recently|current|currently|now|today|so far|"
                     r"to date|as of|still|anymore|any more|update|updated)\b", re.I)
DISAGREEMENT_POOL = 6  # best sentences looked at for figures that differ
REPEAT_OVERLAP = 0.8  # share of the shorter sentence's terms that makes it a repeat of another
COPY_OVERLAP = 0.6  # the same, between two copies of one syndicated story (edited lightly)
MIN_TOPIC_SHARE = 0.5  # a figure counts when its sentence names this share of the question's terms
_QUESTION_WORDS = frozenset({"many", "much", "far", "long", "large", "big"})


@dataclass(frozen=True)
class Copy:
    """Another outlet's copy of a cited story."""
    title: str
    date: str | None
    source: str
    location: str
    url: str


@dataclass(frozen=True)
class Citation:
    number: int
    article_id: str
    title: str
    date: str | None  # ISO date of publication
    source: str  # the outlet
    author: str
    location: str  # file in the corpus (or record in it)
    url: str
    sentence: str
    start: int  # char span of the sentence in the article text
    end: int
    passage: str  # the sentence with its neighbours
    passage_start: int
    passage_end: int
    score: float
    also_in: list[Copy] = field(default_factory=list)  # syndicated copies of the same story


@dataclass(frozen=True)
class Claim:
    number: int  # the citation stating it
    figure: str  # as written
    date: str | None
    source: str


@dataclass(frozen=True)
class Disagreement:
    """Sources that state different figures for what the question asks."""
    unit: str
    claims: list[Claim]


@dataclass(frozen=True)
class Answer:
    question: str
    found: bool
    text: str  # sentences with [n] markers, or the not-found message
    citations: list[Citation] = field(default_factory=list)
    closest: list[Citation] = field(default_factory=list)  # when not found: nearest passages, not an answer
    disagreement: Disagreement | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    build_id: str = ""  # the index build that answered

    def to_json(self) -> dict:
        data = asdict(self)
        for c in data["citations"] + data["closest"]:
            c.pop("article_id")
        return data


def asks_latest(question: str) -> bool:
    """Whether the question asks for the latest or current state of things."""
    return bool(_LATEST.search(question))


def needs_context(question: str) -> bool:
    """Short questions or ones leaning on an earlier turn (pronouns, "what about ...")."""
    return len(terms(question)) <= 2 or bool(_FOLLOW_UP.search(question))


class Engine:
    """The answer engine over a live index: `answer(question, history) -> Answer`."""

    def __init__(self, settings: Settings, embedder: Embedder, background_reload: bool = False):
        """`background_reload`: answer from the loaded build while a newer one loads (the web app)."""
        self.settings = settings
        self.embedder = embedder
        self.index = LiveIndex(settings.index_dir, embedder.model_id, background=background_reload)

    def answer(self, question: str, history: list[str] | None = None, *,
               max_sentences: int | None = None, min_confidence: float | None = None,
               since: date | None = None, until: date | None = None,
               article_ids: set[str] | None = None) -> Answer:
        started = time.perf_counter()
        question = " ".join(question.split())[:2000]
        if not terms(question) and not re.search(r"\w", question):
            return Answer(question, False, "Please ask a question about the articles.")
        index = self.index.get()
        build = index.snapshot.manifest.build_id
        context = _context(question, history or [])
        allowed = _filter(index, since, until, article_ids)
        k = max_sentences or self.settings.max_sentences
        latest = index.spans_dates and asks_latest(question)
        query = (_LATEST.sub(" ", question).strip() or question) if latest else question
        hits = search(index, self.embedder, query, context=context, k=max(3 * k, 10), allowed=allowed,
                      prefer_recent=latest)
        searched = time.perf_counter()
        threshold = min_confidence if min_confidence is not None else (
            self.settings.min_confidence if self.settings.min_confidence is not None else DEFAULT_MIN_CONFIDENCE)
        timings = {"search": (searched - started) * 1000}
        # Whether to answer is decided by the best-ranked sentence (the ranking stays the fused
        # one); every further sentence quoted must pass the same bar, or it is left out.
        found = bool(hits) and hits[0].confidence >= threshold
        passing = [h for h in hits if h.confidence >= threshold] if found else []
        story = _story_of(index)
        chosen = _diverse(passing, k, story)
        if not chosen:
            closest = [_citation(index, i + 1, h) for i, h in enumerate(_diverse(hits, 2, story))]
            timings["total"] = (time.perf_counter() - started) * 1000
            return Answer(question, False, NOT_FOUND, [], closest, None, timings, build)
        differing = _differing(question, passing[:DISAGREEMENT_POOL], story)
        if differing:  # every differing source is quoted, even past max_sentences
            chosen += [h for h, _ in differing[1] if h.row not in {c.row for c in chosen}]
        if len({h.article.published for h in chosen}) > 1:  # spans dates: oldest to newest
            chosen.sort(key=lambda h: (h.article.published is None, h.article.published or date.min))
        citations = [_citation(index, i + 1, h) for i, h in enumerate(chosen)]
        disagreement = None
        if differing:
            number = {h.row: i + 1 for i, h in enumerate(chosen)}
            disagreement = Disagreement(differing[0], [
                Claim(number[h.row], figure, _iso(h.article.published), h.article.source) for h, figure in sorted(differing[1], key=lambda x: number[x[0].row])])
        timings["total"] = (time.perf_counter() - started) * 1000
        return Answer(question, True, _compose(citations, disagreement), citations, [], disagreement, timings,
                      build)


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


def _story_of(index: Searchable):  # noqa: ANN202 - Callable[[ScoredSentence], str]
    """The story a hit belongs to: the cited copy of its syndication group, or its own article."""
    copies = index.snapshot.copies
    return lambda hit: copies.get(hit.article.id, (hit.article.id,))[0]


def _diverse(hits: list[ScoredSentence], k: int, story) -> list[ScoredSentence]:  # noqa: ANN001
    """Best-first, skipping sentences that repeat one already chosen: near-duplicates, and the
    same sentence (lightly edited) in another copy of one story."""
    chosen: list[ScoredSentence] = []
    seen: list[tuple[set[str], str]] = []
    for h in hits:
        words, own = set(terms(h.text)), story(h)
        same = [i for i, (s, o) in enumerate(seen) if len(words & s) >= max(1, min(len(words), len(s))) * (
            COPY_OVERLAP if o == own and chosen[i].article.id != h.article.id else REPEAT_OVERLAP)]
        if same:  # a repeat; of a syndicated story, the copy that is cited is the one quoted
            i = same[0]
            if own == seen[i][1] == h.article.id != chosen[i].article.id:
                chosen[i] = h
            continue
        if len(chosen) == k:
            continue  # still looking: a later hit may be the cited copy of a chosen sentence
        chosen.append(h)
        seen.append((words, own))
    return chosen


def _differing(question: str, pool: list[ScoredSentence],
               story) -> tuple[str, list[tuple[ScoredSentence, str]]] | None:  # noqa: ANN001
    """When the best sentences of different stories state different figures for what is asked:
    the unit, and for each story its sentence and figure as written. Copies are one story."""
    units = asked_units(question)
    if units is not None and not units:
        return None
    topic = {normal_unit(t) for t in terms(question)} - _QUESTION_WORDS
    stated: dict[str, tuple[ScoredSentence, list]] = {}
    for h in pool:
        found = figures(h.text, units)
        about = {normal_unit(t) for t in terms(h.text)}
        if found and story(h) not in stated and len(topic & about) >= MIN_TOPIC_SHARE * len(topic):
            stated[story(h)] = (h, found)
    entries = list(stated.values())
    for i, (_, a) in enumerate(entries):
        for _, b in entries[i + 1:]:
            key = differ(a, b)
            if key:
                return key[0], [(h, "; ".join(f.text for f in figs if f.key == key))
                                for h, figs in entries if any(f.key == key for f in figs)]
    return None


def _citation(index: Searchable, number: int, hit: ScoredSentence) -> Citation:
    snap = index.snapshot
    a = hit.article
    rows = [r for r in (hit.row - 1, hit.row + 1)
            if 0 <= r < len(snap.sentences) and snap.sentences[r].article_id == a.id]
    start = min([hit.start] + [snap.sentences[r].start for r in rows])
    end = max([hit.end] + [snap.sentences[r].end for r in rows])
    copies = [snap.articles[i] for i in snap.copies.get(a.id, ()) if i != a.id]
    also_in = [Copy(c.title, _iso(c.published), c.source, c.location, c.url) for c in copies]
    return Citation(number, a.id, a.title, _iso(a.published), a.source, a.author,
                    a.location, a.url, hit.text, hit.start, hit.end, a.text[start:end], start, end,
                    round(hit.score, 4), also_in)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _compose(citations: list[Citation], disagreement: Disagreement | None) -> str:
    if len({c.article_id for c in citations}) == 1:
        text = " ".join(f"{c.sentence} [{c.number}]" for c in citations)
    else:
        lines = []
        for c in citations:
            when = f", {c.date}" if c.date else ""
            lines.append(f"{c.sentence} [{c.number}] ({c.title}{when})")
        text = "\n".join(lines)
    if disagreement:
        text += "\nThe sources differ: " + "; ".join(
            f"{x.figure} [{x.number}]{' (' + x.date + ')' if x.date else ''}" for x in disagreement.claims) + "."
    return text
