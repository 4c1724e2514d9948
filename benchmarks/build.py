"""Build benchmark: pipeline throughput vs a bare model.encode, one-article updates, peak memory.

    .venv/bin/python benchmarks/build.py [--sizes 1000 5000] [--out benchmarks/results/build.md]
    .venv/bin/python benchmarks/build.py --updates --sizes 1000 5000 100000 [--out ...]
        (one-article updates only, on the indexes built earlier, here or by benchmarks/archive.py;
        default --out benchmarks/results/updates.md)

Corpora are generated: sentences of the SQuAD paragraphs in ../shared/eval plus the project's own
test articles, sampled (fixed seed) into articles of 6-14 sentences in 2-4 paragraphs, each with
a generated headline, date and outlet, written as seed-convention .txt files. Every phase runs in
a fresh subprocess so its peak memory (ru_maxrss) is its own. The full build is `build_index`
with the product's embedder; "bare encode" is sentence-transformers' own `encode` of the same
texts (the build's sentences and chunks) on the model as the build's torch runtime loads it; an
update adds one article and runs `build_index` again (in process, and as `qa index` in a new
process).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def sentence_pool() -> list[str]:
    from qa.articles import list_corpus, read_file
    from qa.sentences import split_sentences

    texts = []
    for name in ("squad-notre-dame.json", "squad-super-bowl-50.json"):
        data = json.loads((ROOT.parent / "shared" / "eval" / name).read_text())
        texts += [p["context"] for d in data["data"] for p in d["paragraphs"]]
    files, _ = list_corpus(ROOT / "tests" / "data" / "articles")
    for f in files:
        texts += [a.text for a in read_file(f, f.parent, 10**7) if hasattr(a, "text")]
    return [t[s.start:s.end] for t in texts for s in split_sentences("x", t) if s.end - s.start > 20]


def generate(n: int, target: Path) -> None:
    if target.is_dir() and len(list(target.glob("*.txt"))) == n:
        return
    target.mkdir(parents=True, exist_ok=True)
    rng = random.Random(n)
    pool = sentence_pool()
    outlets = ["Example Wire", "Daily Example", "The Sample Times", "Metro Example", "World Desk"]
    for i in range(n):
        body = rng.sample(pool, rng.randint(6, 14))
        body[0] = f"In report {i}, " + body[0][0].lower() + body[0][1:]
        cuts = sorted(rng.sample(range(1, len(body)), rng.randint(1, 3)))
        paragraphs = [" ".join(body[a:b]) for a, b in zip([0] + cuts, cuts + [len(body)], strict=True)]
        day = date(2020, 1, 1) + timedelta(days=rng.randint(0, 5 * 365))
        title = " ".join(body[1].split()[:8]).rstrip(",.;:")
        text = (f"date {day.isoformat()} {title}\nReporter {i % 97} Published "
                f"{day.strftime('%B %d, %Y')} | 10:00 AM\nCity, ({outlets[i % 5]}) "
                + "\n".join(paragraphs) + "\n")
        (target / f"article-{i:05d}.txt").write_text(text)


def phase(name: str, n: int) -> dict:
    """Run one phase in this process and return its measurements."""
    from qa.embedding import ONNX_BUILD_LIMIT, SentenceTransformerEmbedder
    from qa.indexing import build_index
    from qa.settings import Settings

    corpus, index = DATA / f"corpus-{n}", DATA / f"index-{n}"
    settings = Settings(corpus_dir=corpus, index_dir=index)
    out: dict = {"phase": name, "articles": n}
    if name == "bare":  # the texts of the build, through sentence-transformers' own encode
        from qa import store
        from qa.embedding.torch_model import TorchModel

        snap = store.load_snapshot(index, counts=False)
        texts = [snap.sentence_text(r) for r in range(len(snap.sentences))] + [c.text for c in snap.chunks]
        model = TorchModel(settings.model, bf16=settings.bf16).load()  # as the build's torch runtime loads it
        # Warmed up as the embedder is in the other phases (a first batch of 64 pays a one-time cost).
        model.encode(["warm up"] * (ONNX_BUILD_LIMIT + 1), batch_size=settings.batch_size,
                     show_progress_bar=False)
        t = time.perf_counter()
        model.encode(texts, batch_size=settings.batch_size, normalize_embeddings=True, convert_to_numpy=True,
                     show_progress_bar=False)
        out.update(seconds=time.perf_counter() - t, texts=len(texts))
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return out
    embedder = SentenceTransformerEmbedder.from_settings(settings)
    # The model (torch) and the ONNX session loaded outside the timed part, as in an app that has
    # answered and built before: a question loads ONNX Runtime, a batch past ONNX_BUILD_LIMIT torch.
    embedder.encode(["warm up"])
    embedder.encode(["warm up"] * (ONNX_BUILD_LIMIT + 1))
    if name == "build":
        t = time.perf_counter()
        report = build_index(settings, embedder, full=True)
        out.update(seconds=time.perf_counter() - t, sentences=report.sentences, chunks=report.chunks,
                   embedded=report.embedded)
    elif name == "add-one":  # three new articles, one build each (the median is reported)
        times, extras = [], []
        for i in range(3):
            extras.append(corpus / f"zz-added-{i}.txt")
            extras[-1].write_text(f"date 2026-11-24 Added story {i}\nA Reporter Published November 24, "
                                  f"2026 | 09:00 AM\nCity, (Example Wire) A new article, number {i}, arrived "
                                  "this morning. It has three sentences. The index must take it in "
                                  "quickly.\n")
            t = time.perf_counter()
            report = build_index(settings, embedder)
            times.append(time.perf_counter() - t)
        out.update(seconds=sorted(times)[1], runs=times, delta=report.delta)
        for extra in extras:
            extra.unlink()
        build_index(settings, embedder)  # back to the original corpus
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def run_phase(name: str, n: int) -> dict:
    result = subprocess.run([sys.executable, __file__, "--phase", name, "--sizes", str(n)],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def cli_add_one(n: int) -> float:
    """Median wall time of `qa index` in a new process after adding one article (three runs)."""
    corpus, index = DATA / f"corpus-{n}", DATA / f"index-{n}"
    command = [sys.executable, "-m", "qa", "index", "--quiet", "--corpus", str(corpus), "--index",
               str(index)]
    times = []
    for i in range(3):
        (corpus / f"zz-added-cli-{i}.txt").write_text(
            f"Added by CLI {i}\nOne more article arrived. It is short.\n")
        t = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    for i in range(3):
        (corpus / f"zz-added-cli-{i}.txt").unlink()
    subprocess.run(command, check=True, capture_output=True)
    return sorted(times)[1]


def updates(sizes: list[int], out: Path) -> None:
    """One-article updates of existing indexes of several sizes (each index as built earlier)."""
    lines = [f"# One-article updates\n\nMachine: {platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} cores, Python {platform.python_version()}; {time.strftime('%Y-%m-%d')}. "
             "`python benchmarks/build.py --updates`: three new articles, one update each, on the index "
             "built earlier (in process: model and ONNX session already loaded; CLI: `qa index` in a "
             "new process).\n",
             "| articles | in process s, median (runs) | `qa index` CLI s, median of 3 |", "|---|---|---|"]
    for n in sizes:
        add = run_phase("add-one", n)
        cli = cli_add_one(n)
        runs = " / ".join(f"{t:.2f}" for t in add["runs"])
        lines.append(f"| {n} | {add['seconds']:.2f} ({runs}) | {cli:.2f} |")
        print(lines[-1], flush=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--phase")
    parser.add_argument("--out", type=Path, help="default benchmarks/results/build.md (with --updates: "
                        "benchmarks/results/updates.md)")
    parser.add_argument("--updates", action="store_true", help="measure one-article updates only")
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.sizes[0])))
        return
    if args.updates:
        updates(args.sizes, args.out or ROOT / "benchmarks" / "results" / "updates.md")
        return
    from qa.embedding import use_bf16

    rows = []
    for n in args.sizes:
        generate(n, DATA / f"corpus-{n}")
        build = run_phase("build", n)
        bare = run_phase("bare", n) if n == args.sizes[0] else None
        add = run_phase("add-one", n)
        cli = cli_add_one(n)
        rows.append((n, build, bare, add, cli))
        print(json.dumps({"build": build, "bare": bare, "add": add, "cli_add_s": cli}), flush=True)
    load = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    lines = [f"# Build benchmark\n\nMachine: {platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} cores, Python {platform.python_version()}; "
             f"{time.strftime('%Y-%m-%d')}, load average after: {load}. "
             "Model: bundled all-MiniLM-L6-v2, torch CPU"
             f"{', bfloat16' if use_bf16() else ''}.\n",
             "| articles | sentences | chunks | full build s | texts/s | bare encode s | overhead | "
             "add 1 article, in process s (median of 3) | add 1 article, `qa index` CLI s (median of 3) | "
             "peak RSS build MB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for n, build, bare, add, cli in rows:
        overhead = f"{(build['seconds'] / bare['seconds'] - 1) * 100:+.1f}%" if bare else "-"
        lines.append(f"| {n} | {build['sentences']} | {build['chunks']} | {build['seconds']:.1f} | "
                     f"{build['embedded'] / build['seconds']:.0f} | {bare['seconds']:.1f} | " if bare else
                     f"| {n} | {build['sentences']} | {build['chunks']} | {build['seconds']:.1f} | "
                     f"{build['embedded'] / build['seconds']:.0f} | - | ")
        lines[-1] += f"{overhead} | {add['seconds']:.2f} | {cli:.2f} | {build['peak_rss_mb']:.0f} |"
    out = args.out or ROOT / "benchmarks" / "results" / "build.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
