"""Answers and articles as HTML for the web UI. Article text is always escaped, never markup.

Kept apart from app.py so that what the browser receives can be tested without a browser.
"""

from __future__ import annotations

from html import escape

from qa.answering import Answer, Citation, IndexStatus
from qa.indexing import BuildReport
from qa.retrieval import ArticleSummary


def answer_html(answer: Answer) -> str:
    """The chat reply: quoted sentences, each with a [n] link to its source card."""
    if not answer.found:
        return f"<p class='qa-notfound'>{escape(answer.text)}</p>" + (
            "<p class='qa-muted'>The closest passages are listed under Sources; they do not answer "
            "the question.</p>" if answer.closest else "")
    several = len({c.article_id for c in answer.citations}) > 1
    parts = []
    for c in answer.citations:
        src = c.source
        origin = f" <span class='qa-origin'>({escape(src.title)}{', ' + escape(src.date) if src.date else ''})</span>" \
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
    src = c.source
    by = ", ".join(src.authors)
    meta = " · ".join(escape(x) for x in (src.date or "undated", by and f"by {by}", src.outlet,
                                          src.place and f"filed from {src.place}", src.location) if x)
    link = f" · <a href='{escape(src.url)}' target='_blank' rel='noopener noreferrer'>original</a>" \
        if src.url.startswith(("http://", "https://")) else ""
    passage = _highlight(c.passage, c.start - c.passage_start, c.end - c.passage_start)
    article = _highlight(full_text, c.start, c.end, mark_id=f"qa-mark-{c.number}") if full_text else ""
    number = f"[{c.number}]" if found else "·"
    heading = f"<div class='qa-heading'>{escape(c.heading)}</div>" if c.heading else ""
    also = ("<div class='qa-also'>Also carried by: " + ", ".join(
        escape(f"{x.outlet or x.title} ({x.date or 'undated'})") for x in c.also_in) + "</div>") if c.also_in else ""
    return (f"<div class='qa-source' id='qa-source-{c.number}'>"
            f"<div class='qa-source-head'><span class='qa-num'>{number}</span> "
            f"<span class='qa-title'>{escape(src.title)}</span></div>"
            f"<div class='qa-meta'>{meta}{link}</div>{also}"
            f"{heading}<blockquote class='qa-passage'>{passage}</blockquote>"
            f"<details class='qa-article'><summary>Read the whole article</summary>"
            f"<div class='qa-article-text'>{article}</div></details></div>")


def _highlight(text: str, start: int, end: int, mark_id: str | None = None) -> str:
    ident = f" id='{mark_id}'" if mark_id else ""
    body = (f"{escape(text[:start])}<mark{ident}>{escape(text[start:end])}</mark>{escape(text[end:])}")
    return "".join(f"<p>{p}</p>" for p in body.split("\n\n"))


def library_rows(summaries: list[ArticleSummary]) -> list[list[object]]:
    """The Library table: title, date, outlet, sentences, file."""
    return [[s.article.title, s.article.published.isoformat() if s.article.published else "", s.article.source,
             s.sentences, s.article.location] for s in summaries]


def status_markdown(status: IndexStatus) -> str:
    line = (f"**{status.articles} articles**, {status.sentences} sentences, {status.chunks} chunks · model "
            f"`{status.model}` · {status.backend} · built {status.built_at}")
    return "\n\n".join([line] + [f"**Note:** {_markdown_text(w)}" for w in status.warnings])


def report_markdown(report: BuildReport) -> str:
    """A build report for the Library tab: the headline, then one line per file worth naming."""
    head = f"**{'Index rebuilt' if report.build_id else 'Index already up to date'}:** {report.headline()}"
    return "\n".join([head] + [f"- {_markdown_text(line)}" for line in report.details()])


def _markdown_text(text: str) -> str:
    """Plain text shown as Markdown: collapsed spaces, markup characters escaped."""
    return escape(" ".join(text.split())).replace("*", "\\*").replace("_", "\\_").replace("`", "\\`")
