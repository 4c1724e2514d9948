"""The edges of web pages, feeds and the API, in process: who the API lets in (qa.api.Guard), what
the reports say (qa.render), the feed syncer's schedule (qa.library.FeedSyncer), the Library view,
and the new settings. Feeds and pages come from the local test site (tests/webserver.py)."""

from __future__ import annotations

import base64
import logging
import threading
import time
from pathlib import Path

import pytest

from qa.api import Guard
from qa.errors import IndexMissingError, QAError
from qa.feeds import FEEDS, Feed, FeedSync, SyncReport, add_feed, list_feeds
from qa.indexing import BuildReport
from qa.library import FeedSyncer, LibraryView, add_web_pages_and_index, library_view, split_urls
from qa.render import (
    NO_SYNC,
    add_lines,
    add_markdown,
    feed_rows,
    followed_markdown,
    sync_lines,
    sync_markdown,
)
from qa.settings import Settings
from qa.sources import AddReport
from tests.webserver import KURSK, QUICK, WebServer


@pytest.fixture
def web_settings(tmp_path: Path) -> Settings:
    (tmp_path / "corpus").mkdir()
    return Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", fetch_delay_s=0)


def build_report(build_id: str | None = "b1", added: tuple[str, ...] = ()) -> BuildReport:
    return BuildReport(build_id=build_id, added=list(added), changed=[], removed=[], unchanged=0, skipped=[],
                       duplicates=[], full_rebuild_reason=None, articles=len(added), sentences=0, chunks=0,
                       embedded=0, copy_groups=0, delta=False, seconds=0.1)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# qa.api.Guard ---------------------------------------------------------------------------------

def test_without_logins_or_token_the_api_is_open() -> None:
    guard = Guard()
    assert not guard.required and guard.allows(None) and guard.allows("Bearer anything")


def test_basic_credentials_of_any_user_or_the_bearer_token_let_in() -> None:
    guard = Guard((("ann", "s3cret"), ("bob", "pa:ss")), "tok-123")
    assert guard.allows(basic("ann", "s3cret")) and guard.allows(basic("bob", "pa:ss"))
    assert guard.allows("Bearer tok-123") and guard.allows("bearer  tok-123 ")
    for refused in (None, "", basic("ann", "wrong"), basic("carol", "s3cret"), basic("ann", ""),
                    "Bearer tok-1234", "Bearer ", "Basic !!!not-base64", "Digest ann", "tok-123",
                    "Basic " + base64.b64encode(b"ann").decode()):
        assert not guard.allows(refused), refused


def test_a_token_alone_also_protects_the_api_and_logins_alone_refuse_bearers() -> None:
    assert Guard((), "t").required and not Guard((), "t").allows(basic("ann", "t"))
    assert not Guard((("ann", "x"),), "").allows("Bearer ")


def test_the_guard_takes_the_web_app_logins(tmp_path: Path) -> None:
    logins = tmp_path / "logins"
    logins.write_text("# staff\nbob:hunter2\n")
    settings = Settings.from_env({"QA_AUTH": "ann:pw", "QA_AUTH_FILE": str(logins), "QA_API_TOKEN": "abc"})

    class Stub:  # the guard reads only the engine's settings
        pass

    stub = Stub()
    stub.settings = settings  # type: ignore[attr-defined]
    guard = Guard.from_engine(stub)  # type: ignore[arg-type]
    assert guard == Guard((("ann", "pw"), ("bob", "hunter2")), "abc")


def test_the_new_settings_come_from_the_environment() -> None:
    s = Settings.from_env({"QA_FEED_SYNC_MINUTES": "2.5", "QA_API_TOKEN": "tok", "QA_FETCH_DELAY_S": "0"})
    assert (s.feed_sync_minutes, s.api_token, s.fetch_delay_s) == (2.5, "tok", 0.0)
    assert (Settings().feed_sync_minutes, Settings().api_token, Settings().fetch_delay_s) == (0.0, "", 1.0)


# qa.render ------------------------------------------------------------------------------------

