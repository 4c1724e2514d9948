"""qa.pages on small pages written for the test suite, one per structure seen on real news pages."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from qa.pages import NotAnArticle, Page, extract_page

PAGES = Path(__file__).parent / "data" / "site" / "pages"


def _page(name: str) -> Page:
    return extract_page((PAGES / name).read_text(encoding="utf-8"), url=f"https://news.example.com/{name}")


def _paragraphs(page: Page) -> list[str]:
    return [p for s in page.sections for p in s.paragraphs]


def _body(page: Page) -> str:
    return "\n".join([s.heading for s in page.sections] + _paragraphs(page))


def test_navigation_related_lists_and_promos_are_left_out():
    page = _page("nav_related_newsletter.html")
    body = _body(page)
    assert "The city council voted on Tuesday to expand the bus network" in body
    assert "The first new routes are expected to open in the spring" in body
    for furniture in ("Home", "Read more:", "Sign up for", "Download the Daily Ledger app", "Most read",
                      "Storm damages pier", "Follow us", "All rights reserved"):
        assert furniture not in body, furniture
    assert page.title == "Council expands bus network"
    assert page.outlet == "The Daily Ledger"
    assert page.published is None  # a copyright year in the footer is no publication date


def test_subheadings_become_section_headings_and_the_headline_is_not_repeated():
    page = _page("sections.html")
    assert [s.heading for s in page.sections] == ["", "Who qualifies", "How to claim it"]
    assert page.sections[1].paragraphs[0].startswith("Renters whose income is below the median")
    assert len(page.sections[2].paragraphs) == 2
    assert all(page.title not in p for p in _paragraphs(page))
    assert all(s.heading not in _paragraphs(page) for s in page.sections)


def test_gallery_controls_captions_and_credits_are_left_out():
    body = _body(_page("gallery.html"))
    assert "Emergency crews used boats to bring food and medicine" in body
    for furniture in ("Show all 50", "1 / 50", "Getty Images", "A car stuck in floodwater", "Image:"):
        assert furniture not in body, furniture


def test_bylines_and_write_to_lines_become_authors_not_text():
    page = _page("bylines.html")
    body = _body(page)
    assert page.authors == ("Jane Reporter",)
    assert "By Jane Reporter" not in body and "Write to" not in body and "@example.com" not in body
    assert _paragraphs(page)[0].startswith("A maker of electric bus batteries")


def test_a_caption_credit_label_is_not_an_author():
    assert _page("caption_credit.html").authors == ("Ann Writer",)


@pytest.mark.parametrize("name, place, first", [
    ("dateline_ap.html", "KYIV, Ukraine", "Drones struck two power plants overnight"),
    ("dateline_reuters.html", "", "Oil prices rose on Monday"),
])
def test_a_leading_dateline_becomes_the_place(name, place, first):
    page = _page(name)
    assert page.place == place
    assert _paragraphs(page)[0].startswith(first)
    assert "(AP)" not in _body(page) and "(Reuters)" not in _body(page)


def test_a_drop_cap_in_its_own_span_is_rejoined():
    first = _paragraphs(_page("drop_cap.html"))[0]
    assert first.startswith("Turkey, Poland and three other countries")


def test_json_ld_metadata_beats_a_site_suffixed_title():
    page = _page("jsonld_meta.html")
    assert page.title == "Senate passes farm bill after long debate"
    assert page.published == date(2024, 3, 5)  # datePublished, not dateModified
    assert page.authors == ("Maria Gomez", "Tom Lee")
    assert page.outlet == "Example News"
    assert page.url == "https://news.example.com/jsonld_meta.html"
    assert "By Maria Gomez" not in _body(page)


def test_table_rows_that_state_facts_are_kept():
    rows = _paragraphs(_page("table.html"))
    assert any("Hill Springs" in r and "Dental care for children and adults" in r for r in rows)
    assert any("Oakdale" in r and "Maternity care with two midwives" in r for r in rows)
    assert any(r.startswith("The clinics will be paid for by a state grant") for r in rows)


def test_a_home_page_of_links_is_not_an_article():
    with pytest.raises(NotAnArticle) as raised:
        _page("home.html")
    assert "links" in raised.value.reason


def test_a_cookie_wall_is_not_an_article():
    with pytest.raises(NotAnArticle) as raised:
        _page("cookie_wall.html")
    assert raised.value.reason == "cookie or paywall notice only"


def test_empty_and_error_pages_are_not_articles():
    with pytest.raises(NotAnArticle):
        extract_page("   ")
    with pytest.raises(NotAnArticle) as raised:
        extract_page("<html><head><title>404 Page not found</title></head><body><h1>Page not found</h1>"
                     "<p>Sorry, the page you were looking for does not exist or has been moved elsewhere.</p>"
                     "</body></html>")
    assert raised.value.reason in ("error page", "no article text: too short", "no article text found")


def test_language_is_read_from_the_page():
    assert _page("non_english.html").language == "de"
    assert _page("sections.html").language == "en"
