"""The PostgreSQL + pgvector index against the folder index, on a local cluster (tests/pg_cluster.py):
the same ranked sentences, incremental builds in one transaction, the advisory lock, settings checked,
replicas and failover, and clear errors for bad URLs, a missing extension and a lost server."""

from __future__ import annotations

import gc
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from qa.answering import AnswerOptions, Engine, update_index
from qa.api import ServedEngine
from qa.embedding import SentenceTransformerEmbedder
from qa.errors import BuildLockedError, DatabaseError, IndexMismatchError, IndexMissingError
from qa.indexing import build_index
from qa.postgres.view import PgDense, PgView
from qa.postgres.writer import LOCK_KEY
from qa.question import analyze
from qa.retrieval import Scope, rank
from qa.settings import Settings
from tests import pg_cluster as pc
from tests.conftest import DATA, ROOT

pytestmark = pytest.mark.slow
_names = itertools.count()


@pytest.fixture(scope="module")
def primary():
    """A primary server for the module's tests (each test makes its own database)."""
    with pc.running_cluster() as (server, _):
        yield server


def new_database(server: pc.PgServer) -> str:
    """A new empty database with the vector extension, owned by role qa; its URL."""
    name = f"t{next(_names)}"
    with psycopg.connect(server.dsn("postgres", pc.ADMIN_USER, None), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} OWNER {pc.QA_USER}")
    with psycopg.connect(server.dsn(name, pc.ADMIN_USER, None), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION vector")
    return server.dsn(name)


@pytest.fixture
def news(tmp_path: Path) -> Path:
    """The news test corpus: dated articles, syndicated copies, differing figures."""
    shutil.copytree(DATA / "news", tmp_path / "corpus")
    return tmp_path / "corpus"


QUESTIONS = [q["question"] for q in json.loads((DATA / "news-eval.json").read_text())["pairs"]] + [
    "What is the latest estimate of North Korean troops in Russia?", "Who visited Seoul?",
    "What did Lloyd Austin call for?", "How many tanks were destroyed?", "What is the weather on Mars?"]


def ranked(engine: Engine, question: str) -> list[tuple[str, int, float]]:
    with engine.reading() as view:
        hits = rank(view, engine.embedder, analyze(question, dated=view.spans_dates), k=10)
    return [(h.article.id, h.start, round(h.score, 4)) for h in hits]


def same_ranking(x: list[tuple[str, int, float]], y: list[tuple[str, int, float]]) -> bool:
    """The same sentences in the same order, their scores equal but for float32 rounding (the two
    backends add up the signals in different orders)."""
    return [h[:2] for h in x] == [h[:2] for h in y] and bool(
        all(abs(p - q) <= 2e-4 for (_, _, p), (_, _, q) in zip(x, y, strict=True)))


def test_same_ranked_sentences_as_the_folder_index(primary, news, tmp_path, real_embedder):
    folder = Settings(corpus_dir=news, index_dir=tmp_path / "index")
    database = replace(folder, database_url=new_database(primary))
    expected = build_index(folder, real_embedder)
    report = update_index(database, real_embedder)
    assert report.full_rebuild_reason == "no previous index"
    assert (report.articles, report.sentences, report.chunks, report.embedded, report.copy_groups) == (
        expected.articles, expected.sentences, expected.chunks, expected.embedded, expected.copy_groups)
    a, b = Engine(folder, real_embedder), Engine(database, real_embedder)
    for q in QUESTIONS:  # exact dense search (a small index): the same sentences, in the same order
        assert same_ranking(ranked(a, q), ranked(b, q)), q
        x, y = a.answer(q), b.answer(q)
        assert (x.found, x.text, x.disagreement) == (y.found, y.text, y.disagreement), q
    sa, sb = a.status(), b.status()
    assert sb.backend == "PostgreSQL + pgvector" and "***@127.0.0.1" in sb.location
    assert (sa.articles, sa.sentences, sa.chunks, sa.copy_groups) == (sb.articles, sb.sentences, sb.chunks,
                                                                        sb.copy_groups)
    assert [s.article.id for s in a.articles()] == [s.article.id for s in b.articles()]


def test_answer_processes_answer_from_the_database_alike(primary, news, tmp_path, real_embedder):
    database = Settings(corpus_dir=news, index_dir=tmp_path / "index", database_url=new_database(primary),
                        answer_processes=2)
    update_index(database, real_embedder)
    said: list[str] = []
    served = ServedEngine(database, real_embedder)
    served.start_processes(log=said.append)
    try:
        assert served._processes is not None and served._processes.wait_ready(120), said
        alone = Engine(database, SentenceTransformerEmbedder())  # no question seen before, as a worker's
        for q in QUESTIONS:
            x, y = served.answer(q), alone.answer(q)
            assert (x.found, x.text, x.disagreement, x.build_id) == (y.found, y.text, y.disagreement,
                                                                      y.build_id), q
    finally:
        served.close()


def test_incremental_builds_and_scopes(primary, news, tmp_path, real_embedder):
    folder = Settings(corpus_dir=news, index_dir=tmp_path / "index")
    database = replace(folder, database_url=new_database(primary))
    update_index(database, real_embedder)
    build_index(folder, real_embedder)
    engine = Engine(database, real_embedder)
    before = engine.index.current_build_id()
    (news / "2024-11-21-seoul-casualties.md").unlink()
    changed = news / "2024-11-20-kyiv-casualties.md"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nThe mayor thanked the rescue crews.\n",
                       encoding="utf-8")
    shutil.copy(DATA / "articles" / "2024-11-12-seoul-weapons-policy.html", news / "seoul-policy.html")
    report = update_index(database, real_embedder)
    assert (len(report.added), len(report.changed), len(report.removed)) == (1, 1, 1)
    assert report.delta and report.full_rebuild_reason is None
    assert 0 < report.embedded < 40  # only the two new articles' sentences and chunks
    assert engine.index.current_build_id() != before
    # The folder index updated alike answers alike (the same texts embedded in the same batches:
    # a bfloat16 vector depends a little on the batch it was embedded with).
    assert build_index(folder, real_embedder).delta
    fresh = Engine(folder, real_embedder)
    for q in [*QUESTIONS, "Who thanked the rescue crews?"]:
        assert same_ranking(ranked(engine, q), ranked(fresh, q)), q
    assert update_index(database, real_embedder).build_id is None  # nothing changed: no new build
    options = AnswerOptions(scope=Scope.parse("2024-11-05", "2024-11-08"))
    for q in QUESTIONS[:8]:  # a date range: the same answers from the articles of those days only
        a, b = engine.answer(q, options=options), fresh.answer(q, options=options)
        assert (a.found, a.text) == (b.found, b.text), q
        assert all("2024-11-05" <= c.source.date <= "2024-11-08" for c in a.citations)
    pick = AnswerOptions(scope=Scope(articles=frozenset([a.id for a in _articles(fresh)][:3])))
    for q in QUESTIONS[:4]:
        assert engine.answer(q, options=pick).text == fresh.answer(q, options=pick).text, q


