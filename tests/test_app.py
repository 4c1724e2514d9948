"""The web app, launched in-process on a free port over a test corpus, driven like users drive it:
gradio_client for the API, and a real headless Chromium (Playwright) for the page."""

from __future__ import annotations

import os
import shutil
import socket
import threading

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # nothing but 127.0.0.1 is contacted

from qa.answering import Engine
from qa.indexing import build_index
from qa.settings import Settings
from tests.conftest import DATA

pytestmark = pytest.mark.slow  # a server and a real browser
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app(tmp_path_factory, real_embedder):
    from app import build_demo, launch_options

    root = tmp_path_factory.mktemp("app")
    shutil.copytree(DATA / "articles", root / "corpus")
    settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index")
    build_index(settings, real_embedder)
    engine = Engine(settings, real_embedder)
    demo = build_demo(engine)
    port = _free_port()
    options = launch_options(engine) | {"auth": None}
    demo.queue(default_concurrency_limit=8).launch(server_name="127.0.0.1", server_port=port,
                                                   prevent_thread_lock=True, quiet=True, **options)
    yield f"http://127.0.0.1:{port}/", engine, root
    demo.close()


def test_api_ask_returns_the_structured_answer(app):
    from gradio_client import Client

    url, engine, _ = app
    client = Client(url, verbose=False)
    data = client.predict("What did Lloyd Austin call for?", [], api_name="/ask")
    assert data["found"] is True and data["text"].startswith('"I call upon them to withdraw')
    c = data["citations"][0]
    assert c["title"] == "US, S.Korea Call For North To Withdraw Troops From Russia"
    assert c["date"] == "2024-10-31"
    expected = engine.answer("What did Lloyd Austin call for?").to_json()
    assert data == expected | {"timings_ms": data["timings_ms"]}
    follow = client.predict("Why does he think so?", ["What does Kim believe about the deployment?"],
                            api_name="/ask")
    assert follow["found"]
    declined = client.predict("What is the capital of Australia?", None, api_name="/ask")
    assert declined["found"] is False and declined["text"] == "I couldn't find this in the indexed articles."


def test_api_ask_takes_chat_messages_as_history_and_refuses_other_shapes(app):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    url, engine, _ = app
    client = Client(url, verbose=False)
    messages = [{"role": "user", "content": "What does Kim believe about the deployment?"},
                {"role": "assistant", "content": "He believes it is a threat."}]
    follow = client.predict("Why does he think so?", messages, api_name="/ask")
    as_strings = client.predict("Why does he think so?", ["What does Kim believe about the deployment?"],
                                api_name="/ask")
    assert follow["found"] and follow["citations"] == as_strings["citations"]
    parts = [{"role": "user", "content": [{"type": "text", "text": messages[0]["content"]}]}]
    with_parts = client.predict("Why does he think so?", parts, api_name="/ask")
    assert with_parts["citations"] == as_strings["citations"]
    alone = engine.answer("Why does he think so?").to_json()
    assert alone["citations"] != as_strings["citations"]  # the history changes the answer: it was read
    for bad, says in (([{"content": "no role"}], "history item 0 must be a string or a chat message"),
                      ([{"role": "user", "content": 42}], "content must be a string or a list of text parts"),
                      ({"role": "user"}, "history must be a list of earlier questions")):
        with pytest.raises(AppError, match=says):
            client.predict("Why does he think so?", bad, api_name="/ask")


def test_only_the_two_mcp_tools_are_public_endpoints(app):
    from gradio_client import Client

    url, _, _ = app
    info = Client(url, verbose=False).view_api(return_format="dict", print_info=False)
    assert sorted(info["named_endpoints"]) == ["/mcp_ask", "/mcp_list_articles"]  # what MCP lists as tools
    assert info["unnamed_endpoints"] == {}


def test_chat_keeps_answering_during_a_rebuild(app):
    url, engine, root = app
    (root / "corpus" / "extra.md").write_text("# Extra\n\n" + " ".join(
        f"Delegates discussed clause {i} of the draft treaty." for i in range(300)))
    errors, answers = [], []
    builder = threading.Thread(target=lambda: build_index(engine.settings, engine.embedder, wait=True))
    builder.start()
    while builder.is_alive() or len(answers) < 3:
        try:
            answers.append(engine.answer("How many North Korean troops are in Russia?"))
        except Exception as exc:  # noqa: BLE001 - any failure is what this test looks for
            errors.append(exc)
    builder.join()
    assert errors == [] and all(a.found for a in answers)
    treaty = engine.answer("Which clause of the draft treaty did delegates discuss?")
    assert treaty.citations[0].source.title == "Extra"
    (root / "corpus" / "extra.md").unlink()
    build_index(engine.settings, engine.embedder)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def _ask(page, question: str) -> None:
    page.locator("#qa-question textarea").fill(question)
    page.keyboard.press("Enter")


