"""Chosen sentences -> citations (with their passage and the story's other copies) and the text.

Answers are extractive: every sentence shown is quoted from an article with its title, date and
outlet and the passage around it, so every claim can be checked.
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np

from qa.answering.model import Citation, Disagreement, Source
from qa.articles import Article
from qa.retrieval import IndexView, ScoredSentence

_LEANS = re.compile(r"^[\"“‘']?(?:he|she|it|they|his|her|its|their|them|this|that|these|those|such|there"
                    r"|but|and|so|yet|also|then|still|however|instead|meanwhile)\b", re.I)


def source(article: Article) -> Source:
    return Source(article_id=article.id, title=article.title, date=iso(article.published),
                  outlet=article.source, authors=article.authors, place=article.place,
                  location=article.location, url=article.url)


def citation(view: IndexView, number: int, hit: ScoredSentence) -> Citation:
    """The hit as citation `number`: its passage is the sentence with the ones either side of it."""
    a = hit.article
    layout = view.layout(np.array([hit.row], dtype=np.int64))
    sides = [int(r) for r in (layout.prev_row[0], layout.next_row[0]) if r >= 0]
    records = view.records(sides)
    start = min([hit.start] + [r.start for r in records])
    end = max([hit.end] + [r.end for r in records])
    copies = [c for c in (view.article(i) for i in view.copies(a.id) if i != a.id) if c is not None]
    before = next((r for r in records if r.end <= hit.start), None)
    lead = before.text if before is not None and needs_lead(hit.text) else ""
    return Citation(number=number, source=source(a), heading=a.heading_at(hit.start), lead=lead,
                    sentence=hit.text, start=hit.start, end=hit.end, passage=a.text[start:end],
                    passage_start=start, passage_end=end, score=round(hit.score, 4),
                    confidence=round(hit.confidence, 4), also_in=tuple(source(c) for c in copies))


def needs_lead(sentence: str) -> bool:
    """Whether a sentence leans on the one before it: it starts with a pronoun or a connective ("He
    said ...", "It was ...", "That is because ...") or mid-sentence (a quote fragment)."""
    return bool(_LEANS.match(sentence)) or sentence[:1].islower()


def compose(citations: list[Citation], disagreement: Disagreement | None) -> str:
    """The answer text: each sentence with its [n]; naming article and date when several articles
    are quoted; then the figures that differ."""
    if len({c.article_id for c in citations}) == 1:
        text = " ".join(f"{_quoted(c)} [{c.number}]" for c in citations)
    else:
        lines = []
        for c in citations:
            when = f", {c.source.date}" if c.source.date else ""
            lines.append(f"{_quoted(c)} [{c.number}] ({c.source.title}{when})")
        text = "\n".join(lines)
    if disagreement:
        text += "\nThe sources differ: " + "; ".join(
            f"{x.figure} [{x.number}]{' (' + x.date + ')' if x.date else ''}"
            for x in disagreement.claims) + "."
    return text


def _quoted(c: Citation) -> str:
    """The cited sentence, after the sentence it leans on when it needs one (both verbatim)."""
    return f"{c.lead} {c.sentence}" if c.lead else c.sentence


def iso(day: date | None) -> str | None:
    return day.isoformat() if day else None

