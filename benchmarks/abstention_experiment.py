"""Which signal separates questions the corpus answers from questions about something else?

    python benchmarks/abstention_experiment.py

Each SQuAD dev file is indexed; its own questions are the answerable set and the other file's
questions the foreign set. For each candidate signal, the best threshold keeping 97% of answerable
questions answered is reported with the share of foreign questions it declines.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.answering import Engine  # noqa: E402
from qa.embedding import SentenceTransformerEmbedder  # noqa: E402
from qa.evaluation import load_squad, write_corpus  # noqa: E402
from qa.indexing import build_index  # noqa: E402
from qa.retrieval import search  # noqa: E402
from qa.settings import Settings  # noqa: E402
from qa.terms import terms  # noqa: E402

FILES = {"notre-dame": "squad-notre-dame.json", "super-bowl-50": "squad-super-bowl-50.json"}


def signals(engine: Engine, question: str) -> dict[str, float]:
    index = engine.index.get()
    hits = search(index, engine.embedder, question, k=5)
    vocab = index.snapshot.sentence_bm25.vocab_dict
    qt = terms(question)
    top = hits[0]
    cover = len(set(qt) & set(terms(top.text + " " + index.snapshot.articles[top.article.id].text[
        max(0, top.start - 300):top.end + 300]))) / max(len(set(qt)), 1)
    from qa.retrieval import reduce_question
    rv = engine.embedder.encode([reduce_question(question, index.topic_terms)])[0]
    dr = float((index.sentence_vectors @ rv).max())
    raw = index.snapshot.sentence_bm25.get_scores(qt).max() if qt else 0.0
    known = sum(t in vocab for t in qt) / max(len(qt), 1)
    rel = top.confidence - 0.3 * known
    return {"relevance": rel, "dr": dr, "bm25raw": float(raw),
            "rel+0.3k": rel + 0.3 * known, "rel+dr": rel + dr, "rel+dr+0.3k": rel + dr + 0.3 * known,
            "rel+0.5dr+0.3k": rel + 0.5 * dr + 0.3 * known, "rel+0.3k+0.02bm": rel + 0.3 * known + 0.02 * raw,
            "rel+0.3k+0.05bm": rel + 0.3 * known + 0.05 * raw}
    return {"relevance": top.relevance, "fused": top.score,
            "known_terms": sum(t in vocab for t in qt) / max(len(qt), 1),
            "coverage": cover, "relevance*coverage": top.relevance * cover,
            **{f"relevance+{w}*known": top.relevance + w * sum(t in vocab for t in qt) / max(len(qt), 1)
               for w in (0.2, 0.3, 0.5, 0.7, 1.0)}}


def main() -> None:
    embedder = SentenceTransformerEmbedder()
    data = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, file in FILES.items():
            squad = load_squad(ROOT.parent / "shared" / "eval" / file)
            s = replace(Settings(), corpus_dir=Path(tmp) / name / "c", index_dir=Path(tmp) / name / "i")
            write_corpus(squad, s.corpus_dir)
            build_index(s, embedder)
            data[name] = (Engine(s, embedder), [q.question for q in squad.questions])
        rows = {}
        for name, (engine, own) in data.items():
            other = [q for n, (_, qs) in data.items() if n != name for q in qs]
            rows[name] = ([signals(engine, q) for q in own], [signals(engine, q) for q in other])
    print("| signal | threshold (97% answered, both files) | foreign declined ND / SB |\n|---|---|---|")
    for key in rows["notre-dame"][0][0]:
        own = np.concatenate([[r[key] for r in rows[n][0]] for n in rows])
        t = float(np.percentile(own, 3))
        declined = [np.mean([r[key] < t for r in rows[n][1]]) for n in rows]
        print(f"| {key} | {t:.3f} | {declined[0]:.3f} / {declined[1]:.3f} |")
    print("\n| threshold on rel+0.3k | answered ND / SB | foreign declined ND / SB |\n|---|---|---|")
    for t in np.arange(0.64, 0.72, 0.01):
        answered = [np.mean([r["rel+0.3k"] >= t for r in rows[n][0]]) for n in rows]
        declined = [np.mean([r["rel+0.3k"] < t for r in rows[n][1]]) for n in rows]
        print(f"| {t:.2f} | {answered[0]:.3f} / {answered[1]:.3f} | {declined[0]:.3f} / {declined[1]:.3f} |")


if __name__ == "__main__":
    main()
