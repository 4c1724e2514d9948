"""Answers and articles as HTML for the web UI, and reports as lines (the CLI) or Markdown (the
Library tab). Article text and anything read from the web is always escaped, never markup.

Kept apart from app.py so that what the browser receives can be tested without a browser.
"""

from __future__ import annotations

from html import escape

from qa.answering import Answer, Citation, IndexStatus
from qa.feeds import Feed, SyncReport
from qa.indexing import BuildReport
from qa.retrieval import ArticleSummary
from qa.sources import AddReport

NO_SYNC = "No feed sync since the app started."


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
        dated = f", {escape(src.date)}" if src.date else ""
        origin = f" <span class='qa-origin'>({escape(src.title)}{dated})</span>" if several else ""
        # A sentence that leans on the one before it is shown after it; the one before is context.
        lead = f"<span class='qa-lead'>{escape(c.lead)}</span> " if c.lead else ""
        parts.append(f"<p class='qa-quote'>{lead}{escape(c.sentence)} {_cite(c.number)}{origin}</p>")
    if answer.disagreement:
        claims = "; ".join(f"{escape(x.figure)} {_cite(x.number)}{f' ({escape(x.date)})' if x.date else ''}"
                           for x in answer.disagreement.claims)
        parts.append(f"<p class='qa-differ'><strong>The sources differ:</strong> {claims}.</p>")
    return "".join(parts)


def unavailable_html(reason: str) -> str:
    """The chat reply when the index cannot be read now (its database is down or unreachable)."""
    return (f"<p class='qa-notfound'>The articles cannot be searched right now: {escape(reason)}</p>"
            "<p class='qa-muted'>Ask again in a moment.</p>")


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
        escape(f"{x.outlet or x.title} ({x.date or 'undated'})") for x in c.also_in) + "</div>"
            ) if c.also_in else ""
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
    return [[s.article.title, s.article.published.isoformat() if s.article.published else "",
             s.article.source, s.sentences, s.article.location] for s in summaries]


def status_markdown(status: IndexStatus) -> str:
    line = (f"**{status.articles} articles**, {status.sentences} sentences, {status.chunks} chunks · model "
            f"`{status.model}` · {_markdown_text(status.backend_at)} · built {status.built_at}")
    return "\n\n".join([line] + [f"**Note:** {_markdown_text(w)}" for w in status.warnings])


def report_markdown(report: BuildReport) -> str:
    """A build report for the Library tab: the headline, then one line per file worth naming."""
    head = f"**{'Index rebuilt' if report.build_id else 'Index already up to date'}:** {report.headline()}"
    return "\n".join([head] + [f"- {_markdown_text(line)}" for line in report.details()])


def _markdown_text(text: str) -> str:
    """Plain text shown as Markdown: collapsed spaces, markup characters escaped."""
    return escape(" ".join(text.split())).replace("*", "\\*").replace("_", "\\_").replace("`", "\\`")


def library_choices(summaries: list[ArticleSummary]) -> tuple[list[tuple[str, str]], list[str]]:
    """The "Only these articles" choices (label, id) and the corpus files, for the dropdowns."""
    choices = [(f"{s.article.title} ({s.article.published or 'undated'})", s.article.id) for s in summaries]
    return choices, sorted({s.article.location.split("#")[0] for s in summaries})


def add_lines(report: AddReport) -> list[str]:
    """What adding web pages did: a line per URL (added, already in the corpus, or failed and why)."""
    lines = [f"added     {url} -> {file}" for url, file in report.added]
    lines += [f"present   {url}: already in the corpus as {file}" for url, file in report.already_present]
    lines += [f"failed    {url}: {reason}" for url, reason in report.failed]
    return lines + [f"note      {note}" for note in report.notes]


def add_markdown(report: AddReport, build: BuildReport | None) -> str:
    """The Library tab's account of "Add from URL": each URL, then the rebuild."""
    head = (f"**Web pages:** {len(report.added)} added, {len(report.already_present)} already in the corpus, "
            f"{len(report.failed)} failed")
    return _lines_markdown(head, add_lines(report)) + (f"\n\n{report_markdown(build)}" if build else "")


def upload_markdown(lines: list[str]) -> str:
    """What an upload did, file by file (`library.add_files`' lines)."""
    if not lines:
        return "Choose files to add first."
    return _lines_markdown("**Uploads:**", lines) + "\n\nPress **Rebuild index** to make them searchable."


def delete_markdown(build: BuildReport | None) -> str:
    """The rebuild after files were deleted (None: none was chosen)."""
    return report_markdown(build) if build else "Choose files to delete first."


def followed_markdown(feed: Feed) -> str:
    return f"Following **{_markdown_text(feed.title)}**: press **Sync now** to fetch its articles."


def feed_rows(feeds: tuple[Feed, ...]) -> list[list[str]]:
    """The feeds table: title, URL, last sync, last result."""
    return [[f.title, f.url, f.last_sync or "never", f.last_result or ""] for f in feeds]


def sync_lines(report: SyncReport) -> list[str]:
    """What a feed sync did: a line per feed, then a line per page saved, present or failed."""
    if not report.feeds:
        return ["no feeds are followed yet"]
    lines = []
    for f in report.feeds:
        lines.append(f"{f.title or f.url} ({f.url}): {f.summary}")
        lines += [f"    added     {url} -> {file}" for url, file in f.new]
        lines += [f"    present   {url}: already in the corpus as {file}" for url, file in f.already_present]
        lines += [f"    failed    {url}: {reason}" for url, reason in f.failed]
    return lines + [f"note      {note}" for note in report.notes]


def sync_markdown(report: SyncReport, build: BuildReport | None, finished: str | None = None) -> str:
    """A feed sync and the rebuild after it, for the Library tab."""
    new = sum(len(f.new) for f in report.feeds)
    head = f"**Feed sync{' at ' + finished if finished else ''}:** {new} new articles"
    return _lines_markdown(head, sync_lines(report)) + (f"\n\n{report_markdown(build)}" if build else "")


def _lines_markdown(head: str, lines: list[str]) -> str:
    return "\n".join([head] + [f"- {_markdown_text(line)}" for line in lines])
