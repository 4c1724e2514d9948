"""`python app.py` started as a user starts it (a subprocess on a free 127.0.0.1 port, a copy of the
test articles, the real bundled model), then used as programs use it: the REST API over HTTP, and
the MCP endpoint with the `mcp` client library; with and without a login, with and without an
index, and with a feed synced on a schedule from the local test site (tests/webserver.py)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import DATA, ROOT
from tests.proc import children
from tests.test_app import _free_port
from tests.webserver import serve, standard_site

pytestmark = pytest.mark.slow

AUSTIN = "What did Lloyd Austin call for?"
KURSK_TITLE = "Pentagon says North Korean troops are moving toward Kursk"


@dataclass(frozen=True)
class Served:
    base: str
    corpus: Path
    log: Path
    pid: int

    def url(self, path: str) -> str:
        return self.base + path


@contextmanager
def app_py(tmp_path: Path, env: dict[str, str] | None = None, *, corpus: bool = True,
           extra: dict[str, str] | None = None) -> Iterator[Served]:
    """`python app.py` over a copy of tests/data/articles and the `extra` files (or over a corpus
    folder that does not exist), ready to answer; stopped afterwards."""
    folder = tmp_path / "corpus"
    if corpus:
        shutil.copytree(DATA / "articles", folder)
        for name, text in (extra or {}).items():
            (folder / name).write_text(text, encoding="utf-8")
    port = _free_port()
    full_env = dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False", QA_FETCH_DELAY_S="0",
                    QA_CORPUS_DIR=str(folder), QA_INDEX_DIR=str(tmp_path / "index"),
                    GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port), **(env or {}))
    for name in ("QA_AUTH", "QA_AUTH_FILE", "QA_API_TOKEN", "QA_FEED_SYNC_MINUTES"):
        if name not in (env or {}):
            full_env.pop(name, None)
    log = tmp_path / "app.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=full_env,
                                   stdout=out, stderr=subprocess.STDOUT)
    served = Served(f"http://127.0.0.1:{port}", folder, log, process.pid)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, f"app.py exited:\n{log.read_text()}"
            try:
                httpx.get(served.url("/api/status"), timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"app.py did not start:\n{log.read_text()}"
                time.sleep(0.3)
        yield served
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen) -> None:
    """Stop a started app: politely, then by force."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def open_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with app_py(tmp_path_factory.mktemp("served")) as served:
        yield served


@pytest.fixture(scope="module")
def locked_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("locked")
    (root / "logins").write_text("# readers\nbob:hunter2\n")
    env = {"QA_AUTH": "ann:s3cret", "QA_AUTH_FILE": str(root / "logins"), "QA_API_TOKEN": "token-42"}
    with app_py(root, env) as served:
        yield served


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def assert_verbatim(corpus: Path, answer: dict) -> None:
    """Each cited sentence is the article's own text at the cited span, as the corpus file reads
    (with the reader the indexer uses), and sits in its passage; the answer text carries its [n]."""
    from qa.articles import Article, read_file

    assert answer["citations"]
    for c in answer["citations"]:
        path = corpus / c["location"].split("#")[0]
        [article] = [a for a in read_file(path, corpus, 10**8)
                     if isinstance(a, Article) and a.location == c["location"]]
        assert article.text[c["start"]:c["end"]] == c["sentence"] and article.title == c["title"]
        assert c["sentence"] in c["passage"] and f"{c['sentence']} [{c['number']}]" in answer["text"]


# REST ----------------------------------------------------------------------------------------

