"""Stateless app servers: two `python app.py` processes over one PostgreSQL index both answer; a
rebuild started from one (its Library tab, in Chromium) is answered from by the other; with the
database gone the chat and the API say so, and once it is back the next question is answered."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests import pg_cluster as pc
from tests.conftest import DATA, ROOT
from tests.test_app import CHROMIUM, FLAGS, _free_port
from tests.test_served import stop_process

pytestmark = pytest.mark.slow
AUSTIN = "What did Lloyd Austin call for?"


@contextmanager
def app_server(tmp_path: Path, name: str, env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen]]:
    """`python app.py` with `env`, ready to answer; its base URL and process."""
    port = _free_port()
    full = dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
                GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
                QA_INDEX_DIR=str(tmp_path / f"{name}-index")) | env
    log = tmp_path / f"{name}.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=full, stdout=out,
                                   stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, f"app.py exited:\n{log.read_text()}"
            try:
                httpx.get(base + "/api/status", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"app.py did not start:\n{log.read_text()}"
                time.sleep(0.3)
        yield base, process
    finally:
        stop_process(process)


def ask(base: str, question: str) -> httpx.Response:
    return httpx.post(base + "/api/ask", json={"question": question}, timeout=60)


def test_two_app_servers_share_one_database_index(tmp_path):
    from playwright.sync_api import sync_playwright

    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "articles", corpus)
    with pc.running_cluster() as (server, _):
        env = {"QA_DATABASE_URL": server.url, "QA_CORPUS_DIR": str(corpus)}
        with app_server(tmp_path, "a", env) as (a, _), app_server(tmp_path, "b", env) as (b, process_b):
            first, second = ask(a, AUSTIN).json(), ask(b, AUSTIN).json()
            assert first["found"] and first["text"] == second["text"]
            assert first["build_id"] == second["build_id"]
            status = httpx.get(b + "/api/status", timeout=10).json()
            assert status["backend"] == "PostgreSQL + pgvector" and "qa:***@127.0.0.1" in status["location"]
            assert not (tmp_path / "a-index").exists() and not (tmp_path / "b-index").exists()
            (corpus / "2024-11-20-drone-factory.md").write_text(
                "---\ntitle: Drone factory opens in Alabuga\ndate: 2024-11-20\nsource: Test Wire\n---\n\n"
                "A new drone factory in Alabuga began producing 300 attack drones a week, officials said.\n",
                encoding="utf-8")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(a)
                page.get_by_role("tab", name="Library").click()
                page.locator("#qa-rebuild").click()  # the rebuild is started from app server a
                page.wait_for_selector("#qa-summary:has-text('Index rebuilt')", timeout=120000)
                page.wait_for_selector("#qa-library:has-text('Drone factory opens')", timeout=30000)
                assert f"PostgreSQL + pgvector at postgresql://qa:***@127.0.0.1:{server.port}/qa" in \
                    page.locator("#qa-status").inner_text()
                page.screenshot(path=str(tmp_path / "rebuilt.png"), full_page=True)
                drones = ask(b, "How many drones does the Alabuga factory produce?").json()  # b sees it
                assert "300 attack drones a week" in drones["text"]
                assert drones["build_id"] != first["build_id"]
                pc.stop(server)  # the database goes away
                gone = ask(b, AUSTIN)
                assert gone.status_code == 503 and "index database" in gone.json()["error"]
                page.get_by_role("tab", name="Ask").click()
                page.locator("#qa-question textarea").fill(AUSTIN)
                page.keyboard.press("Enter")
                page.wait_for_selector("#qa-chat:has-text('cannot be searched right now')", timeout=30000)
                page.screenshot(path=str(tmp_path / "database-gone.png"), full_page=True)
                pc.start(server)
                pc.wait_ready(server, database="qa")
                assert ask(b, AUSTIN).json()["text"] == second["text"]  # reconnected, no restart
                assert process_b.poll() is None
                browser.close()


def test_an_app_server_starts_while_the_database_is_down(tmp_path, real_embedder):
    from qa.answering import update_index
    from qa.settings import Settings

    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "articles", corpus)
    with pc.running_cluster() as (server, _):
        pc.stop(server)
        env = {"QA_DATABASE_URL": server.url, "QA_CORPUS_DIR": str(corpus)}
        with app_server(tmp_path, "a", env) as (a, _):
            down = ask(a, AUSTIN)
            assert down.status_code == 503 and "cannot connect to the index database" in down.json()["error"]
            pc.start(server)
            pc.wait_ready(server, database="qa")
            assert "holds no index yet: run `qa index`" in ask(a, AUSTIN).json()["error"]
            update_index(Settings(corpus_dir=corpus, database_url=server.url), real_embedder)
            assert ask(a, AUSTIN).json()["found"]
        assert "warning: cannot connect to the index database" in (tmp_path / "a.log").read_text()
