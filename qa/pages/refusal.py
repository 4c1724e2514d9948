"""Is an extracted page an article? Home and section pages, link lists, search results, cookie or
paywall walls and error pages are refused with a reason (`qa.pages.NotAnArticle`).

The checks look at what extraction kept: how much of it is prose rather than link texts or
notices. Thresholds were set so that no page of the realnews set is refused
(benchmarks/results/realnews.md); they are deliberately loose, since refusing an article loses it.
"""

from __future__ import annotations

import re

from qa.pages.model import NotAnArticle

_ERROR = re.compile(r"\b(?:404|page not found|not found|error 40\d|error 50\d|access denied|forbidden"
                    r"|server error|page (?:does not|doesn't) exist)\b", re.IGNORECASE)
_WALL = re.compile(r"\bcookies?\b|\bconsent\b|\bprivacy (?:policy|settings)\b|\bsubscri(?:be|ption|ber)s?\b"
                   r"|\bsign in\b|\blog ?in\b|\bpaywall\b|\balready a (?:member|subscriber)\b|\bfree trial\b"
                   r"|\bunlimited (?:access|digital)\b|\bto continue reading\b|\baccept (?:all)?\b",
                   re.IGNORECASE)
_MIN_PROSE = 200  # characters of prose below which a page is not worth indexing as an article


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()


def _link_texts(tree) -> set[str]:
    return {t for a in tree.iter("a") if len(t := _squash(a.text_content())) > 3}


def refusal(tree, texts: list[str], title: str) -> str:
    """Why the page is not an article, or "" when it is one. `texts` are the kept paragraphs."""
    total = sum(len(t) for t in texts)
    if not total:
        return "no article text found"
    headings = " ".join([title] + [" ".join(h.text_content().split()) for h in tree.iter("h1")][:2])
    if _ERROR.search(headings) and total < 1000:
        return "error page"
    walls = sum(len(t) for t in texts if _WALL.search(t))
    if walls >= 0.5 * total and total - walls < 2 * _MIN_PROSE:
        return "cookie or paywall notice only"
    links = _link_texts(tree)
    linked = sum(len(t) for t in texts if _squash(t) in links)
    if linked >= 0.6 * total and total - linked < 2 * _MIN_PROSE:
        return "no article text: mostly links"
    if total < _MIN_PROSE and max(len(t.split()) for t in texts) < 15:
        return "no article text: too short"
    return ""


def check_article(tree, blocks, title: str) -> None:
    """Raise `NotAnArticle` when `refusal` finds a reason."""
    reason = refusal(tree, [b.text for b in blocks if b.kind != "head"], title)
    if reason:
        raise NotAnArticle(reason)
