"""Saved HTML news pages -> `Page`: the article's headline, standfirst, sections of prose, metadata.

`extract` finds the article (trafilatura, plus our own rules where it falls short) and turns it
into sections; `boilerplate` holds the line rules for page furniture, `bylines` turns credits into
people's names, `meta` reads the page's declared metadata, `refusal` says when a page holds no
article, `model` the data types. Measured on real pages: benchmarks/results/realnews.md.
"""

from qa.pages.extract import extract_page
from qa.pages.model import NotAnArticle, Page, Section

__all__ = ["NotAnArticle", "Page", "Section", "extract_page"]
