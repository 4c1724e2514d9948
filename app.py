"""The web chat: Gradio UI around the `qa` package (`python app.py` serves it on 127.0.0.1:7860).

Only UI here: every action is one call into `qa` (answering, indexing, library, render).
Honours GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, the QA_* settings, and QA_AUTH=user:password
(or QA_AUTH_FILE, one user:password a line) for a login.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import gradio as gr

from qa import store
from qa.answering import DEFAULT_MIN_CONFIDENCE, Answer, Engine
from qa.errors import QAError
from qa.indexing import build_index
from qa.library import add_file, delete_file
from qa.render import answer_html, sources_html

EXAMPLES = ["How many North Korean troops are in Russia?", "What did Lloyd Austin call for?",
            "Why is South Korea worried about the deployment?"]
UPLOAD_TYPES = [".txt", ".md", ".html", ".htm", ".json", ".jsonl"]
HERE = Path(__file__).resolve().parent


def build_demo(engine: Engine) -> gr.Blocks:
    settings = engine.settings

    def texts(answer: Answer) -> dict[str, str]:
        """The cited articles' texts, from the loaded build; an article changed since the answer
        (a newer build loaded in between) is left out rather than shown with the wrong highlight."""
        articles = engine.index.get().snapshot.articles
        cited = answer.citations + answer.closest
        return {c.article_id: articles[c.article_id].text for c in cited if c.article_id in articles
                and articles[c.article_id].text[c.start:c.end] == c.sentence}

    def ask(question: str, history: list[str] | None = None) -> dict:
        """Answer a question from the indexed articles; `history`: earlier questions, oldest first."""
        return _answer(engine, question, history or []).to_json()

    def respond(message: str, history: list, n: float, strictness: float, since: str, until: str,
                articles: list[str] | None):
        previous = [_text(m) for m in history if m.get("role") == "user"]
        answer = _answer(engine, message, previous, int(n), strictness, _date(since, "From"),
                         _date(until, "To"), set(articles or []) or None)
        return answer_html(answer), sources_html(answer, texts(answer))

    def library():
        try:
            snap = engine.index.get().snapshot
        except QAError as exc:  # no index yet, or a damaged one: say which, and how to fix it
            return [], f"**The index cannot be used:** {exc}. Add articles and press **Rebuild index**.", \
                gr.update(choices=[]), gr.update(choices=[])
        rows = sorted(snap.articles.values(), key=lambda a: (a.published or date.min, a.title), reverse=True)
        counts: dict[str, int] = {}
        for s in snap.sentences:
            counts[s.article_id] = counts.get(s.article_id, 0) + 1
        table = [[a.title, a.published.isoformat() if a.published else "", a.source, counts.get(a.id, 0),
                  a.location] for a in rows]
        m = snap.manifest
        status = (f"**{m.articles} articles**, {m.sentences} sentences, {m.chunks} chunks · model "
                  f"`{m.model}` · built {m.built_at}")
        choices = [(f"{a.title} ({a.published or 'undated'})", a.id) for a in rows]
        files = sorted({a.location.split("#")[0] for a in rows})
        return table, status, gr.update(choices=choices), gr.update(choices=files)

    def upload(files: list[str] | None):
        if not files:
            return "Choose files to add first."
        lines = []
        for f in files:
            path = Path(f)
            try:
                added = add_file(settings.corpus_dir, path, path.name, int(settings.max_file_mb * 1e6))
                lines.append(f"- added `{added.name}`")
            except QAError as exc:
                lines.append(f"- refused: {exc}")
        return "\n".join(lines) + "\n\nPress **Rebuild index** to make them searchable."

    def rebuild(progress=gr.Progress()):
        progress(0, desc="Reading articles")
        try:
            report = build_index(settings, engine.embedder,
                                 progress=lambda done, total: progress(done / total, desc="Embedding"))
            progress(1, desc="Loading the new index")
            engine.index.get(wait=True)  # meanwhile the chat answers from the previous build
        except QAError as exc:
            raise gr.Error(str(exc)) from exc
        return _summary(report)

    def remove(files: list[str] | None, progress=gr.Progress()):
        if not files:
            return "Choose files to delete first."
        try:
            for f in files:
                delete_file(settings.corpus_dir, f)
            report = build_index(settings, engine.embedder, wait=True)
            engine.index.get(wait=True)
        except QAError as exc:
            raise gr.Error(str(exc)) from exc
        return _summary(report)

    with gr.Blocks(title="News QA - answers you can check") as demo:
        gr.HTML("<div class='qa-header'><h1>News QA</h1><p>Answers quoted from your articles, "
                "every sentence with a source you can open.</p></div>")
        with gr.Tabs():
            with gr.Tab("Ask"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=420):
                        sources = gr.HTML(sources_html(None, {}), render=False, elem_id="qa-sources")
                        n = gr.Slider(1, 5, value=settings.max_sentences, step=1, label="Sentences in an answer",
                                      render=False)
                        strict = gr.Slider(0.0, 1.0, value=settings.min_confidence or DEFAULT_MIN_CONFIDENCE,
                                           step=0.01, label="Strictness of \"not found\" (higher declines more)",
                                           render=False)
                        since = gr.Textbox(label="From date (YYYY-MM-DD)", placeholder="any", render=False)
                        until = gr.Textbox(label="To date (YYYY-MM-DD)", placeholder="any", render=False)
                        only = gr.Dropdown([], multiselect=True, label="Only these articles", render=False)
                        gr.ChatInterface(
                            respond, chatbot=gr.Chatbot(height=560, elem_id="qa-chat", label="Chat",
                                                        placeholder="Ask about the indexed news articles."),
                            textbox=gr.Textbox(placeholder="Ask a question about the articles...",
                                               submit_btn=True, elem_id="qa-question"),
                            additional_inputs=[n, strict, since, until, only],
                            additional_inputs_accordion="Answer settings",
                            additional_outputs=[sources], examples=[[q] for q in EXAMPLES],
                            cache_examples=False, concurrency_limit=8, api_name="chat")
                    with gr.Column(scale=2, min_width=320):
                        gr.Markdown("### Sources")
                        sources.render()
            with gr.Tab("Library"):
                status = gr.Markdown()
                table = gr.Dataframe(headers=["Title", "Date", "Outlet", "Sentences", "File"],
                                     column_widths=["36%", "12%", "16%", "11%", "25%"],
                                     interactive=False, wrap=True, elem_id="qa-library")
                with gr.Row():
                    with gr.Column():
                        files = gr.File(file_count="multiple", file_types=UPLOAD_TYPES, label="Add articles", elem_id="qa-upload")
                        add_btn = gr.Button("Add to corpus")
                    with gr.Column():
                        rebuild_btn = gr.Button("Rebuild index", variant="primary", elem_id="qa-rebuild")
                        doomed = gr.Dropdown([], multiselect=True, label="Files to delete")
                        delete_btn = gr.Button("Delete from corpus and index", variant="stop")
                summary = gr.Markdown(elem_id="qa-summary")
        outputs = [table, status, only, doomed]
        demo.load(library, None, outputs)
        add_btn.click(upload, files, summary)
        rebuild_btn.click(rebuild, None, summary, concurrency_limit=1, concurrency_id="build") \
            .then(library, None, outputs)
        delete_btn.click(remove, doomed, summary, concurrency_limit=1, concurrency_id="build") \
            .then(library, None, outputs)
        gr.api(ask, api_name="ask")
    return demo


def _answer(engine: Engine, question: str, history: list[str], n: int | None = None,
            strictness: float | None = None, since: date | None = None, until: date | None = None,
            articles: set[str] | None = None) -> Answer:
    try:
        return engine.answer(question, history, max_sentences=n, min_confidence=strictness,
                             since=since, until=until, article_ids=articles)
    except QAError as exc:
        raise gr.Error(str(exc)) from exc


def _text(message: dict) -> str:
    content = message.get("content", "")
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def _date(value: str, label: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise gr.Error(f"{label} date {value!r} is not a date like 2024-10-31") from exc


def _summary(report) -> str:  # noqa: ANN001 - indexing.BuildReport
    lines = [f"**{'Index rebuilt' if report.build_id else 'Index already up to date'}:** "
             f"{report.articles} articles, {report.sentences} sentences, {report.chunks} chunks "
             f"({report.seconds:.1f} s)."]
    if report.full_rebuild_reason and report.build_id:
        lines.append(f"Full rebuild: {report.full_rebuild_reason}.")
    lines += [f"- added `{x}`" for x in report.added] + [f"- changed `{x}`" for x in report.changed]
    lines += [f"- removed `{x}`" for x in report.removed]
    lines += [f"- skipped `{name}`: {reason}" for name, reason in report.skipped]
    lines += [f"- `{name}` has the same text as `{same}`: indexed once" for name, same in report.duplicates]
    return "\n".join(lines)


def auth_from_env() -> list[tuple[str, str]] | None:
    pairs = []
    if os.environ.get("QA_AUTH"):
        pairs.append(os.environ["QA_AUTH"])
    if os.environ.get("QA_AUTH_FILE"):
        pairs += [line.strip() for line in Path(os.environ["QA_AUTH_FILE"]).read_text().splitlines()
                  if line.strip() and not line.startswith("#")]
    users = [tuple(p.split(":", 1)) for p in pairs if ":" in p]
    return users or None  # type: ignore[return-value]


CSS = (HERE / "qa" / "static" / "app.css").read_text(encoding="utf-8")
JS = (HERE / "qa" / "static" / "app.js").read_text(encoding="utf-8")


def launch_options() -> dict:
    # Gradio keeps about 100 kB of state per session (each API call without a session hash is a
    # session): the cap bounds that memory; the least recently used sessions are dropped first.
    sessions = int(os.environ.get("QA_SESSIONS", "1000"))
    return {"theme": gr.themes.Soft(primary_hue="indigo"), "css": CSS, "js": JS,
            "auth": auth_from_env(), "max_file_size": "20mb", "footer_links": ["api"],
            "state_session_capacity": sessions}


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from qa.embedding import SentenceTransformerEmbedder
    from qa.settings import Settings

    settings = Settings.from_env()
    embedder = SentenceTransformerEmbedder.from_settings(settings)
    engine = Engine(settings, embedder, background_reload=True)
    if store.current_build_id(settings.index_dir) is None and settings.corpus_dir.is_dir():
        print("No index yet: building it from", settings.corpus_dir)
        build_index(settings, embedder)
    try:
        engine.answer("warm up")  # load the model and the index before the first visitor
    except QAError as exc:
        print(f"warning: {exc}")
    demo = build_demo(engine)
    demo.queue(default_concurrency_limit=8).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")), **launch_options())


if __name__ == "__main__":
    main()
