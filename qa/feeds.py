"""Following RSS 2.0 and Atom feeds: each new entry's page is fetched once and saved into the corpus.

The list of followed feeds lives with the corpus, in a hidden file (`.qa-feeds.json`) that the
indexer ignores: per feed its URL, title, HTTP validators (ETag, Last-Modified), the ids of the
entries already saved (the entry id, else its link), and the last sync's time and result.
`sync` fetches every feed (conditionally: an unchanged feed is a cheap 304), saves the pages of
entries not seen yet through `qa.sources.save_page` (so a page already in the corpus under
another URL is not saved twice), honours robots.txt for pages and waits between requests to one
host. The state is written after every entry, atomically, so a sync that stops loses nothing;
an entry or a feed that fails is reported and tried again at the next sync.

It does not save the entries' summaries from the feed (the page is the article), discover feeds
from a page, follow a feed's permanent redirect to a new address, or rebuild the index.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin
from xml.sax import SAXParseException

from qa.errors import QAError
from qa.fetch import Fetched, FetchError, FetchOptions, HostPacer, RobotsCache, check_url, fetch
from qa.sources import SourceRegistry, normalize_url, save_page, write_json_atomically

FEEDS = ".qa-feeds.json"


class FeedError(QAError):
    """A feed could not be added, read or removed; `reason` says why."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class FeedStateError(QAError):
    """The feed list file is damaged; it is left as it is for a person to repair."""


@dataclass(frozen=True, kw_only=True)
class Feed:
    """One followed feed, as stored."""
    url: str
    title: str = ""
    etag: str | None = None
    last_modified: str | None = None
    seen: tuple[str, ...] = ()  # ids (else links) of the entries whose page is in the corpus
    last_sync: str | None = None  # ISO 8601, UTC
    last_result: str | None = None  # "3 new, 12 already seen", "not modified", "failed: HTTP 500"


@dataclass(frozen=True, kw_only=True)
class FeedSync:
    """What one sync did with one feed."""
    url: str
    title: str = ""
    new: tuple[tuple[str, str], ...] = ()  # (page url, corpus file) saved now
    already_seen: int = 0  # entries saved at an earlier sync
    already_present: tuple[tuple[str, str], ...] = ()  # (page url, file): in the corpus already
    not_modified: bool = False  # the feed answered 304
    failed: tuple[tuple[str, str], ...] = ()  # (entry link or id, reason): tried again next sync
    error: str | None = None  # the feed itself failed; its entries were not looked at

    @property
    def summary(self) -> str:
        if self.error is not None:
            return f"failed: {self.error}"
        if self.not_modified:
            return "not modified"
        parts = [f"{len(self.new)} new", f"{self.already_seen} already seen"]
        if self.already_present:
            parts.append(f"{len(self.already_present)} already in the corpus")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        return ", ".join(parts)


@dataclass(frozen=True)
class SyncReport:
    feeds: tuple[FeedSync, ...] = ()
    notes: tuple[str, ...] = ()  # e.g. a robots.txt that could not be read (and was taken as allowing)


# The feed list --------------------------------------------------------------------------------

def list_feeds(corpus_dir: Path) -> tuple[Feed, ...]:
    """The followed feeds, in the order they were added."""
    return tuple(_load(Path(corpus_dir)))


def add_feed(corpus_dir: Path, url: str, *, fetch_options: FetchOptions | None = None) -> Feed:
    """Follow the feed at `url`: it is fetched once to check that it is an RSS or Atom feed and to
    read its title. Its entries are saved by the next `sync`. A feed already followed is returned
    as it is. Raises `FeedError` for what cannot be fetched or is not a well-formed feed."""
    corpus_dir = Path(corpus_dir)
    _require_folder(corpus_dir)
    url = url.strip()
    key = _key(url)
    feeds = _load(corpus_dir)
    for feed in feeds:
        if _key(feed.url) == key:
            return feed
    try:
        got = fetch(url, fetch_options or FetchOptions(), accept="feed")
    except FetchError as exc:
        raise FeedError(url, exc.reason) from exc
    parsed = _parse(url, got)
    # No validators kept: the first sync must get the whole feed, not a 304.
    feed = Feed(url=url, title=_text(parsed.feed.get("title")) or url)
    _save(corpus_dir, [*_load(corpus_dir), feed])
    return feed


