"""Parsers for each supported file format, from decoded text to `Parsed` fields.

Formats: the seed `.txt` convention (a `date YYYY-MM-DD Title` line, a byline, the body), plain
`.txt`, `.md` with optional front matter, saved `.html`/`.htm` news pages (trafilatura), and
`.json`/`.jsonl` objects. Parsers do not normalize text or compute ids: `articles` does that.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime

from qa.errors import ArticleError


@dataclass(frozen=True)
class Parsed:
    text: str
    title: str = ""
    published: date | None = None
    author: str = ""
    source: str = ""
    url: str = ""
    key: str = ""  # distinguishes several articles inside one file (JSON lines)
    lines_are_paragraphs: bool | None = None


_ENDS = (".", "!", "?", ":", ";", ",", '"', "”")
_SEED_FIRST = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\s+(.+?)\s*$")
_BYLINE = re.compile(r"^(?P<author>.*?)\s*(?:\(@[^)]*\))?\s*Published\s+(?P<when>[A-Z][a-z]+\.? \d{1,2}, \d{4})")
# "Washington, (APP - UrduPoint / Pakistan Point News - 31st Oct, 2024) ..."
_DATELINE_SOURCE = re.compile(r"^[^()\n]{1,60}\(([^()\n]{3,120})\)")


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


def parse_txt(raw: str) -> Parsed:
    lines = raw.split("\n")
    first = _SEED_FIRST.match(lines[0]) if lines else None
    if not first:
        # A short first line without closing punctuation, followed by text, is a headline.
        head = lines[0].strip()
        title = head if len(lines) > 1 and len(head) < 150 and not head.endswith(_ENDS) else ""
        body = "\n".join(lines[1:]) if title else raw
        return Parsed(text=body, title=title)
    published = parse_date(first.group(1))
    author, rest = "", lines[1:]
    if rest and (byline := _BYLINE.match(rest[0].strip())):
        author = byline.group("author").strip()
        published = published or parse_date(byline.group("when"))
        rest = rest[1:]
    body = "\n".join(rest)
    return Parsed(text=body, title=first.group(2), published=published, author=author,
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
    return Parsed(text=body, title=title, published=parse_date(meta.get("date", "")),
                  author=meta.get("author", ""), source=meta.get("source", meta.get("outlet", "")),
                  url=meta.get("url", ""), lines_are_paragraphs=False)


def parse_html(raw: str, name: str) -> Parsed:
    import trafilatura  # heavy: only when an HTML file is read

    doc = trafilatura.bare_extraction(raw, with_metadata=True, include_tables=False,
                                      include_comments=False)
    if doc is None or not (doc.text or "").strip():
        raise ArticleError(name, "no article text found in the HTML page")
    text, title = doc.text, doc.title or ""
    if title and text.startswith(title + "\n"):
        text = text[len(title) + 1:]
    return Parsed(text=text, title=title, published=parse_date(doc.date or ""),
                  author=doc.author or "", source=doc.sitename or "", url=doc.url or "",
                  lines_are_paragraphs=True)


def parse_json(raw: str, name: str, *, lines: bool) -> list[Parsed | ArticleError]:
    """Articles of a JSON or JSON-lines file; a bad record is returned as its error, the rest kept."""
    if lines:
        records: list[tuple[str, object]] = []
        for number, line in enumerate(raw.split("\n"), start=1):
            if line.strip():
                records.append((f"line {number}", line))
    else:
        data = _loads(raw, name)
        items = data if isinstance(data, list) else [data]
        records = [(f"item {i}" if isinstance(data, list) else "", item)
                   for i, item in enumerate(items, start=1)]
    out: list[Parsed | ArticleError] = []
    for key, record in records:
        try:
            if isinstance(record, str):
                record = _loads(record, f"{name} {key}")
            out.append(_from_record(key, record, name))
        except ArticleError as exc:
            out.append(exc)
    return out


def _loads(text: str, where: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArticleError(where, f"malformed JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc


def _from_record(key: str, record: object, name: str) -> Parsed:
    where = f"{name} {key}".strip()
    if not isinstance(record, dict):
        raise ArticleError(where, "expected a JSON object with a 'text' or 'body' field")
    text = record.get("text") or record.get("body") or record.get("content")
    if not isinstance(text, str) or not text.strip():
        raise ArticleError(where, "the JSON object has no 'text' or 'body' string")

    def field(*names: str) -> str:
        for n in names:
            if isinstance(record.get(n), str):
                return record[n].strip()
        return ""

    return Parsed(text=text, title=field("title", "headline"),
                  published=parse_date(field("date", "published", "published_at", "pubDate")),
                  author=field("author", "byline"), source=field("source", "outlet", "site"),
                  url=field("url", "link"), key=key)
