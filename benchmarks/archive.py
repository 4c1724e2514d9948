"""The whole answer pipeline on a news archive of about 10^6 sentences: build, memory, latency.

    .venv/bin/python benchmarks/archive.py [--articles 100000] [--out benchmarks/results/archive.md]

Corpus: generated like benchmarks/build.py (sentences of the SQuAD paragraphs in ../shared/eval
and the test articles, sampled into articles of 6-14 sentences with a headline, date and outlet).
The build is the real `build_index` pipeline (reading, sentence splitting, chunking, BM25,
syndication, SQLite, FAISS) except the embedding, which would take hours on 2 cores: each distinct
pool sentence is embedded once with the bundled model, and each occurrence gets that vector
plus noise (cosine about 0.9 to it), like benchmarks/scale.py; a chunk gets the noisy vector of
its first sentence. Questions are real: 300 SQuAD questions embedded by the real model, answered
by `Engine.answer` in process, one at a time, twice: the first pass meets the page cache as it
is (a large index's exact vectors are read from disk; see the README), the second is the steady
state. Memory is the answering process's after loading the
index and answering: resident anonymous memory (the process's own) and resident file pages (the
memory-mapped exact vectors, shared page cache the kernel can drop) reported apart.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import sys
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
DATA = ROOT / "benchmarks" / "data"

from build import generate, sentence_pool  # noqa: E402 - benchmarks/build.py

if TYPE_CHECKING:
    from qa.embedding import Embedder, Progress


class ArchiveEmbedder:
    """Real vectors of the pool sentences, perturbed per occurrence; see the module docstring."""

    def __init__(self, real: Embedder, pool: list[str]):
        self.model_id, self._real = real.model_id, real
        cache = DATA / f"archive-pool-{zlib.crc32(''.join(pool).encode()):08x}.npy"
        if cache.is_file():
            vectors = np.load(cache)
        else:
            vectors = real.encode(pool, batch_size=64)
            np.save(cache, vectors)
        self._base = vectors
        self._row = {s: i for i, s in enumerate(pool)}
        self._prefix = {s[:60]: i for i, s in enumerate(pool)}
        self._rng = np.random.default_rng(0)

    @property
    def dimension(self) -> int:
        return self._base.shape[1]

    def fits(self, text: str) -> bool:
        return self._real.fits(text)

    def encode(self, texts: Sequence[str], *, batch_size: int = 64,
               progress: Progress | None = None) -> np.ndarray:
        fallback = len(self._base)
        rows = np.array([self._row.get(t, self._prefix.get(t[:60], zlib.crc32(t.encode()) % fallback))
                         for t in texts], dtype=np.int64)
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), 100_000):
            part = rows[start:start + 100_000]
            noise = self._rng.normal(0, 0.0247, (len(part), self.dimension)).astype(np.float32)
            noisy = self._base[part] + noise
            out[start:start + len(part)] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
        if progress:
            progress(len(texts), len(texts))
        return out

    def encode_questions(self, texts: Sequence[str]) -> np.ndarray:
        return self._real.encode_questions(texts)


def memory_mb() -> dict[str, float]:
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return {k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "RssAnon", "RssFile", "VmHWM")}


def build(n: int) -> dict:
    from qa.embedding import SentenceTransformerEmbedder
    from qa.indexing import build_index
    from qa.settings import Settings

    corpus, index = DATA / f"corpus-{n}", DATA / f"index-{n}"
    generate(n, corpus)
    embedder = ArchiveEmbedder(SentenceTransformerEmbedder(), sentence_pool())
    t = time.perf_counter()
    report = build_index(Settings(corpus_dir=corpus, index_dir=index), embedder, full=True)
    seconds = time.perf_counter() - t
    size = sum(f.stat().st_size for f in index.rglob("*") if f.is_file() and report.build_id in str(f))
    return {"articles": report.articles, "sentences": report.sentences, "chunks": report.chunks,
            "build_s": seconds, "disk_mb": size / 1e6, "build_peak_mb": memory_mb()["VmHWM"]}


def answer(n: int, profile: Path | None) -> dict:
    from qa import store
    from qa.answering import Engine
    from qa.embedding import SentenceTransformerEmbedder
    from qa.settings import Settings

    questions = [q["question"] for name in ("squad-notre-dame.json", "squad-super-bowl-50.json")
                 for d in json.loads((ROOT.parent / "shared" / "eval" / name).read_text())["data"]
                 for p in d["paragraphs"] for q in p["qas"]]
    questions = random.Random(0).sample(questions, 300)
    embedder = SentenceTransformerEmbedder()
    embedder.encode(["warm up"])
    before = memory_mb()
    t = time.perf_counter()
    engine = Engine(Settings(index_dir=DATA / f"index-{n}"), embedder)
    engine.answer("What happened?")
    load_s = time.perf_counter() - t
    passes = []  # the first pass meets the page cache as it is; the second, warm
    for _ in range(2):
        passes.append([])
        for q in questions:
            t = time.perf_counter()
            engine.answer(q)
            passes[-1].append((time.perf_counter() - t) * 1000)
    first, latencies = passes
    after = memory_mb()
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        with profiler:
            for q in questions[:100]:
                engine.answer(q)
        profile.write_text(profiler.output_text(unicode=False, color=False))
    manifest = store.read_manifest(store.current_build_dir(DATA / f"index-{n}"))
    return {"load_s": load_s, "first_p50_ms": float(np.percentile(first, 50)),
            "first_p95_ms": float(np.percentile(first, 95)), "p50_ms": float(np.percentile(latencies, 50)),
            "p95_ms": float(np.percentile(latencies, 95)), "faiss_index": manifest.faiss_index,
            "models_mb": before["VmRSS"], **{f"{k}_mb": v for k, v in after.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--phase", choices=["build", "answer"])
    parser.add_argument("--no-rebuild", action="store_true", help="reuse the index of an earlier run")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "archive.md")
    args = parser.parse_args()
    n = args.articles
    if args.phase:  # each phase in its own process, so its memory is its own
        profile = args.out.with_suffix(".profile.txt") if args.phase == "answer" else None
        print(json.dumps(build(n) if args.phase == "build" else answer(n, profile)))
        return
    import subprocess

    def phase(name: str) -> dict:
        done = subprocess.run([sys.executable, __file__, "--phase", name, "--articles", str(n), "--out",
                               str(args.out)], check=True, capture_output=True, text=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    built = json.loads((DATA / f"archive-{n}.json").read_text()) if args.no_rebuild else phase("build")
    (DATA / f"archive-{n}.json").write_text(json.dumps(built))
    asked = phase("answer")
    print(json.dumps({**built, **asked}), flush=True)
    command = " ".join([".venv/bin/python benchmarks/archive.py", *sys.argv[1:]])
    lines = ["# The whole pipeline on a generated news archive", "",
             f"`{command}`, {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} CPUs. "
             "How the archive is made: the docstring of benchmarks/archive.py (real pipeline, synthesized "
             "build vectors, real questions).", "",
             "| articles | sentences | chunks | build s | build peak MB | index on disk MB "
             "| sentence index |",
             "|---|---|---|---|---|---|---|",
             f"| {built['articles']:,} | {built['sentences']:,} | {built['chunks']:,} "
             f"| {built['build_s']:.0f} | {built['build_peak_mb']:.0f} | {built['disk_mb']:.0f} "
             f"| {asked['faiss_index']} |", "",
             "| answer p50 / p95 ms (second pass) | first pass after load p50 / p95 ms "
             "| load + first answer s | process with models MB | resident after answering MB "
             "| of which own (anonymous) MB | of which mapped files MB |",
             "|---|---|---|---|---|---|---|",
             f"| {asked['p50_ms']:.1f} / {asked['p95_ms']:.1f} "
             f"| {asked['first_p50_ms']:.1f} / {asked['first_p95_ms']:.1f} | "
             f"{asked['load_s']:.1f} | {asked['models_mb']:.0f} | "
             f"{asked['VmRSS_mb']:.0f} | {asked['RssAnon_mb']:.0f} | {asked['RssFile_mb']:.0f} |", "",
             f"Profile of 100 answers: `{args.out.with_suffix('.profile.txt').name}`. Peak RSS of the "
             f"benchmark driver {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB."]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
