"""`qa eval FOLDER` on saved pages with hand-written gold (realnews `gold.json` format): how clean
and complete the articles the product reads from them are, and plain trafilatura beside it.

Each gold page gives `with` snippets (article text that must be extracted), `without` snippets
(boilerplate that must not) and, where a source gives them, title / title_alt, date / date_alt,
author and outlet. Comparison follows the realnews README: snippets after collapsing whitespace,
case-sensitive; titles after normalizing case, whitespace, quotes and dashes (a `title_alt` is
accepted, a site-name suffix is not); dates equal to `date` or a `date_alt`; authors as a set of
names, case-insensitive; outlet case-insensitive. Snippet shares are pooled over all snippets.

Ours is the product's own reading of each file (`qa.articles.parse_bytes`: decoding, extraction,
datelines, headings), scored on everything the index holds for the page: title, headings and
text. This module only scores: it reads no network and changes nothing. Results of the realnews
run are in benchmarks/results/realnews.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from qa.articles import decode, parse_bytes
from qa.errors import ArticleError, QAError


@dataclass(frozen=True, slots=True)
class Extracted:
    """What an extractor made of one page: the text the index would hold, and its metadata."""
    text: str
    title: str = ""
    published: date | None = None
    authors: tuple[str, ...] = ()
    outlet: str = ""
    rejected: str = ""  # the reason, when the extractor refused the page as not an article


@dataclass(frozen=True, slots=True)
class GoldPage:
    file: str
    url: str
    with_: tuple[str, ...]
    without: tuple[str, ...]
    titles: tuple[str, ...]  # the title first, then the accepted alternatives
    dates: tuple[str, ...]  # ISO dates, the date first
    author: str
    outlet: str


@dataclass(frozen=True, slots=True)
class PageScore:
    file: str
    found: int  # `with` snippets present
    wanted: int
    leaked: int  # `without` snippets present
    unwanted: int
    metadata: dict[str, bool]  # field -> correct, only for the fields the gold gives
    failures: tuple[str, ...]  # "kind: detail", one per problem

    @property
    def complete(self) -> bool:
        return self.found == self.wanted

    @property
    def clean(self) -> bool:
        return self.leaked == 0


@dataclass(frozen=True)
class Report:
    name: str
    pages: tuple[PageScore, ...]
    metrics: dict[str, float] = field(default_factory=dict)


Extractor = Callable[[bytes, str], Extracted]  # (the page's bytes, its file name)
_QUOTES = str.maketrans({c: "'" for c in "‘’‚‛′`´"} | {c: '"' for c in "“”„‟″«»"})
_DASHES = re.compile(r"[\u2010-\u2015\u2212\u2e3a\u2e3b]")
_NAME_SEPARATORS = re.compile(r"\s*(?:[,;&|/]|\band\b)\s*", re.IGNORECASE)


def squash(text: str) -> str:
    """Whitespace runs collapsed to one space, ends stripped."""
    return " ".join(text.split())


def normalize_title(title: str) -> str:
    """A title for comparison: lower case, one space, straight quotes, hyphens for dashes."""
    return squash(_DASHES.sub("-", title.translate(_QUOTES)).casefold())


def author_names(authors: Iterable[str]) -> frozenset[str]:
    """Names as a case-insensitive set; a joined byline ("A, B and C") counts as its names."""
    names = set()
    for author in authors:
        names.update(squash(n).casefold() for n in _NAME_SEPARATORS.split(author) if n.strip())
    return frozenset(names)


def load_gold(folder: Path) -> list[GoldPage]:
    """The gold pages of `folder`/gold.json (pages themselves are in `folder`/pages)."""
    records = json.loads((folder / "gold.json").read_text(encoding="utf-8"))
    return [GoldPage(file=r["file"], url=r.get("url", ""), with_=tuple(r.get("with", ())),
                     without=tuple(r.get("without", ())),
                     titles=tuple(([r["title"]] if r.get("title") else []) + list(r.get("title_alt", ()))),
                     dates=tuple(([r["date"]] if r.get("date") else []) + list(r.get("date_alt", ()))),
                     author=r.get("author", ""), outlet=r.get("outlet", ""))
            for r in records]


def score_page(gold: GoldPage, got: Extracted) -> PageScore:
    """Compare one extraction with its gold; every miss is named in `failures`."""
    text = squash(got.text)
    failures = [f"rejected: {got.rejected}"] if got.rejected else []
    missing = [s for s in gold.with_ if squash(s) not in text]
    leaked = [s for s in gold.without if squash(s) in text]
    failures += [f"missing: {s!r}" for s in missing] + [f"boilerplate: {s!r}" for s in leaked]
    metadata: dict[str, bool] = {}
    if gold.titles:
        metadata["title"] = normalize_title(got.title) in {normalize_title(t) for t in gold.titles}
    if gold.dates:
        metadata["date"] = got.published is not None and got.published.isoformat() in gold.dates
    if gold.author:
        metadata["author"] = author_names(got.authors) == author_names([gold.author])
    if gold.outlet:
        metadata["outlet"] = squash(got.outlet).casefold() == squash(gold.outlet).casefold()
    shown = {"title": (got.title, gold.titles[:1]), "date": (got.published, gold.dates),
             "author": (list(got.authors), gold.author), "outlet": (got.outlet, gold.outlet)}
    failures += [f"{k}: got {shown[k][0]!r}, want {shown[k][1]!r}" for k, ok in metadata.items() if not ok]
    return PageScore(gold.file, len(gold.with_) - len(missing), len(gold.with_), len(leaked),
                     len(gold.without), metadata, tuple(failures))


def summarize(pages: Iterable[PageScore]) -> dict[str, float]:
    """Overall shares: snippets pooled over pages, metadata over the pages whose gold has the field."""
    pages = list(pages)
    wanted = sum(p.wanted for p in pages)
    unwanted = sum(p.unwanted for p in pages)
    metrics = {
        "completeness": sum(p.found for p in pages) / wanted if wanted else 1.0,
        "cleanliness": 1 - sum(p.leaked for p in pages) / unwanted if unwanted else 1.0,
        "clean_and_complete": sum(p.clean and p.complete for p in pages) / len(pages) if pages else 0.0,
    }
    for key in ("title", "date", "author", "outlet"):
        marks = [p.metadata[key] for p in pages if key in p.metadata]
        metrics[key] = sum(marks) / len(marks) if marks else 1.0
    return metrics


def evaluate(folder: Path, extractor: Extractor, name: str) -> Report:
    """Run `extractor` on every gold page of `folder` (its bytes and file name) and score it."""
    scores = []
    for gold in load_gold(folder):
        data = (folder / "pages" / gold.file).read_bytes()
        scores.append(score_page(gold, extractor(data, gold.file)))
    return Report(name, tuple(scores), summarize(scores))


def is_page_folder(path: Path) -> bool:
    return path.is_dir() and (path / "gold.json").is_file() and (path / "pages").is_dir()


def evaluate_pages(folder: Path) -> list[Report]:
    """Ours, trafilatura's defaults and trafilatura with favor_precision, on the same pages."""
    if not is_page_folder(folder):
        raise QAError(f"{folder} is not a folder of pages with gold: expected {folder}/gold.json and "
                      f"{folder}/pages/ (as ../shared/realnews)")
    return [evaluate(folder, ours, "qa"), evaluate(folder, trafilatura_default, "trafilatura (defaults)"),
            evaluate(folder, trafilatura_precision, "trafilatura (favor_precision)")]


