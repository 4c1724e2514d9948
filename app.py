"""The web chat: a Gradio UI around the `qa` engine (`python app.py` serves it on 127.0.0.1:7860).

Only the UI lives here: every action is one call into `qa` (the `Engine`, `library`, `render`). The
same server has the REST API (`qa.api`: /api/..., /docs) and MCP (`qa.mcp_tools`: /gradio_api/mcp/).
Honours GRADIO_SERVER_NAME / _PORT, the QA_* settings, and QA_AUTH (or QA_AUTH_FILE) for a login.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr

from qa import library, render
from qa.answering import AnswerOptions, Engine
from qa.api import ServedEngine, server_options
from qa.errors import DatabaseError, QAError
from qa.mcp_tools import Tools
from qa.mcp_tools import gradio_call as _call
from qa.question import history_questions
from qa.retrieval import Scope
from qa.settings import Settings

EXAMPLES = ["How many North Korean troops are in Russia?", "What did Lloyd Austin call for?",
            "Why is South Korea worried about the deployment?"]
STATIC = Path(__file__).resolve().parent / "qa" / "static"
UI = {"api_visibility": "private"}  # the page's own events: neither API endpoints nor MCP tools


def build_demo(engine: Engine, syncer: library.FeedSyncer | None = None) -> gr.Blocks:
    """The Ask tab (chat, Sources, settings), the Library tab, the `ask` endpoint and the MCP tools."""
    settings, tools = engine.settings, Tools(engine)
    syncer = syncer or library.FeedSyncer(settings, engine.rebuild)

    def respond(message: str, history: list, n: float, strictness: float, since: str, until: str,
                articles: list[str] | None) -> tuple[str, str]:
        scope, earlier = _call(Scope.parse, since, until, articles), _call(history_questions, history)
        try:
            answer = engine.answer(message, earlier, AnswerOptions(int(n), strictness, scope))
            return render.answer_html(answer), render.sources_html(answer, engine.cited_texts(answer))
        except DatabaseError as exc:  # said in the chat; the next question connects again
            return render.unavailable_html(str(exc)), render.sources_html(None, {})
        except QAError as exc:
            raise gr.Error(str(exc)) from exc
    def refresh() -> tuple:
        v = library.library_view(engine, syncer)
        return v.rows, v.status, *(gr.update(choices=c) for c in (v.choices, v.files)), v.feeds, v.last_sync
    def upload(files: list[str] | None) -> str:
        paths = [Path(f) for f in files or []]
        return render.upload_markdown(library.add_files(settings.corpus_dir, paths, settings.max_file_bytes))
    def add_web(text: str) -> str:
        return render.add_markdown(*_call(library.add_web_pages_and_index, settings, text, engine.rebuild))
    def add_feed(url: str) -> str:
        return render.followed_markdown(_call(library.follow_feed, settings, url))
    def sync_now() -> str:
        return _call(syncer.sync).markdown()
    def rebuild(progress: gr.Progress = gr.Progress()) -> str:  # noqa: B008 - how Gradio asks for progress
        progress(0, desc="Reading articles")
        return render.report_markdown(_call(engine.rebuild, lambda n, of: progress(n / of, desc="Embedding")))
    def remove(files: list[str] | None) -> str:
        return render.delete_markdown(_call(library.delete_files_and_index, settings, files, engine.rebuild))

    with gr.Blocks(title="News QA - answers you can check") as demo:
        gr.HTML("<div class='qa-header'><h1>News QA</h1><p>Answers quoted from your articles, "
                "every sentence with a source you can open.</p></div>")
        with gr.Tabs():
            with gr.Tab("Ask"), gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=420):
                    sources = gr.HTML(render.sources_html(None, {}), render=False, elem_id="qa-sources")
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
                        textbox=gr.Textbox(placeholder="Ask a question about the articles...",
                                           submit_btn=True, elem_id="qa-question"),
                        additional_inputs=settings_inputs, additional_inputs_accordion="Answer settings",
                        additional_outputs=[sources], examples=[[q] for q in EXAMPLES], cache_examples=False,
                        concurrency_limit=8, api_name="chat", api_visibility="undocumented")
                with gr.Column(scale=2, min_width=320):
                    gr.Markdown("### Sources")
                    sources.render()
            with gr.Tab("Library"):
                status = gr.Markdown(elem_id="qa-status")
                table = gr.Dataframe(headers=["Title", "Date", "Outlet", "Sentences", "File"], wrap=True,
                                     interactive=False, column_widths=["36%", "12%", "16%", "11%", "25%"],
                                     elem_id="qa-library")
                with gr.Row():
                    with gr.Column():
                        files = gr.File(file_count="multiple", file_types=list(library.SUPPORTED),
                                        label="Add articles", elem_id="qa-upload")
                        add_btn = gr.Button("Add to corpus")
                        urls = gr.Textbox(label="Add from URL (one or more web addresses)", elem_id="qa-urls")
                        url_btn = gr.Button("Add from URL", elem_id="qa-add-urls")
                    with gr.Column():
                        rebuild_btn = gr.Button("Rebuild index", variant="primary", elem_id="qa-rebuild")
                        doomed = gr.Dropdown([], multiselect=True, label="Files to delete")
                        delete_btn = gr.Button("Delete from corpus and index", variant="stop")
                feeds = gr.Dataframe(headers=["Feed", "URL", "Last sync", "Last result"], interactive=False,
                                     wrap=True, elem_id="qa-feeds")
                with gr.Row():
                    feed_url = gr.Textbox(label="Add feed (RSS or Atom address)", elem_id="qa-feed-url")
                    feed_btn = gr.Button("Add feed", elem_id="qa-add-feed")
                    sync_btn = gr.Button("Sync now", elem_id="qa-sync")
                summary = gr.Markdown(elem_id="qa-summary")  # what the last button did
                last_sync = gr.Markdown(elem_id="qa-last-sync")
        outputs = [table, status, settings_inputs[-1], doomed, feeds, last_sync]
        demo.load(refresh, None, outputs, **UI)
        for button, action, inputs, target in (
                (add_btn, upload, files, summary), (rebuild_btn, rebuild, None, summary),
                (url_btn, add_web, urls, summary), (delete_btn, remove, doomed, summary),
                (sync_btn, sync_now, None, last_sync), (feed_btn, add_feed, feed_url, summary)):
            button.click(action, inputs, target, concurrency_limit=1, concurrency_id="build", **UI) \
                .then(refresh, None, outputs, **UI)
        # gradio_client's /ask (README); outside the queue, so one POST /gradio_api/run/ask answers too
        gr.api(tools.answer, api_name="ask", api_visibility="undocumented", queue=False)
        for tool in (tools.ask, tools.list_articles):  # public: the two MCP tools, run in-process (no queue)
            gr.api(tool, api_name=f"mcp_{tool.__name__}", queue=False)
    return demo


def launch_options(engine: Engine) -> dict:
    """`launch` options: look, login, limits, and the REST API and MCP endpoint on the same server."""
    # ~100 kB of state per session (an API call without session hash is one): capped, least recent dropped
    s, static = engine.settings, {k: (STATIC / f"app.{k}").read_text(encoding="utf-8") for k in ("css", "js")}
    return {"theme": gr.themes.Soft(primary_hue="indigo"), **static, "auth": s.users() or None,
            "max_file_size": "20mb", "footer_links": ["api"], "state_session_capacity": s.sessions,
            "mcp_server": True, "app_kwargs": server_options(engine)}


@contextlib.contextmanager
def server_app_at_launch_only() -> Iterator[None]:
    """Gradio builds a whole FastAPI app (about 80 routes, 0.08 s) as each Blocks closes (the page,
    the chat inside it) and at `queue()`, each one replaced by the app `launch()` builds: within
    this block those are not built (0.2 s of a 2.6 s start; benchmarks/results/startup.md)."""
    from gradio.routes import App

    real = App.__dict__.get("create_app")
    if not isinstance(real, staticmethod):  # another Gradio: built as it builds them
        yield
        return
    App.create_app = staticmethod(lambda *args, **kwargs: None)
    try:
        yield
    finally:
        App.create_app = real


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from threadpoolctl import threadpool_limits

    from qa.embedding import SentenceTransformerEmbedder

    # Answers are computed one at a time (ServedEngine) while the server's other threads need the
    # CPUs: a second BLAS thread for the dense scores would only wait for them, spinning.
    threadpool_limits(1, "blas")

    settings = Settings.from_env()
    embedder = SentenceTransformerEmbedder.from_settings(settings)
    engine = ServedEngine(settings, embedder, background_reload=True)
    # The index built if there is none, and loaded with the model before the first visitor, while
    # the page is put together (startup: benchmarks/results/startup.md).
    with ThreadPoolExecutor(1) as pool:
        ready = pool.submit(library.ready, engine)
        syncer = library.FeedSyncer(settings, engine.rebuild)
        with server_app_at_launch_only():
            demo = build_demo(engine, syncer).queue(default_concurrency_limit=8)
        for line in ready.result():
            print(line)
    engine.start_processes()  # QA_ANSWER_PROCESSES workers, ready a few seconds later
    syncer.start(settings.feed_sync_minutes)  # 0: no schedule; else a sync now and every N minutes
    try:
        demo.launch(
            server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
            server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")), **launch_options(engine))
    finally:
        syncer.stop()
        engine.close()


if __name__ == "__main__":
    main()
