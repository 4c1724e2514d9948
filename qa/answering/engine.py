"""The answer engine: one facade over an index for everything the CLI, the web app and the APIs do.

`answer` quotes sentences with numbered citations, or declines ("not found") when the evidence is
not relevant enough; `status`, `articles`, `rebuild` and `cited_texts` are the rest of what a user
interface needs. News-aware: a story carried by several outlets is cited once, with the others
listed; questions about the latest state prefer newer articles; when the sources state different
figures for what is asked, the answer quotes each of them and says that they differ.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import date

from qa.answering.compose import citation, compose, iso
from qa.answering.differ import POOL, differing
from qa.answering.model import Answer, AnswerOptions, Citation, Claim, Disagreement
from qa.answering.select import diverse, passing, story_of, varied
from qa.answering.status import IndexStatus, database_status, folder_status
from qa.embedding import Embedder, Progress
from qa.indexing import BuildReport, build_index
from qa.question import analyze, is_blank, normalize
from qa.retrieval import ArticleSummary, IndexView, LiveIndex, rank
from qa.settings import Settings

NOT_FOUND = "I couldn't find this in the indexed articles."
EMPTY_QUESTION = "Please ask a question about the articles."
DEFAULT_OPTIONS = AnswerOptions()  # the engine's settings, every article


class Engine:
    """Answers questions from the newest published build of the configured index."""

    def __init__(self, settings: Settings, embedder: Embedder, background_reload: bool = False):
        """The folder index of `settings.index_dir`, or the database of `settings.database_url`.
        `background_reload`: answer from the loaded build while a newer one loads (the folder index
        in the web app; the database index holds nothing to load)."""
        self.settings = settings
        self.embedder = embedder
        if settings.database_url:
            from qa.postgres.index import PgIndex

            self.index: LiveIndex | PgIndex = PgIndex(settings.database_url, settings.read_url_list,
                                                      embedder.model_id, settings.exact_limit)
        else:
            self.index = LiveIndex(settings.index_dir, embedder.model_id, background=background_reload)

    def reading(self) -> AbstractContextManager[IndexView]:
        """The build that answers now, for the duration of one request (`with engine.reading() as view`)."""
        return self.index.reading()

    def answer(self, question: str, history: Sequence[str] = (),
               options: AnswerOptions = DEFAULT_OPTIONS) -> Answer:
        """Answer `question` (after the earlier questions `history`, oldest first) with up to
        `max_sentences` sentences quoted from the articles in `options.scope`, each with its
        citation; or decline when the best sentence's confidence is under `min_confidence`."""
        started = time.perf_counter()
        asked = normalize(question)
        if is_blank(asked):
            return Answer(question=asked, found=False, text=EMPTY_QUESTION)
        with self.reading() as view:
            return self._answer(view, question, history, options, started)

    def _answer(self, view: IndexView, question: str, history: Sequence[str], options: AnswerOptions,
                started: float) -> Answer:
        q = analyze(question, history, dated=view.spans_dates)
        k = options.max_sentences or self.settings.max_sentences
        threshold = self.settings.min_confidence if options.min_confidence is None else options.min_confidence
        hits = rank(view, self.embedder, q, k=max(3 * k, 10), scope=options.scope)
        timings = {"search": (time.perf_counter() - started) * 1000}
        quotable = passing(hits, threshold)
        story = story_of(view)
        # A latest question keeps its recency-ranked sentences; the others are varied (select.varied).
        unrepeated = diverse(quotable, k if q.asks_latest else len(quotable), story)
        chosen = unrepeated if q.asks_latest else varied(unrepeated, k, view)
        if not chosen:
            closest = tuple(citation(view, i + 1, h) for i, h in enumerate(diverse(hits, 2, story)))
            timings["total"] = (time.perf_counter() - started) * 1000
            return Answer(question=q.text, found=False, text=NOT_FOUND, closest=closest, timings_ms=timings,
                          build_id=view.build_id)
        differ = differing(q, quotable[:POOL], story)
        if differ:  # every differing source is quoted, even past max_sentences
            chosen += [h for h, _ in differ.claims if h.row not in {c.row for c in chosen}]
        if q.asks_latest:  # the newest relevant statement leads; the rest stay best-supported first
            chosen.sort(key=lambda h: h.article.published or date.min, reverse=True)
        citations = _without_repeated_leads([citation(view, i + 1, h) for i, h in enumerate(chosen)])
        disagreement = None
        if differ:  # the figures as a timeline: oldest to newest
            number = {h.row: i + 1 for i, h in enumerate(chosen)}
            disagreement = Disagreement(differ.unit, tuple(
                Claim(number[h.row], figure, iso(h.article.published), h.article.source)
                for h, figure in sorted(differ.claims, key=lambda x: (x[0].article.published or date.min,
                                                                      number[x[0].row]))))
        timings["total"] = (time.perf_counter() - started) * 1000
        return Answer(question=q.text, found=True, text=compose(list(citations), disagreement),
                      citations=citations, disagreement=disagreement, timings_ms=timings,
                      build_id=view.build_id)

    def status(self) -> IndexStatus:
        """What the index holds and whether the corpus changed since it was built."""
        if not self.settings.database_url:
            return folder_status(self.settings)
        with self.reading() as view:
            return database_status(self.settings, view, self.index.where)

    def articles(self) -> list[ArticleSummary]:
        """Every indexed article with its sentence count, newest first."""
        with self.reading() as view:
            summaries = view.summaries()
        return sorted(summaries, key=lambda s: (s.article.published or date.min, s.article.title),
                      reverse=True)

    def rebuild(self, progress: Progress | None = None, *, full: bool = False,
                wait: bool = True) -> BuildReport:
        """Update the index from the corpus folder and return once this engine answers from it (the
        previous build answers meanwhile)."""
        report = update_index(self.settings, self.embedder, full=full, progress=progress, wait=wait)
        if isinstance(self.index, LiveIndex):  # a database index is read afresh at each question
            self.index.get(wait=True)
        return report

    def cited_texts(self, answer: Answer) -> dict[str, str]:
        """The cited articles' texts, from the build that answers now; an article changed since the
        answer (a newer build loaded in between) is left out rather than shown with the wrong
        highlight."""
        out = {}
        with self.reading() as view:
            for c in answer.citations + answer.closest:
                article = view.article(c.article_id)
                if article is not None and article.text[c.start:c.end] == c.sentence:
                    out[c.article_id] = article.text
        return out


def update_index(settings: Settings, embedder: Embedder, *, full: bool = False,
                 progress: Progress | None = None, wait: bool = False) -> BuildReport:
    """Build or update the configured index (the folder's, or the database's) from the corpus."""
    if settings.database_url:  # every app server notices the new build id at its next question
        from qa.postgres.writer import build_database

        return build_database(settings, embedder, full=full, progress=progress, wait=wait)
    return build_index(settings, embedder, full=full, progress=progress, wait=wait)


def _without_repeated_leads(citations: list[Citation]) -> tuple[Citation, ...]:
    """A sentence shown before a citation that leans on it is not shown twice when it is quoted too."""
    quoted = {c.sentence for c in citations}
    return tuple(replace(c, lead="") if c.lead in quoted else c for c in citations)