def failure_counts(report: Report) -> dict[str, list[str]]:
    """Failure kind -> the pages that have it (a page once per kind)."""
    kinds: dict[str, list[str]] = {}
    for page in report.pages:
        for kind in dict.fromkeys(f.split(":", 1)[0] for f in page.failures):
            kinds.setdefault(kind, []).append(page.file)
    return kinds


def _trafilatura(data: bytes, name: str, *, favor_precision: bool) -> Extracted:
    import trafilatura  # heavy: only when a baseline runs

    html = decode(data, name)  # decoded as the product decodes it: only the extraction differs
    text = trafilatura.extract(html, favor_precision=favor_precision) or ""
    doc = trafilatura.bare_extraction(html, favor_precision=favor_precision, with_metadata=True)
    if doc is None:
        return Extracted(text)
    authors = tuple(a.strip() for a in (doc.author or "").split(";") if a.strip())
    published = date.fromisoformat(doc.date[:10]) if doc.date else None
    return Extracted(text, doc.title or "", published, authors, doc.sitename or "")


def trafilatura_default(data: bytes, name: str) -> Extracted:
    """Baseline: `trafilatura.extract` with its defaults, its own metadata."""
    return _trafilatura(data, name, favor_precision=False)


def trafilatura_precision(data: bytes, name: str) -> Extracted:
    """Baseline: `trafilatura.extract(favor_precision=True)`, its own metadata."""
    return _trafilatura(data, name, favor_precision=True)


def ours(data: bytes, name: str) -> Extracted:
    """The product's reading of the file: everything the index holds for the page."""
    (item,) = parse_bytes(data, name)[:1] or [ArticleError(name, "nothing read")]
    if isinstance(item, ArticleError):
        return Extracted("", rejected=item.reason)
    parts = [item.title, *(h.text for h in item.headings), item.text]
    return Extracted("\n".join(p for p in parts if p), item.title, item.published, item.authors, item.source)
