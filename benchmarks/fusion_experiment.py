"""Which fusion of the retrieval signals ranks the answer sentence first? Measured on ../shared/eval.

    .venv/bin/python benchmarks/fusion_experiment.py [--out benchmarks/results/fusion.md] [--top 8]

Runs on the product, not on a copy of it. Each SQuAD file is indexed as `qa eval` indexes it
(`qa.evaluation.write_corpus` and `qa.indexing.build_index` into a temporary folder, a fresh
embedder per file). For every answerable question, `qa.retrieval.signal_table` gives the signals
of every candidate sentence (the names of `qa.retrieval.WEIGHTS`: dense cosine of the sentence and
of the topic-reduced question, BM25 of the sentence, cosine and BM25 of its best chunk, cosine of
its neighbours, a length prior, and the answer cues: the kind of answer asked, a figure of the unit
asked), with every answer cue checked on every candidate (`cue_pool=None`, `cues=CUES`) so that
any weights can be tried. Each weight set is applied with the product's own `qa.retrieval.fuse`;
candidates are ranked by the fused score (stable sort, as `rank` sorts) and scored by answer-in-top-1/top-3
(`qa.evaluation.contains_answer`, SQuAD's normalization, on each candidate's text).

Rows: the named ablations the README's "Answers" section quotes (signals added one group at a time,
at their shipped weights), the shipped weights three ways (`fuse` over the full table; the
product's `rank`, which checks the cues on its best `ANSWER_TYPE_POOL` candidates only; and
`qa eval`'s own measurement, `qa.evaluation.evaluate` through the answer engine with abstention off),
then the best weight sets of a grid, ordered by the worse file's margin over a top-1 floor plus the
worse file's margin over a top-3 floor (`FLOORS`). Prints a markdown table and writes it to --out
with the command, date and machine.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
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

from qa.answering import Engine  # noqa: E402
from qa.embedding import SentenceTransformerEmbedder, use_bf16  # noqa: E402
from qa.evaluation import contains_answer, evaluate, load_squad, write_corpus  # noqa: E402
from qa.indexing import build_index  # noqa: E402
from qa.question import analyze  # noqa: E402
from qa.retrieval import WEIGHTS, LiveIndex, SignalTable, fuse, rank, signal_table  # noqa: E402
from qa.retrieval.cues import CUES  # noqa: E402
from qa.retrieval.ranking import ANSWER_TYPE_POOL  # noqa: E402
from qa.settings import Settings  # noqa: E402

FILES = {"notre-dame": "squad-notre-dame.json", "super-bowl-50": "squad-super-bowl-50.json"}
# Grid order: min over files of (top-1 - floor) + min over files of (top-3 - floor).
FLOORS = {"notre-dame": (0.62, 0.80), "super-bowl-50": (0.70, 0.88)}
# The grid: dense is 1; every other signal takes each of its values.
GRID = {"bm25": (0.3, 0.4, 0.5, 0.6), "chunk_dense": (0.3, 0.5), "chunk_bm25": (0.2, 0.3, 0.4),
        "neighbour": (0, 0.1, 0.15), "answer_type": (0.2, 0.3, 0.4), "reduced": (0.5, 0.75, 1.0),
        "length": (0, 0.05, 0.1, 0.15), "counted": (0, 0.4)}


def weights(**given: float) -> dict[str, float]:
    """A weight for every signal of the product: the given ones, 0 for the rest."""
    unknown = set(given) - set(WEIGHTS)
    if unknown:
        raise ValueError(f"not signals of qa.retrieval.WEIGHTS: {sorted(unknown)}")
    return {name: float(given.get(name, 0.0)) for name in WEIGHTS}


def shipped(*names: str) -> dict[str, float]:
    """The shipped weights of the named signals only."""
    return weights(**{n: WEIGHTS[n] for n in names})


PASSAGE = ("dense", "bm25", "chunk_dense", "chunk_bm25")
NAMED = {
    "dense sentence only": weights(dense=1),
    "BM25 sentence only": weights(bm25=1),
    "dense chunk only (ties by sentence)": weights(chunk_dense=1, dense=0.01),
    "dense + BM25 sentence": weights(dense=1, bm25=0.3),
    "+ passage (chunk) signals": shipped(*PASSAGE),
    "+ answer type": shipped(*PASSAGE, "answer_type"),
    "+ topic-reduced question, length prior": shipped(*PASSAGE, "answer_type", "reduced", "length"),
    "+ neighbour-sentence cosine": shipped(*PASSAGE, "answer_type", "reduced", "length", "neighbour"),
    "+ a figure written with the unit asked (the shipped WEIGHTS)": dict(WEIGHTS),
}


@dataclass(frozen=True)
class Case:
    """One answerable question: its signal table and, per candidate, whether it holds a gold answer."""
    table: SignalTable
    gold: np.ndarray  # bool, aligned with table.rows


@dataclass(frozen=True)
class FileRun:
    cases: list[Case]
    rank_top: tuple[float, float]  # the product's rank(): answer in its first 1 / 3 hits
    eval_top: tuple[float, float]  # qa.evaluation.evaluate with abstention off


def run_file(path: Path) -> FileRun:
    squad = load_squad(path)
    base = Settings.from_env()
    embedder = SentenceTransformerEmbedder.from_settings(base)  # fresh per file, as `qa eval` runs
    with tempfile.TemporaryDirectory(prefix="qa-fusion-") as tmp:
        settings = replace(base, corpus_dir=Path(tmp) / "corpus", index_dir=Path(tmp) / "index",
                           min_confidence=-10.0)  # abstention off: the ranking alone
        write_corpus(squad, settings.corpus_dir)
        build_index(settings, embedder)
        view = LiveIndex(settings.index_dir, embedder.model_id).get()
        cases, rank1, rank3 = [], 0, 0
        answerable = [q for q in squad.questions if q.answers]
        for q in answerable:
            question = analyze(q.question, dated=view.spans_dates)
            table = signal_table(view, embedder, question, cue_pool=None, cues=CUES)
            gold = np.array([contains_answer(t, q.answers) for t in view.texts(table.rows)], dtype=bool)
            cases.append(Case(table, gold))
            hits = [contains_answer(h.text, q.answers) for h in rank(view, embedder, question, k=10)[:3]]
            rank1 += bool(hits[:1] and hits[0])
            rank3 += any(hits)
        report = evaluate(Engine(settings, embedder), squad)
    n = len(answerable)
    return FileRun(cases, (rank1 / n, rank3 / n), (report.answer_in_top1, report.answer_in_top3))


def score(cases: list[Case], w: dict[str, float]) -> tuple[float, float]:
    """Answer in the top 1 / top 3 candidates by the product's fused score under weights `w`."""
    top1 = top3 = 0
    for case in cases:
        if not len(case.table.rows):
            continue
        hits = case.gold[np.argsort(-fuse(case.table, w), kind="stable")[:3]]
        top1 += bool(hits[0])
        top3 += bool(hits.any())
    return top1 / len(cases), top3 / len(cases)


