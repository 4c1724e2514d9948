"""Precision and recall of syndicated-copy detection (qa.syndication) on constructed pairs.

Stories are pairs of consecutive SQuAD paragraphs from ../shared/eval (so every negative pair is
two different stories on the same topic: the hard case). Every other story gets one or two copies
made the way outlets re-run wire stories: a new headline and byline line, paragraphs trimmed
from the end, and words edited (replaced, dropped or re-spelled) at a given rate. A detected pair
counts as right when both articles are copies of one story.

    .venv/bin/python benchmarks/copies_experiment.py [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa import syndication  # noqa: E402
from qa.syndication import copy_groups, pairs, shingles  # noqa: E402

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
OUTLETS = ["Daily Courier", "Northern Times", "Harbor Tribune", "Capital Ledger", "Pacific Daily"]
SWAPS = {"said": "says", "the": "a", "and": "&", "which": "that", "also": "as well", "was": "had been",
         "in": "within", "on": "upon", "for": "toward", "university": "University", "team": "side"}


def stories() -> list[str]:
    out = []
    for name in ("squad-notre-dame.json", "squad-super-bowl-50.json"):
        data = json.loads((EVAL / name).read_text(encoding="utf-8"))["data"]
        for entry in data:
            paras = [p["context"] for p in entry["paragraphs"]]
            out += ["\n\n".join(paras[i:i + 2]) for i in range(0, len(paras) - 1, 2)]
    return out


def edit(text: str, rate: float, trim: float, rng: random.Random) -> str:
    """A re-run copy: a new header, the last `trim` share of sentences cut, words edited at `rate`."""
    sentences = text.replace("\n\n", " \n\n").split(". ")
    keep = max(1, round(len(sentences) * (1 - trim)))
    words = ". ".join(sentences[:keep]).split(" ")
    edited = []
    for w in words:
        r = rng.random()
        if r < rate / 3:
            continue  # dropped
        if r < 2 * rate / 3:
            edited.append(SWAPS.get(w.lower(), w.upper() if w.isalpha() else w + "s"))
            continue
        if r < rate:
            edited += [w, rng.choice(["reportedly", "now", "still", "officially"])]
            continue
        edited.append(w)
    outlet = rng.choice(OUTLETS)
    return f"{outlet} staff | {rng.randint(1, 28)} November\n\n" + " ".join(edited)


def run(rate: float, trim: float, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    texts: dict[str, str] = {}
    truth: list[list[str]] = []
    for i, story in enumerate(stories()):
        texts[f"s{i}"] = story
        if i % 2 == 0:
            copies = [f"s{i}c{j}" for j in range(1 + i % 4 // 2)]
            for c in copies:
                texts[c] = edit(story, rate, trim, rng)
            truth.append([f"s{i}", *copies])
    started = time.perf_counter()
    signatures = {k: shingles(v) for k, v in texts.items()}
    found = pairs(copy_groups(signatures))
    seconds = time.perf_counter() - started
    true = pairs(truth)
    negatives = len(list(combinations(texts, 2))) - len(true)
    tp = len(found & true)
    return {"edit_rate": rate, "trimmed": trim, "articles": len(texts), "true_pairs": len(true),
            "negative_pairs": negatives, "found_pairs": len(found),
            "precision": tp / len(found) if found else float("nan"), "recall": tp / len(true),
            "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    shipped = syndication.SHINGLE_WORDS
    print("| shingle words | words edited | sentences trimmed | articles | true pairs | negative pairs | "
          "found | precision | recall |")
    print("|---|---|---|---|---|---|---|---|---|")
    try:
        for n in (3, 4, 5):
            syndication.SHINGLE_WORDS = n  # read by syndication.shingles at each call
            for rate in (0.0, 0.05, 0.10, 0.20):
                for trim in (0.0, 0.3, 0.6):
                    r = run(rate, trim, args.seed)
                    mark = " (shipped)" if n == shipped else ""
                    print(f"| {n}{mark} | {rate:.0%} | {trim:.0%} | {r['articles']} | {r['true_pairs']} | "
                          f"{r['negative_pairs']} | {r['found_pairs']} | {r['precision']:.3f} "
                          f"| {r['recall']:.3f} |")
    finally:
        syndication.SHINGLE_WORDS = shipped


if __name__ == "__main__":
    main()
