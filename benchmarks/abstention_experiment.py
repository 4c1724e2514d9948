"""Which confidence separates questions the corpus answers from questions about something else?

    .venv/bin/python benchmarks/abstention_experiment.py [--out benchmarks/results/abstention.md]

Runs on the product. Each SQuAD file of ../shared/eval is indexed as `qa eval` indexes it
(`qa.evaluation.write_corpus`, `qa.indexing.build_index` into a temporary folder, a fresh embedder
per file); its own answerable questions are the answerable set and every question of the other file
the foreign set. Every question is analysed (`qa.question.analyze`) and ranked once by the product's
`qa.retrieval.rank` (10 hits, as the answer engine asks for 3 sentences). A confidence is

    relevance + a x coverage + b x known - c x unknown names

- relevance, coverage: each hit's own (`ScoredSentence.relevance`: the higher dense cosine of the
  sentence or of its passage; `.coverage`: the IDF-weighted share of the question's terms in the
  sentence or its neighbours);
- known: `qa.retrieval.known_share`, the share of the question's terms that the corpus has at all;
- unknown names: `qa.retrieval.unknown_names`, the share of the question's names (capitalized
  words) that the corpus never has.

The product's confidence is a = `COVERAGE_WEIGHT`, b = 0, c = `UNKNOWN_NAME_WEIGHT` (the run checks
that it equals each hit's `confidence`), with the threshold `Settings().min_confidence`. For each
(a, b, c) of the grid, thresholds are swept as the engine applies them: the question is answered
when the best-ranked sentence passes, and only passing sentences are quoted (up to 3). Reported per
(a, b, c): the threshold that keeps foreign questions declined >= `MIN_DECLINED` and answerable
questions answered >= `MIN_ANSWERED` in both files with the highest top-1 + top-3 summed over both
files, and what it gives; and what the shipped setting gives at the shipped threshold. Prints a
markdown table and writes it to --out with the command, date and machine.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import cpu_name  # noqa: E402 - benchmarks/machine.py

from qa.embedding import Embedder, SentenceTransformerEmbedder, use_bf16  # noqa: E402
from qa.evaluation import contains_answer, load_squad, write_corpus  # noqa: E402
from qa.indexing import build_index  # noqa: E402
from qa.question import analyze  # noqa: E402
from qa.retrieval import (  # noqa: E402
    COVERAGE_WEIGHT,
    UNKNOWN_NAME_WEIGHT,
    IndexView,
    LiveIndex,
    known_share,
    rank,
    unknown_names,
)
from qa.settings import Settings  # noqa: E402

FILES = {"notre-dame": "squad-notre-dame.json", "super-bowl-50": "squad-super-bowl-50.json"}
MIN_DECLINED, MIN_ANSWERED = 0.95, 0.97
HITS = 10  # what the answer engine ranks for an answer of up to 3 sentences
QUOTED = 3
GRID = ((0.0, 0.3, 0.4, 0.5), (0.0, 0.1, 0.2, 0.3), (0.0, 0.5, 0.75, 1.0))  # a, b, c
THRESHOLDS = np.arange(0.3, 1.5, 0.005)


@dataclass(frozen=True)
class Ranked:
    """The hits of a set of questions, padded to HITS columns (missing hits: relevance -inf)."""
    relevance: np.ndarray  # (questions, HITS)
    coverage: np.ndarray
    known: np.ndarray  # (questions,)
    names: np.ndarray  # (questions,)
    gold: np.ndarray  # (questions, HITS) bool: the hit holds a gold answer (own questions only)

    def confidence(self, a: float, b: float, c: float) -> np.ndarray:
        return self.relevance + a * self.coverage + (b * self.known - c * self.names)[:, None]


def ranked(view: IndexView, embedder: Embedder, questions: list[tuple[str, tuple[str, ...]]]) -> Ranked:
    n = len(questions)
    rel, cov = np.full((n, HITS), -np.inf), np.zeros((n, HITS))
    known, names, gold = np.zeros(n), np.zeros(n), np.zeros((n, HITS), dtype=bool)
    for i, (text, answers) in enumerate(questions):
        question = analyze(text, dated=view.spans_dates)
        hits = rank(view, embedder, question, k=HITS)
        known[i] = known_share(view, question.terms)
        names[i] = unknown_names(view, question.names)
        for j, h in enumerate(hits):
            rel[i, j], cov[i, j] = h.relevance, h.coverage
            gold[i, j] = bool(answers) and contains_answer(h.text, answers)
            product = h.relevance + COVERAGE_WEIGHT * h.coverage - UNKNOWN_NAME_WEIGHT * names[i]
            assert abs(product - h.confidence) < 1e-5, (text, product, h.confidence)
    return Ranked(rel, cov, known, names, gold)


def outcome(own: Ranked, foreign: Ranked, a: float, b: float, c: float, t: float) -> tuple[float, ...]:
    """top-1, top-3, answered, foreign declined at threshold t."""
    conf = own.confidence(a, b, c)
    answered = conf[:, 0] >= t
    passing = conf >= t
    quoted = passing & (np.cumsum(passing, axis=1) <= QUOTED) & answered[:, None]
    top1 = (answered & own.gold[:, 0]).mean()  # the first quoted sentence is the best-ranked one
    top3 = (quoted & own.gold).any(axis=1).mean()
    declined = (foreign.confidence(a, b, c)[:, 0] < t).mean()
    return float(top1), float(top3), float(answered.mean()), float(declined)


def cells(t: float, res: list[tuple[float, ...]]) -> str:
    nd, sb = res
    return (f"{t:.3f} | {nd[0]:.3f} / {nd[1]:.3f} | {sb[0]:.3f} / {sb[1]:.3f} | {nd[2]:.3f} / {sb[2]:.3f} "
            f"| {nd[3]:.3f} / {sb[3]:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "abstention.md")
    args = parser.parse_args()
    base = Settings.from_env()
    runs: dict[str, tuple[Ranked, Ranked]] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="qa-abstention-") as tmp:
        indexes = {}
        for name, file in FILES.items():
            squad = load_squad(ROOT.parent / "shared" / "eval" / file)
            s = replace(base, corpus_dir=Path(tmp) / name / "corpus", index_dir=Path(tmp) / name / "index")
            embedder = SentenceTransformerEmbedder.from_settings(s)  # fresh per file, as `qa eval` runs
            write_corpus(squad, s.corpus_dir)
            build_index(s, embedder)
            indexes[name] = (LiveIndex(s.index_dir, embedder.model_id).get(), embedder, squad)
        for name, (view, embedder, squad) in indexes.items():
            own = ranked(view, embedder, [(q.question, q.answers) for q in squad.questions if q.answers])
            foreign = ranked(view, embedder, [(q.question, ()) for other, (_, _, sq) in indexes.items()
                                              if other != name for q in sq.questions])
            runs[name] = (own, foreign)
    print(f"ranked in {time.perf_counter() - started:.0f} s", flush=True)

    shipped = (COVERAGE_WEIGHT, 0.0, UNKNOWN_NAME_WEIGHT)
    header = ("| a (coverage) | b (known) | c (unknown names) | threshold | ND top-1 / top-3 "
              "| SB top-1 / top-3 | answered ND / SB | foreign declined ND / SB |\n" + "|---" * 8 + "|")
    lines = [header]
    for a, b, c in itertools.product(*GRID):
        best = None
        for t in THRESHOLDS:
            res = [outcome(*runs[name], a, b, c, t) for name in FILES]
            if min(r[3] for r in res) >= MIN_DECLINED and min(r[2] for r in res) >= MIN_ANSWERED:
                total = sum(r[0] + r[1] for r in res)
                if best is None or total > best[0] + 1e-9:
                    best = (total, t, res)
        mark = " (shipped)" if (a, b, c) == shipped else ""
        if best is None:
            lines.append(f"| {a}{mark} | {b} | {c} | none meets both floors | | | | |")
        else:
            lines.append(f"| {a}{mark} | {b} | {c} | {cells(best[1], best[2])} |")
    threshold = Settings().min_confidence
    at_shipped = [outcome(*runs[name], *shipped, threshold) for name in FILES]
    shipped_line = (f"| {shipped[0]} (shipped) | {shipped[1]} | {shipped[2]} | "
                    f"{cells(threshold, at_shipped)} |")
    table = "\n".join(lines)
    print(table)
    print("\nThe shipped setting at the shipped threshold (Settings().min_confidence):\n" + header + "\n"
          + shipped_line)
    command = " ".join([".venv/bin/python benchmarks/abstention_experiment.py", *sys.argv[1:]])
    intro = [
        "# Abstention: which confidence, which threshold", "",
        f"`{command}` on ../shared/eval (bundled MiniLM{', bfloat16 builds' if use_bf16(base.bf16) else ''}, "
        f"{cpu_name()}, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}; the product's `rank`, "
        "`known_share` and `unknown_names`; how it is measured: the docstring of "
        "benchmarks/abstention_experiment.py).",
        "Confidence = relevance + a x coverage + b x known - c x unknown names. Shipped: "
        f"a = {shipped[0]} (`COVERAGE_WEIGHT`), b = 0, c = {shipped[2]} (`UNKNOWN_NAME_WEIGHT`), threshold "
        f"{threshold} (`Settings().min_confidence`). Each row: the threshold with the best top-1 + top-3 "
        f"over both files that keeps at least {MIN_DECLINED:.0%} of foreign questions declined and "
        f"{MIN_ANSWERED:.0%} of answerable ones answered in both files.",
        "Rows with c = 0 have no name term; rows with a = 0 and c = 0 are the earlier confidence.", "",
        "The shipped setting at the shipped threshold:", "", header, shipped_line, "",
        "Best threshold of each setting:", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join([*intro, table]) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
