"""Answers and articles as HTML for the web UI. Article text is always escaped, never markup.

Kept apart from app.py so that what the browser receives can be tested without a browser.
"""

from __future__ import annotations

from html import escape

from qa.answering import Answer, Citation


def answer_html(answer: Answer) -> str:
    """The chat reply: quoted sentences, each with a [n] link to its source card."""
    if not answer.found:
        return f"<p class='qa-notfound'>{escape(answer.text)}</p>" + (
            "<p class='qa-muted'>The closest passages are listed under Sources; they do not answer "
            "the question.</p>" if answer.closest else "")
    several = len({c.article_id for c in answer.citations}) > 1
    parts = []
    for c in answer.citations:
        origin = f" <span class='qa-origin'>({escape(c.title)}{', ' + escape(c.date) if c.date else ''})</span>" \
            if several else ""
        parts.append(f"<p class='qa-quote'>{escape(c.sentence)} {_cite(c.number)}{origin}</p>")
    if answer.disagreement:
        claims = "; ".join(f"{escape(x.figure)} {_cite(x.number)}{' (' + escape(x.date) + ')' if x.date else ''}"
                           for x in answer.disagreement.claims)
        parts.append(f"<p class='qa-differ'><strong>The sources differ:</strong> {claims}.</p>")
    return "".join(parts)


def _cite(number: int) -> str:
    return f"<a class='qa-cite' href='#qa-source-{number}'>[{number}]</a>"


def sources_html(answer: Answer | None, article_texts: dict[str, str]) -> str:
    """The Sources panel: one card per citation, the cited sentence highlighted in its passage."""
    if answer is None:
        return "<div class='qa-empty'>Sources of the answer appear here.</div>"
    cites = answer.citations or answer.closest
    if not cites:
        return "<div class='qa-empty'>No sources for this reply.</div>"
    head = "" if answer.found else "<div class='qa-warning'>Closest passages - not an answer</div>"
    return head + "".join(_card(c, article_texts.get(c.article_id, ""), answer.found) for c in cites)


def _card(c: Citation, full_text: str, found: bool) -> str:
    meta = " · ".join(escape(x) for x in (c.date or "undated", c.author and f"by {c.author}", c.source, c.location) if x)
    link = f" · <a href='{escape(c.url)}' target='_blank' rel='noopener noreferrer'>original</a>" \
        if c.url.startswith(("http://", "https://")) else ""
    passage = _highlight(c.passage, c.start - c.passage_start, c.end - c.passage_start)
    article = _highlight(full_text, c.start, c.end, mark_id=f"qa-mark-{c.number}") if full_text else ""
    number = f"[{c.number}]" if found else "·"
    also = ("<div class='qa-also'>Also carried by: " + ", ".join(
        escape(f"{x.source or x.title} ({x.date or 'undated'})") for x in c.also_in) + "</div>") if c.also_in else ""
    return (f"<div class='qa-source' id='qa-source-{c.number}'>"
            f"<div class='qa-source-head'><span class='qa-num'>{number}</span> "
            f"<span class='qa-title'>{escape(c.title)}</span></div>"
            f"<div class='qa-meta'>{meta}{link}</div>{also}"
            f"<blockquote class='qa-passage'>{passage}</blockquote>"
            f"<details class='qa-article'><summary>Read the whole article</summary>"
            f"<div class='qa-article-text'>{article}</div></details></div>")


def _highlight(text: str, start: int, end: int, mark_id: str | None = None) -> str:
    ident = f" id='{mark_id}'" if mark_id else ""
    body = (f"{escape(text[:start])}<mark{ident}>{escape(text[start:end])}</mark>{escape(text[end:])}")
    return "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
