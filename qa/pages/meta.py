"""Metadata of a saved news page: headline, standfirst, date, authors, outlet, language.

Read from the page's own declarations (JSON-LD, <meta>, <h1>, <html lang>) with trafilatura's
metadata as a fallback. Only names and dates the page states are returned; nothing is guessed
from the text. Which source wins for each field was chosen by measurement
(benchmarks/results/realnews.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from qa.pages.bylines import clean_authors

_SEPARATORS = re.compile(r"\s+(?:[|\-–—•·:]|::|--|»)\s+")
_WORD = re.compile(r"\w+")
_ARTICLE_TYPES = re.compile(r"(Article|BlogPosting|Report|Review)$")


@dataclass(frozen=True, slots=True)
class PageMeta:
    title: str
    description: str
    published: date | None
    authors: tuple[str, ...]
    outlet: str
    language: str
    body: str  # JSON-LD articleBody, "" if none


def meta_tags(tree) -> dict[str, list[str]]:
    """<meta> contents by lower-cased property/name/itemprop, in page order."""
    tags: dict[str, list[str]] = {}
    for m in tree.iter("meta"):
        key = m.get("property") or m.get("name") or m.get("itemprop")
        value = " ".join((m.get("content") or "").split())
        if key and value:
            tags.setdefault(key.lower(), []).append(value)
    return tags


def json_ld(tree) -> list[dict]:
    """Every JSON-LD object of the page, @graph and lists flattened; bad JSON is skipped."""
    found: list[dict] = []
    for script in tree.iter("script"):
        if (script.get("type") or "").lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text)
        except ValueError:
            continue  # pages often ship broken JSON-LD; the other sources still count
        found.extend(_flatten(data))
    return found


def _flatten(data) -> Iterator[dict]:
    if isinstance(data, list):
        for item in data:
            yield from _flatten(item)
    elif isinstance(data, dict):
        yield data
        if "@graph" in data:
            yield from _flatten(data["@graph"])


def _types(obj: dict) -> list[str]:
    kind = obj.get("@type", [])
    return [kind] if isinstance(kind, str) else [k for k in kind if isinstance(k, str)]


def _names(value, by_id: dict[str, dict], *, people: bool) -> list[str]:
    """Names in a JSON-LD author/publisher value, following @id references."""
    out: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            item = by_id.get(item.get("@id", ""), item) if "name" not in item else item
            if people and "Organization" in " ".join(_types(item)):
                continue
            if isinstance(item.get("name"), str):
                out.append(item["name"])
    return [" ".join(n.split()) for n in out if n.strip()]


def read_meta(tree, doc, url: str, body_bylines: tuple[str, ...] = ()) -> PageMeta:
    """The page's metadata; `doc` is trafilatura's Document (or None) for fallbacks, `body_bylines`
    the byline lines taken out of the article text."""
    tags = meta_tags(tree)
    objects = json_ld(tree)
    by_id = {o["@id"]: o for o in objects if isinstance(o.get("@id"), str)}
    article = next((o for o in objects if any(_ARTICLE_TYPES.search(t) for t in _types(o))), {})
    publisher = _names(article.get("publisher", []), by_id, people=False)
    outlet = _outlet(tags, publisher, doc, url)
    headline = article.get("headline") if isinstance(article.get("headline"), str) else ""
    title = choose_title(tree, tags, headline, outlet, doc)
    declared = _names(article.get("author", []), by_id, people=True)
    authors = clean_authors([declared, _meta_authors(tags)], tree, outlet, doc, headline=title,
                            body_bylines=body_bylines)
    body = article.get("articleBody") if isinstance(article.get("articleBody"), str) else ""
    return PageMeta(title=title, description=_description(tags, title), published=_published(doc),
                    authors=authors, outlet=outlet, language=_language(tree, tags, doc), body=body)


def _meta_authors(tags: dict[str, list[str]]) -> list[str]:
    names = []
    for key in ("author", "article:author", "parsely-author", "sailthru.author", "dc.creator"):
        names += [v for v in tags.get(key, []) if not v.startswith(("http", "@", "/"))]
    return names


def _outlet(tags: dict[str, list[str]], publisher: list[str], doc, url: str) -> str:
    for name in tags.get("og:site_name", []) + publisher + [getattr(doc, "sitename", "") or ""]:
        if name.strip():
            return " ".join(name.split())
    return outlet_from_domain(url)


def outlet_from_domain(url: str) -> str:
    """The outlet named by a URL's host, the last resort: "https://www.timesofisrael.com/x" ->
    "timesofisrael.com". Word breaks inside a domain cannot be known, so the host is kept as
    written (never a guessed "Timesofisrael")."""
    host = urlsplit(url).hostname or ""
    host = re.sub(r"^(www\d?|m|amp|edition|mobile)\.", "", host)
    return host


def _compact(text: str) -> str:
    return "".join(_WORD.findall(text.casefold()))


def strip_site_name(title: str, site_names: list[str]) -> str:
    """`title` without leading/trailing segments naming the site ("... | CNN Politics")."""
    sites = {_compact(s) for s in site_names if _compact(s)}
    parts = _SEPARATORS.split(title)
    if len(parts) < 2:
        return title.strip()

    def is_site(part: str) -> bool:
        p = _compact(part)
        return bool(p) and any(p in s or s in p for s in sites)

    while len(parts) > 1 and is_site(parts[-1]):
        parts.pop()
    while len(parts) > 1 and is_site(parts[0]):
        parts.pop(0)
    # Rebuild from the original text so separators inside the headline stay as written.
    start = title.find(parts[0])
    end = title.rfind(parts[-1]) + len(parts[-1])
    return title[start:end].strip() if start >= 0 and end > start else title.strip()


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.casefold()))


def _overlap(a: str, b: str) -> float:
    wa, wb = _words(a), _words(b)
    return len(wa & wb) / max(1, min(len(wa), len(wb)))


def choose_title(tree, tags: dict[str, list[str]], headline: str, outlet: str, doc) -> str:
    """The article's own headline: the page's <h1> when the declared titles confirm it,
    else the JSON-LD headline, else og:title / <title> with the site name removed."""
    sites = [outlet] + tags.get("og:site_name", []) + tags.get("application-name", [])
    declared = tags.get("og:title", []) + tags.get("twitter:title", []) \
        + [tree.findtext(".//title") or "", getattr(doc, "title", "") or ""]
    declared = [t for t in declared if t.strip()]
    declared = [strip_site_name(" ".join(t.split()), sites) for t in declared]
    if headline.strip() and not headline.rstrip().endswith(("...", "…")):
        declared.insert(0, " ".join(headline.split()))
    for h1 in tree.iter("h1"):
        text = " ".join(h1.text_content().split())
        if len(_words(text)) < 2 or not declared:
            continue
        for other in declared:
            if text.endswith(other) and len(other) < len(text):
                return other  # a kicker glued before the headline inside <h1>
        if max(_overlap(text, d) for d in declared) >= 0.6:
            return text
    confirmed = [d for d in declared if len(_words(d)) >= 2]
    return confirmed[0] if confirmed else (declared[0] if declared else "")


def _description(tags: dict[str, list[str]], title: str) -> str:
    for key in ("og:description", "description", "twitter:description"):
        for value in tags.get(key, []):
            if _compact(value) != _compact(title):
                return value
    return ""


def _published(doc) -> date | None:
    value = getattr(doc, "date", None)
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _language(tree, tags: dict[str, list[str]], doc) -> str:
    values = [tree.get("lang") or "", tree.get("xml:lang") or ""] + tags.get("og:locale", []) \
        + tags.get("content-language", []) + tags.get("language", []) + [getattr(doc, "language", "") or ""]
    for value in values:
        code = re.match(r"\s*([A-Za-z]{2,3})\b", value.replace("_", "-"))
        if code:
            return code.group(1).lower()
    return ""
