"""The most specific thing a question can name, which an answering article must write too: a name
with a number ("RTX 4090", "iOS 17", "Super Bowl 50", "COVID-19").

A question about the RTX 4090 is not answered by an article about the RTX 3080, however close the
rest of its words; so when none of the best-ranked sentences' articles writes one of these, the
confidence drops (`qa.retrieval.ranking.UNWRITTEN_WEIGHT`) and the question is declined. Years were
measured the same way and not kept: a question's year is often not written in the paragraph that
answers it (Notre Dame answered 1.000 -> 0.989).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from qa.articles import Article
from qa.figures import MONTH_NAMES
from qa.terms import STOPWORDS, fold

# "RTX 4090", "iOS 17", "COVID-19"; not a score or a range ("Denver 0-4")
_VERSIONED = re.compile(r"\b([A-Za-z][\w'’]*)[\s-]+(\d{1,5}[A-Za-z]?)\b(?![-–]\d)")
_YEAR = re.compile(r"1[89]\d\d|20\d\d")  # "Apple 2020" is a name and a year, not a version
# Words before a number that name nothing: question and function words, months ("March 15")
_NOT_NAMES = STOPWORDS | frozenset(MONTH_NAMES) | {m[:3] for m in MONTH_NAMES} | {"whose"}


def specifics(text: str) -> tuple[str, ...]:
    """The names with a number in `text` (a word with a capital letter, then the number), folded."""
    out = []
    for m in _VERSIONED.finditer(fold(text)):
        word, number = m.group(1), m.group(2)
        if any(c.isupper() for c in word) and word.lower() not in _NOT_NAMES and not _YEAR.fullmatch(number):
            out.append(f"{word} {number}")
    return tuple(dict.fromkeys(out))


def unwritten_share(wanted: tuple[str, ...], articles: Iterable[Article]) -> float:
    """The share of `wanted` (from `specifics`) that none of `articles` writes, spaces and
    punctuation aside ("Superbowl 50" is written by "Super Bowl 50"); 0 when none is wanted."""
    if not wanted:
        return 0.0
    texts = [_squash(a.text) for a in articles]
    return sum(not any(_squash(w) in t for t in texts) for w in wanted) / len(wanted)


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", fold(text).lower())