def label(w: dict[str, float]) -> str:
    return " + ".join(f"{w[k]:g} {k}" for k in WEIGHTS if w[k])


def row(name: str, r: dict[str, tuple[float, float]]) -> str:
    return " | ".join([f"| {name}", *(f"{r[f][0]:.3f} / {r[f][1]:.3f}" for f in FILES)]) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "fusion.md")
    parser.add_argument("--top", type=int, default=8, help="grid rows shown")
    args = parser.parse_args()
    started = time.perf_counter()
    runs = {name: run_file(ROOT.parent / "shared" / "eval" / file) for name, file in FILES.items()}
    print(f"signals of {sum(len(r.cases) for r in runs.values())} questions in "
          f"{time.perf_counter() - started:.0f} s", flush=True)

    def measure(w: dict[str, float]) -> dict[str, tuple[float, float]]:
        return {name: score(run.cases, w) for name, run in runs.items()}

    def margin(r: dict[str, tuple[float, float]]) -> float:
        return (min(r[f][0] - FLOORS[f][0] for f in FILES) + min(r[f][1] - FLOORS[f][1] for f in FILES))

    grid = []
    for values in itertools.product(*GRID.values()):
        w = weights(dense=1, **dict(zip(GRID, values, strict=True)))
        grid.append((w, measure(w)))
    grid.sort(key=lambda x: -margin(x[1]))  # stable: equal margins keep grid order
    place = next((f"place {i + 1} of {len(grid)}" for i, (w, _) in enumerate(grid) if w == WEIGHTS),
                 "are not in the grid")

    header = "| fusion (weights over qa.retrieval's signals) | " + " | ".join(
        f"{f.replace('-', ' ').title()} top-1 / top-3" for f in FILES) + " |"
    lines = [header, "|---|" + "---|" * len(FILES)]
    lines += [row(name, measure(w)) for name, w in NAMED.items()]
    lines.append(row("shipped WEIGHTS, product `rank()` (answer cues on its best "
                     f"{ANSWER_TYPE_POOL} candidates)", {f: r.rank_top for f, r in runs.items()}))
    lines.append(row("shipped WEIGHTS, `qa eval` (answer engine, QA_MIN_CONFIDENCE=-10)",
                     {f: r.eval_top for f, r in runs.items()}))
    lines += ["", f"Grid ({len(grid)} weight sets, dense 1; each signal over "
              + "; ".join(f"{k} {', '.join(f'{v:g}' for v in vs)}" for k, vs in GRID.items())
              + "), best first by the worse file's margin over top-1 floors "
              + " / ".join(f"{FLOORS[f][0]:g}" for f in FILES)
              + " plus the worse file's margin over top-3 floors "
              + " / ".join(f"{FLOORS[f][1]:g}" for f in FILES)
              + f" (cues on every candidate). The shipped WEIGHTS {place}.", "",
              header, "|---|" + "---|" * len(FILES)]
    lines += [row(label(w), r) for w, r in grid[:args.top]]
    table = "\n".join(lines)
    print(table)
    command = " ".join([".venv/bin/python benchmarks/fusion_experiment.py", *sys.argv[1:]])
    machine = f"{cpu_name()}, {os.cpu_count()} CPUs"
    intro = [
        "# Fusion of the retrieval signals", "",
        f"`{command}` on ../shared/eval, {time.strftime('%Y-%m-%d')}, {machine}, "
        f"Python {platform.python_version()}; "
        f"bundled MiniLM{', bfloat16 builds' if use_bf16(Settings.from_env().bf16) else ''}. "
        "Answer in top-1 / top-3 of the ranking alone (no abstention), every answerable question. "
        "Each row is `qa.retrieval.fuse` over the product's `signal_table` with the answer cues checked "
        "on every candidate, except the two rows that say otherwise; the ablation rows add signals "
        "at their shipped weights (`qa.retrieval.WEIGHTS`). How it is measured: the docstring of "
        "benchmarks/fusion_experiment.py.", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join([*intro, table]) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