def remove_feed(corpus_dir: Path, url: str) -> Feed:
    """Stop following a feed. The pages already saved stay in the corpus. Raises `FeedError` if
    the feed is not followed."""
    corpus_dir = Path(corpus_dir)
    feeds = _load(corpus_dir)
    key = _key(url)
    kept = [f for f in feeds if _key(f.url) != key]
    if len(kept) == len(feeds):
        raise FeedError(url.strip(), "this feed is not followed")
    _save(corpus_dir, kept)
    return next(f for f in feeds if _key(f.url) == key)


def _key(url: str) -> str:
    try:
        return normalize_url(url)
    except FetchError as exc:
        raise FeedError(url, exc.reason) from exc


def _require_folder(corpus_dir: Path) -> None:
    if not corpus_dir.is_dir():
        raise FeedError(str(corpus_dir), "the corpus folder does not exist; create it first")


def _load(corpus_dir: Path) -> list[Feed]:
    path = corpus_dir / FEEDS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise FeedStateError(f"{path}: the feed list cannot be read ({exc}); repair or delete it") from exc
    try:
        return [_feed_from(item) for item in data["feeds"]]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise FeedStateError(f"{path}: the feed list is damaged ({type(exc).__name__}: {exc}); "
                             "repair or delete it") from exc


def _feed_from(item: dict[str, Any]) -> Feed:
    def optional(name: str) -> str | None:
        value = item.get(name)
        return value if isinstance(value, str) else None

    if not isinstance(item["url"], str) or not isinstance(item.get("seen", []), list):
        raise ValueError("a feed needs a url string and a list of seen ids")
    return Feed(url=item["url"], title=str(item.get("title") or ""), etag=optional("etag"),
                last_modified=optional("last_modified"), seen=tuple(str(s) for s in item.get("seen", [])),
                last_sync=optional("last_sync"), last_result=optional("last_result"))


def _save(corpus_dir: Path, feeds: list[Feed]) -> None:
    data = {"version": 1, "feeds": [{"url": f.url, "title": f.title, "etag": f.etag,
                                     "last_modified": f.last_modified, "seen": list(f.seen),
                                     "last_sync": f.last_sync, "last_result": f.last_result}
                                    for f in feeds]}
    try:
        write_json_atomically(corpus_dir / FEEDS, data)
    except QAError as exc:
        raise FeedStateError(str(exc)) from exc


def _update(corpus_dir: Path, url: str, change: Callable[[Feed], Feed]) -> None:
    """Apply `change` to the stored feed `url`, re-reading the file first: a feed added or removed
    meanwhile (by another command) is kept as it is, and a removed one is not brought back."""
    feeds = _load(corpus_dir)
    _save(corpus_dir, [change(f) if f.url == url else f for f in feeds])


# Parsing --------------------------------------------------------------------------------------

def _parse(url: str, got: Fetched) -> Any:
    """The feedparser result of a fetched feed; `FeedError` if it is not a well-formed feed."""
    import feedparser  # only when a feed is read

    headers = {"content-type": got.content_type, "content-location": got.final_url}
    # A stream, never the bytes or a string: feedparser would take those for a path or a URL.
    parsed = feedparser.parse(io.BytesIO(got.body), response_headers=headers)
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if problem is not None and not isinstance(problem, feedparser.ThingsNobodyCaresAboutButMe):
        raise FeedError(url, f"malformed feed ({_describe(problem)})")
    if not parsed.get("version"):
        raise FeedError(url, "not an RSS or Atom feed")
    return parsed


def _describe(problem: BaseException) -> str:
    if isinstance(problem, SAXParseException):
        return f"line {problem.getLineNumber()}, column {problem.getColumnNumber()}: {problem.getMessage()}"
    text = " ".join(str(problem).split())
    return text[:200] or type(problem).__name__