def test_browser_question_citation_and_source(app, browser, tmp_path):
    url, _, _ = app
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.wait_for_selector("#qa-question textarea")
    page.screenshot(path=str(tmp_path / "empty.png"))
    _ask(page, "Who stood beside Lloyd Austin at the Pentagon?")
    cite = page.locator("#qa-chat a[href='#qa-source-1']").first
    cite.wait_for(timeout=30000)
    assert "Kim Yong-hyun, who stood beside him" in page.locator("#qa-chat").inner_text()
    page.screenshot(path=str(tmp_path / "answer.png"))
    cite.click()
    card = page.locator("#qa-source-1")
    assert "qa-selected" in card.get_attribute("class")
    assert "who stood beside him" in card.locator(".qa-passage mark").inner_text()
    card.locator("summary").click()
    mark = card.locator(".qa-article-text mark")
    mark.wait_for()
    assert mark.is_visible() and "who stood beside him" in mark.inner_text()
    page.screenshot(path=str(tmp_path / "source.png"), full_page=True)


def test_browser_upload_rebuild_and_ask(app, browser, tmp_path):
    url, _, root = app
    article = tmp_path / "2024-11-20-drone-factory.md"
    article.write_text("---\ntitle: Drone factory opens in Alabuga\ndate: 2024-11-20\nsource: Test Wire\n"
                       "---\n\nA new drone factory in Alabuga began producing 300 attack drones a week, "
                       "officials said.\n")
    evil = tmp_path / "evil.html"
    evil.write_text("<html><head><title>Injected page</title></head><body><article><p>Analysts said the "
                    "<script>window.pwned = 1</script> ceasefire talks in Geneva stalled over prisoner "
                    "exchanges &lt;img src=x onerror=window.pwned=2&gt; on Monday evening.</p></article>"
                    "</body></html>")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.get_by_role("tab", name="Library").click()
    page.locator("#qa-upload input[type=file]").set_input_files([str(article), str(evil)])
    page.get_by_role("button", name="Add to corpus").click()
    page.wait_for_selector("#qa-summary:has-text('Rebuild')", timeout=30000)
    page.locator("#qa-rebuild").click()
    page.wait_for_selector("#qa-summary:has-text('Index rebuilt')", timeout=120000)
    assert "added 2024-11-20-drone-factory.md" in page.locator("#qa-summary").inner_text()
    page.wait_for_selector("#qa-library:has-text('Drone factory opens in Alabuga')", timeout=30000)
    page.screenshot(path=str(tmp_path / "library.png"), full_page=True)
    page.get_by_role("tab", name="Ask").click()
    _ask(page, "How many drones does the Alabuga factory produce?")
    page.wait_for_selector("#qa-source-1", timeout=30000)
    assert "Drone factory opens in Alabuga" in page.locator("#qa-source-1").inner_text()
    assert "300 attack drones a week" in page.locator("#qa-chat").inner_text()
    _ask(page, "Why did the Geneva ceasefire talks stall?")
    page.wait_for_selector("#qa-sources:has-text('Injected page')", timeout=30000)
    page.locator("#qa-sources details summary").first.click()
    page.wait_for_timeout(300)
    assert page.evaluate("window.pwned") is None
    assert page.locator("#qa-sources script").count() == 0 and page.locator("#qa-sources img").count() == 0
    page.screenshot(path=str(tmp_path / "uploaded.png"), full_page=True)
    assert (root / "corpus" / "2024-11-20-drone-factory.md").is_file()


def test_browser_add_from_url_and_follow_a_feed(app, browser, tmp_path):
    from tests.webserver import serve, standard_site

    url, engine, root = app
    with serve() as site:
        standard_site(site)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.get_by_role("tab", name="Library").click()
        page.locator("#qa-urls textarea, #qa-urls input").first.fill(
            f"{site.url('/news/2024/11/05/pentagon-kursk')}\n{site.url('/missing')}")
        page.locator("#qa-add-urls").click()
        page.wait_for_selector("#qa-summary:has-text('Index rebuilt')", timeout=120000)
        summary = page.locator("#qa-summary").inner_text()
        assert "1 added, 0 already in the corpus, 1 failed" in summary
        assert f"failed {site.url('/missing')}: HTTP 404" in summary
        titles = [s.article.title for s in engine.articles()]
        assert "Pentagon says North Korean troops are moving toward Kursk" in titles
        page.wait_for_selector(f"#qa-status:has-text('{len(titles)} articles')", timeout=30000)
        page.locator("#qa-feed-url input, #qa-feed-url textarea").first.fill(site.url("/feeds/rss.xml"))
        page.locator("#qa-add-feed").click()
        page.wait_for_selector("#qa-summary:has-text('Following Test World News')", timeout=30000)
        page.wait_for_selector("#qa-feeds:has-text('Test World News')", timeout=30000)
        page.locator("#qa-sync").click()
        page.wait_for_selector("#qa-last-sync:has-text('Feed sync at')", timeout=120000)
        last = page.locator("#qa-last-sync").inner_text()
        assert "1 new articles" in last and "1 new, 0 already seen, 1 already in the corpus" in last
        result = "1 new, 0 already seen, 1 already in the corpus"
        page.wait_for_selector(f"#qa-feeds:has-text('{result}')", timeout=30000)
        titles = [s.article.title for s in engine.articles()]
        assert "US and South Korea call on the North to withdraw its troops" in titles
        page.wait_for_selector(f"#qa-status:has-text('{len(titles)} articles')", timeout=30000)
        page.screenshot(path=str(tmp_path / "feeds.png"), full_page=True)
    assert engine.answer("Where were the troops trained before Kursk?").citations[0].source.url == \
        site.url("/news/2024/11/05/pentagon-kursk")
