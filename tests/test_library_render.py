"""Upload sanitizing and HTML escaping: nothing from a file or a browser reaches the page or disk raw."""

from __future__ import annotations

import pytest

from qa.answering import Answer, Citation, Source
from qa.library import UploadError, add_file, delete_file, safe_name
from qa.render import answer_html, sources_html


@pytest.mark.parametrize("given, expected", [
    ("../../etc/passwd.txt", "passwd.txt"), ("/abs/path/story.md", "story.md"),
    ("..\\..\\win.html", "win.html"), (".hidden.txt", "hidden.txt"), ("a\x00b.txt", "ab.txt"),
    ("my story (final).JSON", "my-story-final.json"), ("<script>.txt", "script.txt"), ("...", "article"),
])
def test_safe_name(given, expected):
    assert safe_name(given) == expected


def test_add_file_stays_in_corpus_and_never_overwrites(tmp_path):
    corpus, upload = tmp_path / "corpus", tmp_path / "upload.tmp"
    upload.write_text("Headline\nA short story.")
    first = add_file(corpus, upload, "../../outside.txt", 10**6)
    second = add_file(corpus, upload, "outside.txt", 10**6)
    assert (first.name, second.name) == ("outside.txt", "outside-1.txt")
    assert sorted(p.name for p in tmp_path.rglob("outside*")) == ["outside-1.txt", "outside.txt"]
    assert all(p.parent == corpus for p in tmp_path.rglob("outside*"))


@pytest.mark.parametrize("name, data, reason", [
    ("x.exe", b"MZ", "unsupported file type '.exe'"), ("archive.zip", b"PK", "unsupported file type '.zip'"),
    ("big.txt", b"x" * 2000, "over the 0.0 MB limit"), ("empty.txt", b"", "empty file"),
])
def test_add_file_refuses(tmp_path, name, data, reason):
    upload = tmp_path / "u"
    upload.write_bytes(data)
    with pytest.raises(UploadError, match=reason):
        add_file(tmp_path / "corpus", upload, name, 1000)
    assert not (tmp_path / "corpus").exists() or not any((tmp_path / "corpus").iterdir())


def test_delete_file_only_inside_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("x")
    (tmp_path / "secret.txt").write_text("keep")
    with pytest.raises(UploadError, match="not a file of the corpus"):
        delete_file(corpus, "../secret.txt")
    delete_file(corpus, "a.txt")
    assert not (corpus / "a.txt").exists() and (tmp_path / "secret.txt").exists()


def _source(title: str, article_id: str = "id1", date: str = "2024-11-01",
            outlet: str = "<b>Outlet</b>") -> Source:
    return Source(article_id=article_id, title=title, date=date, outlet=outlet, authors=("<u>Author</u>",),
                  place="", location="evil.md", url="javascript:alert(1)")


def _citation(sentence: str, title: str, **source: str) -> Citation:
    passage = f"Before. {sentence} After."
    return Citation(number=1, source=_source(title, **source), heading="", lead="", sentence=sentence,
                    start=8,
                    end=8 + len(sentence), passage=passage, passage_start=0, passage_end=len(passage),
                    score=1.0, confidence=1.0)


def test_markup_in_articles_is_escaped():
    evil = '<script>window.pwned=1</script><img src=x onerror="alert(1)"> **bold** [link](http://x)'
    c = _citation(evil, "<i>Title</i>")
    answer = Answer(question="q", found=True, text=evil + " [1]", citations=(c,))
    html = answer_html(answer) + sources_html(answer, {"id1": f"Before. {evil} After."})
    assert "<script>" not in html and "<img" not in html and "<i>Title</i>" not in html and "<u>" not in html
    assert "by &lt;u&gt;Author&lt;/u&gt;" in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=" in html
    assert "javascript:" not in html  # only http(s) links to the original
    assert "<mark id='qa-mark-1'>&lt;script&gt;" in html


def test_not_found_reply_labels_closest_passages():
    c = _citation("Something near.", "Near")
    answer = Answer(question="q", found=False, text="I couldn't find this in the indexed articles.",
                    closest=(c,))
    assert "couldn&#x27;t find" in answer_html(answer)
    assert "Closest passages - not an answer" in sources_html(answer, {})


def test_copies_and_differing_figures_are_shown_escaped():
    from dataclasses import replace

    from qa.answering import Claim, Disagreement

    c1 = replace(_citation("Some 10,000 troops.", "One"), also_in=(
        _source("Copy", "id3", "2024-11-02", "<b>Courier</b>"),))
    c2 = replace(_citation("About 8,000 soldiers.", "Two", article_id="id2", date="2024-11-05"), number=2)
    differ = Disagreement("troop", (Claim(1, "10,000 <troops>", "2024-11-01", "A"),
                                    Claim(2, "8,000 soldiers", "2024-11-05", "B")))
    answer = Answer(question="q", found=True, text="text", citations=(c1, c2), disagreement=differ)
    html = answer_html(answer) + sources_html(answer, {})
    assert ("<strong>The sources differ:</strong> 10,000 &lt;troops&gt; <a class='qa-cite' "
            "href='#qa-source-1'>[1]</a> (2024-11-01); 8,000 soldiers") in html
    assert "Also carried by: &lt;b&gt;Courier&lt;/b&gt; (2024-11-02)" in html


def test_a_leaning_sentence_is_shown_after_its_lead_which_is_context():
    from dataclasses import replace

    c = replace(_citation("That is because prices <rose>.", "One"), lead="Kim said he <worried>.")
    html = answer_html(Answer(question="q", found=True, text="t", citations=(c,)))
    assert ("<span class='qa-lead'>Kim said he &lt;worried&gt;.</span> That is because prices &lt;rose&gt;. "
            "<a class='qa-cite'") in html
