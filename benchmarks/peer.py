"""Us against the peer pipeline users would otherwise pick, on the same corpus, in one run.

    make bench-peer        (creates .venv-peer with LangChain, then runs this)

For each file of ../shared/eval: the peer (benchmarks/peer_langchain.py, in .venv-peer) splits the
SQuAD articles with RecursiveCharacterTextSplitter 1000/200, stores them in LangChain's FAISS
vector store with the same bundled MiniLM, and runs a bare similarity search per question. We build
our index of the same articles and answer every question. Compared: build time, query latency,
the share of questions whose gold answer is inside the evidence shown (their top chunk; our cited
sentences, none when we decline), and the characters of evidence a reader must read.
Results: benchmarks/results/peer.md.
"""

from __future__ import annotations

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
    from qa.embedding import SentenceTransformerEmbedder
    from qa.evaluation import contains_answer, load_squad, write_corpus
    from qa.indexing import build_index
    from qa.settings import Settings

    squad = load_squad(path)
    embedder = SentenceTransformerEmbedder()
    embedder.encode(["warm up"] * 20)  # model loaded, as the peer's is before its build
    with tempfile.TemporaryDirectory() as tmp:
        settings = replace(Settings.from_env(), corpus_dir=Path(tmp) / "corpus", index_dir=Path(tmp) / "index")
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
            "latencies_ms": latencies, "in_evidence": hit / len(squad.questions), "chars": float(np.mean(chars))}


def peer(path: Path) -> dict:
    from qa.evaluation import contains_answer, load_squad

    out = subprocess.run([str(PEER), str(ROOT / "benchmarks" / "peer_langchain.py"), str(path)],
                         capture_output=True, text=True, check=True)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    squad = load_squad(path)
    hit = sum(contains_answer(chunk, q.answers) for chunk, q in zip(data["top_chunk"], squad.questions))
    return {"units": f"{data['chunks']} chunks", "build_s": data["build_s"], "latencies_ms": data["latencies_ms"],
            "in_evidence": hit / len(squad.questions), "chars": float(np.mean([len(c) for c in data["top_chunk"]]))}


def main() -> None:
    if not PEER.exists():
        sys.exit("no .venv-peer: run `make bench-peer`")
    lines = ["# Against the LangChain default pipeline", "",
             f"`make bench-peer`, {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} CPUs, "
             f"Python {platform.python_version()}; both use the bundled all-MiniLM-L6-v2 on CPU, in process.", "",
             "| corpus | pipeline | indexed | build (s) | query p50 (ms) | query p95 (ms) | answer in the evidence shown | evidence (characters) |",
             "|---|---|---|---|---|---|---|---|"]
    for name in ("squad-notre-dame.json", "squad-super-bowl-50.json"):
        for label, run in (("LangChain: splitter 1000/200, FAISS, top chunk", peer), ("qa: cited sentences", ours)):
            r = run(EVAL / name)
            lat = np.array(r["latencies_ms"])
            lines.append(f"| {name.removeprefix('squad-').removesuffix('.json')} | {label} | {r['units']} | "
                         f"{r['build_s']:.1f} | {np.percentile(lat, 50):.1f} | {np.percentile(lat, 95):.1f} | "
                         f"{r['in_evidence']:.3f} | {r['chars']:.0f} |")
            print(lines[-1], flush=True)
    (ROOT / "benchmarks" / "results" / "peer.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