def test_add_lines_name_each_url_with_what_happened() -> None:
    report = AddReport(added=(("https://a.test/1", "a.test-1.html"),),
                       already_present=(("https://a.test/amp/1", "a.test-1.html"),),
                       failed=(("https://b.test/x", "HTTP 404"),), notes=("robots.txt of b.test unreadable",))
    assert add_lines(report) == ["added     https://a.test/1 -> a.test-1.html",
                                 "present   https://a.test/amp/1: already in the corpus as a.test-1.html",
                                 "failed    https://b.test/x: HTTP 404",
                                 "note      robots.txt of b.test unreadable"]
    text = add_markdown(report, build_report(added=("a.test-1.html",)))
    assert text.startswith("**Web pages:** 1 added, 1 already in the corpus, 1 failed")
    assert "- failed https://b.test/x: HTTP 404" in text and "**Index rebuilt:**" in text
    assert "- added https://a.test/1 -&gt; a.test-1.html" in text
    assert "Index" not in add_markdown(AddReport(failed=(("x", "y"),)), None)


def test_what_came_from_the_web_is_escaped_in_markdown() -> None:
    feed = Feed(url="https://evil.test/rss", title="<img src=x onerror=alert(1)> **bold**",
                last_result="failed: <b>HTTP 500</b>")
    shown = followed_markdown(feed)
    assert "<img" not in shown and "&lt;img" in shown and "\\*\\*bold\\*\\*" in shown
    failed = (("https://evil.test/<x>", "<boom>"),)
    report = SyncReport((FeedSync(url=feed.url, title=feed.title, failed=failed),))
    text = sync_markdown(report, None, "2024-11-06T08:30:00+00:00")
    assert "<img" not in text and "<x>" not in text and "&lt;boom&gt;" in text
    # The feeds table holds plain text (a Gradio Dataframe shows it escaped)
    assert feed_rows((feed,)) == [[feed.title, feed.url, "never", "failed: <b>HTTP 500</b>"]]


def test_sync_lines_per_feed_and_page() -> None:
    report = SyncReport((FeedSync(url="https://a.test/rss", title="A News", already_seen=2,
                                  new=(("https://a.test/1", "a1.html"),),
                                  failed=(("https://a.test/2", "HTTP 500"),)),
                         FeedSync(url="https://b.test/rss", error="HTTP 503")))
    assert sync_lines(report) == ["A News (https://a.test/rss): 1 new, 2 already seen, 1 failed",
                                  "    added     https://a.test/1 -> a1.html",
                                  "    failed    https://a.test/2: HTTP 500",
                                  "https://b.test/rss (https://b.test/rss): failed: HTTP 503"]
    assert sync_lines(SyncReport()) == ["no feeds are followed yet"]
    assert sync_markdown(report, None).startswith("**Feed sync:** 1 new articles")


def test_split_urls_takes_what_people_paste() -> None:
    assert split_urls(" https://a.test/1\nhttps://b.test/2, https://c.test/3\t") == [
        "https://a.test/1", "https://b.test/2", "https://c.test/3"]
    assert split_urls("") == [] and split_urls("  \n ") == []


# qa.library: web pages, feeds, the syncer ----------------------------------------------------

def test_pages_added_from_the_ui_are_indexed_once(site: WebServer, web_settings: Settings) -> None:
    builds: list[int] = []

    def rebuild() -> BuildReport:
        builds.append(1)
        return build_report()

    pasted = f"{site.url(KURSK)}\n{site.url('/missing')}"
    report, build = add_web_pages_and_index(web_settings, pasted, rebuild)
    assert [f for _, f in report.added] == ["127.0.0.1-news-2024-11-05-pentagon-kursk.html"]
    assert report.failed == ((site.url("/missing"), "HTTP 404"),) and build is not None and builds == [1]
    again, _ = add_web_pages_and_index(web_settings, site.url("/amp/pentagon-kursk"), rebuild)
    assert again.added == () and len(again.already_present) == 1
    none, build = add_web_pages_and_index(web_settings, site.url("/missing"), rebuild)
    assert none.failed and build is None and builds == [1, 1]  # nothing to index: no rebuild


