"""The corpus folder as a library: add uploaded files safely, delete files, add web pages, follow
feeds (and sync them on a schedule).

Everything a browser sends is treated as hostile: a file name is reduced to a safe base name
(no folders, no dots in front, no control characters), only supported extensions and sizes are
accepted, and nothing is ever written outside the corpus folder.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from qa.answering import Engine
from qa.articles import SUPPORTED
from qa.errors import QAError
from qa.feeds import Feed, SyncReport, add_feed, list_feeds, sync
from qa.fetch import FetchOptions
from qa.indexing import BuildReport
from qa.render import NO_SYNC, feed_rows, library_choices, library_rows, status_markdown, sync_markdown
from qa.settings import Settings
from qa.sources import AddReport, add_urls

_log = logging.getLogger("qa.feeds")


class UploadError(QAError):
    """An uploaded or deleted file was refused; the message says why."""


@dataclass(frozen=True)
class Added:
    name: str  # the file name written in the corpus folder
    original: str


def safe_name(name: str) -> str:
    """A harmless file name from whatever the browser claims (`../../x.txt` -> `x.txt`)."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/").split("/")[-1])
    name = "".join(c for c in name if c.isprintable() and c not in '<>:"|?*\x00')
    name = re.sub(r"\s+", "-", name.strip()).lstrip(".-")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem = re.sub(r"-{2,}", "-", re.sub(r"[^\w.-]", "-", stem))[:120].strip(".-") or "article"
    return f"{stem}.{ext.lower()}" if ext else stem


def add_file(corpus_dir: Path, source: Path, original_name: str, max_bytes: int) -> Added:
    """Copy an uploaded temporary file into the corpus under a safe, unused name."""
    name = safe_name(original_name)
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED:
        raise UploadError(f"{original_name}: unsupported file type {suffix or '(none)'!r}; "
                          f"accepted: {', '.join(SUPPORTED)}")
    size = source.stat().st_size
    if size > max_bytes:
        raise UploadError(f"{original_name}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.1f} MB limit")
    if size == 0:
        raise UploadError(f"{original_name}: empty file")
    corpus_dir.mkdir(parents=True, exist_ok=True)
    stem, ext = Path(name).stem, Path(name).suffix
    for n in range(1000):
        candidate = corpus_dir / (f"{stem}{ext}" if n == 0 else f"{stem}-{n}{ext}")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            while block := src.read(1 << 20):
                out.write(block)
        return Added(candidate.name, original_name)
    raise UploadError(f"{original_name}: too many files named {name}")


def add_files(corpus_dir: Path, files: list[Path], max_bytes: int) -> list[str]:
    """Add uploaded files to the corpus; one line per file: what it was stored as, or why not."""
    lines = []
    for path in files:
        try:
            lines.append(f"added {add_file(corpus_dir, path, path.name, max_bytes).name}")
        except UploadError as exc:
            lines.append(f"refused: {exc}")
    return lines


def delete_file(corpus_dir: Path, relative: str) -> None:
    """Remove one corpus file named by its path relative to the corpus (as the index lists it)."""
    root = corpus_dir.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or target == root:
        raise UploadError(f"{relative}: not a file of the corpus")
    if not target.is_file():
        raise UploadError(f"{relative}: no such file in the corpus")
    target.unlink()


def delete_files_and_index(settings: Settings, files: Sequence[str] | None,
                           rebuild: Callable[[], BuildReport]) -> BuildReport | None:
    """Remove corpus files (paths relative to the corpus), then rebuild; None when none was named."""
    for relative in files or ():
        delete_file(settings.corpus_dir, relative)
    return rebuild() if files else None


def ready(engine: Engine) -> list[str]:
    """Make `engine` ready for its first question: the index built if there is none yet (and the
    corpus folder exists), the model and the index loaded. Returns what to tell the person starting it."""
    said = []
    try:
        if engine.index.current_build_id() is None and engine.settings.corpus_dir.is_dir():
            said.append(f"No index yet: building it from {engine.settings.corpus_dir}")
            said += engine.rebuild().summary_lines()
        engine.answer("warm up")
    except QAError as exc:  # the app still starts: the chat and the Library say what is wrong
        said.append(f"warning: {exc}")
    return said


# Web pages and feeds ------------------------------------------------------------------------------

def fetch_options(settings: Settings) -> FetchOptions:
    """How pages and feeds are fetched under these settings (no page bigger than a corpus file may be)."""
    return FetchOptions(per_host_delay_s=settings.fetch_delay_s,
                        max_bytes=min(FetchOptions().max_bytes, settings.max_file_bytes))


