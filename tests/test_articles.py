"""Reading articles: every supported format, metadata, normalization, and every kind of bad input."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from qa.articles import Article, list_corpus, parse_bytes, read_file
from qa.errors import ArticleError
from qa.normalize import normalize_text
from tests.conftest import SEED


def _one(path: Path, root: Path) -> Article:
    (item,) = read_file(path, root, 10**7)
    assert isinstance(item, Article), item
    return item


def test_seed_article_metadata_and_text():
    a = _one(SEED, SEED.parent)
    assert a.title == "US, S.Korea Call For North To Withdraw Troops From Russia"
    assert a.published == date(2024, 10, 31)
    assert a.authors == ("Fahad Shabbir",)
    assert a.source == "UrduPoint / Pakistan Point News"
    # the dateline is the place, and the text starts after it
    assert a.place == "Washington" and a.text.startswith("The US and South Korean defense chiefs called")
    # the scraper's lone closing quote is joined to its sentence, not left as a paragraph
    assert 'employing these troops in combat."\n\n' in a.text
    assert '\n\n"\n\n' not in a.text and not any(p.strip() == '"' for p in a.text.split("\n\n"))
    assert len(a.text.split("\n\n")) == 9  # paragraphs kept


def test_markdown_front_matter(corpus):
    a = _one(corpus / "2024-11-05-pentagon-briefing.md", corpus)
    assert (a.title, a.published, a.authors, a.source) == (
        "Pentagon says North Korean troops reached Kursk", date(2024, 11, 5), ("Jane Reporter",),
        "Example Wire")
    assert a.url == "https://example.org/news/pentagon-kursk"
    assert not a.text.startswith("#")  # the heading is the title, not body text
    # wrapped lines are joined into paragraphs
    assert "about 8,000 North Korean soldiers had moved" in a.text
    assert len(a.text.split("\n\n")) == 3


def test_html_page_extracts_body_and_metadata(corpus):
    a = _one(corpus / "2024-11-12-seoul-weapons-policy.html", corpus)
    assert a.title == "Seoul weighs arms for Ukraine"
    assert a.published == date(2024, 11, 12)
    assert a.authors == ("Min-ji Park",)
    assert a.source == "Daily Example"
    assert "Seoul could consider supplying weapons to Ukraine" in a.text
    for boilerplate in ("Home", "recipes", "All rights reserved"):
        assert boilerplate not in a.text


def test_jsonl_gives_one_article_per_line(corpus):
    items = read_file(corpus / "wire-roundup.jsonl", corpus, 10**7)
    assert [a.title for a in items] == ["Kyiv reports first clashes with North Korean units",
                                        "Moscow denies troop reports"]
    assert items[1].text.startswith("The Kremlin dismissed")  # "body" accepted as well as "text"
    assert items[0].published == date(2024, 11, 14) and items[0].source == "Example Wire"
    assert items[0].id != items[1].id


def test_json_array_and_bad_records_do_not_stop_the_good_ones():
    data = b'[{"title": "A", "text": "First story."}, {"title": "no text"}, 7, {"body": "Second story."}]'
    items = parse_bytes(data, "batch.json")
    assert [type(i).__name__ for i in items] == ["Article", "ArticleError", "ArticleError", "Article"]
    assert "no 'text' or 'body'" in items[1].reason


def test_non_utf8_text_is_decoded(corpus):
    a = _one(corpus / "cp1252-notes.txt", corpus)
    assert "The café owner, Renée, said the naïve plan would cost 5€ more" in a.text


def test_utf16_with_bom_is_decoded():
    (a,) = parse_bytes("Kyiv said on Monday that talks had stalled.".encode("utf-16"), "x.txt")
    assert a.text == "Kyiv said on Monday that talks had stalled."


@pytest.mark.parametrize("name, data, reason", [
    ("empty.txt", b"", "empty file"),
    ("blank.md", b"  \n\n \t\n", "empty file"),
    ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary"),
    ("broken.json", b'{"title": "x", "text": "unterminated', "malformed JSON"),
    ("empty.html", b"<html><head><title>Gone</title></head><body><script>x()</script></body></html>",
     "no article text"),
])
def test_bad_files_are_refused_with_a_reason(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    (err,) = read_file(path, tmp_path, 10**7)
    assert isinstance(err, ArticleError)
    assert err.path == name and reason in err.reason


def test_malformed_html_still_reads_what_it_can(tmp_path):
    path = tmp_path / "tag-soup.html"
    path.write_text("<html><body><div><p>Officials said the bridge reopened on Sunday after repairs "
                    "that took three months and cost more than expected.<p>Traffic resumed at noon "
                    "<b>without <i>incident</div></body>")
    a = _one(path, tmp_path)
    assert "the bridge reopened on Sunday" in a.text


def test_oversized_file_is_refused_with_its_size(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_bytes(b"word " * (10 * 1024 * 1024))  # 50 MB
    (err,) = read_file(path, tmp_path, max_bytes=20_000_000)
    assert isinstance(err, ArticleError)
    assert "52.4 MB, over the 20.0 MB limit" in err.reason and "QA_MAX_FILE_MB" in err.reason


def test_file_deleted_between_listing_and_reading(tmp_path):
    path = tmp_path / "gone.txt"
    path.write_text("Short lived.")
    files, _ = list_corpus(tmp_path)
    path.unlink()
    (err,) = read_file(files[0], tmp_path, 10**7)
    assert isinstance(err, ArticleError) and "disappeared" in err.reason


def test_listing_skips_unknown_types_and_hidden_files(tmp_path):
    for name in ("a.txt", "b.pdf", ".hidden.txt", "README.md", "sub/c.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("Text.")
    files, skipped = list_corpus(tmp_path)
    assert [f.relative_to(tmp_path).as_posix() for f in files] == ["a.txt", "sub/c.md"]
    assert [(s.path, s.reason) for s in skipped] == [("b.pdf", "unsupported file type '.pdf'")]


def test_missing_corpus_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ArticleError, match="does not exist"):
        list_corpus(tmp_path / "nope")


def test_ids_are_stable_and_content_hash_follows_text(tmp_path):
    path = tmp_path / "story.txt"
    path.write_text("Headline\nFirst sentence here.")
    a1 = _one(path, tmp_path)
    path.write_text("Headline\nFirst sentence here, edited.")
    a2 = _one(path, tmp_path)
    assert a1.id == a2.id and a1.content_hash != a2.content_hash
    assert a1.title == "Headline"


def test_normalize_collapses_whitespace_and_controls():
    text = "A  line\twith\u00a0odd   spaces.\r\nNext\x00 line\x07.\n\n\n\nLast."
    assert normalize_text(text) == "A line with odd spaces. Next line .\n\nLast."
    assert normalize_text("One.\nTwo.\n”\nThree.", lines_are_paragraphs=True) == "One.\n\nTwo.”\n\nThree."