def _articles(engine: Engine) -> list:
    return [s.article for s in engine.articles()]


def test_settings_are_checked_and_full_rebuilds(primary, news, tmp_path, fake):
    settings = Settings(corpus_dir=news, index_dir=tmp_path / "index", database_url=new_database(primary))
    update_index(settings, fake)
    with pytest.raises(IndexMismatchError, match=r"chunk_tokens 160 -> 200.*qa index --full"):
        update_index(replace(settings, chunk_tokens=200), fake)
    report = update_index(replace(settings, chunk_tokens=200), fake, full=True)
    assert report.full_rebuild_reason == "requested (--full)" and report.articles == 28


def test_one_build_at_a_time(primary, news, tmp_path, fake):
    settings = Settings(corpus_dir=news, index_dir=tmp_path / "index", database_url=new_database(primary))
    with psycopg.connect(settings.database_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        with pytest.raises(BuildLockedError, match="another build"):
            update_index(settings, fake)
        done = []
        waiting = threading.Thread(target=lambda: done.append(update_index(settings, fake, wait=True)))
        waiting.start()
        time.sleep(1.0)
        assert not done  # queued behind the lock
        holder.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        waiting.join(60)
    assert done and done[0].articles == 28


def test_a_killed_build_leaves_the_previous_build_answering(primary, news, tmp_path, real_embedder):
    settings = Settings(corpus_dir=news, index_dir=tmp_path / "index", database_url=new_database(primary))
    update_index(settings, real_embedder)
    engine = Engine(settings, real_embedder)
    before, answer = engine.index.current_build_id(), engine.answer(QUESTIONS[0]).text
    for i in range(30):  # more articles, so that the build's transaction is under way when it is killed
        text = f"# Report {i}\n\nThe council met on day {i} about harbour {i}. It approved {i} new berths.\n"
        (news / f"more-{i}.md").write_text(text, encoding="utf-8")
    env = os.environ | {"QA_DATABASE_URL": settings.database_url, "QA_CORPUS_DIR": str(news),
                        "HF_HUB_OFFLINE": "1"}
    with psycopg.connect(settings.database_url) as blocker:
        blocker.execute("LOCK TABLE qa.copies IN ACCESS EXCLUSIVE MODE")  # the build stops mid-transaction
        build = subprocess.Popen([sys.executable, "-m", "qa", "index", "--quiet"], cwd=ROOT, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        caught = False
        with psycopg.connect(settings.database_url, autocommit=True) as watch:
            deadline = time.monotonic() + 120
            while not caught and time.monotonic() < deadline and build.poll() is None:
                caught = watch.execute(  # rows deleted and copied, waiting to rewrite the copy groups
                    "SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = current_database() AND "
                    "wait_event_type = 'Lock' AND query ILIKE 'DELETE FROM copies%%'").fetchone()[0]
                time.sleep(0.01)
        build.kill()
        build.wait(30)
        assert caught, f"the build ended ({build.returncode}) first: {build.stderr.read()[-2000:]}"
        blocker.rollback()
    assert engine.index.current_build_id() == before and engine.answer(QUESTIONS[0]).text == answer
    report = update_index(settings, real_embedder, wait=True)  # the lock went with the killed session
    assert len(report.added) == 30 and engine.index.current_build_id() == report.build_id


def test_replica_answers_alike_and_takes_over(news, tmp_path, real_embedder):
    with pc.running_cluster(replica=True) as (primary, replica):
        _replica_and_failover(primary, replica, news, tmp_path, real_embedder)


def _replica_and_failover(primary, replica, news, tmp_path, real_embedder):
    url = new_database(primary)
    name = url.rsplit("/", 1)[1]
    settings = Settings(corpus_dir=news, index_dir=tmp_path / "index", database_url=url)
    update_index(settings, real_embedder)
    pc.wait_replayed(primary, replica)
    failover = (f"postgresql://{pc.QA_USER}:{pc.QA_PASSWORD}@{primary.host}:{primary.port},"
                f"{replica.host}:{replica.port}/{name}?target_session_attrs=read-write")
    readers = replace(settings, database_url=failover, read_urls=replica.dsn(name))
    on_primary, on_replica = Engine(settings, real_embedder), Engine(readers, real_embedder)
    for q in QUESTIONS[:8]:
        assert on_primary.answer(q).text == on_replica.answer(q).text
    assert f"reads from postgresql://qa:***@127.0.0.1:{replica.port}/" in on_replica.status().location
    pc.stop(primary)
    assert on_replica.answer(QUESTIONS[0]).found  # reads go on from the replica
    with pytest.raises(DatabaseError, match="unreachable|cannot connect"):
        on_primary.answer(QUESTIONS[0])
    pc.promote(replica)
    (news / "harbour.md").write_text("# Harbour\n\nThe harbour reopened on Monday after the storm.\n",
                                     encoding="utf-8")
    report = update_index(readers, real_embedder)  # the multi-host URL finds the promoted server
    assert report.added == ["harbour.md"]
    assert on_replica.index.current_build_id() == report.build_id  # seen without a restart
    assert "harbour reopened" in on_replica.answer("When did the harbour reopen?").text


def test_bad_urls_and_a_missing_extension_are_one_clear_line(primary, tmp_path, fake, corpus):
    wrong = primary.dsn(password="wrong")
    with pytest.raises(DatabaseError, match="password authentication failed") as err:
        update_index(Settings(corpus_dir=corpus, database_url=wrong), fake)
    assert "\n" not in str(err.value) and "wrong" not in str(err.value)
    closed = f"postgresql://qa:qa@127.0.0.1:{pc.free_port()}/qa"
    with pytest.raises(DatabaseError, match="cannot connect to the index database"):
        Engine(Settings(corpus_dir=corpus, database_url=closed), fake).answer("Who called?")
    with pytest.raises(DatabaseError, match=r"no `vector` extension: run `CREATE EXTENSION vector;`"):
        update_index(Settings(corpus_dir=corpus, database_url=primary.dsn(pc.NOVECTOR_DATABASE)), fake)
    empty = Engine(Settings(corpus_dir=corpus, database_url=new_database(primary)), fake)
    assert empty.index.current_build_id() is None
    with pytest.raises(IndexMissingError, match="run `qa index`"):
        empty.answer("Who called?")


def test_a_lost_connection_reconnects_at_the_next_question(primary, news, tmp_path, fake):
    settings = Settings(corpus_dir=news, index_dir=tmp_path / "index", database_url=new_database(primary))
    update_index(settings, fake)
    engine = Engine(settings, fake)
    first = engine.answer(QUESTIONS[0]).text
    with psycopg.connect(primary.admin_url, autocommit=True) as admin:  # every connection of the engine cut
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND "
                      "pid <> pg_backend_pid()", (settings.database_url.rsplit("/", 1)[1],))
    assert engine.answer(QUESTIONS[0]).text == first


def test_a_question_leaves_nothing_for_the_garbage_collector(primary, news, tmp_path, fake):
    """A question's view of the database (its rows, texts and cosines) is freed when it is answered,
    not held in a reference cycle until a collection: an app server's memory stays flat."""
    settings = Settings(corpus_dir=news, index_dir=tmp_path / "index", database_url=new_database(primary))
    update_index(settings, fake)
    engine = Engine(settings, fake)
    engine.answer(QUESTIONS[0])
    gc.collect()
    gc.disable()
    try:
        answered = [engine.answer(q) for q in QUESTIONS]
        assert not [o for o in gc.get_objects() if isinstance(o, PgView | PgDense)]
        assert [a.citations for a in answered] == [engine.answer(q).citations for q in QUESTIONS]
    finally:
        gc.enable()


def test_the_database_going_away_mid_build_loses_nothing(news, tmp_path, real_embedder):
    with pc.running_cluster() as (server, _):
        settings = Settings(corpus_dir=news, index_dir=tmp_path / "index", database_url=server.url)
        update_index(settings, real_embedder)
        before = Engine(settings, real_embedder).answer(QUESTIONS[0]).text
        (news / "harbour.md").write_text("# Harbour\n\nThe harbour reopened on Monday.\n", encoding="utf-8")
        failed: list[Exception] = []

        def build() -> None:
            try:
                update_index(settings, real_embedder)
            except DatabaseError as exc:
                failed.append(exc)

        with closing(psycopg.connect(settings.database_url)) as blocker, \
                closing(psycopg.connect(settings.database_url, autocommit=True)) as watch:
            blocker.execute("LOCK TABLE qa.copies IN ACCESS EXCLUSIVE MODE")  # the build waits, mid-way
            thread = threading.Thread(target=build)
            thread.start()
            for _ in range(6000):
                if watch.execute("SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                 "AND query ILIKE 'DELETE FROM copies%%'").fetchone()[0]:
                    break
                time.sleep(0.01)
            else:
                pytest.fail("the build never reached its transaction")
            pc.kill9(server)
        thread.join(60)
        assert failed and "went away during the build" in str(failed[0]) and "\n" not in str(failed[0])
        pc.start(server)
        pc.wait_ready(server, database="qa")
        engine = Engine(settings, real_embedder)
        assert engine.answer(QUESTIONS[0]).text == before  # the previous build, whole
        assert "harbour" not in " ".join(s.article.location for s in engine.articles())
        assert update_index(settings, real_embedder).added == ["harbour.md"]


def test_the_cli_indexes_and_reports_the_database(primary, news, tmp_path, capsys):
    from qa.cli import main

    url = new_database(primary)
    assert main(["index", "--quiet", "--corpus", str(news), "--database", url]) == 0
    assert "28 articles" in capsys.readouterr().out
    assert main(["status", "--corpus", str(news), "--database", url]) == 0
    out = capsys.readouterr().out
    assert "PostgreSQL + pgvector" in out and "qa:***@" in out and ":qa@" not in out
    assert "corpus changed since:  no" in out
    assert main(["ask", "How many North Korean troops are in Russia?", "--corpus", str(news),
                 "--database", url]) == 0
    assert "[1]" in capsys.readouterr().out
    assert main(["status", "--database", "mysql://nope"]) == 2
    assert "must start with postgresql://" in capsys.readouterr().err


CITIES = ["Busan", "Lyon", "Porto", "Tampere", "Graz", "Cork", "Malmo", "Bergen", "Split", "Gdansk", "Kosice",
          "Tartu", "Brno", "Ghent", "Aarhus"]
THINGS = ["ferry terminal", "tram line", "water plant", "stadium", "library", "hospital wing", "bridge",
          "solar farm", "port crane", "rail depot", "school", "museum"]
ACTS = ["opened", "closed for repairs", "was inspected", "received funding", "was rebuilt", "hired staff",
        "doubled its capacity", "was sold", "flooded", "was renamed"]


def _generated(folder: Path, articles: int = 45) -> list[str]:
    """Articles of ten plain news sentences each (about 450 sentences: more than the ranking scores
    whole, so candidates come from the dense and BM25 searches), dated over November 2024; and
    questions about them."""
    import random

    rng = random.Random(7)
    folder.mkdir()
    questions = []
    for i in range(articles):
        city = CITIES[i % len(CITIES)]
        lines = []
        for j in range(10):
            thing, act = rng.choice(THINGS), rng.choice(ACTS)
            n = rng.randint(2, 900)
            lines.append(f"The {thing} in {city} {act} after {n} residents signed a petition, officials said "
                         f"on day {j + 1} of the council session.")
            if j == 3:
                questions.append(f"Why was the {thing} in {city} {act.split(' for ')[0]}?")
        day = f"2024-11-{i % 28 + 1:02d}"
        (folder / f"{day}-{city.lower()}-{i}.md").write_text(
            f"---\ntitle: {city} council report {i}\ndate: {day}\nsource: City Wire\n---\n\n"
            + " ".join(lines) + "\n", encoding="utf-8")
    return questions


def test_a_larger_index_ranks_alike_through_the_searches(primary, tmp_path, real_embedder):
    corpus = tmp_path / "corpus"
    questions = _generated(corpus)
    folder = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    database = replace(folder, database_url=new_database(primary))
    assert build_index(folder, real_embedder).sentences > 400
    update_index(database, real_embedder)
    with closing(psycopg.connect(database.database_url)) as conn:  # vectors in the row, never in TOAST
        storage = conn.execute("SELECT c.relname, a.attstorage FROM pg_attribute a JOIN pg_class c ON "
                               "c.oid = a.attrelid WHERE a.attname = 'embedding' AND c.relkind = 'r' AND "
                               "c.relnamespace = 'qa'::regnamespace ORDER BY 1").fetchall()
    assert storage == [("chunks", "m"), ("sentences", "m")]
    a, b, graph = Engine(folder, real_embedder), Engine(database, real_embedder), Engine(
        replace(database, exact_limit=0), real_embedder)
    november = AnswerOptions(scope=Scope.parse("2024-11-05", "2024-11-20"))
    first_same = []
    for q in questions:
        # exact dense search: the same sentences and scores
        assert same_ranking(ranked(a, q), ranked(b, q)), q
        assert a.answer(q, options=november).text == b.answer(q, options=november).text, q
        first_same.append(a.answer(q).citations[:1] == graph.answer(q).citations[:1])
    assert sum(first_same) / len(first_same) >= 0.99  # through the HNSW index
    assert "HNSW" in graph.status().vector_index and "exact" in b.status().vector_index.split(";")[0]
