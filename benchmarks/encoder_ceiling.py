"""What bounds a build's embedding speed on this CPU: the bfloat16 matrix-multiply peak at the
model's shapes, against where the encoder's time goes on a build's own texts.

    .venv/bin/python benchmarks/encoder_ceiling.py [--articles 1000] [--share 4]

Reads the texts of the benchmark build (benchmarks/build.py writes benchmarks/data/index-N), counts
their word pieces, times `torch.matmul` at the shapes of MiniLM's linear layers, then encodes every
--share-th text (longest first, as a build sorts them) under `torch.profiler` in bfloat16 on the
torch runtime builds use. Results: benchmarks/results/encoder-ceiling.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

LAYERS, HIDDEN, FFN = 6, 384, 1536
LINEAR_FLOP_PER_TOKEN = 2 * LAYERS * (4 * HIDDEN * HIDDEN + 2 * HIDDEN * FFN)


def matmul_rate(m: int, k: int, n: int, seconds: float = 1.5) -> float:
    """GFLOP/s of a bfloat16 (m x k) @ (k x n) on this process's threads."""
    import torch

    a, b = torch.randn(m, k, dtype=torch.bfloat16), torch.randn(k, n, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    runs, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        a @ b
        runs += 1
    return 2 * m * k * n * runs / (time.perf_counter() - started) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--share", type=int, default=4, help="profile every N-th text")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "encoder-ceiling.md")
    args = parser.parse_args()

    import torch
    from torch.profiler import ProfilerActivity, profile

    from qa import store
    from qa.embedding.torch_model import TorchModel
    from qa.settings import Settings

    settings = Settings()
    snap = store.load_snapshot(ROOT / "benchmarks" / "data" / f"index-{args.articles}", counts=False)
    sentences = [snap.sentence_text(r) for r in range(len(snap.sentences))]
    chunks = [c.text for c in snap.chunks]
    model = TorchModel(settings.model, bf16=settings.bf16).load()
    pieces = {name: [len(x) for x in model.tokenizer(texts, truncation=True, max_length=256)["input_ids"]]
              for name, texts in (("sentences", sentences), ("chunks", chunks))}
    total = sum(map(sum, pieces.values()))
    linear_tflop = total * LINEAR_FLOP_PER_TOKEN / 1e12

    shapes = [(64 * length, HIDDEN, FFN) for length in (34, 100, 134)] + [(64 * 100, FFN, HIDDEN),
                                                                          (64 * 100, HIDDEN, HIDDEN)]
    rates = [(s, matmul_rate(*s)) for s in shapes]
    peak = max(r for _, r in rates)

    texts = sorted(sentences + chunks, key=len, reverse=True)[::args.share]
    model.encode(texts[:64], batch_size=settings.batch_size)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        started = time.perf_counter()
        model.encode(texts, batch_size=settings.batch_size, show_progress_bar=False)
        seconds = time.perf_counter() - started
    ops = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    busy = sum(e.self_cpu_time_total for e in ops)
    sample_pieces = sum(len(x) for x in model.tokenizer(texts, truncation=True, max_length=256)["input_ids"])
    addmm = next((e.self_cpu_time_total for e in ops if e.key == "aten::addmm"), 0) / 1e6
    addmm_rate = sample_pieces * LINEAR_FLOP_PER_TOKEN / 1e9 / addmm if addmm else float("nan")

    avg_s = sum(pieces["sentences"]) / len(sentences)
    avg_c = sum(pieces["chunks"]) / len(chunks)
    command = (f"`.venv/bin/python benchmarks/encoder_ceiling.py --articles {args.articles} "
               f"--share {args.share}`")
    lines = ["# What bounds a build's embedding speed", "",
             f"{command}, {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} CPUs, "
             f"torch {torch.__version__} ({torch.get_num_threads()} threads), bundled MiniLM in "
             f"{next(model.parameters()).dtype}.", "",
             f"The build's texts: {len(sentences):,} sentences of {avg_s:.0f} word pieces on average, "
             f"{len(chunks):,} chunks of {avg_c:.0f}: {total:,} word pieces. MiniLM's linear layers cost "
             f"{LINEAR_FLOP_PER_TOKEN / 1e6:.1f} MFLOP a word piece: {linear_tflop:.1f} TFLOP for the "
             f"build, {linear_tflop * 1e3 / peak:.1f} s at this CPU's best bfloat16 matmul rate below.", "",
             "| bfloat16 matmul (m x k x n) | GFLOP/s |", "|---|---|"]
    lines += [f"| {m} x {k} x {n} | {r:.0f} |" for (m, k, n), r in rates]
    lines += ["", f"Encoding every {args.share}th text ({len(texts):,} texts, {sample_pieces:,} word "
              f"pieces) took {seconds:.1f} s: {len(texts) / seconds:.0f} texts/s, "
              f"{sample_pieces / seconds:,.0f} word pieces/s (the linear layers at {addmm_rate:.0f} "
              "GFLOP/s). Where the time went:", "",
              "| operation | share of CPU time |", "|---|---|"]
    lines += [f"| {e.key} | {e.self_cpu_time_total / busy:.1%} |" for e in ops[:6]]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
