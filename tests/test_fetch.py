"""qa.fetch (one page over HTTP, robots.txt, polite delay) and qa.sources (saving pages into the
corpus once each), against the local test site of tests/webserver.py: nothing else is contacted."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from qa.errors import ConfigError, QAError
from qa.fetch import USER_AGENT, FetchError, FetchOptions, HostPacer, RobotsCache, fetch, robots_allowed
from qa.formats.html import saved_url
from qa.sources import (
    MAX_NAME,
    REGISTRY,
    AddReport,
    add_urls,
    file_name,
    mark_of_the_web,
    normalize_url,
    with_mark,
)
from tests.webserver import KURSK, QUICK, Response, WebServer, closed_port


def reason(excinfo: pytest.ExceptionInfo[FetchError]) -> str:
    return excinfo.value.reason


# fetch: success -------------------------------------------------------------------------------

def test_fetch_returns_the_page_with_its_validators_and_identifies_itself(site: WebServer) -> None:
    got = fetch(site.url(KURSK), QUICK)
    assert got.status == 200 and not got.not_modified
    assert got.url == got.final_url == site.url(KURSK)
    assert got.body == site.page("kursk.html")
    assert got.media_type == "text/html" and got.charset == "utf-8"
    assert got.etag == '"kursk-1"' and got.last_modified == "Tue, 05 Nov 2024 14:00:00 GMT"
    sent = site.requests[-1].headers
    assert sent["user-agent"] == USER_AGENT == QUICK.user_agent
    assert USER_AGENT.startswith("qa-news/0.1 (+https://") and "offline news QA" in USER_AGENT
    assert "if-none-match" not in sent and "gzip" in sent["accept-encoding"]


@pytest.mark.parametrize("path", ["/gzip/kursk", "/deflate/kursk"])
def test_compressed_responses_are_decoded(site: WebServer, path: str) -> None:
    got = fetch(site.url(path), QUICK)
    assert got.body == site.page("kursk.html")


def test_a_redirect_chain_within_the_limit_is_followed_to_its_end(site: WebServer) -> None:
    got = fetch(site.url("/chain/1"), QUICK)
    assert got.url == site.url("/chain/1")
    assert got.final_url == site.url(KURSK)
    assert got.body == site.page("kursk.html")
    assert [site.hits(p) for p in ("/chain/1", "/chain/2", "/chain/3", KURSK)] == [1, 1, 1, 1]


def test_conditional_get_gives_not_modified_with_an_empty_body(site: WebServer) -> None:
    first = fetch(site.url(KURSK), QUICK)
    again = fetch(site.url(KURSK), QUICK, etag=first.etag)
    assert again.not_modified and again.status == 304 and again.body == b""
    assert again.etag == first.etag
    assert site.requests[-1].headers["if-none-match"] == '"kursk-1"'
    by_date = fetch(site.url(KURSK), QUICK, last_modified=first.last_modified)
    assert by_date.not_modified
    assert site.requests[-1].headers["if-modified-since"] == first.last_modified
    changed = fetch(site.url(KURSK), QUICK, etag='"an-older-version"')
    assert not changed.not_modified and changed.body == first.body


def test_a_page_without_content_type_is_accepted_only_if_it_looks_like_html(site: WebServer) -> None:
    assert fetch(site.url("/no-type"), QUICK).body == site.page("kursk.html")
    site.routes["/no-type-binary"] = Response(body=b"\x89PNG\r\n\x1a\n....", content_type=None)
    with pytest.raises(FetchError) as excinfo:
        fetch(site.url("/no-type-binary"), QUICK)
    assert reason(excinfo) == "not a web page (no content type)"


def test_feeds_and_pages_accept_their_own_content_types(site: WebServer) -> None:
    assert fetch(site.url("/feeds/rss.xml"), QUICK, accept="feed").media_type == "application/rss+xml"
    assert fetch(site.url("/feeds/atom.xml"), QUICK, accept="feed").media_type == "application/atom+xml"
    with pytest.raises(FetchError) as as_page:
        fetch(site.url("/feeds/rss.xml"), QUICK)
    assert reason(as_page) == "not a web page (application/rss+xml)"
    with pytest.raises(FetchError) as as_feed:
        fetch(site.url(KURSK), QUICK, accept="feed")
    assert reason(as_feed) == "not a feed (text/html)"


# fetch: failures ------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "expected"), [("/missing", "HTTP 404"), ("/broken", "HTTP 500")])
def test_http_errors_name_the_url_and_the_status(site: WebServer, path: str, expected: str) -> None:
    with pytest.raises(FetchError) as excinfo:
        fetch(site.url(path), QUICK)
    assert reason(excinfo) == expected
    assert excinfo.value.url == site.url(path)
    assert str(excinfo.value) == f"{site.url(path)}: {expected}"
    assert isinstance(excinfo.value, QAError)


def test_a_slow_server_times_out_quickly(site: WebServer) -> None:
    start = time.monotonic()
    with pytest.raises(FetchError) as excinfo:
        fetch(site.url("/slow"), QUICK)
    assert reason(excinfo) == "timed out after 0.5 s"
    assert time.monotonic() - start < 1.2


def test_a_trickling_body_stops_at_the_total_deadline(site: WebServer) -> None:
    # Every read arrives within the 0.5 s timeout, but the whole body would take 2 s.
    start = time.monotonic()
    with pytest.raises(FetchError) as excinfo:
        fetch(site.url("/trickle"), QUICK)
    assert reason(excinfo) == "timed out after 1 s (the whole download)"
    assert time.monotonic() - start < 1.8


def test_a_read_that_stalls_stops_at_the_deadline_not_at_the_read_timeout(site: WebServer) -> None:
    # The server sends 100 bytes, then nothing for 1.5 s: less than the read timeout, more than
    # the time left before the deadline.
    options = FetchOptions(timeout_s=3, deadline_s=0.5)
    start = time.monotonic()
    with pytest.raises(FetchError) as excinfo:
        fetch(site.url("/stall"), options)
    assert reason(excinfo) == "timed out after 0.5 s (the whole download)"
    assert time.monotonic() - start < 1.2


def test_a_redirect_loop_is_an_error_naming_the_url(site: WebServer) -> None:
    with pytest.raises(FetchError) as excinfo:
        fetch(site.url("/loop/a"), QUICK)
    assert excinfo.value.url == site.url("/loop/a")
    assert reason(excinfo).startswith("redirect loop (")
    assert site.hits("/loop/a") == 1 and site.hits("/loop/b") == 1


def test_too_many_redirects(site: WebServer) -> None:
    with pytest.raises(FetchError) as excinfo:
        fetch(site.url("/hops/1"), QUICK)
    assert reason(excinfo) == "too many redirects (5)"
    assert site.hits("/hops/6") == 1 and site.hits("/hops/7") == 0
    # One more hop allowed, and the same chain ends at the page.
    options = FetchOptions(timeout_s=0.5, max_redirects=6)
    assert fetch(site.url("/hops/1"), options).final_url == site.url("/hops/7")


def test_other_content_types_are_refused(site: WebServer) -> None:
    with pytest.raises(FetchError) as excinfo:
        fetch(site.url("/report.pdf"), QUICK)
    assert reason(excinfo) == "not a web page (application/pdf)"


@pytest.mark.parametrize("path", ["/big", "/big-unsized", "/gzip/bomb"])
def test_bodies_over_the_size_limit_are_refused(site: WebServer, path: str) -> None:
    options = FetchOptions(timeout_s=0.5, max_bytes=10_000)
    with pytest.raises(FetchError) as excinfo:
        fetch(site.url(path), options)
    assert reason(excinfo) == "over the 10 KB limit"
    assert fetch(site.url(path), FetchOptions(timeout_s=2, max_bytes=3_000_000)).status == 200


def test_the_size_limit_is_written_in_megabytes_by_default(site: WebServer) -> None:
    big = b"<html>" + b"a" * 5_000_001 + b"</html>"
    site.routes["/huge"] = Response(body=big)
    with pytest.raises(FetchError) as excinfo:
        fetch(site.url("/huge"), QUICK)
    assert reason(excinfo) == "over the 5.0 MB limit"


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/file", "file:///etc/passwd", "javascript:alert(1)",
                                 "http:///no-host", "http://user:secret@127.0.0.1/",
                                 "http://127.0.0.1:99999/"])
def test_only_plain_http_urls_are_fetched(url: str) -> None:
    with pytest.raises(FetchError) as excinfo:
        fetch(url, QUICK)
    assert excinfo.value.url == url


def test_a_redirect_to_another_scheme_is_refused(site: WebServer) -> None:
    with pytest.raises(FetchError) as excinfo:
        fetch(site.url("/ftp-redirect"), QUICK)
    assert "redirected to a URL that is not fetched" in reason(excinfo)


def test_a_refused_connection_is_a_fetch_error() -> None:
    with pytest.raises(FetchError) as excinfo:
        fetch(f"http://127.0.0.1:{closed_port()}/page", QUICK)
    assert reason(excinfo) == "connection refused"


def test_options_are_checked() -> None:
    with pytest.raises(ConfigError):
        FetchOptions(timeout_s=0)
    with pytest.raises(ConfigError):
        FetchOptions(max_bytes=0)
    with pytest.raises(ConfigError):
        FetchOptions(user_agent="two\nlines")
    defaults = FetchOptions()
    assert (defaults.timeout_s, defaults.max_bytes, defaults.max_redirects, defaults.per_host_delay_s) == \
        (10.0, 5_000_000, 5, 1.0)


# robots.txt and the polite delay ---------------------------------------------------------------

def test_robots_txt_is_read_once_per_host_and_honoured(site: WebServer) -> None:
    robots = RobotsCache(QUICK)
    assert not robots.allowed(site.url("/private/leak"))
    assert robots.allowed(site.url(KURSK))
    assert robots.allowed(site.url("/news/anything-else"))
    assert site.hits("/robots.txt") == 1
    assert robots.notes == []
    assert site.requests[0].headers["user-agent"] == USER_AGENT


def test_robots_rules_for_our_agent_apply_to_us_only(site: WebServer) -> None:
    site.routes["/robots.txt"] = Response(content_type="text/plain",
                                          body=b"User-agent: qa-news\nDisallow: /\n")
    assert not robots_allowed(site.url(KURSK), USER_AGENT)
    assert robots_allowed(site.url(KURSK), "SomeOtherBot/2.0")


def test_a_missing_robots_txt_allows_and_an_unreachable_one_allows_with_a_note(site: WebServer) -> None:
    del site.routes["/robots.txt"]  # a 404
    robots = RobotsCache(QUICK)
    assert robots.allowed(site.url("/private/leak"))
    assert robots.notes == []
    unreachable = f"http://127.0.0.1:{closed_port()}/page"
    assert robots.allowed(unreachable)
    assert len(robots.notes) == 1 and "connection refused" in robots.notes[0]
    site.routes["/robots.txt"] = Response(status=503, body=b"down")
    assert RobotsCache(QUICK).allowed(site.url("/private/leak")) is True


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_host_pacer_spaces_requests_to_one_host_without_really_waiting() -> None:
    t = FakeTime()
    pacer = HostPacer(1.0, clock=t.clock, sleep=t.sleep)
    assert pacer.wait("https://a.example/1") == 0
    assert pacer.wait("https://b.example/1") == 0  # another host: no wait
    t.now += 0.25
    assert pacer.wait("https://a.example/2") == pytest.approx(0.75)
    assert pacer.wait("https://A.EXAMPLE/3") == pytest.approx(1.0)  # host names ignore case
    t.now += 5
    assert pacer.wait("https://a.example/4") == 0
    assert t.slept == [pytest.approx(0.75), pytest.approx(1.0)]
    with pytest.raises(ConfigError):
        HostPacer(-1)


# qa.sources: names and the Mark of the Web ------------------------------------------------------

def test_canonical_links_survive_markup_that_html_parser_gives_up_on() -> None:
    from qa.sources import canonical_urls

    head = '<html><head><link rel="canonical" href="/a/story"><![if-ie[ x ]]></head>'
    assert canonical_urls(head, "https://example.com/amp/story") == ["https://example.com/a/story"]
    assert canonical_urls('<link rel="canonical" href="/">', "https://example.com/a/story") == []  # home page


def test_a_header_that_cannot_be_sent_is_a_fetch_error(site: WebServer) -> None:
    with pytest.raises(FetchError, match="cannot be sent"):
        fetch(site.url(KURSK), QUICK, etag='"\u201cquoted\u201d"')


def test_file_names_are_host_and_path_slugs() -> None:
    assert file_name("https://example.com/news/2024-11-05/pentagon-kursk") == \
        "example.com-news-2024-11-05-pentagon-kursk.html"
    assert file_name("https://www.example.com/news/2024/11/05/pentagon-kursk.html") == \
        "example.com-news-2024-11-05-pentagon-kursk.html"


@pytest.mark.parametrize("url", [
    "https://example.com/../../etc/passwd",
    "https://example.com/a/%2e%2e/%2E%2E/b",
    "https://example.com/.hidden",
    "https://example.com/" + "very-long-segment/" * 30,
    "https://example.com/статья/новости",
    "https://example.com/article?id=1&x=<script>",
    "https://example.com/",
])
def test_file_names_are_safe(url: str) -> None:
    name = file_name(url)
    assert len(name) <= MAX_NAME and name.endswith(".html")
    assert "/" not in name and "\\" not in name and ".." not in name
    assert not name.startswith((".", "-")) and name.isascii()
    assert all(c.isalnum() or c in "-." for c in name)


def test_different_queries_or_scripts_get_different_names() -> None:
    assert file_name("https://example.com/article?id=1") != file_name("https://example.com/article?id=2")
    assert file_name("https://example.com/статья") != file_name("https://example.com/новости")


def test_urls_are_normalized_for_lookup() -> None:
    same = ["https://Example.com:443/a/b?utm_source=rss&id=3#comments", "https://example.com/a/./b?id=3",
            "HTTPS://EXAMPLE.COM/a/b?id=3&fbclid=xyz"]
    assert {normalize_url(u) for u in same} == {"https://example.com/a/b?id=3"}
    assert normalize_url("https://example.com/a/b?id=4") != normalize_url(same[0])
    assert normalize_url("http://example.com") == "http://example.com/"


def test_the_mark_of_the_web_round_trips() -> None:
    url = "https://example.com/news/2024/11/05/pentagon-kursk?page=2"
    line = mark_of_the_web(url)
    assert line == f"<!-- saved from url=({len(url):04d}){url} -->"
    assert saved_url(line + "\n<html></html>") == url
    assert saved_url("\ufeff" + line + "\n<html></html>") == url
    assert saved_url("<!DOCTYPE html>\n" + line + "\n<html>") == url  # as Chrome writes it
    assert saved_url("<html><body>no mark</body></html>") is None
    assert saved_url("<!-- saved from url=(0014)about:internet -->\n<html>") is None


def test_a_url_cannot_end_the_comment_early() -> None:
    url = 'https://example.com/a b"c>--><script>'
    line = mark_of_the_web(url)
    assert line.count("-->") == 1 and line.endswith(" -->") and "<script>" not in line
    assert saved_url(line) == "https://example.com/a%20b%22c%3E--%3E%3Cscript%3E"


def test_with_mark_keeps_the_encoding() -> None:
    url = "https://example.com/x"
    assert with_mark(b"\xef\xbb\xbf<html>\xc3\xa9</html>", url).decode("utf-8").startswith("<!-- saved from")
    utf16 = with_mark("\ufeff<html>é</html>".encode("utf-16-le"), url)
    assert utf16.startswith(b"\xff\xfe") and saved_url(utf16.decode("utf-16")) == url


# qa.sources: add_urls -------------------------------------------------------------------------

def files(corpus_dir: Path) -> list[str]:
    return sorted(p.name for p in corpus_dir.iterdir() if not p.name.startswith("."))


def test_add_urls_saves_the_raw_page_with_its_url(site: WebServer, corpus_dir: Path) -> None:
    report = add_urls(corpus_dir, [site.url(KURSK)], fetch_options=QUICK)
    name = "127.0.0.1-news-2024-11-05-pentagon-kursk.html"
    assert report == AddReport(added=((site.url(KURSK), name),))
    data = (corpus_dir / name).read_bytes()
    first, _, rest = data.partition(b"\n")
    assert first.decode() == mark_of_the_web(site.url(KURSK))
    assert rest == site.page("kursk.html")
    assert saved_url(data.decode("utf-8")) == site.url(KURSK)
    registry = json.loads((corpus_dir / REGISTRY).read_text())
    assert name in registry["files"]
    assert not [p for p in corpus_dir.iterdir() if p.name.endswith(".tmp")]


def test_a_saved_page_is_still_read_as_an_article(site: WebServer, corpus_dir: Path) -> None:
    from qa.articles import parse_bytes, scan_corpus

    add_urls(corpus_dir, [site.url(KURSK)], fetch_options=QUICK)
    listed, skipped = scan_corpus(corpus_dir)
    assert [f.rel for f in listed] == ["127.0.0.1-news-2024-11-05-pentagon-kursk.html"]  # registry is hidden
    assert skipped == []
    [article] = parse_bytes(Path(listed[0].path).read_bytes(), listed[0].rel)
    assert article.title == "Pentagon says North Korean troops are moving toward Kursk"
    assert "10,000 North Korean soldiers" in article.text and "saved from" not in article.text


def test_the_same_page_is_not_saved_twice(site: WebServer, corpus_dir: Path) -> None:
    first = add_urls(corpus_dir, [site.url(KURSK)], fetch_options=QUICK)
    [(_, name)] = first.added
    again = add_urls(corpus_dir, [site.url(KURSK), site.url(KURSK + "?utm_source=feed#top"),  # same URL
                              site.url("/chain/1"),  # redirects to it
                              site.url("/amp/pentagon-kursk")],  # its canonical URL is it
                     fetch_options=QUICK)
    assert again.added == () and again.failed == ()
    assert [f for _, f in again.already_present] == [name] * 4
    assert files(corpus_dir) == [name]
    assert site.hits(KURSK) == 2  # the first add and the redirect chain's end; the same URL is not refetched
    # The chain's first hop is now known too: it is not fetched again.
    add_urls(corpus_dir, [site.url("/chain/1")], fetch_options=QUICK)
    assert site.hits("/chain/1") == 1


def test_a_page_saved_by_hand_is_recognised_by_its_canonical_url(site: WebServer, corpus_dir: Path) -> None:
    (corpus_dir / "kursk-saved-by-hand.html").write_bytes(site.page("kursk.html"))
    report = add_urls(corpus_dir, [site.url("/amp/pentagon-kursk"), site.url(KURSK)], fetch_options=QUICK)
    assert report.added == ()
    assert [f for _, f in report.already_present] == ["kursk-saved-by-hand.html"] * 2
    assert files(corpus_dir) == ["kursk-saved-by-hand.html"]


def test_one_bad_url_never_stops_the_rest(site: WebServer, corpus_dir: Path) -> None:
    urls = [site.url("/missing"), "ftp://example.com/x", site.url(KURSK), site.url("/report.pdf"),
            site.url("/private/leak"), site.url("/news/ceasefire-talks"), "   "]
    report = add_urls(corpus_dir, urls, fetch_options=QUICK)
    assert [u for u, _ in report.added] == [site.url(KURSK), site.url("/news/ceasefire-talks")]
    assert dict(report.failed) == {
        site.url("/missing"): "HTTP 404",
        "ftp://example.com/x": "only http and https URLs are fetched, not 'ftp'",
        site.url("/report.pdf"): "not a web page (application/pdf)",
        site.url("/private/leak"): "disallowed by robots.txt",
    }
    assert site.hits("/private/leak") == 0  # robots.txt said no: never asked for
    assert len(files(corpus_dir)) == 2


def test_a_different_page_is_never_overwritten(site: WebServer, corpus_dir: Path) -> None:
    taken = corpus_dir / "127.0.0.1-news-2024-11-05-pentagon-kursk.html"
    taken.write_text("<html><body><p>Another article that happens to have this name.</p></body></html>")
    report = add_urls(corpus_dir, [site.url(KURSK)], fetch_options=QUICK)
    assert report.added == ((site.url(KURSK), "127.0.0.1-news-2024-11-05-pentagon-kursk-2.html"),)
    assert "Another article" in taken.read_text()


def test_a_lost_or_damaged_registry_is_rebuilt_from_the_files(site: WebServer, corpus_dir: Path) -> None:
    add_urls(corpus_dir, [site.url("/news/ceasefire-talks")], fetch_options=QUICK)  # no canonical link
    (corpus_dir / REGISTRY).write_text("{not json")
    again = add_urls(corpus_dir, [site.url("/news/ceasefire-talks")], fetch_options=QUICK)
    assert again.added == () and len(again.already_present) == 1  # found by its Mark of the Web
    assert site.hits("/news/ceasefire-talks") == 1
    assert json.loads((corpus_dir / REGISTRY).read_text())["version"] == 1


def test_a_file_changed_by_hand_is_read_again(site: WebServer, corpus_dir: Path) -> None:
    by_hand = corpus_dir / "saved-by-hand.html"
    by_hand.write_text("<html><head><title>Draft</title></head><body><p>Notes.</p></body></html>")
    add_urls(corpus_dir, [site.url("/news/ceasefire-talks")], fetch_options=QUICK)  # the registry reads it
    by_hand.write_bytes(site.page("kursk.html") + b"\n")  # now the Kursk article (another size)
    report = add_urls(corpus_dir, [site.url(KURSK)], fetch_options=QUICK)
    assert report.already_present == ((site.url(KURSK), "saved-by-hand.html"),)


def test_a_deleted_page_can_be_added_again(site: WebServer, corpus_dir: Path) -> None:
    [(_, name)] = add_urls(corpus_dir, [site.url(KURSK)], fetch_options=QUICK).added
    (corpus_dir / name).unlink()
    assert add_urls(corpus_dir, [site.url(KURSK)], fetch_options=QUICK).added == ((site.url(KURSK), name),)


def test_add_urls_waits_between_requests_to_one_host(site: WebServer, corpus_dir: Path) -> None:
    t = FakeTime()
    pacer = HostPacer(1.0, clock=t.clock, sleep=t.sleep)
    add_urls(corpus_dir, [site.url(KURSK), site.url("/news/ceasefire-talks")], fetch_options=QUICK,
             pacer=pacer)
    # robots.txt, then two pages: each request one (fake) second after the previous one.
    assert t.slept == [1.0, 1.0]


def test_the_corpus_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(QAError, match="does not exist"):
        add_urls(tmp_path / "nowhere", ["https://example.com/"], fetch_options=QUICK)
