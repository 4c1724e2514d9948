"""What an answer is made of: sources, citations, claims that differ, the answer itself, and the
options a caller sets. Typed and frozen; `Answer.to_json` is the one JSON shape (CLI, web API)."""

from __future__ import annotations

from dataclasses import dataclass, field

from qa.retrieval import Scope


@dataclass(frozen=True, kw_only=True)
class Source:
    """An article as an answer names it."""
    article_id: str
    title: str
    date: str | None  # ISO date of publication
    outlet: str
    authors: tuple[str, ...]
    place: str  # where it was filed from (its dateline), if it says
    location: str  # file in the corpus (or record in it)
    url: str

    def to_json(self) -> dict:
        return {"title": self.title, "date": self.date, "source": self.outlet, "authors": list(self.authors),
                "place": self.place, "location": self.location, "url": self.url}


@dataclass(frozen=True, kw_only=True)
class Citation:
    """One quoted sentence: its number in the answer, where it is from, and the passage around it."""
    number: int
    source: Source
    heading: str  # the heading of the section the sentence is in ("" if none): context, not quoted
    lead: str  # the sentence before it, shown with it when it leans on it ("He said ..."), or ""
    sentence: str
    start: int  # char span of the sentence in the article text
    end: int
    passage: str  # the sentence with its neighbours
    passage_start: int
    passage_end: int
    score: float  # the fused ranking score
    confidence: float  # what the "not found" threshold is compared with
    also_in: tuple[Source, ...] = ()  # syndicated copies of the same story

    @property
    def article_id(self) -> str:
        return self.source.article_id

    def to_json(self) -> dict:
        return {"number": self.number, **self.source.to_json(), "heading": self.heading, "lead": self.lead,
                "sentence": self.sentence, "start": self.start,
                "end": self.end, "passage": self.passage, "passage_start": self.passage_start,
                "passage_end": self.passage_end, "score": self.score, "confidence": self.confidence,
                "also_in": [s.to_json() for s in self.also_in]}


@dataclass(frozen=True)
class Claim:
    number: int  # the citation stating it
    figure: str  # as written
    date: str | None
    source: str  # the outlet


@dataclass(frozen=True)
class Disagreement:
    """Sources that state different figures for what the question asks."""
    unit: str
    claims: tuple[Claim, ...]


@dataclass(frozen=True, kw_only=True)
class Answer:
    question: str
    found: bool  # False: declined, nothing relevant enough in the articles
    text: str  # sentences with [n] markers, or the not-found message
    citations: tuple[Citation, ...] = ()
    closest: tuple[Citation, ...] = ()  # when not found: nearest passages, not an answer
    disagreement: Disagreement | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    build_id: str = ""  # the index build that answered

    def to_json(self) -> dict:
        d = self.disagreement
        return {"question": self.question, "found": self.found, "text": self.text,
                "citations": [c.to_json() for c in self.citations],
                "closest": [c.to_json() for c in self.closest],
                "disagreement": None if d is None else {"unit": d.unit, "claims": [
                    {"number": c.number, "figure": c.figure, "date": c.date, "source": c.source}
                    for c in d.claims]},
                "timings_ms": self.timings_ms, "build_id": self.build_id}


@dataclass(frozen=True)
class AnswerOptions:
    """What a caller may set per question; None takes the engine's `Settings`."""
    max_sentences: int | None = None
    min_confidence: float | None = None  # below it the question is declined (higher = stricter)
    scope: Scope = Scope()
