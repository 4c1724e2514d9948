"""`qa add` and `qa feeds`, run as a user runs them (subprocess), against the local test site of
tests/webserver.py (127.0.0.1 only), with the real bundled model where the index is updated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.formats.html import saved_url
from tests.test_cli import qa
from tests.webserver import KURSK, WebServer, closed_port

TROOPS = "/news/2024/10/31/troops-withdraw"
KURSK_FILE = "127.0.0.1-news-2024-11-05-pentagon-kursk.html"
TROOPS_FILE = "127.0.0.1-news-2024-10-31-troops-withdraw.html"
FAST = {"QA_FETCH_DELAY_S": "0"}


@pytest.fixture
def folders(tmp_path: Path) -> list[str]:
    (tmp_path / "corpus").mkdir()
    return ["--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index")]


def pages(corpus: Path) -> dict[str, str | None]:
    return {p.name: saved_url(p.read_text(encoding="utf-8")) for p in sorted(corpus.iterdir())
            if not p.name.startswith(".")}


def test_add_saves_each_page_reports_each_failure_and_indexes(site: WebServer, folders: list[str]) -> None:
    corpus = Path(folders[1])
    refused = f"http://127.0.0.1:{closed_port()}/news/x"
    result = qa("add", "--quiet", *folders, site.url(KURSK), site.url("/missing"), refused,
                site.url("/private/leak"), site.url("/report.pdf"), "ftp://127.0.0.1/file", site.url(TROOPS),
                env=FAST)
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert f"added     {site.url(KURSK)} -> {KURSK_FILE}" in out
    assert f"added     {site.url(TROOPS)} -> {TROOPS_FILE}" in out
    assert f"failed    {site.url('/missing')}: HTTP 404" in out
    assert f"failed    {refused}: connection refused" in out
    assert f"failed    {site.url('/private/leak')}: disallowed by robots.txt" in out
    assert f"failed    {site.url('/report.pdf')}: not a web page (application/pdf)" in out
    assert "failed    ftp://127.0.0.1/file: only http and https URLs are fetched, not 'ftp'" in out
    assert pages(corpus) == {KURSK_FILE: site.url(KURSK), TROOPS_FILE: site.url(TROOPS)}
    # then the index is updated, reported as `qa index` reports it
    assert f"added     {KURSK_FILE}" in out
    assert any(line.startswith("built ") and "2 articles" in line for line in out)
    answer = qa("ask", "--json", *folders, "How many North Korean soldiers moved into the Kursk region?")
    data = json.loads(answer.stdout)
    assert data["found"] and data["citations"][0]["url"] == site.url(KURSK)
    assert data["citations"][0]["sentence"].startswith("The Pentagon said on Tuesday that about 10,000")


def test_the_same_page_is_never_saved_twice(site: WebServer, folders: list[str]) -> None:
    corpus = Path(folders[1])
    first = qa("add", "--no-index", *folders, site.url(KURSK), env=FAST)
    assert first.returncode == 0 and first.stdout.startswith("added ")
    # the same URL, its AMP page (canonical link), a redirect chain to it, and with tracking parameters
    again = qa("add", "--no-index", *folders, site.url(KURSK), site.url("/amp/pentagon-kursk"),
               site.url("/chain/1"), site.url(KURSK + "?utm_source=rss#top"), env=FAST)
    assert again.returncode == 0, again.stderr
    present = [line for line in again.stdout.splitlines() if line.startswith("present")]
    assert len(present) == 4
    assert all(line.endswith(f"already in the corpus as {KURSK_FILE}") for line in present)
    assert pages(corpus) == {KURSK_FILE: site.url(KURSK)}
    assert not (corpus.parent / "index").exists()  # --no-index


def test_a_page_put_in_the_corpus_by_hand_is_recognised(site: WebServer, folders: list[str]) -> None:
    corpus = Path(folders[1])
    (corpus / "saved-by-hand.html").write_bytes(site.page("kursk.html"))  # its canonical link names the URL
    result = qa("add", "--no-index", *folders, site.url("/amp/pentagon-kursk"), env=FAST)
    assert result.returncode == 0
    assert result.stdout.strip() == (f"present   {site.url('/amp/pentagon-kursk')}: already in the corpus as "
                                     "saved-by-hand.html")
    assert sorted(pages(corpus)) == ["saved-by-hand.html"]


def test_add_exits_2_when_nothing_could_be_added(site: WebServer, folders: list[str]) -> None:
    result = qa("add", *folders, site.url("/missing"), site.url("/broken"), env=FAST)
    assert result.returncode == 2
    assert result.stdout.splitlines() == [f"failed    {site.url('/missing')}: HTTP 404",
                                          f"failed    {site.url('/broken')}: HTTP 500"]
    assert not (Path(folders[1]).parent / "index").exists()  # nothing to index: no index built


def test_add_into_a_missing_corpus_folder_is_one_error_line(site: WebServer, tmp_path: Path) -> None:
    result = qa("add", "--corpus", str(tmp_path / "nope"), site.url(KURSK), env=FAST)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == (f"qa: error: {tmp_path / 'nope'}: the corpus folder does not exist; "
                                     "create it first")


def test_feeds_add_list_sync_remove(site: WebServer, folders: list[str]) -> None:
    corpus = Path(folders[1])
    rss, atom = site.url("/feeds/rss.xml"), site.url("/feeds/atom.xml")
    assert qa("feeds", "list", *folders).stdout.strip() == "no feeds are followed yet: `qa feeds add URL`"
    added = qa("feeds", "add", *folders, rss, env=FAST)
    assert added.returncode == 0
    assert added.stdout.strip() == f"following Test World News ({rss}); `qa feeds sync` fetches its articles"
    assert qa("feeds", "add", *folders, atom, env=FAST).returncode == 0
    listed = qa("feeds", "list", *folders).stdout.splitlines()
    assert listed == ["Test World News", f"    {rss}", "    last sync: never",
                      "Test Atom Wire", f"    {atom}", "    last sync: never"]

    synced = qa("feeds", "sync", "--quiet", *folders, env=FAST)
    assert synced.returncode == 0, synced.stderr
    out = synced.stdout.splitlines()
    assert f"Test World News ({rss}): 2 new, 0 already seen" in out
    # the Atom feed's AMP entry is the RSS feed's Kursk page: not saved twice
    assert f"Test Atom Wire ({atom}): 1 new, 0 already seen, 1 already in the corpus" in out
    assert f"    added     {site.url(KURSK)} -> {KURSK_FILE}" in out
    assert any(line.startswith("built ") and "3 articles" in line for line in out)
    assert len(pages(corpus)) == 3

    resynced = qa("feeds", "sync", "--quiet", *folders, env=FAST)
    assert f"Test World News ({rss}): not modified" in resynced.stdout.splitlines()
    assert "index is up to date: 3 articles" in resynced.stdout
    listed = qa("feeds", "list", *folders).stdout
    assert "last sync: 20" in listed and " - not modified" in listed

    removed = qa("feeds", "remove", *folders, rss)
    assert removed.stdout.strip() == (f"stopped following Test World News ({rss}); "
                                      "its pages stay in the corpus")
    assert rss not in qa("feeds", "list", *folders).stdout and len(pages(corpus)) == 3


def test_feed_errors_are_one_line_and_exit_2(site: WebServer, folders: list[str]) -> None:
    bad = qa("feeds", "add", *folders, site.url(KURSK), env=FAST)
    assert bad.returncode == 2
    assert bad.stderr.strip() == f"qa: error: {site.url(KURSK)}: not a feed (text/html)"
    gone = qa("feeds", "remove", *folders, site.url("/feeds/rss.xml"))
    assert gone.returncode == 2 and "this feed is not followed" in gone.stderr
    (Path(folders[1]) / ".qa-feeds.json").write_text(json.dumps({"version": 1, "feeds": [
        {"url": site.url("/feeds/broken.xml"), "title": "Broken", "seen": []}]}))
    failing = qa("feeds", "sync", *folders, env=FAST)
    assert failing.returncode == 2  # every feed failed: nothing indexed
    assert failing.stdout.strip() == f"Broken ({site.url('/feeds/broken.xml')}): failed: HTTP 500"
    assert not (Path(folders[1]).parent / "index").exists()
