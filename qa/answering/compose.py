"""Chosen sentences -> citations (with their passage and the story's other copies) and the text.

Answers are extractive: every sentence shown is quoted from an article with its title, date and
outlet and the passage around it, so every claim can be checked.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from qa.answering.model import Citation, Disagreement, Source
from qa.articles import Article
from qa.retrieval import IndexView, ScoredSentence


def source(article: Article) -> Source:
    return Source(article_id=article.id, title=article.title, date=iso(article.published), outlet=article.source,
                  authors=article.authors, place=article.place, location=article.location, url=article.url)


def citation(view: IndexView, number: int, hit: ScoredSentence) -> Citation:
    """The hit as citation `number`: its passage is the sentence with the ones either side of it."""
    a = hit.article
    layout = view.layout(np.array([hit.row], dtype=np.int64))
    sides = [int(r) for r in (layout.prev_row[0], layout.next_row[0]) if r >= 0]
    records = view.records(sides)
    start = min([hit.start] + [r.start for r in records])
    end = max([hit.end] + [r.end for r in records])
    copies = [c for c in (view.article(i) for i in view.copies(a.id) if i != a.id) if c is not None]
    return Citation(number=number, source=source(a), heading=a.heading_at(hit.start), sentence=hit.text, start=hit.start, end=hit.end,
                    passage=a.text[start:end], passage_start=start, passage_end=end, score=round(hit.score, 4),
                    confidence=round(hit.confidence, 4),
                    also_in=tuple(source(c) for c in copies))


def compose(citations: list[Citation], disagreement: Disagreement | None) -> str:
    """The answer text: each sentence with its [n]; naming article and date when several articles
    are quoted; then the figures that differ."""
    if len({c.article_id for c in citations}) == 1:
        text = " ".join(f"{c.sentence} [{c.number}]" for c in citations)
    else:
        lines = []
        for c in citations:
            when = f", {c.source.date}" if c.source.date else ""
            lines.append(f"{c.sentence} [{c.number}] ({c.source.title}{when})")
        text = "\n".join(lines)
    if disagreement:
        text += "\nThe sources differ: " + "; ".join(
            f"{x.figure} [{x.number}]{' (' + x.date + ')' if x.date else ''}" for x in disagreement.claims) + "."
    return text


def iso(day: date | None) -> str | None:
    return day.isoformat() if day else None

