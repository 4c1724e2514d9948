"""Articles to and from their database row (metadata as JSON beside the text)."""

from __future__ import annotations

from datetime import date

from qa.articles import Article, Heading

_FIELDS = ("title", "source", "place", "language", "location", "url", "standfirst")


def article_meta(a: Article) -> dict:
    """Everything of the article but its id, text and content hash, as JSON."""
    return {**{f: getattr(a, f) for f in _FIELDS}, "authors": list(a.authors),
            "published": a.published.isoformat() if a.published else None,
            "headings": [[h.text, h.start, h.end] for h in a.headings]}


def article_from(article_id: str, meta: dict, text: str, content_hash: str) -> Article:
    return Article(id=article_id, text=text, content_hash=content_hash, authors=tuple(meta["authors"]),
                   published=date.fromisoformat(meta["published"]) if meta["published"] else None,
                   headings=tuple(Heading(*h) for h in meta["headings"]), **{f: meta[f] for f in _FIELDS})
