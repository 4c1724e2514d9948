"""qa.feeds: following RSS 2.0 and Atom feeds of the local test site (tests/webserver.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qa.errors import QAError
from qa.feeds import FEEDS, FeedError, FeedStateError, add_feed, list_feeds, remove_feed, sync
from qa.fetch import HostPacer
from qa.formats.html import saved_url
from tests.webserver import ATOM, KURSK, QUICK, RSS, Response, WebServer

TROOPS = "/news/2024/10/31/troops-withdraw"
CEASEFIRE = "/news/ceasefire-talks"


def pages(corpus_dir: Path) -> dict[str, str]:
    """Saved file -> the URL in its Mark of the Web."""
    return {p.name: saved_url(p.read_text(encoding="utf-8")) or "" for p in sorted(corpus_dir.iterdir())
            if not p.name.startswith(".")}


def fixed_now() -> datetime:
    return datetime(2024, 11, 6, 8, 30, tzinfo=UTC)


# The feed list --------------------------------------------------------------------------------

def test_add_feed_reads_the_title_and_keeps_the_feed_with_the_corpus(site: WebServer,
                                                                      corpus_dir: Path) -> None:
    feed = add_feed(corpus_dir, site.url("/feeds/rss.xml"), fetch_options=QUICK)
    assert feed.url == site.url("/feeds/rss.xml") and feed.title == "Test World News"
    assert feed.etag is None and feed.seen == ()  # the first sync must fetch the whole feed
    atom = add_feed(corpus_dir, site.url("/feeds/atom.xml"), fetch_options=QUICK)
    assert atom.title == "Test Atom Wire"
    assert [f.url for f in list_feeds(corpus_dir)] == [site.url("/feeds/rss.xml"),
                                                       site.url("/feeds/atom.xml")]
    stored = json.loads((corpus_dir / FEEDS).read_text())
    assert [f["title"] for f in stored["feeds"]] == ["Test World News", "Test Atom Wire"]
    assert pages(corpus_dir) == {}  # adding a feed saves no page yet


def test_adding_a_feed_twice_keeps_one(site: WebServer, corpus_dir: Path) -> None:
    add_feed(corpus_dir, site.url("/feeds/rss.xml"), fetch_options=QUICK)
    add_feed(corpus_dir, site.url("/feeds/rss.xml#latest"), fetch_options=QUICK)
    assert len(list_feeds(corpus_dir)) == 1
    assert site.hits("/feeds/rss.xml") == 1


@pytest.mark.parametrize(("path", "expected"), [
    ("/feeds/malformed.xml", "malformed feed (line 8, column 2: mismatched tag)"),
    (KURSK, "not a feed (text/html)"),
    ("/missing", "HTTP 404"),
])
def test_what_is_not_a_feed_is_refused_with_the_reason(site: WebServer, corpus_dir: Path, path: str,
                                                       expected: str) -> None:
    with pytest.raises(FeedError) as excinfo:
        add_feed(corpus_dir, site.url(path), fetch_options=QUICK)
    assert excinfo.value.reason == expected
    assert excinfo.value.url == site.url(path) and site.url(path) in str(excinfo.value)
    assert list_feeds(corpus_dir) == ()


def test_xml_that_is_no_feed_is_refused(site: WebServer, corpus_dir: Path) -> None:
    site.routes["/feeds/sitemap.xml"] = Response(body=b'<?xml version="1.0"?><urlset><url/></urlset>',
                                                 content_type="application/xml")
    with pytest.raises(FeedError, match="not an RSS or Atom feed"):
        add_feed(corpus_dir, site.url("/feeds/sitemap.xml"), fetch_options=QUICK)


def test_remove_feed_keeps_the_saved_pages(site: WebServer, corpus_dir: Path) -> None:
    add_feed(corpus_dir, site.url("/feeds/rss.xml"), fetch_options=QUICK)
    sync(corpus_dir, fetch_options=QUICK)
    removed = remove_feed(corpus_dir, site.url("/feeds/rss.xml"))
    assert removed.title == "Test World News" and len(removed.seen) == 2
    assert list_feeds(corpus_dir) == ()
    assert len(pages(corpus_dir)) == 2
    with pytest.raises(FeedError, match="not followed"):
        remove_feed(corpus_dir, site.url("/feeds/rss.xml"))


def test_a_damaged_feed_list_is_reported_and_left_alone(site: WebServer, corpus_dir: Path) -> None:
    (corpus_dir / FEEDS).write_text('{"feeds": [{"title": "no url"}]}')
    with pytest.raises(FeedStateError, match="damaged"):
        list_feeds(corpus_dir)
    with pytest.raises(FeedStateError):
        add_feed(corpus_dir, site.url("/feeds/rss.xml"), fetch_options=QUICK)
    assert (corpus_dir / FEEDS).read_text() == '{"feeds": [{"title": "no url"}]}'
    assert issubclass(FeedStateError, QAError)


# Syncing --------------------------------------------------------------------------------------

def test_sync_saves_each_new_entry_then_gets_304(site: WebServer, corpus_dir: Path) -> None:
    add_feed(corpus_dir, site.url("/feeds/rss.xml"), fetch_options=QUICK)
    report = sync(corpus_dir, fetch_options=QUICK, now=fixed_now)
    [first] = report.feeds
    assert first.error is None and not first.not_modified and first.failed == ()
    assert [u for u, _ in first.new] == [site.url(KURSK), site.url(TROOPS)]
    assert sorted(pages(corpus_dir).values()) == sorted([site.url(KURSK), site.url(TROOPS)])
    [feed] = list_feeds(corpus_dir)
    assert feed.seen == ("test-world-news-1001", "test-world-news-1000")
    assert feed.etag == '"rss-v1"'
    assert feed.last_sync == "2024-11-06T08:30:00+00:00" and feed.last_result == "2 new, 0 already seen"

    [second] = sync(corpus_dir, fetch_options=QUICK).feeds
    assert second.not_modified and second.new == ()
    assert site.requests[-1].headers["if-none-match"] == '"rss-v1"'
    assert site.hits(KURSK) == 1 and site.hits(TROOPS) == 1
    assert list_feeds(corpus_dir)[0].last_result == "not modified"


def test_atom_feeds_with_last_modified_and_relative_links(site: WebServer, corpus_dir: Path) -> None:
    add_feed(corpus_dir, site.url("/feeds/atom.xml"), fetch_options=QUICK)
    [first] = sync(corpus_dir, fetch_options=QUICK).feeds
    # The relative link is resolved against the feed; the AMP page's canonical URL is the Kursk
    # article, which is not in the corpus yet, so the AMP page is saved (once).
    assert [u for u, _ in first.new] == [site.url(CEASEFIRE), site.url("/amp/pentagon-kursk")]
    [second] = sync(corpus_dir, fetch_options=QUICK).feeds
    assert second.not_modified
    assert site.requests[-1].headers["if-modified-since"] == "Tue, 05 Nov 2024 15:00:00 GMT"


def test_only_new_entries_are_fetched_when_the_feed_changes(site: WebServer, corpus_dir: Path) -> None:
    add_feed(corpus_dir, site.url("/feeds/rss.xml"), fetch_options=QUICK)
    sync(corpus_dir, fetch_options=QUICK)
    site.routes["/feeds/rss.xml"] = Response(body=site.page("rss-more.xml"), content_type=RSS,
                                             etag='"rss-v2"')
    [feed] = sync(corpus_dir, fetch_options=QUICK).feeds
    assert [u for u, _ in feed.new] == [site.url(CEASEFIRE)] and feed.already_seen == 2
    assert site.hits(KURSK) == 1 and site.hits(TROOPS) == 1 and site.hits(CEASEFIRE) == 1
    assert list_feeds(corpus_dir)[0].etag == '"rss-v2"'
    assert len(pages(corpus_dir)) == 3


def test_an_entry_already_in_the_corpus_under_another_url_is_not_saved_again(site: WebServer,
                                                                             corpus_dir: Path) -> None:
    (corpus_dir / "kursk-from-a-colleague.html").write_bytes(site.page("kursk.html"))
    add_feed(corpus_dir, site.url("/feeds/atom.xml"), fetch_options=QUICK)
    [feed] = sync(corpus_dir, fetch_options=QUICK).feeds
    assert [u for u, _ in feed.new] == [site.url(CEASEFIRE)]
    assert feed.already_present == ((site.url("/amp/pentagon-kursk"), "kursk-from-a-colleague.html"),)
    assert "urn:test:atom-wire:kursk-amp" in list_feeds(corpus_dir)[0].seen  # marked seen all the same
    assert len(pages(corpus_dir)) == 2


def test_failed_entries_are_reported_and_retried_at_the_next_sync(site: WebServer, corpus_dir: Path) -> None:
    add_feed(corpus_dir, site.url("/feeds/mixed.xml"), fetch_options=QUICK)
    [first] = sync(corpus_dir, fetch_options=QUICK).feeds
    assert [u for u, _ in first.new] == [site.url(TROOPS)]
    assert dict(first.failed) == {site.url("/flaky/grain"): "HTTP 500",
                                  site.url("/private/leak"): "disallowed by robots.txt",
                                  "ftp://127.0.0.1/grain-report.txt":
                                      "only http and https URLs are fetched, not 'ftp'",
                                  "mixed-no-link-1": "the entry has no link"}
    assert site.hits("/private/leak") == 0
    [feed] = list_feeds(corpus_dir)
    assert site.url("/flaky/grain") not in feed.seen and site.url("/private/leak") not in feed.seen
    assert feed.etag is None  # else the next sync would get a 304 and never retry
    assert feed.last_result == "1 new, 0 already seen, 4 failed"

    [second] = sync(corpus_dir, fetch_options=QUICK).feeds
    assert not second.not_modified
    assert [u for u, _ in second.new] == [site.url("/flaky/grain")]
    # Entries that can never be fetched (no link, not http) are reported once; robots.txt is asked again.
    assert dict(second.failed) == {site.url("/private/leak"): "disallowed by robots.txt"}
    assert second.already_seen == 3  # the troops page, the FTP link and the entry without a link
    assert site.hits(TROOPS) == 1 and site.hits("/flaky/grain") == 2
    assert sorted(pages(corpus_dir).values()) == sorted([site.url(TROOPS), site.url("/flaky/grain")])


def test_a_failing_feed_is_reported_by_name_and_the_others_still_sync(site: WebServer,
                                                                      corpus_dir: Path) -> None:
    site.routes["/feeds/broken.xml"] = Response(body=site.page("atom.xml"), content_type=ATOM)  # when added
    for path in ("/feeds/broken.xml", "/feeds/rss.xml"):
        add_feed(corpus_dir, site.url(path), fetch_options=QUICK)
    site.routes["/feeds/broken.xml"] = Response(status=500, body=b"oops", content_type="text/plain")
    broken, rss = sync(corpus_dir, fetch_options=QUICK).feeds
    assert broken.url == site.url("/feeds/broken.xml") and broken.error == "HTTP 500"
    assert broken.summary == "failed: HTTP 500"
    assert list_feeds(corpus_dir)[0].last_result == "failed: HTTP 500"
    assert len(rss.new) == 2
    site.routes["/feeds/broken.xml"] = Response(body=site.page("malformed.xml"), content_type=RSS)
    broken, rss = sync(corpus_dir, fetch_options=QUICK).feeds
    assert broken.error is not None and broken.error.startswith("malformed feed")
    assert rss.not_modified


def test_gzip_encoded_feeds(site: WebServer, corpus_dir: Path) -> None:
    add_feed(corpus_dir, site.url("/feeds/gzip.xml"), fetch_options=QUICK)
    [feed] = sync(corpus_dir, fetch_options=QUICK).feeds
    assert len(feed.new) == 2 and feed.error is None


class StopAfter(Exception):
    """Stands for the process being stopped mid-sync (Ctrl-C, a crash)."""


def test_a_sync_that_stops_keeps_what_it_fetched(site: WebServer, corpus_dir: Path) -> None:
    add_feed(corpus_dir, site.url("/feeds/rss.xml"), fetch_options=QUICK)
    waits: list[str] = []

    def sleep(seconds: float) -> None:
        waits.append("slept")
        if len(waits) == 3:  # feed, robots.txt, first page... stop before the second page
            raise StopAfter

    pacer = HostPacer(1.0, clock=lambda: 0.0, sleep=sleep)
    with pytest.raises(StopAfter):
        sync(corpus_dir, fetch_options=QUICK, pacer=pacer)
    [feed] = list_feeds(corpus_dir)
    assert feed.seen == ("test-world-news-1001",) and feed.etag is None
    assert list(pages(corpus_dir).values()) == [site.url(KURSK)]
    [resumed] = sync(corpus_dir, fetch_options=QUICK).feeds
    assert [u for u, _ in resumed.new] == [site.url(TROOPS)] and resumed.already_seen == 1
    assert site.hits(KURSK) == 1


def test_sync_waits_politely_between_requests_to_one_host(site: WebServer, corpus_dir: Path) -> None:
    add_feed(corpus_dir, site.url("/feeds/rss.xml"), fetch_options=QUICK)
    slept: list[float] = []
    now = {"t": 0.0}

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now["t"] += seconds

    pacer = HostPacer(2.0, clock=lambda: now["t"], sleep=sleep)
    sync(corpus_dir, fetch_options=QUICK, pacer=pacer)
    assert slept == [2.0, 2.0, 2.0]  # feed -> robots.txt -> page -> page, nothing really waited


def test_sync_with_no_feeds_does_nothing(corpus_dir: Path) -> None:
    assert sync(corpus_dir, fetch_options=QUICK).feeds == ()
    assert not (corpus_dir / FEEDS).exists()
