"""Us against the peer pipeline users would otherwise pick, on the same corpus, in one run.

    make bench-peer        (creates .venv-peer with LangChain, then runs this)
    .venv/bin/python benchmarks/peer.py [--out benchmarks/results/peer.md]   (.venv-peer must exist)

For each file of ../shared/eval: the peer (benchmarks/peer_langchain.py, in .venv-peer) splits the
SQuAD articles with RecursiveCharacterTextSplitter 1000/200, stores them in LangChain's FAISS
vector store with the same bundled MiniLM, and runs a bare similarity search per question. We build
our index of the same articles (`build_index`, both embedding runtimes loaded beforehand, as the
peer's model is) and answer every question through the answer engine. Compared: build time, query
latency, the share of questions whose gold answer is inside the evidence shown (their top chunk;
our cited sentences, none when we decline), and the characters of evidence a reader must read.
Results: --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
PEER = ROOT / ".venv-peer" / "bin" / "python"
EVAL = ROOT.parent / "shared" / "eval"


def ours(path: Path) -> dict:
    from qa.answering import Engine
    from qa.embedding import ONNX_BUILD_LIMIT, SentenceTransformerEmbedder
    from qa.evaluation import contains_answer, load_squad, write_corpus
    from qa.indexing import build_index
    from qa.settings import Settings

    squad = load_squad(path)
    base = Settings.from_env()
    embedder = SentenceTransformerEmbedder.from_settings(base)
    # The models loaded before the build, as the peer's is: ONNX Runtime (questions) and torch (a
    # batch past ONNX_BUILD_LIMIT, what a build embeds with).
    embedder.encode(["warm up"])
    embedder.encode(["warm up"] * (ONNX_BUILD_LIMIT + 1))
    with tempfile.TemporaryDirectory() as tmp:
        settings = replace(base, corpus_dir=Path(tmp) / "corpus", index_dir=Path(tmp) / "index")
        write_corpus(squad, settings.corpus_dir)
        started = time.perf_counter()
        report = build_index(settings, embedder)
        build_s = time.perf_counter() - started
        engine = Engine(settings, embedder)
        engine.answer("warm up")
        latencies, hit, chars = [], 0, []
        for q in squad.questions:
            t = time.perf_counter()
            answer = engine.answer(q.question)
            latencies.append((time.perf_counter() - t) * 1000)
            hit += any(contains_answer(c.sentence, q.answers) for c in answer.citations)
            chars.append(sum(len(c.sentence) for c in answer.citations))
    return {"units": f"{report.sentences} sentences + {report.chunks} chunks", "build_s": build_s,
            "latencies_ms": latencies, "in_evidence": hit / len(squad.questions),
            "chars": float(np.mean(chars))}


def peer(path: Path) -> dict:
    from qa.evaluation import contains_answer, load_squad

    out = subprocess.run([str(PEER), str(ROOT / "benchmarks" / "peer_langchain.py"), str(path)],
                         capture_output=True, text=True, check=True)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    squad = load_squad(path)
    hit = sum(contains_answer(chunk, q.answers)
              for chunk, q in zip(data["top_chunk"], squad.questions, strict=True))
    return {"units": f"{data['chunks']} chunks", "build_s": data["build_s"],
            "latencies_ms": data["latencies_ms"], "in_evidence": hit / len(squad.questions),
            "chars": float(np.mean([len(c) for c in data["top_chunk"]]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "peer.md")
    args = parser.parse_args()
    if not PEER.exists():
        sys.exit("no .venv-peer: run `make bench-peer`")
    load = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    lines = ["# Against the LangChain default pipeline", "",
             f"`make bench-peer`, {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} CPUs, "
             f"Python {platform.python_version()}, load average before {load}; both use the bundled "
             "all-MiniLM-L6-v2 on CPU, in process.", "",
             "| corpus | pipeline | indexed | build (s) | query p50 (ms) | query p95 (ms) "
             "| answer in the evidence shown | evidence (characters) |",
             "|---|---|---|---|---|---|---|---|"]
    pipelines = (("LangChain: splitter 1000/200, FAISS, top chunk", peer), ("qa: cited sentences", ours))
    ratios = []
    for name in ("squad-notre-dame.json", "squad-super-bowl-50.json"):
        p50 = []
        for label, run in pipelines:
            r = run(EVAL / name)
            lat = np.array(r["latencies_ms"])
            p50.append(np.percentile(lat, 50))
            lines.append(f"| {name.removeprefix('squad-').removesuffix('.json')} | {label} | {r['units']} | "
                         f"{r['build_s']:.1f} | {np.percentile(lat, 50):.1f} | "
                         f"{np.percentile(lat, 95):.1f} | {r['in_evidence']:.3f} | {r['chars']:.0f} |")
            print(lines[-1], flush=True)
        ratios.append(f"{name.removeprefix('squad-').removesuffix('.json')} {p50[1] / p50[0]:.2f}x")
    lines += ["", f"Our answer p50 over the peer's bare search p50: {', '.join(ratios)}."]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
