"""Answers computed in worker processes (`QA_ANSWER_PROCESSES`): the same answers as the server's
own engine gives, from the same build after a rebuild, and a worker that dies or cannot start
leaves the answers to the server process."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from qa.answering import AnswerOptions, Engine
from qa.api import ServedEngine
from qa.embedding import SentenceTransformerEmbedder
from qa.errors import ConfigError, IndexMissingError
from qa.indexing import build_index
from qa.retrieval import Scope
from qa.settings import Settings
from tests.conftest import DATA

QUESTIONS = ["What did Lloyd Austin call for?", "How many North Korean troops are in Russia?",
             "Where are the troops moving?", "What is the capital of Peru?"]


@pytest.fixture
def served(tmp_path: Path, real_embedder):
    shutil.copytree(DATA / "articles", tmp_path / "corpus")
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", answer_processes=2)
    build_index(settings, real_embedder)
    said: list[str] = []
    engine = ServedEngine(settings, real_embedder, background_reload=True)
    engine.start_processes(log=said.append)
    assert engine._processes is not None and engine._processes.wait_ready(120), said
    yield engine, said
    engine.close()


def fresh() -> SentenceTransformerEmbedder:
    """The bundled model with no question seen before, as a new worker's: a question's int8 vector
    depends a little on what it was encoded with, and each process keeps its recent questions'."""
    return SentenceTransformerEmbedder()


def same(a, b) -> bool:
    """The same answer: text, cited sentences and where they are from, build; scores equal but for
    float rounding (a worker adds its dense scores up on one thread)."""
    def shown(x):
        return [(c.number, c.source, c.sentence, c.start, c.end, c.passage, c.also_in) for c in x]

    close = all(abs(x.score - y.score) < 1e-3 and abs(x.confidence - y.confidence) < 1e-3
                for x, y in zip(a.citations + a.closest, b.citations + b.closest, strict=True))
    return close and (a.found, a.text, shown(a.citations), shown(a.closest), a.build_id) == \
        (b.found, b.text, shown(b.citations), shown(b.closest), b.build_id)


def test_workers_give_the_answers_of_the_server_process(served, real_embedder) -> None:
    engine, _ = served
    alone = Engine(engine.settings, fresh())
    pids = set(engine._processes.pids())
    assert len(pids) == 2 and os.getpid() not in pids
    dated = AnswerOptions(max_sentences=1, scope=Scope.parse("2024-11-01", None, None))
    for q in QUESTIONS:
        assert same(engine.answer(q), alone.answer(q)), q
        assert same(engine.answer(q, options=dated), alone.answer(q, options=dated)), q
    follow = ("Who is Lloyd Austin?",)
    assert same(engine.answer("What did he call for?", follow), alone.answer("What did he call for?", follow))


def test_many_threads_asking_at_once_each_get_their_own_answer(served, real_embedder) -> None:
    engine, _ = served
    alone = Engine(engine.settings, fresh())
    expected = {q: alone.answer(q) for q in QUESTIONS}
    wrong: list[str] = []

    def ask(i: int) -> None:
        for j in range(12):
            q = QUESTIONS[(i + j) % len(QUESTIONS)]
            if not same(engine.answer(q), expected[q]):
                wrong.append(q)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def test_after_a_rebuild_the_workers_answer_from_the_new_build(served) -> None:
    engine, _ = served
    old = engine.answer(QUESTIONS[0]).build_id
    (engine.settings.corpus_dir / "2024-11-20-zorblax.md").write_text(
        "---\ntitle: Harbour of Zorblax reports record cargo\ndate: 2024-11-20\n---\n\n"
        "The harbour authority of Zorblax said its cranes moved 41,000 containers in October.\n",
        encoding="utf-8")
    engine.rebuild()
    answer = engine.answer("How many containers did the cranes of Zorblax move?")
    assert answer.build_id != old and answer.build_id == engine.index.loaded_build_id
    assert answer.found and "41,000 containers" in answer.citations[0].sentence


def test_a_build_made_by_another_process_is_picked_up(served, real_embedder) -> None:
    engine, _ = served
    (engine.settings.corpus_dir / "2024-11-21-vellmora.md").write_text(
        "---\ntitle: Vellmora quay opens\ndate: 2024-11-21\n---\n\n"
        "The new quay of Vellmora opened on Thursday with berths for 14 ships.\n", encoding="utf-8")
    build_index(engine.settings, real_embedder)  # as `qa index` run beside the app
    new = engine.index.current_build_id()
    deadline = time.monotonic() + 60
    while (answer := engine.answer("How many ships can berth at the Vellmora quay?")).build_id != new:
        assert time.monotonic() < deadline, answer.build_id
        time.sleep(0.2)
    assert answer.found and "14 ships" in answer.citations[0].sentence
    while engine.index.loaded_build_id != new:  # the server process follows too (for cited passages)
        assert time.monotonic() < deadline
        engine.answer("How many ships can berth at the Vellmora quay?")
        time.sleep(0.2)


def test_a_worker_that_dies_is_replaced_and_no_question_is_lost(served) -> None:
    engine, said = served
    victim = engine._processes.pids()[0]
    os.kill(victim, signal.SIGKILL)
    time.sleep(0.2)
    for q in QUESTIONS * 2:  # the dead worker's turn is answered in this process
        assert engine.answer(q).text
    assert engine._processes.wait_ready(120)
    pids = engine._processes.pids()
    assert victim not in pids and len(pids) == 2
    assert any("answer worker stopped" in line for line in said)


def test_without_an_index_the_workers_say_why_and_the_server_answers(tmp_path: Path, real_embedder) -> None:
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", answer_processes=1)
    said: list[str] = []
    engine = ServedEngine(settings, real_embedder, background_reload=True)
    engine.start_processes(log=said.append)
    try:
        deadline = time.monotonic() + 60
        while not said and time.monotonic() < deadline:
            time.sleep(0.1)
        assert said and "answers stay in the server process" in said[0] and "index" in said[0].lower()
        with pytest.raises(IndexMissingError):
            engine.answer(QUESTIONS[0])
    finally:
        engine.close()


def test_the_number_of_answer_processes_is_checked() -> None:
    with pytest.raises(ConfigError, match="answer_processes"):
        replace(Settings(), answer_processes=-1)
    assert Settings.from_env({"QA_ANSWER_PROCESSES": "2"}).answer_processes == 2
