"""Building the index: incremental by content, atomic, honest about bad input and changed settings."""

from __future__ import annotations

import shutil
import threading
from dataclasses import replace

import numpy as np
import pytest

from qa import store
from qa.errors import ArticleError, BuildLockedError, IndexCorruptError, IndexMismatchError, IndexMissingError
from qa.indexing import build_index, corpus_fingerprint
from tests.fakes import FakeEmbedder


def test_first_build_indexes_every_article(settings, fake):
    report = build_index(settings, fake)
    assert report.full_rebuild_reason == "no previous index"
    assert len(report.added) == 6 and report.skipped == [] and report.build_id
    snap = store.load_snapshot(settings.index_dir)
    assert snap.manifest.articles == 6 and len(snap.articles) == 6
    assert snap.manifest.sentences == len(snap.sentences) == snap.sentence_index.ntotal
    assert snap.manifest.chunks == len(snap.chunks) == snap.chunk_index.ntotal
    assert report.embedded == len(snap.sentences) + len(snap.chunks)
    assert snap.manifest.model == "fake-bow-64" and snap.manifest.dimension == 64
    # every stored vector is the embedding of its own sentence
    for row in (0, len(snap.sentences) // 2, len(snap.sentences) - 1):
        stored = snap.sentence_index.reconstruct(row)
        assert np.allclose(stored, FakeEmbedder().encode([snap.sentence_text(row)])[0], atol=1e-6)


def test_unchanged_corpus_is_up_to_date_and_embeds_nothing(settings, fake):
    first = build_index(settings, fake)
    fake.encoded.clear()
    again = build_index(settings, fake)
    assert again.build_id is None and fake.encoded == [] and again.unchanged == 6
    assert store.current_build_id(settings.index_dir) == first.build_id


def test_incremental_add_change_remove(settings, fake, corpus):
    build_index(settings, fake)
    (corpus / "new.txt").write_text("Brand new story\nA reporter filed this new story today.")
    md = corpus / "2024-11-05-pentagon-briefing.md"
    md.write_text(md.read_text().replace("about 8,000", "about 11,000"))
    (corpus / "wire-roundup.jsonl").unlink()
    fake.encoded.clear()
    report = build_index(settings, fake)
    assert report.added == ["new.txt"]
    assert report.changed == ["2024-11-05-pentagon-briefing.md"]
    assert sorted(report.removed) == ["wire-roundup.jsonl#line 1", "wire-roundup.jsonl#line 2"]
    assert report.unchanged == 3
    # only the new and the changed article were embedded
    assert any("11,000" in t for t in fake.encoded) and any("new story" in t for t in fake.encoded)
    assert not any("Kyslytsya" in t for t in fake.encoded)
    snap = store.load_snapshot(settings.index_dir)
    texts = [snap.sentence_text(r) for r in range(len(snap.sentences))]
    assert not any("Kremlin" in t for t in texts) and not any("8,000" in t for t in texts)
    # reused vectors still belong to their sentences after rows moved
    fresh = FakeEmbedder()
    for row in range(len(snap.sentences)):
        assert np.allclose(snap.sentence_index.reconstruct(row), fresh.encode([texts[row]])[0], atol=1e-6)


def test_touched_file_with_same_text_is_not_re_embedded(settings, fake, corpus):
    build_index(settings, fake)
    path = corpus / "2024-11-05-pentagon-briefing.md"
    path.write_text(path.read_text())  # new mtime, same content
    fake.encoded.clear()
    report = build_index(settings, fake)
    assert fake.encoded == [] and report.unchanged == 6 and not report.changed


def test_identical_text_under_two_names_is_indexed_once(settings, fake, corpus):
    shutil.copy(corpus / "2024-11-05-pentagon-briefing.md", corpus / "copy-of-briefing.md")
    report = build_index(settings, fake)
    assert report.duplicates == [("copy-of-briefing.md", "2024-11-05-pentagon-briefing.md")]
    assert store.load_snapshot(settings.index_dir).manifest.articles == 6


def test_bad_files_are_reported_and_the_build_goes_on(settings, fake, corpus):
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    (corpus / "broken.json").write_text('{"text": ')
    report = build_index(settings, fake)
    reasons = dict(report.skipped)
    assert reasons["empty.txt"] == "empty file"
    assert reasons["photo.jpg"] == "unsupported file type '.jpg'"
    assert "binary" in reasons["binary.txt"]
    assert "malformed JSON" in reasons["broken.json"]
    assert report.articles == 6


def test_bad_file_added_later_leaves_previous_articles(settings, fake, corpus):
    build_index(settings, fake)
    (corpus / "huge.txt").write_bytes(b"x" * 2_000_000)
    report = build_index(replace(settings, max_file_mb=1), fake)
    assert "over the 1.0 MB limit" in dict(report.skipped)["huge.txt"]
    assert store.load_snapshot(settings.index_dir).manifest.articles == 6


def test_missing_corpus_is_an_error_and_leaves_the_index(settings, fake, corpus):
    first = build_index(settings, fake)
    shutil.rmtree(corpus)
    with pytest.raises(ArticleError, match="corpus folder does not exist"):
        build_index(settings, fake)
    assert store.current_build_id(settings.index_dir) == first.build_id


def test_empty_corpus_gives_an_empty_index(settings, fake, corpus):
    build_index(settings, fake)
    shutil.rmtree(corpus)
    corpus.mkdir()
    report = build_index(settings, fake)
    assert report.articles == 0 and len(report.removed) == 6
    assert store.load_snapshot(settings.index_dir).sentences == []


def test_model_or_chunk_change_forces_full_rebuild(settings, fake):
    build_index(settings, fake)
    report = build_index(replace(settings, chunk_tokens=80), fake)
    assert report.full_rebuild_reason == "settings changed: chunk_tokens 160 -> 80"
    other = FakeEmbedder(dimension=32, model_id="fake-bow-32")
    report = build_index(settings, other)
    assert "embedding model fake-bow-64 -> fake-bow-32" in report.full_rebuild_reason
    assert "embedding dimension 64 -> 32" in report.full_rebuild_reason
    assert store.load_snapshot(settings.index_dir).manifest.dimension == 32


def test_loading_refuses_other_model(settings, fake):
    build_index(settings, fake)
    with pytest.raises(IndexMismatchError, match="built with model 'fake-bow-64'.*run `qa index`"):
        store.load_snapshot(settings.index_dir, model="all-MiniLM-L6-v2")


def test_loading_without_index_says_what_to_run(tmp_path):
    with pytest.raises(IndexMissingError, match="run `qa index`"):
        store.load_snapshot(tmp_path / "nothing")


@pytest.mark.parametrize("damage", ["truncate_faiss", "garbage_db", "drop_manifest", "missing_build"])
def test_corrupt_index_is_refused_and_next_build_repairs_it(settings, fake, damage):
    build_index(settings, fake)
    build_dir = store.current_build_dir(settings.index_dir)
    if damage == "truncate_faiss":
        path = build_dir / "sentences.faiss"
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "garbage_db":
        (build_dir / "db.sqlite").write_bytes(b"this is not a database" * 100)
    elif damage == "drop_manifest":
        (build_dir / "manifest.json").unlink()
    else:
        shutil.rmtree(build_dir)
    with pytest.raises(IndexCorruptError, match="qa index --full"):
        store.load_snapshot(settings.index_dir)
    report = build_index(settings, fake)
    assert report.full_rebuild_reason.startswith("previous index unusable")
    assert store.load_snapshot(settings.index_dir).manifest.articles == 6


def test_a_second_build_at_the_same_time_is_refused(settings, fake):
    with store.build_lock(settings.index_dir), pytest.raises(BuildLockedError, match="another build"):
        build_index(settings, fake)
    assert build_index(settings, fake).build_id


def test_waiting_build_runs_after_the_first(settings, fake):
    started, results = threading.Event(), []
    with store.build_lock(settings.index_dir):
        worker = threading.Thread(target=lambda: (started.set(), results.append(
            build_index(settings, FakeEmbedder(), wait=True))))
        worker.start()
        started.wait()
        worker.join(0.3)
        assert worker.is_alive()  # blocked on the lock
    worker.join(10)
    assert results and results[0].build_id


def test_old_builds_are_pruned_and_temp_dirs_cleaned(settings, fake, corpus):
    build_index(settings, fake)
    stale = store.builds_dir(settings.index_dir) / ".tmp-crashed"
    stale.mkdir()
    for i in range(4):
        (corpus / f"extra{i}.txt").write_text(f"Extra story\nStory number {i} happened.")
        build_index(settings, fake)
    names = [p.name for p in store.builds_dir(settings.index_dir).iterdir()]
    assert len(names) == settings.keep_builds and not stale.exists()


def test_corpus_fingerprint_tracks_changes(corpus):
    before = corpus_fingerprint(corpus)
    (corpus / "x.txt").write_text("More news.")
    assert corpus_fingerprint(corpus) != before


def test_bm25_matrix_is_what_bm25s_computes(settings, fake, tmp_path):
    """The vectorized BM25 build gives bm25s's own scores, term by term and document by document."""
    import bm25s

    from qa.retrieval import BM25_PARAMS
    from qa.retrieval.lexical import bm25_index, scores
    from qa.store.bm25 import count_terms, read_counts, write_counts

    build_index(settings, fake)
    snap = store.load_snapshot(settings.index_dir)
    for name in ("sentences", "chunks"):
        docs = snap.terms(name) + ["", "repeat repeat repeat word"]
        (tmp_path / name).mkdir()
        write_counts(tmp_path / name, name, count_terms(docs))
        k1, b = BM25_PARAMS[name]
        ours = bm25_index(read_counts(tmp_path / name, name), k1, b)
        reference = bm25s.BM25(k1=k1, b=b)
        reference.index([d.split() or ["\0"] for d in docs], show_progress=False)
        assert ours.vocab.keys() | {""} == reference.vocab_dict.keys()  # "": bm25s's empty token
        for term in list(reference.vocab_dict)[:-1]:
            expected = reference.get_scores([term])
            assert np.allclose(scores(ours, [term], ours.rows), expected, rtol=1e-6, atol=0)
        query = ["repeat", "north", "korean", "troops", "unheard"]
        assert np.allclose(scores(ours, query, ours.rows), reference.get_scores(query), rtol=1e-6, atol=0)


def test_a_delta_merged_into_the_stored_bm25_counts_is_a_whole_bm25(tmp_path):
    """Base rows kept and removed, delta rows with new terms, an empty row, terms that only removed
    rows held: the merge from stored counts is the BM25 of the rows that remain, term by term."""
    from qa.retrieval import BM25_PARAMS
    from qa.retrieval.lexical import bm25_index, scores
    from qa.store.bm25 import count_terms, merge_counts, read_counts, write_counts

    base_docs = ["north korean troops", "troops troops moved", "", "kursk front line", "only here gone"]
    delta_docs = ["new term troops", "", "kursk kursk"]
    write_counts(tmp_path, "sentences", count_terms(base_docs))
    for name in ("sentences", "chunks"):
        params = BM25_PARAMS[name]
        keep = np.array([0, 1, 2, 3])  # the last base row was replaced or removed
        merged = bm25_index(merge_counts(read_counts(tmp_path, "sentences"), keep, delta_docs), *params)
        whole = bm25_index(count_terms([base_docs[i] for i in keep] + delta_docs), *params)
        assert merged.vocab.keys() == whole.vocab.keys() and "gone" not in merged.vocab
        for term in whole.vocab:
            assert np.array_equal(scores(merged, [term], merged.rows), scores(whole, [term], whole.rows))
        assert np.array_equal(np.diff(merged.indptr), np.diff(whole.indptr)[
            [whole.vocab[t] for t in sorted(merged.vocab, key=merged.vocab.get)]])


def _same_as_a_whole_build(settings, fake, tmp_path):
    """The active (delta) build holds what a whole build of the same corpus holds, and answers
    alike: the same sentences with the same vectors, the same search results and scores."""
    from qa.retrieval import LiveIndex
    from tests.conftest import search

    whole = replace(settings, index_dir=tmp_path / "whole")
    assert not build_index(whole, fake, full=True).delta
    a, b = LiveIndex(settings.index_dir).get(), LiveIndex(whole.index_dir).get()
    loaded = store.load_snapshot(settings.index_dir), store.load_snapshot(whole.index_dir)
    for snap in loaded:
        assert (len(snap.articles), len(snap.sentences), len(snap.chunks)) == (
            snap.manifest.articles, snap.manifest.sentences, snap.manifest.chunks)

    def sentences(snap):
        vectors = np.asarray(snap.sentence_vectors)
        return sorted((snap.articles[s.article_id].location, snap.sentence_text(r),
                       tuple(vectors[r].round(5)))
                      for r, s in enumerate(snap.sentences))

    assert sentences(a.snapshot) == sentences(b.snapshot)
    assert sorted(c.text for c in loaded[0].chunks) == sorted(c.text for c in loaded[1].chunks)
    assert a.snapshot.copies.keys() == b.snapshot.copies.keys()
    for question in ["How many North Korean troops are in Russia?", "new story filed today",
                     "What did Kim say?", "ceasefire talks", "vehicles reported in region 7 on day 3"]:
        ra, rb = search(a, fake, question, k=8), search(b, fake, question, k=8)
        assert sorted((h.text, round(h.score, 5)) for h in ra) \
            == sorted((h.text, round(h.score, 5)) for h in rb)


def test_an_update_writes_only_a_delta_beside_the_previous_base(settings, fake, corpus, tmp_path):
    first = build_index(settings, fake)
    base = store.builds_dir(settings.index_dir) / first.build_id
    (corpus / "new.txt").write_text("Brand new story\nA reporter filed this new story today. It is short.")
    fake.encoded.clear()
    report = build_index(settings, fake)
    assert report.delta and report.added == ["new.txt"] and report.articles == 7
    assert all("new story" in t or "Brand new" in t or "short" in t for t in fake.encoded)
    build = store.builds_dir(settings.index_dir) / report.build_id
    for name in ("db.sqlite", "sentences.faiss", "chunks.faiss"):  # linked, not written again
        assert (build / name).stat().st_ino == (base / name).stat().st_ino
    assert store.read_manifest(build).base_build == first.build_id
    # a second update keeps the delta's earlier rows without embedding them again
    (corpus / "later.txt").write_text("Later story\nNegotiators announced ceasefire talks in the evening.")
    fake.encoded.clear()
    assert build_index(settings, fake).delta
    assert not any("new story" in t for t in fake.encoded) and any("ceasefire" in t for t in fake.encoded)
    _same_as_a_whole_build(settings, fake, tmp_path)


def test_a_delta_replaces_changed_and_removes_deleted_base_articles(settings, fake, corpus, tmp_path):
    build_index(settings, fake)
    md = corpus / "2024-11-05-pentagon-briefing.md"
    md.write_text(md.read_text().replace("about 8,000", "about 11,000"))
    (corpus / "wire-roundup.jsonl").unlink()
    report = build_index(settings, fake)
    assert report.delta and report.changed == ["2024-11-05-pentagon-briefing.md"] and len(report.removed) == 2
    snap = store.load_snapshot(settings.index_dir)
    texts = [snap.sentence_text(r) for r in range(len(snap.sentences))]
    assert any("11,000" in t for t in texts) and not any("8,000" in t for t in texts)
    assert not any("Kremlin" in t for t in texts)
    _same_as_a_whole_build(settings, fake, tmp_path)
    md.write_text(md.read_text().replace("about 11,000", "about 12,000"))  # changed again: in the delta
    assert build_index(settings, fake).delta
    _same_as_a_whole_build(settings, fake, tmp_path)


def test_a_delta_past_its_limit_is_merged_into_a_whole_build(settings, fake, corpus, monkeypatch):
    from qa.indexing import plan

    build_index(settings, fake)
    monkeypatch.setattr(plan, "DELTA_ARTICLES", 1)
    monkeypatch.setattr(plan, "DELTA_SHARE", 0.0)
    (corpus / "one.txt").write_text("One\nThe first added story is here.")
    assert build_index(settings, fake).delta
    (corpus / "two.txt").write_text("Two\nThe second added story is here.")
    report = build_index(settings, fake)
    build = store.builds_dir(settings.index_dir) / report.build_id
    assert not report.delta and not (build / "delta").exists()
    assert store.read_manifest(build).base_build == report.build_id and report.articles == 8


def test_a_delta_beside_a_large_ivf_base(settings, fake, corpus, tmp_path):
    for i in range(40):  # more sentences than retrieval scores exhaustively: candidates come from IVF
        (corpus / f"story-{i}.txt").write_text(f"Story {i}\n" + " ".join(
            f"Officials in region {i} reported event {j} involving {j * 7 + i} vehicles on day {j}."
            for j in range(13)))
    large = replace(settings, exact_limit=20)
    build_index(large, fake)
    assert store.load_snapshot(large.index_dir).manifest.faiss_index.startswith("IndexIVF")
    (corpus / "new.txt").write_text("Brand new story\nA reporter filed this new story today. It is short.")
    (corpus / "wire-roundup.jsonl").unlink()
    assert build_index(large, fake).delta
    _same_as_a_whole_build(large, fake, tmp_path)
