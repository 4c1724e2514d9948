"""The web chat: a Gradio UI around the `qa` engine (`python app.py` serves it on 127.0.0.1:7860).

Only the UI lives here: every action is one call into `qa` (the `Engine`, `library` for files,
`render` for HTML). Honours GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, the QA_* settings, and
QA_AUTH=user:password (or QA_AUTH_FILE, one user:password a line) for a login.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import gradio as gr

from qa.answering import AnswerOptions, Engine
from qa.errors import QAError
from qa.library import add_files, delete_file
from qa.question import history_questions
from qa.render import answer_html, library_rows, report_markdown, sources_html, status_markdown
from qa.retrieval import Scope
from qa.settings import Settings

EXAMPLES = ["How many North Korean troops are in Russia?", "What did Lloyd Austin call for?",
            "Why is South Korea worried about the deployment?"]
UPLOAD_TYPES = [".txt", ".md", ".html", ".htm", ".json", ".jsonl"]
STATIC = Path(__file__).resolve().parent / "qa" / "static"
T = TypeVar("T")


def build_demo(engine: Engine) -> gr.Blocks:
    """The Blocks app over `engine`: the Ask tab (chat, Sources panel, answer settings), the
    Library tab (articles, uploads, rebuild, delete) and the `ask` API endpoint."""
    settings = engine.settings

    def ask(question: str, history: list | None = None) -> dict:
        """Answer a question from the indexed articles; `history`: earlier questions, oldest first."""
        return _call(engine.answer, question, _call(history_questions, history)).to_json()

    def respond(message: str, history: list, n: float, strictness: float, since: str, until: str,
                articles: list[str] | None) -> tuple[str, str]:
        scope = _call(Scope.parse, since, until, articles)
        options = AnswerOptions(max_sentences=int(n), min_confidence=strictness, scope=scope)
        answer = _call(engine.answer, message, _call(history_questions, history), options)
        return answer_html(answer), sources_html(answer, engine.cited_texts(answer))

    def library() -> tuple:
        try:
            articles, status = engine.articles(), status_markdown(engine.status())
        except QAError as exc:  # no index yet, or a damaged one: say which, and how to fix it
            return [], f"**The index cannot be used:** {exc}. Add articles and press **Rebuild index**.", \
                gr.update(choices=[]), gr.update(choices=[])
        choices = [(f"{s.article.title} ({s.article.published or 'undated'})", s.article.id) for s in articles]
        files = sorted({s.article.location.split("#")[0] for s in articles})
        return library_rows(articles), status, gr.update(choices=choices), gr.update(choices=files)

    def upload(files: list[str] | None) -> str:
        if not files:
            return "Choose files to add first."
        lines = add_files(settings.corpus_dir, [Path(f) for f in files], settings.max_file_bytes)
        return "\n".join(f"- {line}" for line in lines) + "\n\nPress **Rebuild index** to make them searchable."

    def rebuild(progress: gr.Progress = gr.Progress()) -> str:
        progress(0, desc="Reading articles")
        return report_markdown(_call(engine.rebuild, lambda done, total: progress(done / total, desc="Embedding")))

    def remove(files: list[str] | None) -> str:
        if not files:
            return "Choose files to delete first."
        for f in files:
            _call(delete_file, settings.corpus_dir, f)
        return report_markdown(_call(engine.rebuild))

    with gr.Blocks(title="News QA - answers you can check") as demo:
        gr.HTML("<div class='qa-header'><h1>News QA</h1><p>Answers quoted from your articles, "
                "every sentence with a source you can open.</p></div>")
        with gr.Tabs():
            with gr.Tab("Ask"), gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=420):
                    sources = gr.HTML(sources_html(None, {}), render=False, elem_id="qa-sources")
                    settings_inputs = [
                        gr.Slider(1, 5, value=settings.max_sentences, step=1, label="Sentences in an answer",
                                  render=False),
                        gr.Slider(0.0, 1.0, value=settings.min_confidence, step=0.01, render=False,
                                  label="Strictness of \"not found\" (higher declines more)"),
                        gr.Textbox(label="From date (YYYY-MM-DD)", placeholder="any", render=False),
                        gr.Textbox(label="To date (YYYY-MM-DD)", placeholder="any", render=False),
                        gr.Dropdown([], multiselect=True, label="Only these articles", render=False)]
                    gr.ChatInterface(
                        respond, chatbot=gr.Chatbot(height=560, elem_id="qa-chat", label="Chat",
                                                    placeholder="Ask about the indexed news articles."),
                        textbox=gr.Textbox(placeholder="Ask a question about the articles...", submit_btn=True,
                                           elem_id="qa-question"),
                        additional_inputs=settings_inputs, additional_inputs_accordion="Answer settings",
                        additional_outputs=[sources], examples=[[q] for q in EXAMPLES], cache_examples=False,
                        concurrency_limit=8, api_name="chat")
                with gr.Column(scale=2, min_width=320):
                    gr.Markdown("### Sources")
                    sources.render()
            with gr.Tab("Library"):
                status = gr.Markdown()
                table = gr.Dataframe(headers=["Title", "Date", "Outlet", "Sentences", "File"], interactive=False,
                                     column_widths=["36%", "12%", "16%", "11%", "25%"], wrap=True,
                                     elem_id="qa-library")
                with gr.Row():
                    with gr.Column():
                        files = gr.File(file_count="multiple", file_types=UPLOAD_TYPES, label="Add articles",
                                        elem_id="qa-upload")
                        add_btn = gr.Button("Add to corpus")
                    with gr.Column():
                        rebuild_btn = gr.Button("Rebuild index", variant="primary", elem_id="qa-rebuild")
                        doomed = gr.Dropdown([], multiselect=True, label="Files to delete")
                        delete_btn = gr.Button("Delete from corpus and index", variant="stop")
                summary = gr.Markdown(elem_id="qa-summary")
        outputs = [table, status, settings_inputs[-1], doomed]
        demo.load(library, None, outputs)
        add_btn.click(upload, files, summary)
        for button, action, inputs in ((rebuild_btn, rebuild, None), (delete_btn, remove, doomed)):
            button.click(action, inputs, summary, concurrency_limit=1, concurrency_id="build") \
                .then(library, None, outputs)
        gr.api(ask, api_name="ask")
    return demo


def _call(action: Callable[..., T], *args: object) -> T:
    """A call into `qa`; its error shown in the page."""
    try:
        return action(*args)
    except QAError as exc:
        raise gr.Error(str(exc)) from exc


def launch_options(settings: Settings) -> dict:
    # Gradio keeps about 100 kB of state per session (each API call without a session hash is a
    # session): the cap bounds that memory; the least recently used sessions are dropped first.
    return {"theme": gr.themes.Soft(primary_hue="indigo"), "css": (STATIC / "app.css").read_text(encoding="utf-8"),
            "js": (STATIC / "app.js").read_text(encoding="utf-8"), "auth": settings.users() or None,
            "max_file_size": "20mb", "footer_links": ["api"], "state_session_capacity": settings.sessions}


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from qa.embedding import SentenceTransformerEmbedder

    settings = Settings.from_env()
    engine = Engine(settings, SentenceTransformerEmbedder.from_settings(settings), background_reload=True)
    if engine.index.current_build_id() is None and settings.corpus_dir.is_dir():
        print("No index yet: building it from", settings.corpus_dir)
        engine.rebuild()
    try:
        engine.answer("warm up")  # load the model and the index before the first visitor
    except QAError as exc:
        print(f"warning: {exc}")
    build_demo(engine).queue(default_concurrency_limit=8).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")), **launch_options(settings))


if __name__ == "__main__":
    main()
