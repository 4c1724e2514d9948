"""Plain text and Markdown articles.

`.txt`: the news convention of the shipped article (a `date YYYY-MM-DD Title` line, a byline
with `Published Month DD, YYYY`, the body; its dateline's agency credit names the outlet), or
plain text whose short first line without closing punctuation is the headline. `.md`: optional
front matter (`title`, `date`, `author`, `source`, `url`), a `# heading` as the title, and `##`
subheadings as section headings.
"""

from __future__ import annotations

import re

from qa.formats.parsed import Parsed, parse_date, split_names

_ENDS = (".", "!", "?", ":", ";", ",", '"', "”")
_SEED_FIRST = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\s+(.+?)\s*$")
_BYLINE = re.compile(r"^(?P<author>.*?)\s*(?:\(@[^)]*\))?\s*Published\s+"
                     r"(?P<when>[A-Z][a-z]+\.? \d{1,2}, \d{4})")
# "Washington, (APP - UrduPoint / Pakistan Point News - 31st Oct, 2024) ..."
_DATELINE_SOURCE = re.compile(r"^[^()\n]{1,60}\(([^()\n]{3,120})\)")
_MD_HEADING = re.compile(r"^(#{2,6})\s+(.+?)\s*#*\s*$", re.M)


def parse_txt(raw: str) -> Parsed:
    lines = raw.split("\n")
    first = _SEED_FIRST.match(lines[0]) if lines else None
    if not first:
        head = lines[0].strip()
        title = head if len(lines) > 1 and len(head) < 150 and not head.endswith(_ENDS) else ""
        return Parsed(sections=(("", "\n".join(lines[1:]) if title else raw),), title=title)
    published = parse_date(first.group(1))
    authors, rest = (), lines[1:]
    if rest and (byline := _BYLINE.match(rest[0].strip())):
        authors = split_names(byline.group("author"))
        published = published or parse_date(byline.group("when"))
        rest = rest[1:]
    body = "\n".join(rest)
    return Parsed(sections=(("", body),), title=first.group(2), published=published, authors=authors,
                  source=_source_from_dateline(body), lines_are_paragraphs=True)


def _source_from_dateline(body: str) -> str:
    match = _DATELINE_SOURCE.match(body.lstrip())
    if not match:
        return ""
    parts = [p.strip() for p in match.group(1).split(" - ") if p.strip()]
    # (AGENCY - OUTLET - date): the outlet is the middle part; (OUTLET) alone is the outlet.
    if len(parts) >= 3:
        return parts[1]
    return parts[0] if len(parts) == 1 and not re.search(r"\d{4}", parts[0]) else ""


def parse_md(raw: str) -> Parsed:
    meta: dict[str, str] = {}
    body = raw
    if raw.startswith("---\n"):
        end = raw.find("\n---", 4)
        if end != -1:
            for line in raw[4:end].split("\n"):
                key, sep, value = line.partition(":")
                if sep:
                    meta[key.strip().lower()] = value.strip().strip("\"'")
            body = raw[end + 4:].lstrip("-").lstrip("\n")
    title = meta.get("title", "")
    heading = re.match(r"\s*#\s+(.+)\n", body)
    if heading:
        title = title or heading.group(1).strip()
        body = body[heading.end():]
    return Parsed(sections=_md_sections(body), title=title, published=parse_date(meta.get("date", "")),
                  authors=split_names(meta.get("author", "")),
                  source=meta.get("source", meta.get("outlet", "")), url=meta.get("url", ""),
                  lines_are_paragraphs=False)


def _md_sections(body: str) -> tuple[tuple[str, str], ...]:
    """The body cut at its `##` subheadings: (heading, text) pairs, the first heading ""."""
    sections, heading, start = [], "", 0
    for match in _MD_HEADING.finditer(body):
        sections.append((heading, body[start:match.start()]))
        heading, start = match.group(2).strip(), match.end()
    sections.append((heading, body[start:]))
    return tuple(sections)
