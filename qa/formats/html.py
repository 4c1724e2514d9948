"""Saved HTML news pages: the article as `qa.pages` reads it, with its structure and metadata.

A page that holds no article is an `ArticleError` with the reason. A page saved by a browser (or
by `qa add`) may carry its address in a "saved from url=" comment; that URL wins over the page's
own canonical address.
"""

from __future__ import annotations

import re

from qa.errors import ArticleError, DependencyError
from qa.formats.parsed import Parsed

_SAVED_FROM = re.compile(r"<!--\s*saved from url=\(\d{1,5}\)\s*(\S+?)\s*-->", re.I)


def saved_url(html: str) -> str | None:
    """The address in a leading "saved from url=(NNNN)URL" comment (browsers' "Mark of the Web")."""
    match = _SAVED_FROM.search(html[:4096])
    return match.group(1) if match and match.group(1).startswith(("http://", "https://")) else None


def parse_html(raw: str, name: str) -> Parsed:
    try:
        import trafilatura  # noqa: F401 - imported here so that a broken install is named at once

        from qa.pages import NotAnArticle, extract_page
    except ImportError as exc:
        raise DependencyError(f"reading HTML pages needs trafilatura, which cannot be imported ({exc}); "
                              "reinstall it with `pip install trafilatura lxml_html_clean`") from exc
    try:
        page = extract_page(raw, url=saved_url(raw) or "")
    except NotAnArticle as exc:
        raise ArticleError(name, exc.reason) from exc
    sections = tuple((s.heading, "\n".join(s.paragraphs)) for s in page.sections)
    return Parsed(sections=sections, title=page.title, standfirst=page.standfirst, published=page.published,
                  authors=page.authors, source=page.outlet, url=page.url, place=page.place,
                  language=page.language, lines_are_paragraphs=True)
