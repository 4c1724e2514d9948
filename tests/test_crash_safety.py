"""A build killed with SIGKILL at any moment leaves the previous index loadable; the next succeeds."""

from __future__ import annotations

import os
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


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.05, 0.15, 0.3, 0.5, 0.8, 1.2, 2.0])
def test_sigkill_during_build_keeps_previous_index(settings, fake, corpus, delay):
    first = build_index(settings, fake)
    for i in range(25):
        (corpus / f"story-{i}.txt").write_text(
            f"Story {i}\n" + " ".join(f"Event {i}.{j} was reported by officials on day {j}." for j in range(12)))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", BUILD_SLOWLY, str(corpus), str(settings.index_dir)],
                            env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)

    snap = store.load_snapshot(settings.index_dir)  # always a complete build
    assert snap.manifest.build_id in (first.build_id, store.current_build_id(settings.index_dir))
    assert snap.manifest.articles in (first.articles, first.articles + 25)
    assert len(snap.sentences) == snap.sentence_index.ntotal

    report = build_index(settings, fake)
    assert store.load_snapshot(settings.index_dir).manifest.articles == first.articles + 25
    assert report.build_id is None or report.articles == first.articles + 25
    leftovers = [p for p in store.builds_dir(settings.index_dir).iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == [] and not (settings.index_dir / "CURRENT.tmp").exists()
