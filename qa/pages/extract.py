"""A saved HTML news page -> `Page`: headline, standfirst, sections of prose paragraphs, metadata.

trafilatura finds the article block (tables kept, comments dropped); this module turns its tree
into sections (subheadings become `Section.heading`, list items and table rows become
paragraphs), rejoins drop caps split from their word, drops furniture lines that trafilatura
lets through (`qa.pages.boilerplate`), takes a leading dateline off into `place` (`qa.dateline`), and
reads the metadata (`qa.pages.meta`). Pages that hold no article (home pages, link lists, cookie
or paywall notices, error pages) raise `NotAnArticle`.

It does not fetch anything, run scripts, translate, or summarize: the text is the page's own
words. Choices were made by measurement on real pages: benchmarks/results/realnews.md.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from qa.dateline import split_dateline
from qa.pages.boilerplate import furniture
from qa.pages.meta import read_meta, strip_site_name
from qa.pages.model import NotAnArticle, Page, Section
from qa.pages.refusal import check_article


@dataclass(frozen=True, slots=True)
class _Block:
    kind: str  # "head", "p", "item", "row", "quote"
    text: str


_MARKUP = re.compile(r"<[^>]*>?")  # a tag, or a tag cut off at the end of a truncated teaser
_SENTENCE_END = (".", "!", "?", '"', "”", "’", "'")


def extract_page(html: str, *, url: str = "") -> Page:
    """The article of one HTML page; raises `NotAnArticle` when there is none."""
    tree = _parse(html)
    rejoin_drop_caps(tree)
    drop_teasers(tree)
    doc = _trafilatura(tree, url)
    blocks = _blocks(doc.body) if doc is not None and doc.body is not None else []
    kept, bylines = _without_furniture(blocks)
    meta = read_meta(tree, doc, url, tuple(bylines))
    kept = _without_headline(kept, meta.title)
    kept = body_from_json_ld(kept, meta.body)
    check_article(tree, kept, meta.title)
    place, kept = _take_dateline(kept)
    return Page(title=meta.title, standfirst=_standfirst(meta.description, kept), sections=_sections(kept),
                published=meta.published, authors=meta.authors, outlet=meta.outlet,
                url=url or getattr(doc, "url", "") or "", language=meta.language, place=place)


def _parse(html: str):
    import lxml.html
    from lxml.etree import ParserError

    if not html or not html.strip():
        raise NotAnArticle("empty page")
    try:
        return lxml.html.document_fromstring(html)
    except (ParserError, ValueError) as exc:
        raise NotAnArticle(f"not an HTML page ({exc})") from exc


def rejoin_drop_caps(tree) -> None:
    """Put a drop cap back on its word: `<span class="cap">T</span>urkey` -> `Turkey`, also when the
    letter sits in its own block before the paragraph. "A"/"I" are words, so they join only
    text that follows them without a space."""
    for element in list(tree.iter()):
        letter = (element.text or "").strip()
        if len(element) or len(letter) != 1 or not letter.isupper() \
                or element.tag in ("script", "style", "title"):
            continue
        following = element.xpath("following::text()[normalize-space()][1]")
        if not following or not following[0].lstrip()[:1].islower():
            continue
        nxt = following[0]
        glued = not nxt[:1].isspace() and nxt.is_tail and nxt.getparent() is element
        if letter in "AI" and not glued:
            continue
        owner = nxt.getparent()
        if nxt.is_tail:
            owner.tail = letter + owner.tail.lstrip()
        else:
            owner.text = letter + owner.text.lstrip()
        element.text = ""
        if element.getparent() is not None:
            element.drop_tree()  # keeps its tail, where the rejoined word may now be


def drop_teasers(tree) -> None:
    """Remove teaser cards of other stories: text blocks inside a link (a whole card is one <a>;
    article prose never is)."""
    for element in tree.xpath("//a//p | //a//div | //a//h2 | //a//h3 | //a//h4"):
        if element.getparent() is not None:
            element.drop_tree()


def _trafilatura(tree, url: str):
    import trafilatura  # heavy: only when a page is read

    # No extensive date search: it guesses from copyright years and URLs; declared dates suffice.
    dates = {"extensive_search": False, "original_date": True}
    return trafilatura.bare_extraction(copy.deepcopy(tree), url=url or None, include_comments=False,
                                       include_tables=True, with_metadata=True, date_extraction_params=dates)


def _element_lines(element) -> list[str]:
    """The text of a trafilatura element, cut into lines at its <lb/> line breaks."""
    parts: list[str] = [element.text or ""]
    for child in element:
        if child.tag == "lb":
            parts.append("\n")
        else:
            parts.extend(_element_lines(child))
            parts.append(" " if child.tag in ("cell", "item", "p") else "")
        parts.append(child.tail or "")
    return [" ".join(line.split()) for line in "".join(parts).split("\n") if line.strip()]


def _blocks(body) -> list[_Block]:
    blocks: list[_Block] = []
    for element in body:
        tag = element.tag
        if tag == "head":
            blocks += [_Block("head", line) for line in _element_lines(element)[:1]]
        elif tag == "list":
            blocks += [_Block("item", " ".join(_element_lines(item))) for item in element.iter("item")
                       if _element_lines(item) and item.find("list") is None]
        elif tag == "table":
            for row in element.iter("row"):
                cells = [" ".join(_element_lines(c)) for c in row.iter("cell")]
                text = " | ".join(c for c in cells if c)
                if re.search(r"[^\W\d_]{2}", text):  # a row of words, not of bare numbers
                    blocks.append(_Block("row", text))
        elif tag in ("div", "body"):
            blocks += _blocks(element)
        else:
            blocks += [_Block("quote" if tag == "quote" else "p", line) for line in _element_lines(element)]
    return [b for b in blocks if b.text]


def _without_furniture(blocks: list[_Block]) -> tuple[list[_Block], list[str]]:
    kept, bylines = [], []
    for block in blocks:
        kind = furniture(block.text)
        if kind == "byline":
            bylines.append(block.text)
        if not kind:
            kept.append(block)
    return kept, bylines


def _norm(text: str) -> str:
    return re.sub(r"\W+", "", text.casefold())


def _without_headline(blocks: list[_Block], title: str) -> list[_Block]:
    """The headline is shown once, as the title: drop its copies in the first blocks."""
    wanted = {_norm(title), _norm(strip_site_name(title, []))} - {""}
    return [b for i, b in enumerate(blocks) if not (i < 5 and _norm(b.text) in wanted)]


def _text_length(blocks: list[_Block]) -> int:
    return sum(len(b.text) for b in blocks if b.kind != "head")


def body_from_json_ld(blocks: list[_Block], article_body: str) -> list[_Block]:
    """The JSON-LD articleBody instead of the extracted blocks when it is far longer: the page
    then renders its text by script and the HTML holds only a teaser."""
    if _text_length(blocks) >= 0.4 * len(article_body):
        return blocks
    return [_Block("p", " ".join(p.split())) for p in article_body.split("\n") if p.strip()]


def _take_dateline(blocks: list[_Block]) -> tuple[str, list[_Block]]:
    first = next((i for i, b in enumerate(blocks) if b.kind == "p"), None)
    if first is None:
        return "", blocks
    place, offset = split_dateline(blocks[first].text)
    if not offset:
        return "", blocks
    rest = blocks[first].text[offset:]
    return place, blocks[:first] + ([_Block("p", rest)] if rest else []) + blocks[first + 1:]


def _standfirst(description: str, blocks: list[_Block]) -> str:
    """The page's summary when it is whole (not a teaser cut short, markup and all) and says
    something the body does not already start with. A dateline in front of it is not kept."""
    description = " ".join(_MARKUP.sub(" ", description).split())
    description = description[split_dateline(description)[1]:]
    body = _norm(" ".join(b.text for b in blocks))
    cut_short = description.endswith(("...", "…")) or not description.endswith(_SENTENCE_END)
    if cut_short or _norm(description)[:60] in body:
        return ""
    return description


def _sections(blocks: list[_Block]) -> tuple[Section, ...]:
    sections: list[Section] = []
    heading, paragraphs = "", []
    for block in blocks:
        if block.kind == "head":
            if paragraphs or heading:
                sections.append(Section(heading, tuple(paragraphs)))
            heading, paragraphs = block.text, []
        else:
            paragraphs.append(block.text)
    if paragraphs or heading:
        sections.append(Section(heading, tuple(paragraphs)))
    return tuple(s for s in sections if s.paragraphs)
