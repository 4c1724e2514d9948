"""What a saved news page is made of once read: its `Page`, and `NotAnArticle` when it holds none."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Section:
    heading: str  # "" for the body before the first subheading
    paragraphs: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Page:
    title: str
    standfirst: str
    sections: tuple[Section, ...]
    published: date | None
    authors: tuple[str, ...]
    outlet: str
    url: str
    language: str
    place: str


class NotAnArticle(ValueError):
    """The page holds no article; `reason` says what it is instead."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
