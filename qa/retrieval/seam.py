"""The retrieval seam: what ranking reads from an index, whatever stores it.

An `IndexView` is one build of an index, read-only. Ranking asks it for dense candidates under a
filter, exact cosines and BM25 scores of given rows, the layout of given rows (their chunks and
neighbours), texts and records of given rows, and term statistics. Rows are integers
that identify sentences (and chunks) within one build, not necessarily 0..n-1. The folder index
(`qa.retrieval.folder`) and the PostgreSQL index (`qa.postgres.view`) implement it; ranking and
answering read only this protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import numpy as np

from qa.articles import Article
from qa.errors import QuestionError


@dataclass(frozen=True)
class Scope:
    """Which articles an answer may quote: published within [since, until] (an undated article is
    outside any date range), and among `articles` (ids) when given."""
    since: date | None = None
    until: date | None = None
    articles: frozenset[str] | None = None

    @classmethod
    def parse(cls, since: str | None = None, until: str | None = None,
              articles: Sequence[str] | None = None) -> Scope:
        """A scope from text fields (YYYY-MM-DD, blank for none), as a form or a JSON body gives it."""
        return cls(_day(since, "since"), _day(until, "until"), frozenset(articles) if articles else None)

    @property
    def everything(self) -> bool:
        return self.since is None and self.until is None and not self.articles

    def admits(self, article: Article) -> bool:
        return ((not self.articles or article.id in self.articles)
                and (self.since is None
                     or (article.published is not None and article.published >= self.since))
                and (self.until is None
                     or (article.published is not None and article.published <= self.until)))


def _day(value: str | None, label: str) -> date | None:
    value = (value or "").strip()
    try:
        return date.fromisoformat(value) if value else None
    except ValueError as exc:
        raise QuestionError(f"{label}: {value!r} is not a date like 2024-10-31") from exc


class Allowed(Protocol):
    """The sentence rows a scope admits, as a backend represents them."""

    def contains(self, rows: np.ndarray) -> np.ndarray:
        """A boolean per row."""
        ...


class DenseQuery(Protocol):
    """Query vectors against one build's sentence vectors."""

    def pools(self, k: int, allowed: Allowed | None) -> list[np.ndarray]:
        """The (about) `k` best rows for each query vector, among the allowed rows."""
        ...

    def scores(self, rows: np.ndarray) -> np.ndarray:
        """Exact cosines, one row per query vector, one column per given row."""
        ...


class LexicalQuery(Protocol):
    """BM25 scores of one query's terms over one table (sentences or chunks)."""

    best: float  # the best score of any row of the table (0 when no row holds a term)

    def top(self, k: int, allowed: Allowed | None) -> np.ndarray:
        """The best `k` rows among the allowed rows that score above zero."""
        ...

    def at(self, rows: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Layout:
    """Where given sentence rows sit: the range of chunk rows holding each (-1: none), the rows
    either side of each in its article (-1: none), a length prior and the publication day
    (proleptic ordinal, NaN if undated)."""
    chunk_lo: np.ndarray
    chunk_hi: np.ndarray
    prev_row: np.ndarray
    next_row: np.ndarray
    length_prior: np.ndarray
    day: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """One sentence row, with its article."""
    row: int
    article: Article
    ordinal: int
    start: int
    end: int
    text: str


@dataclass(frozen=True, kw_only=True)
class ArticleSummary:
    """An indexed article as a list shows it."""
    article: Article
    sentences: int


class IndexView(Protocol):
    """One build of an index, as ranking and answering read it."""

    build_id: str
    sentence_count: int
    chunk_count: int
    spans_dates: bool  # articles of several publication dates: "the latest" means something
    topic_terms: frozenset[str]  # terms in more than TOPIC_SHARE of the sentences

    def rows(self) -> np.ndarray:
        """Every sentence row, ascending (a small index is ranked over all of them)."""
        ...

    def allowed(self, scope: Scope) -> Allowed | None:
        """The rows of `scope`; None when it admits every row."""
        ...

    def dense(self, vectors: np.ndarray) -> DenseQuery: ...

    def chunk_scores(self, vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact cosines of one query vector to the given chunk rows."""
        ...

    def lexical(self, terms: Sequence[str], table: str) -> LexicalQuery: ...

    def layout(self, rows: np.ndarray) -> Layout: ...

    def texts(self, rows: np.ndarray) -> list[str]: ...

    def sentence_vectors(self, rows: np.ndarray) -> np.ndarray:
        """The unit-length vectors of the given sentence rows, one row each."""
        ...

    def records(self, rows: Sequence[int]) -> list[Record]: ...

    def doc_freq(self, terms: Sequence[str]) -> np.ndarray:
        """Sentences holding each term (0 for a term the index lacks)."""
        ...

    def copies(self, article_id: str) -> tuple[str, ...]:
        """The article's group of syndicated copies, the cited copy first; () if it has none."""
        ...

    def article(self, article_id: str) -> Article | None: ...

    def summaries(self) -> list[ArticleSummary]:
        """Every article, with its sentence count."""
        ...
