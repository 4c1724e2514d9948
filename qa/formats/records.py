"""JSON and JSON-lines articles: an object, a list of objects, or one object per line, with `text`
(or `body`, `content`) and optionally `title`, `date`, `url`, `source`, `author` (a name, names
joined by commas, or a list)."""

from __future__ import annotations

import json

from qa.errors import ArticleError
from qa.formats.parsed import Parsed, parse_date, split_names


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
        raise ArticleError(where, f"malformed JSON ({exc.msg} at line {exc.lineno} "
                                  f"column {exc.colno})") from exc


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

    authors = next((split_names(record[n]) for n in ("author", "authors", "byline") if n in record), ())
    return Parsed(sections=(("", text),), title=field("title", "headline"),
                  published=parse_date(field("date", "published", "published_at", "pubDate")),
                  authors=authors, source=field("source", "outlet", "site"), url=field("url", "link"),
                  language=field("language", "lang"), key=key)
