"""Which confidence separates questions the corpus answers from questions about something else?

    python benchmarks/abstention_experiment.py

Each SQuAD dev file is indexed; its own questions are the answerable set and the other file's
questions the foreign set. Every question is searched once (the real ranking, 10 hits, as the
answer engine asks). A confidence is

    relevance + a x coverage + b x known - c x unknown names

- relevance: the higher dense cosine of the sentence or of its passage;
- coverage: the IDF-weighted share of the question's terms in the sentence or its neighbours;
- known: the share of the question's terms that the corpus has at all;
- unknown names: the share of the question's names (capitalized words) that the corpus never has.

For each (a, b, c), thresholds are swept as the engine applies them: the question is answered when
the best-ranked sentence passes, and only passing sentences are quoted (up to 3). Printed: the
threshold that keeps foreign questions declined >= 95% and answerable questions answered >= 97%
in both files with the highest top-1 + top-3 summed over both files, and what it gives.
"""

from __future__ import annotations

import itertools
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.embedding import SentenceTransformerEmbedder  # noqa: E402
from qa.evaluation import contains_answer, load_squad, write_corpus  # noqa: E402
from qa.indexing import build_index  # noqa: E402
from qa.retrieval import LiveIndex, search  # noqa: E402
from qa.settings import Settings  # noqa: E402
from qa.terms import terms  # noqa: E402

FILES = {"notre-dame": "squad-notre-dame.json", "super-bowl-50": "squad-super-bowl-50.json"}
MIN_DECLINED, MIN_ANSWERED = 0.95, 0.97


def hits_of(index, embedder, question: str) -> dict[str, np.ndarray]:  # noqa: ANN001
    hits = search(index, embedder, question, k=10)
    return {"relevance": np.array([h.relevance for h in hits]), "coverage": np.array([h.coverage for h in hits]),
            "known": index.known_share(terms(question)), "names": index.unknown_names(question),
            "texts": [h.text for h in hits]}


def confidence(q: dict, a: float, b: float, c: float) -> np.ndarray:
    return q["relevance"] + a * q["coverage"] + b * q["known"] - c * q["names"]


def outcome(own: list[dict], foreign: list[dict], a: float, b: float, c: float, t: float) -> tuple[float, ...]:
    """top-1, top-3, answered, foreign declined at threshold t."""
    top1 = top3 = answered = 0
    for q in own:
        conf = confidence(q, a, b, c)
        if not len(conf) or conf[0] < t:
            continue
        answered += 1
        passing = [g for g, x in zip(q["gold"], conf) if x >= t][:3]
        top1 += passing[0]
        top3 += any(passing)
    declined = np.mean([not len(q["relevance"]) or confidence(q, a, b, c)[0] < t for q in foreign])
    n = len(own)
    return top1 / n, top3 / n, answered / n, float(declined)


def main() -> None:
    embedder = SentenceTransformerEmbedder()
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        indexes = {}
        for name, file in FILES.items():
            squad = load_squad(ROOT.parent / "shared" / "eval" / file)
            s = replace(Settings.from_env(), corpus_dir=Path(tmp) / name / "c", index_dir=Path(tmp) / name / "i")
            write_corpus(squad, s.corpus_dir)
            build_index(s, embedder)
            indexes[name] = (LiveIndex(s.index_dir).get(), squad)
        for name, (index, squad) in indexes.items():
            own = []
            for q in squad.questions:
                if q.answers:
                    h = hits_of(index, embedder, q.question)
                    h["gold"] = [contains_answer(t, q.answers) for t in h["texts"]]
                    own.append(h)
            foreign = [hits_of(index, embedder, q.question)
                       for other, (_, sq) in indexes.items() if other != name for q in sq.questions]
            runs[name] = (own, foreign)
    print("| a (coverage) | b (known) | c (unknown names) | threshold | ND top-1 / top-3 | SB top-1 / top-3 "
          "| answered ND / SB | foreign declined ND / SB |\n|---|---|---|---|---|---|---|---|")
    for a, b, c in itertools.product((0.0, 0.3, 0.4, 0.5), (0.0, 0.1, 0.2, 0.3), (0.0, 0.5, 0.75, 1.0)):
        best = None
        for t in np.arange(0.3, 1.5, 0.005):
            res = [outcome(*runs[name], a, b, c, t) for name in FILES]
            if min(r[3] for r in res) >= MIN_DECLINED and min(r[2] for r in res) >= MIN_ANSWERED:
                total = sum(r[0] + r[1] for r in res)
                if best is None or total > best[0] + 1e-9:
                    best = (total, t, res)
        if best is None:
            print(f"| {a} | {b} | {c} | none meets both floors | | | | |")
            continue
        _, t, (nd, sb) = best
        print(f"| {a} | {b} | {c} | {t:.3f} | {nd[0]:.3f} / {nd[1]:.3f} | {sb[0]:.3f} / {sb[1]:.3f} "
              f"| {nd[2]:.3f} / {sb[2]:.3f} | {nd[3]:.3f} / {sb[3]:.3f} |")

if __name__ == "__main__":
    main()