def split_urls(text: str) -> list[str]:
    """The addresses in what a user pasted: one or more, separated by spaces, new lines or commas."""
    return [u for u in re.split(r"[\s,]+", text or "") if u]


def add_web_pages(settings: Settings, urls: Sequence[str]) -> AddReport:
    """Fetch each page into the corpus, once (a page already there under any of its addresses is
    reported, not saved again); a URL that fails is reported with its reason, the rest go on."""
    return add_urls(settings.corpus_dir, urls, fetch_options=fetch_options(settings))


def follow_feed(settings: Settings, url: str) -> Feed:
    """Follow the RSS or Atom feed at `url` (checked by fetching it once)."""
    return add_feed(settings.corpus_dir, url, fetch_options=fetch_options(settings))


@dataclass(frozen=True, kw_only=True)
class SyncOutcome:
    """One sync of the followed feeds and the rebuild after it."""
    finished: str  # ISO 8601, UTC
    report: SyncReport
    build: BuildReport

    def markdown(self) -> str:
        return sync_markdown(self.report, self.build, self.finished)


class FeedSyncer:
    """Syncs the followed feeds, then rebuilds the index: one sync at a time, whoever asks (a button,
    or the schedule `start` runs in a background thread until `stop`)."""

    def __init__(self, settings: Settings, rebuild: Callable[[], BuildReport]) -> None:
        self.settings = settings
        self.rebuild = rebuild
        self.last: SyncOutcome | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._lock.locked()

    def sync(self) -> SyncOutcome:
        """Sync every feed and rebuild; waits for a sync already running to end first. Raises
        `QAError` when the feed list cannot be read or the index cannot be built."""
        with self._lock:
            report = sync(self.settings.corpus_dir, fetch_options=fetch_options(self.settings))
            build = self.rebuild()
            self.last = SyncOutcome(finished=datetime.now(UTC).isoformat(timespec="seconds"), report=report,
                                    build=build)
            return self.last

    def start(self, minutes: float) -> bool:
        """Sync now and then every `minutes` in a background thread; nothing when `minutes` <= 0.
        Returns whether the schedule runs."""
        if minutes <= 0 or self._thread is not None:
            return False
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(minutes * 60,), name="qa-feed-sync",
                                        daemon=True)
        self._thread.start()
        return True

    def stop(self, timeout_s: float = 30.0) -> None:
        """End the schedule: no sync starts after this; one running is waited for up to `timeout_s`."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self, every_s: float) -> None:
        wait = 0.0
        while not self._stop.wait(wait):
            wait = every_s
            try:
                outcome = self.sync()
            except QAError as exc:
                _log.warning("feed sync failed: %s", exc)
            except Exception:  # the schedule must outlive any bug in one sync; it is logged in full
                _log.exception("feed sync failed")
            else:
                done = "; ".join(f"{f.title or f.url}: {f.summary}" for f in outcome.report.feeds)
                _log.info("feed sync: %s; %s", done or "no feeds followed", outcome.build.headline())


def add_web_pages_and_index(settings: Settings, text: str,
                            rebuild: Callable[[], BuildReport]) -> tuple[AddReport, BuildReport | None]:
    """Add the pages at the addresses in `text`, then rebuild the index (not when nothing was added
    or found already present)."""
    report = add_web_pages(settings, split_urls(text))
    return report, rebuild() if report.added or report.already_present else None


@dataclass(frozen=True, kw_only=True)
class LibraryView:
    """What the Library tab shows: the articles (table rows, choices, files), the index status,
    the followed feeds and the last sync, each as Markdown or rows."""
    rows: list[list[object]]
    status: str
    choices: list[tuple[str, str]]
    files: list[str]
    feeds: list[list[str]]
    last_sync: str


def library_view(engine: Engine, syncer: FeedSyncer) -> LibraryView:
    """The Library tab's contents; an unusable index or feed list is said in place of its part."""
    last = syncer.last
    try:
        feeds = feed_rows(list_feeds(engine.settings.corpus_dir))
        last_sync = last.markdown() if last else NO_SYNC
    except QAError as exc:  # a damaged feed list: the rest of the library still shows
        feeds, last_sync = [], f"**The feed list cannot be read:** {exc}"
    try:
        articles, status = engine.articles(), status_markdown(engine.status())
    except QAError as exc:  # no index yet, or a damaged one: say which, and how to fix it
        return LibraryView(rows=[], status=f"**The index cannot be used:** {exc}. Add articles and press "
                           "**Rebuild index**.", choices=[], files=[], feeds=feeds, last_sync=last_sync)
    choices, files = library_choices(articles)
    return LibraryView(rows=library_rows(articles), status=status, choices=choices, files=files, feeds=feeds,
                       last_sync=last_sync)
