"""What a parser makes of one article of a file: `Parsed`, before normalization and ids."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, kw_only=True)
class Parsed:
    sections: tuple[tuple[str, str], ...]  # (heading or "", its body text) in order
    title: str = ""
    standfirst: str = ""  # the summary under the headline, if the source gives one
    published: date | None = None
    authors: tuple[str, ...] = ()
    source: str = ""  # the outlet
    url: str = ""
    place: str = ""  # from a dateline the parser found itself
    language: str = ""  # as the source declares it
    key: str = ""  # distinguishes several articles inside one file (JSON lines)
    lines_are_paragraphs: bool | None = None


_NAMES = re.compile(r"\s*(?:;|\band\b|&|,(?!\s*(?:jr|sr)\b))\s*", re.I)


def split_names(value: object) -> tuple[str, ...]:
    """Author names from a field: a list, or one string of names joined by commas, "and", "&"."""
    items = value if isinstance(value, list) else [value]
    names = [n.strip() for item in items if isinstance(item, str) for n in _NAMES.split(item)]
    return tuple(dict.fromkeys(re.sub(r"^by\s+", "", n, flags=re.I) for n in names if n))


def parse_date(value: object) -> date | None:
    """A date from ISO strings, `October 31, 2024`, datetimes or epoch-free junk (-> None)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    for fmt in ("%B %d, %Y", "%b %d, %Y", "%b. %d, %Y", "%d %B %Y", "%Y/%m/%d", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    match = re.match(r"(\d{4}-\d{2}-\d{2})", value)
    return parse_date(match.group(1)) if match else None
