"""Retrieval against brute force, live reload of new builds, and the topic-word reduction."""

from __future__ import annotations

import numpy as np
import pytest

from qa import retrieval, store
from qa.indexing import build_index
from qa.retrieval import LiveIndex, reduce_question
from qa.settings import Settings
from tests.conftest import search
from tests.fakes import FakeEmbedder


def test_faiss_matches_brute_force_numpy(settings, fake):
    build_index(settings, fake)
    snap = store.load_snapshot(settings.index_dir)
    vectors = snap.sentence_index.reconstruct_n(0, snap.sentence_index.ntotal)
    query = FakeEmbedder().encode(["North Korean troops in Russia"])
    scores, rows = snap.sentence_index.search(query, 5)
    brute = vectors @ query[0]
    expected = np.argsort(-brute)[:5]
    assert np.allclose(scores[0], brute[expected], atol=1e-5)
    assert set(rows[0]) == set(expected)


def test_live_index_picks_up_a_new_build_without_restart(settings, fake, corpus):
    build_index(settings, fake)
    live = LiveIndex(settings.index_dir)
    before = live.get()
    assert live.get() is before  # no reload while nothing changed
    (corpus / "late.txt").write_text("Late news\nA ceasefire was announced in the evening by negotiators.")
    build_index(settings, fake)
    after = live.get()
    assert after is not before
    hits = search(after, fake, "ceasefire announced by negotiators", k=1)
    assert "ceasefire" in hits[0].text
    assert "ceasefire" not in " ".join(before.snapshot.sentence_text(r)
                                       for r in range(len(before.snapshot.sentences)))


def test_every_scored_sentence_is_its_article_text(settings, fake):
    build_index(settings, fake)
    index = LiveIndex(settings.index_dir).get()
    for hit in search(index, fake, "weapons policy Seoul", k=10):
        assert hit.article.text[hit.start:hit.end] == hit.text


def test_a_figure_in_the_unit_asked_ranks_first(tmp_path, real_embedder, monkeypatch):
    """'How many times ...': the sentence stating a number of times outranks one that repeats the
    question's words with another figure; without the cue it does not."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "stadium.txt").write_text(
        "Riverside Stadium bids again\n"
        "The league announced on Monday that Riverside Stadium is one of two finalists to host the "
        "championship game in 2028.\n"
        "Riverside Stadium hosted the championship game for the first time in 1994, "
        "two years after it opened.\n"
        "Riverside has staged the title match 12 times in all.\n"
        "A decision is expected in the spring.\n", encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings, real_embedder)
    index = LiveIndex(settings.index_dir).get()
    question = "How many times has Riverside Stadium hosted the championship game?"
    answer = "Riverside has staged the title match 12 times in all."
    best = search(index, real_embedder, question, k=10)
    assert best[0].text == answer
    monkeypatch.setitem(retrieval.WEIGHTS, "counted", 0.0)
    without = search(index, real_embedder, question, k=10)
    assert without[0].text.startswith("Riverside Stadium hosted the championship game for the first time")
    gain = {h.text: h.score for h in best}
    for h in without:  # the cue moved the one sentence with a number of times, and only it
        assert gain[h.text] - h.score == pytest.approx(0.4 if h.text == answer else 0.0, abs=1e-4)


def test_reduce_question_drops_corpus_topic_words():
    topic = frozenset({"super", "bowl", "50"})
    assert reduce_question("Who won Super Bowl 50?", topic) == "Who won"
    assert reduce_question("Super Bowl 50", topic) == "Super Bowl 50"  # nothing left: keep it


def test_large_index_uses_ivf_and_finds_what_exact_search_finds(tmp_path, fake, monkeypatch):
    """Above `exact_limit` sentence vectors the build stores an IVF index (recorded in the
    manifest) with the exact vectors beside it; retrieval takes candidates from it and rescores
    them exactly, so the answers match the exact index, with and without a date filter."""
    import shutil
    from dataclasses import replace

    from qa.answering import AnswerOptions, Engine
    from qa.retrieval import Scope
    from qa.settings import Settings
    from tests.conftest import DATA

    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "news", corpus)
    for i in range(30):
        (corpus / f"story-{i}.txt").write_text(f"Story {i}\n" + " ".join(
            f"Officials in region {i} reported event {j} involving {j * 7 + i} vehicles on day {j}."
            for j in range(13)))
    exact = Settings(corpus_dir=corpus, index_dir=tmp_path / "exact")
    graph = replace(exact, index_dir=tmp_path / "graph", exact_limit=50)
    build_index(exact, fake)
    build_index(graph, fake)
    assert store.load_snapshot(exact.index_dir).manifest.faiss_index == "IndexFlatIP"
    manifest = store.load_snapshot(graph.index_dir).manifest
    assert manifest.faiss_index.startswith("IndexIVFScalarQuantizer(") and manifest.sentences > 400
    a, b = LiveIndex(exact.index_dir).get(), LiveIndex(graph.index_dir).get()
    assert not a.ann and b.ann
    for question in ["How many North Korean troops are in Russia?", "vehicles reported in region 7",
                     "What did the spy agency tell lawmakers?", "exports rose in October"]:
        ra, rb = search(a, fake, question, k=5), search(b, fake, question, k=5)
        assert [h.row for h in ra] == [h.row for h in rb]
        assert np.allclose([h.score for h in ra], [h.score for h in rb], atol=1e-5)
    # the exact vectors, kept beside it
    assert np.array_equal(np.asarray(b.snapshot.sentence_vectors), a.snapshot.sentence_vectors)
    some = {aid for aid, art in b.snapshot.articles.items() if art.location.startswith("story-1")}
    for filtered_exact in (retrieval.FILTERED_EXACT, 0):  # a narrow filter: exact; a wide one: IVF selector
        monkeypatch.setattr(retrieval.folder, "FILTERED_EXACT", filtered_exact)
        answer = Engine(graph, fake).answer(
            "vehicles reported on day 3",
            options=AnswerOptions(min_confidence=-10, scope=Scope(articles=frozenset(some))))
        assert answer.citations and {c.article_id for c in answer.citations} <= some


def test_background_reload_answers_from_the_loaded_build_until_the_new_one_is_in(settings, fake, corpus,
                                                                                  monkeypatch):
    import threading

    build_index(settings, fake)
    live = LiveIndex(settings.index_dir, background=True)
    before = live.get()
    (corpus / "late.txt").write_text("Late news\nA ceasefire was announced in the evening by negotiators.")
    build_index(settings, fake)
    release, original = threading.Event(), store.load_snapshot

    def slow_load(*args, **kwargs):
        release.wait(10)  # a large index: the load takes a while
        return original(*args, **kwargs)

    monkeypatch.setattr(store, "load_snapshot", slow_load)
    assert live.get() is before  # answered at once, from the build already loaded
    assert live.get() is before
    release.set()
    after = live.get(wait=True)
    assert after is not before and "ceasefire" in search(after, fake, "ceasefire negotiators", k=1)[0].text
    assert live.get() is after
