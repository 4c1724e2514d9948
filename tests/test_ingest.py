"""Real-page structure through the whole read path: headings, datelines, standfirst, headline,
language, pages that are no article, a parser that fails on one file, a missing dependency, and
`qa eval` on a folder of pages with gold."""

from __future__ import annotations

import json
import shutil
import sys

import pytest

from qa.articles import parse_bytes, read_file
from qa.cli import main
from qa.errors import ArticleError, DependencyError
from qa.indexing import build_index
from qa.settings import Settings
from tests.conftest import DATA

SITE = DATA / "site"


def _article(name: str, data: bytes | None = None):
    (item,) = parse_bytes(data if data is not None else (SITE / "pages" / name).read_bytes(), name)
    return item


def test_headings_are_context_not_text_and_head_their_paragraphs():
    a = _article("sections.html")
    assert [h.text for h in a.headings] == ["Who qualifies", "How to claim it"]
    assert "Who qualifies" not in a.text and a.title not in a.text
    qualifies = a.text.index("Renters whose income")
    assert a.heading_at(qualifies) == "Who qualifies" and a.heading_at(0) == ""
    assert a.text[a.headings[1].start:].startswith("The credit is claimed on a new line")


def test_markdown_subheadings_are_headings():
    a = _article("x.md", b"# Title here\n\nFirst paragraph of the story.\n\n"
                         b"## What changed\n\nThe rule changed.\n")
    assert a.title == "Title here" and [h.text for h in a.headings] == ["What changed"]
    assert a.text == "First paragraph of the story.\n\nThe rule changed."


def test_a_dateline_becomes_the_place_and_the_text_starts_after_it():
    a = _article("dateline_ap.html")
    assert a.place == "KYIV, Ukraine" and a.text.startswith("Drones struck two power plants overnight")
    story = b'{"title": "Talks", "text": "LONDON \xe2\x80\x94 Ministers met on Monday to discuss the plan."}'
    b = _article("w.json", story)
    assert (b.place, b.text) == ("LONDON", "Ministers met on Monday to discuss the plan.")


def test_a_headline_repeated_as_the_first_paragraph_is_dropped():
    a = _article("r.json",
                 b'{"title": "Bridge reopens", "text": "Bridge reopens\\n\\nThe bridge reopened on Sunday."}')
    assert a.text == "The bridge reopened on Sunday."


def test_language_is_declared_or_detected():
    assert _article("non_english.html").language == "de"
    assert _article("sections.html").language == "en"
    assert _article("k.txt", "북한군은 러시아에 있습니다. 정부가 발표했습니다.".encode()).language == ""


def test_pages_that_hold_no_article_are_skipped_with_a_reason(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("home.html", "cookie_wall.html", "sections.html"):
        shutil.copy(SITE / "pages" / name, corpus / name)
    from tests.fakes import FakeEmbedder

    report = build_index(Settings(corpus_dir=corpus, index_dir=tmp_path / "index"), FakeEmbedder())
    assert report.articles == 1
    reasons = dict(report.skipped)
    assert reasons["home.html"] == "no article text: mostly links"
    assert reasons["cookie_wall.html"] == "cookie or paywall notice only"


def test_a_parser_that_fails_on_one_file_does_not_stop_the_build(tmp_path, monkeypatch):
    import qa.formats.html as html

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SITE / "pages" / "sections.html", corpus / "good.html")
    (corpus / "bad.html").write_text("<html><body><p>Crashes the parser.</p></body></html>")
    real = html.parse_html

    def flaky(raw: str, name: str):
        if name == "bad.html":
            raise RecursionError("maximum recursion depth exceeded")
        return real(raw, name)

    monkeypatch.setattr("qa.articles.parse_html", flaky)
    items = read_file(corpus / "bad.html", corpus, 10**6)
    assert isinstance(items[0], ArticleError) and "could not be read (RecursionError" in items[0].reason
    from tests.fakes import FakeEmbedder

    report = build_index(Settings(corpus_dir=corpus, index_dir=tmp_path / "index"), FakeEmbedder())
    assert report.articles == 1 and report.skipped[0][0] == "bad.html"


def test_a_missing_html_dependency_is_one_clear_line(tmp_path, monkeypatch, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SITE / "pages" / "sections.html", corpus / "page.html")
    monkeypatch.setitem(sys.modules, "trafilatura", None)  # `import trafilatura` now fails
    with pytest.raises(DependencyError, match="pip install trafilatura lxml_html_clean"):
        parse_bytes((corpus / "page.html").read_bytes(), "page.html")
    code = main(["index", "--quiet", "--corpus", str(corpus), "--index", str(tmp_path / "index"),
                 "--model", "fake-unused"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "reading HTML pages needs trafilatura" in err[0]


def test_qa_eval_on_a_folder_of_pages_scores_ours_and_trafilatura(capsys):
    assert main(["eval", str(SITE), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    ours = report["qa"]
    assert set(report) == {"qa", "trafilatura (defaults)", "trafilatura (favor_precision)"}
    assert ours["completeness"] == 1.0 and ours["cleanliness"] == 1.0 and ours["title"] == 1.0
    assert ours["author"] == 1.0 and ours["outlet"] == 1.0
    assert report["trafilatura (defaults)"]["cleanliness"] < 1.0  # its text keeps the dateline or a byline
    assert main(["eval", str(SITE), "--details"]) == 0
    assert "failures left (qa): none" in capsys.readouterr().out


def test_status_warns_about_articles_not_in_english(tmp_path):
    from qa.answering import Engine
    from tests.fakes import FakeEmbedder

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("non_english.html", "sections.html"):
        shutil.copy(SITE / "pages" / name, corpus / name)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings, FakeEmbedder())
    (warning,) = Engine(settings, FakeEmbedder()).status().warnings
    assert "1 articles are not in English: non_english.html (de)" in warning and "may be poor" in warning
    assert ("warning", warning) in Engine(settings, FakeEmbedder()).status().rows()