def _text(value: object) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _entry_ids(entry: Any, base: str) -> tuple[str, str | None]:
    """(the entry's id for `seen`, its page's absolute URL or None)."""
    link = entry.get("link")
    link = urljoin(base, link.strip()) if isinstance(link, str) and link.strip() else None
    ident = entry.get("id")
    ident = ident.strip() if isinstance(ident, str) and ident.strip() else None
    return ident or link or "", link


# Syncing --------------------------------------------------------------------------------------

def sync(corpus_dir: Path, *, fetch_options: FetchOptions, pacer: HostPacer | None = None,
         robots: RobotsCache | None = None, now: Callable[[], datetime] | None = None) -> SyncReport:
    """Fetch every followed feed and save the pages of its new entries into the corpus. A feed or
    a page that fails is reported by name and tried again next time; nothing else stops."""
    corpus_dir = Path(corpus_dir)
    _require_folder(corpus_dir)
    pacer = pacer or HostPacer(fetch_options.per_host_delay_s)
    robots = robots or RobotsCache(fetch_options, pacer)
    clock = now or (lambda: datetime.now(UTC))
    feeds = _load(corpus_dir)
    if not feeds:
        return SyncReport()
    registry = SourceRegistry.load(corpus_dir)
    results = []
    for feed in feeds:
        results.append(_sync_feed(corpus_dir, feed, fetch_options, pacer, robots, registry))
        stamp = clock().astimezone(UTC).isoformat(timespec="seconds")
        summary = results[-1].summary
        _update(corpus_dir, feed.url, lambda f, at=stamp, result=summary: replace(f, last_sync=at,
                                                                                 last_result=result))
    return SyncReport(tuple(results), tuple(robots.notes))


def _sync_feed(corpus_dir: Path, feed: Feed, options: FetchOptions, pacer: HostPacer,
               robots: RobotsCache, registry: SourceRegistry) -> FeedSync:
    pacer.wait(feed.url)
    try:
        got = fetch(feed.url, options, accept="feed", etag=feed.etag, last_modified=feed.last_modified)
        if got.not_modified:
            return FeedSync(url=feed.url, title=feed.title, not_modified=True)
        parsed = _parse(feed.url, got)
    except (FetchError, FeedError) as exc:
        return FeedSync(url=feed.url, title=feed.title, error=exc.reason)
    title = _text(parsed.feed.get("title")) or feed.title
    seen = set(feed.seen)
    new, present, failed, already, retry = [], [], [], 0, False
    for entry in parsed.entries:
        ident, link = _entry_ids(entry, got.final_url)
        if ident in seen:
            already += 1
            continue
        problem = "the entry has no link" if link is None else _unfetchable(link)
        if link is None or problem is not None:
            # Nothing to fetch, now or later: reported once (when it has an id to remember it by).
            failed.append((link or ident or _text(entry.get("title")) or "(an entry)", problem or ""))
            if ident:
                seen.add(ident)
                _update(corpus_dir, feed.url, _mark_seen(ident))
            continue
        try:
            saved = save_page(corpus_dir, link, fetch_options=options, pacer=pacer, robots=robots,
                              registry=registry)
        except QAError as exc:
            failed.append((link, getattr(exc, "reason", str(exc))))
            retry = True
            continue
        (new if saved.added else present).append((link, saved.file))
        seen.add(ident)
        _update(corpus_dir, feed.url, _mark_seen(ident))  # after every entry: a stopped sync keeps it
    # The validators are kept only when no entry is left to retry; otherwise the next sync would
    # get a 304 and never see the failed entries again.
    etag, modified = (None, None) if retry else (got.etag, got.last_modified)
    _update(corpus_dir, feed.url, lambda f: replace(f, title=title, etag=etag, last_modified=modified))
    return FeedSync(url=feed.url, title=title, new=tuple(new), already_seen=already,
                    already_present=tuple(present), failed=tuple(failed))


def _unfetchable(link: str) -> str | None:
    """Why an entry's link can never be fetched (not http(s), malformed...), or None."""
    try:
        check_url(link)
    except FetchError as exc:
        return exc.reason
    return None


def _mark_seen(ident: str) -> Callable[[Feed], Feed]:
    return lambda f: f if ident in f.seen else replace(f, seen=(*f.seen, ident))