def test_sync_then_rebuild_and_remember_the_outcome(site: WebServer, web_settings: Settings) -> None:
    add_feed(web_settings.corpus_dir, site.url("/feeds/rss.xml"), fetch_options=QUICK)
    rebuilt = []
    syncer = FeedSyncer(web_settings, lambda: rebuilt.append(1) or build_report())
    outcome = syncer.sync()
    assert [len(f.new) for f in outcome.report.feeds] == [2] and rebuilt == [1] and syncer.last is outcome
    assert "2 new articles" in outcome.markdown()
    [feed] = list_feeds(web_settings.corpus_dir)
    assert feed.last_result == "2 new, 0 already seen" and feed.last_sync


def test_two_syncs_never_run_at_once(web_settings: Settings) -> None:
    running, most = [0], [0]
    lock = threading.Lock()

    def slow_rebuild() -> BuildReport:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        return build_report()

    syncer = FeedSyncer(web_settings, slow_rebuild)
    threads = [threading.Thread(target=syncer.sync) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    assert syncer.running
    for t in threads:
        t.join()
    assert most == [1] and not syncer.running


def test_the_schedule_syncs_at_once_and_again_and_stops(web_settings: Settings) -> None:
    calls: list[float] = []
    syncer = FeedSyncer(web_settings, lambda: calls.append(time.monotonic()) or build_report())
    assert syncer.start(0) is False and syncer._thread is None  # 0 minutes: no schedule
    assert syncer.start(0.3 / 60)  # every 0.3 s
    deadline = time.monotonic() + 5
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    thread = syncer._thread
    syncer.stop(timeout_s=5)
    assert len(calls) >= 3 and calls[1] - calls[0] >= 0.25
    assert thread is not None and not thread.is_alive()
    count = len(calls)
    time.sleep(0.5)
    assert len(calls) == count  # stopped: no sync after stop()


def test_a_failing_sync_is_logged_and_the_schedule_goes_on(web_settings: Settings,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    failures = iter([QAError("the index cannot be written"), RuntimeError("a bug")])
    calls = []

    def rebuild() -> BuildReport:
        calls.append(1)
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return build_report()

    syncer = FeedSyncer(web_settings, rebuild)
    with caplog.at_level(logging.INFO, logger="qa.feeds"):
        syncer.start(0.1 / 60)
        deadline = time.monotonic() + 5
        while syncer.last is None and time.monotonic() < deadline:
            time.sleep(0.02)
        syncer.stop(timeout_s=5)
    assert len(calls) >= 3 and syncer.last is not None
    messages = [r.getMessage() for r in caplog.records]
    assert "feed sync failed: the index cannot be written" in messages
    assert any(r.exc_info and "a bug" in str(r.exc_info[1]) for r in caplog.records)
    assert any(m.startswith("feed sync: no feeds followed") for m in messages)


class _NoIndexEngine:
    """An engine whose index is missing (the Library view asks it for articles and status)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def articles(self) -> list:
        raise IndexMissingError("no index yet")

    def status(self) -> None:
        raise IndexMissingError("no index yet")


def test_the_library_view_says_what_cannot_be_shown(web_settings: Settings) -> None:
    engine = _NoIndexEngine(web_settings)
    syncer = FeedSyncer(web_settings, build_report)
    view = library_view(engine, syncer)  # type: ignore[arg-type]
    assert isinstance(view, LibraryView) and view.rows == [] and view.feeds == []
    assert view.status.startswith("**The index cannot be used:** no index yet") and view.last_sync == NO_SYNC
    (web_settings.corpus_dir / FEEDS).write_text("{not json")
    damaged = library_view(engine, syncer)  # type: ignore[arg-type]
    assert damaged.last_sync.startswith("**The feed list cannot be read:**") and "repair or delete it" in \
        damaged.last_sync
