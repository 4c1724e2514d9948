"""A build killed with SIGKILL at any moment leaves the previous index loadable; the next succeeds."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from qa import store
from qa.indexing import build_index
from tests.conftest import ROOT

BUILD_SLOWLY = """
import sys, time
from pathlib import Path
from qa.indexing import build_index
from qa.settings import Settings
from tests.fakes import FakeEmbedder

class Slow(FakeEmbedder):
    def encode(self, texts, **kw):
        out = []
        for t in texts:  # about 2 ms a text, like a real model on a slow CPU
            time.sleep(0.002)
        return super().encode(texts, **kw)

print("started", flush=True)
build_index(Settings(corpus_dir=Path(sys.argv[1]), index_dir=Path(sys.argv[2])), Slow())
print("finished", flush=True)
"""


def _start(script_args: list[str]) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, *script_args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


def _add_stories(corpus, first: int, n: int) -> None:
    for i in range(first, first + n):
        (corpus / f"story-{i}.txt").write_text(
            f"Story {i}\n"
            + " ".join(f"Event {i}.{j} was reported by officials on day {j}." for j in range(12)))


def _check_loadable(index_dir) -> store.Snapshot:
    snap = store.load_snapshot(index_dir)  # always a complete build
    assert len(snap.sentences) == snap.sentence_index.ntotal == snap.manifest.sentences
    assert len(snap.chunks) == snap.chunk_index.ntotal
    leftovers = [p for p in store.builds_dir(index_dir).iterdir() if p.name.startswith(".tmp-")]
    assert len(leftovers) <= 1  # at most the killed build's; the next build removes it
    return snap


@pytest.mark.slow
def test_twenty_sigkills_at_random_moments_never_break_the_index(settings, fake, corpus):
    rng = random.Random(20)
    build_index(settings, fake)
    initial = articles = store.load_snapshot(settings.index_dir).manifest.articles
    delays, outcomes = [], []
    for round_ in range(20):
        _add_stories(corpus, 25 * round_, 25)
        proc = _start(["-c", BUILD_SLOWLY, str(corpus), str(settings.index_dir)])
        assert proc.stdout.readline().strip() == "started"
        delays.append(round(rng.uniform(0.0, 2.5), 2))
        time.sleep(delays[-1])
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        snap = _check_loadable(settings.index_dir)
        assert snap.manifest.articles in (articles, initial + 25 * (round_ + 1))  # old or new, whole
        outcomes.append("new" if snap.manifest.articles != articles else "old")
        articles = snap.manifest.articles
        if round_ % 5 == 4:  # now and then a build that is left to finish catches up
            build_index(settings, fake)
            articles = store.load_snapshot(settings.index_dir).manifest.articles
            assert articles == initial + 25 * (round_ + 1)
    print("kill delays (s):", delays, "index after each kill:", outcomes)
    report = build_index(settings, fake)
    assert store.load_snapshot(settings.index_dir).manifest.articles == initial + 500
    assert report.build_id is None \
        or report.articles == store.load_snapshot(settings.index_dir).manifest.articles
    leftovers = [p for p in store.builds_dir(settings.index_dir).iterdir() if p.name.startswith(".tmp-")]
    finished = [p for p in store.builds_dir(settings.index_dir).iterdir() if not p.name.startswith(".")]
    assert leftovers == [] and len(finished) <= settings.keep_builds
    assert not (settings.index_dir / "CURRENT.tmp").exists()


@pytest.mark.slow
def test_sigkill_of_the_qa_index_command_keeps_the_index(settings, real_embedder, corpus):
    rng = random.Random(3)
    first = build_index(settings, real_embedder)
    for round_ in range(3):
        _add_stories(corpus, 40 * round_, 40)
        proc = _start(["-m", "qa", "index", "--quiet", "--corpus", str(corpus),
                       "--index", str(settings.index_dir)])
        time.sleep(rng.uniform(3.0, 9.0))  # model load takes about 4 s; then the build
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        _check_loadable(settings.index_dir)
    report = build_index(settings, real_embedder)
    assert report.articles == first.articles + 120