def test_rest_ask_is_the_cli_answer(open_app: Served) -> None:
    r = httpx.post(open_app.url("/api/ask"), json={"question": AUSTIN}, timeout=60)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    data = r.json()
    assert data["found"] is True and data["text"].startswith('"I call upon them to withdraw')
    assert_verbatim(open_app.corpus, data)
    cli = subprocess.run([sys.executable, "-m", "qa", "ask", "--json", "--corpus", str(open_app.corpus),
                          "--index", str(open_app.corpus.parent / "index"), AUSTIN], capture_output=True,
                         text=True, env=dict(os.environ, HF_HUB_OFFLINE="1"), cwd=ROOT, timeout=300)
    expected = json.loads(cli.stdout)
    assert data == expected | {"timings_ms": data["timings_ms"]}
    assert set(data) == {"question", "found", "text", "citations", "closest", "disagreement", "timings_ms",
                         "build_id"}
    assert {"sentence", "title", "date", "source", "url", "passage"} <= set(data["citations"][0])


def test_with_answer_processes_the_workers_answer_the_api_and_the_chat(tmp_path: Path) -> None:
    with app_py(tmp_path, {"QA_ANSWER_PROCESSES": "2"}) as served:
        deadline = time.monotonic() + 120
        while "answering in 2 worker processes" not in served.log.read_text():
            assert time.monotonic() < deadline, served.log.read_text()
            time.sleep(0.2)
        assert len(children(served.pid)) == 2
        rest = httpx.post(served.url("/api/ask"), json={"question": AUSTIN}, timeout=60).json()
        assert rest["found"] and rest["text"].startswith('"I call upon them to withdraw')
        assert_verbatim(served.corpus, rest)
        chat = httpx.post(served.url("/gradio_api/run/ask"), json={"data": [AUSTIN, []]}, timeout=60)
        assert chat.status_code == 200 and chat.json()["data"][0]["text"] == rest["text"]
        workers = children(served.pid)
    deadline = time.monotonic() + 20  # a worker stops when its server process has gone
    while any(Path(f"/proc/{w}").exists() for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(Path(f"/proc/{w}").exists() for w in workers)


def test_rest_ask_options_and_history(open_app: Served) -> None:
    ask = lambda body: httpx.post(open_app.url("/api/ask"), json=body, timeout=60)  # noqa: E731
    one, three = ask({"question": AUSTIN, "max_sentences": 1}).json(), ask({"question": AUSTIN}).json()
    assert len(one["citations"]) == 1 and len(three["citations"]) > 1
    assert one["citations"][0] == three["citations"][0]
    before = ask({"question": "How many North Korean troops are in Russia?", "until": "2024-10-01"}).json()
    assert before["found"] is False and before["citations"] == []  # every article is later than that
    dated = ask({"question": "How many North Korean troops are in Russia?", "since": "2024-11-10"}).json()
    assert all(c["date"] >= "2024-11-10" for c in dated["citations"] + dated["closest"])
    articles = httpx.get(open_app.url("/api/articles"), timeout=30).json()["articles"]
    austin = next(a for a in articles if a["title"].startswith("US, S.Korea Call"))
    only = ask({"question": "How many North Korean troops are in Russia?", "articles": [austin["id"]]}).json()
    assert {c["title"] for c in only["citations"]} == {austin["title"]}
    history = ["What does Kim believe about the deployment?"]
    messages = [{"role": "user", "content": history[0]}, {"role": "assistant", "content": "..."}]
    as_text = ask({"question": "Why does he think so?", "history": history}).json()
    as_messages = ask({"question": "Why does he think so?", "history": messages}).json()
    assert as_text["found"] and as_text["citations"] == as_messages["citations"]
    declined = ask({"question": "What is the capital of Australia?"}).json()
    assert declined["found"] is False and declined["text"] == "I couldn't find this in the indexed articles."


def test_rest_articles_and_status(open_app: Served) -> None:
    articles = httpx.get(open_app.url("/api/articles"), timeout=30).json()["articles"]
    assert len(articles) == 6
    assert set(articles[0]) == {"id", "title", "date", "source", "authors", "place", "location", "url",
                                "sentences"}
    dates = [a["date"] for a in articles if a["date"]]
    assert dates == sorted(dates, reverse=True) and all(a["sentences"] > 0 for a in articles)
    status = httpx.get(open_app.url("/api/status"), timeout=30).json()
    assert (status["articles"], status["backend"], status["corpus_changed"]) == (6, "folder index", "no")
    assert {"build_id", "sentences", "chunks", "model", "copy_groups", "not_english", "warnings"} <= set(
        status)


@pytest.mark.parametrize(("body", "status", "says"), [
    ({"question": "x", "history": [1, 2]}, 400, "history item 0 must be a string or a chat message"),
    ({"question": "x", "history": [{"role": "user", "content": 7}]}, 400, "content must be a string"),
    ({"question": "x", "history": "What happened?"}, 422, "history: Input should be a valid list"),
    ({"question": "x", "since": "2024-13-01"}, 400, "since: '2024-13-01' is not a date like 2024-10-31"),
    ({"question": "x", "until": "yesterday"}, 400, "until: 'yesterday' is not a date"),
    ({"question": 42}, 422, "question: Input should be a valid string"),
    ({"history": []}, 422, "question: Field required"),
    ({"question": "x", "max_sentences": 0}, 422, "max_sentences: Input should be greater than or equal to 1"),
    ({"question": "x", "max_sentences": "3"}, 422, "max_sentences: Input should be a valid integer"),
    ({"question": "x", "articles": "abc"}, 422, "articles: Input should be a valid list"),
    ({"question": "x", "questions": "typo"}, 422, "questions: Extra inputs are not permitted"),
    (["x"], 422, "the body must be a JSON object"),
])
def test_rest_bad_bodies_are_400_or_422_with_the_reason(open_app: Served, body: object, status: int,
                                                         says: str) -> None:
    r = httpx.post(open_app.url("/api/ask"), json=body, timeout=30)
    assert r.status_code == status and r.headers["content-type"] == "application/json"
    assert set(r.json()) == {"error"} and says in r.json()["error"], r.json()


def test_rest_malformed_json_is_422(open_app: Served) -> None:
    r = httpx.post(open_app.url("/api/ask"), content=b'{"question": ',
                   headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 422 and r.json() == {"error": "the body is not valid JSON"}


def test_openapi_page_describes_the_routes(open_app: Served) -> None:
    schema = httpx.get(open_app.url("/openapi.json"), timeout=30).json()
    assert sorted(schema["paths"]) == ["/api/articles", "/api/ask", "/api/status"]
    ask = schema["paths"]["/api/ask"]["post"]
    assert {"400", "401", "422", "503"} <= set(ask["responses"])
    body = schema["components"]["schemas"]["AskBody"]
    assert set(body["properties"]) == {"question", "history", "max_sentences", "since", "until", "articles"}
    assert "securitySchemes" not in schema.get("components", {})  # open: no login configured
    docs = httpx.get(open_app.url("/docs"), timeout=30)
    assert docs.status_code == 200 and "swagger-ui" in docs.text and "/openapi.json" in docs.text


def test_the_chat_page_is_still_served(open_app: Served) -> None:
    page = httpx.get(open_app.url("/"), timeout=30)
    assert page.status_code == 200 and "News QA" in page.text


# Login ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/status", "/api/articles", "/openapi.json", "/docs"])
def test_with_a_login_the_api_refuses_requests_without_credentials(locked_app: Served, path: str) -> None:
    r = httpx.get(locked_app.url(path), timeout=30)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith('Basic realm="News QA"')
    assert "Bearer" in r.headers["www-authenticate"] and "needs a login" in r.json()["error"]
    for wrong in (basic("ann", "wrong"), basic("mallory", "s3cret"), {"Authorization": "Bearer token-4"},
                  {"Authorization": "Basic %%%"}):
        assert httpx.get(locked_app.url(path), headers=wrong, timeout=30).status_code == 401


def test_with_a_login_basic_credentials_or_the_token_let_in(locked_app: Served) -> None:
    r = httpx.post(locked_app.url("/api/ask"), json={"question": AUSTIN}, timeout=60)
    assert r.status_code == 401
    for credentials in (basic("ann", "s3cret"), basic("bob", "hunter2"),
                        {"Authorization": "Bearer token-42"}):
        r = httpx.post(locked_app.url("/api/ask"), json={"question": AUSTIN}, headers=credentials, timeout=60)
        assert r.status_code == 200 and r.json()["found"], credentials
    bad = httpx.post(locked_app.url("/api/ask"), json={"question": "x", "since": "soon"},
                     headers=basic("ann", "s3cret"), timeout=30)
    assert bad.status_code == 400  # logged in: the body is checked
    schema = httpx.get(locked_app.url("/openapi.json"), headers=basic("ann", "s3cret"), timeout=30).json()
    assert set(schema["components"]["securitySchemes"]) == {"basic", "bearer"}


def test_with_a_login_the_mcp_endpoint_needs_credentials_too(locked_app: Served) -> None:
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}
    headers = {"Accept": "application/json, text/event-stream"}
    for path in ("/gradio_api/mcp/", "/gradio_api/mcp/sse", "/gradio_api/mcp/schema"):
        r = httpx.post(locked_app.url(path), json=init, headers=headers, timeout=30)
        assert r.status_code == 401 and "needs a login" in r.json()["error"], path
    tools = asyncio.run(mcp_tools(locked_app.url("/gradio_api/mcp/"), {"Authorization": "Bearer token-42"}))
    assert sorted(tools) == ["ask", "list_articles"]


def test_the_gradio_page_still_asks_for_its_own_login(locked_app: Served) -> None:
    info = httpx.get(locked_app.url("/gradio_api/info"), timeout=30)
    assert info.status_code == 401  # Gradio's own routes keep Gradio's login


# No index ------------------------------------------------------------------------------------

def test_without_an_index_the_api_answers_503(tmp_path: Path) -> None:
    with app_py(tmp_path, corpus=False) as served:
        for method, path, body in (("POST", "/api/ask", {"question": AUSTIN}), ("GET", "/api/articles", None),
                                   ("GET", "/api/status", None)):
            r = httpx.request(method, served.url(path), json=body, timeout=30)
            assert r.status_code == 503, (path, r.text)
            assert "no index" in r.json()["error"].lower() and "qa index" in r.json()["error"]
        bad = httpx.post(served.url("/api/ask"), json={"question": 1}, timeout=30)
        assert bad.status_code == 422  # a bad body is still a bad body
        result = asyncio.run(mcp_call(served.url("/gradio_api/mcp/"), "ask", {"question": AUSTIN}))
        assert result.isError and "index" in result.content[0].text.lower()


# MCP -----------------------------------------------------------------------------------------

@asynccontextmanager
async def mcp_session(url: str, headers: dict[str, str] | None = None) -> AsyncIterator:
    """An initialized MCP client session over streamable HTTP."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with httpx.AsyncClient(headers=headers, timeout=60) as client, \
            streamable_http_client(url, http_client=client) as (read, write, _), \
            ClientSession(read, write) as s:
        await s.initialize()
        yield s


async def mcp_tools(url: str, headers: dict[str, str] | None = None) -> dict:
    async with mcp_session(url, headers) as s:
        return {t.name: t for t in (await s.list_tools()).tools}


async def mcp_call(url: str, tool: str, arguments: dict, headers: dict[str, str] | None = None):
    async with mcp_session(url, headers) as s:
        return await s.call_tool(tool, arguments)


def test_mcp_lists_exactly_the_two_tools_described_for_ai_clients(open_app: Served) -> None:
    tools = asyncio.run(mcp_tools(open_app.url("/gradio_api/mcp/")))
    assert sorted(tools) == ["ask", "list_articles"]
    ask = tools["ask"]
    assert "verbatim" in ask.description
    assert '"found": false means the articles do not answer' in ask.description
    assert "Returns a JSON object" in ask.description and "[n]" in ask.description
    props = ask.inputSchema["properties"]
    assert set(props) == {"question", "history", "since", "until"}
    assert ask.inputSchema["required"] == ["question"]
    assert "YYYY-MM-DD" in props["since"]["description"] and "oldest first" in props["history"]["description"]
    assert "newest first" in tools["list_articles"].description


def test_mcp_ask_returns_the_answer_json_with_verbatim_citations(open_app: Served) -> None:
    result = asyncio.run(mcp_call(open_app.url("/gradio_api/mcp/"), "ask", {"question": AUSTIN}))
    assert not result.isError
    data = json.loads(result.content[0].text)
    rest = httpx.post(open_app.url("/api/ask"), json={"question": AUSTIN}, timeout=60).json()
    assert data == rest | {"timings_ms": data["timings_ms"]}
    assert_verbatim(open_app.corpus, data)
    follow = json.loads(asyncio.run(mcp_call(open_app.url("/gradio_api/mcp/"), "ask", {
        "question": "Why does he think so?", "history": ["What does Kim believe about the deployment?"],
        "since": "2024-10-01", "until": "2024-12-31"})).content[0].text)
    assert follow["found"]
    assert_verbatim(open_app.corpus, follow)
    bad = asyncio.run(mcp_call(open_app.url("/gradio_api/mcp/"), "ask", {"question": "x", "since": "Monday"}))
    assert bad.isError and "since: 'Monday' is not a date like 2024-10-31" in bad.content[0].text


def test_mcp_list_articles(open_app: Served) -> None:
    result = asyncio.run(mcp_call(open_app.url("/gradio_api/mcp/"), "list_articles", {}))
    articles = json.loads(result.content[0].text)["articles"]
    assert articles == httpx.get(open_app.url("/api/articles"), timeout=30).json()["articles"]


def test_mcp_over_sse_too(open_app: Served) -> None:
    from mcp import ClientSession
    from mcp.client.sse import sse_client

    async def listed() -> list[str]:
        async with sse_client(open_app.url("/gradio_api/mcp/sse")) as (read, write), \
                ClientSession(read, write) as s:
            await s.initialize()
            return sorted(t.name for t in (await s.list_tools()).tools)

    assert asyncio.run(listed()) == ["ask", "list_articles"]


# The feed schedule ---------------------------------------------------------------------------

def test_the_app_syncs_followed_feeds_on_a_schedule(tmp_path: Path) -> None:
    with serve() as site:
        standard_site(site)
        followed = json.dumps({"version": 1, "feeds": [{"url": site.url("/feeds/rss.xml"), "seen": []}]})
        with app_py(tmp_path, {"QA_FEED_SYNC_MINUTES": "0.02"}, extra={".qa-feeds.json": followed}) as served:
            deadline, titles = time.monotonic() + 120, []
            while KURSK_TITLE not in titles and time.monotonic() < deadline:
                time.sleep(0.5)
                listed = httpx.get(served.url("/api/articles"), timeout=30).json()["articles"]
                titles = [a["title"] for a in listed]
            assert KURSK_TITLE in titles, served.log.read_text()
            question = {"question": "Where were the troops trained before Kursk?"}
            answer = httpx.post(served.url("/api/ask"), json=question, timeout=60).json()
            assert answer["citations"][0]["url"] == site.url("/news/2024/11/05/pentagon-kursk")
            time.sleep(3)  # more syncs run: the feed is not modified, nothing is saved twice
            feed = json.loads((served.corpus / ".qa-feeds.json").read_text())["feeds"][0]
            assert feed["last_result"] == "not modified" and len(feed["seen"]) == 2
            saved = [p for p in served.corpus.iterdir() if p.name.startswith("127.0.0.1-")]
            assert len(saved) == 2
            assert site.hits("/news/2024/11/05/pentagon-kursk") == 1
