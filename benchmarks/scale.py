"""Search-side cost of sentence vectors at 10^4, 10^5 and 10^6: exact (flat) vs HNSW vs IVF.

    .venv/bin/python benchmarks/scale.py [--sizes 10000 100000 1000000] [--indexes hnsw ivf app]
        [--ef-construction 40] [--base-index benchmarks/data/index-5000] [--out benchmarks/results/scale.md]

Vectors: the distinct real MiniLM vectors (sentences and chunks) of an index of the generated
corpus (by default the 5,000-article one `make bench` builds), and beyond that perturbed copies of them (unit
vectors at cosine about 0.9 to their original), so that the set has the neighbourhood structure
of real embeddings: random vectors would make every approximate index look bad. Queries: 300 SQuAD
questions embedded with the same model. Recall@10 is against the exact search of the same set,
counting a result as found when its score reaches the exact 10th score (so that equal-scored
copies count as what they are). One query at a time, one FAISS thread (the query path), as the
app searches. Results: benchmarks/results/scale.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

if TYPE_CHECKING:
    import faiss


def vectors(n: int, base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if n <= len(base):
        return np.ascontiguousarray(base[rng.choice(len(base), n, replace=False)])
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    out[:len(base)] = base
    sigma = 0.0247  # |noise|^2 = 384 sigma^2 = 0.235: cosine 0.9 to the original
    for start in range(len(base), n, len(base)):
        stop = min(start + len(base), n)
        copy = base[: stop - start] + rng.normal(0, sigma, (stop - start, base.shape[1])).astype(np.float32)
        out[start:stop] = copy / np.linalg.norm(copy, axis=1, keepdims=True)
    return out


def timed_search(index: faiss.Index, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, list[float]]:
    found, lat = [], []
    for q in queries:
        t = time.perf_counter()
        _, ids = index.search(q[None, :], k)
        lat.append((time.perf_counter() - t) * 1000)
        found.append(ids[0])
    return np.array(found), lat


def recall(found: np.ndarray, xb: np.ndarray, queries: np.ndarray, kth: np.ndarray, k: int = 10) -> float:
    """Share of the exact top k among the returned rows: rows scoring at least the exact k-th
    score count as found (ties count as what they are), at most k per query."""
    hits = [min(k, int((xb[f[f >= 0]] @ q >= t - 1e-5).sum())) / k
            for f, q, t in zip(found, queries, kth, strict=True)]
    return float(np.mean(hits))


def disk_mb(index: faiss.Index) -> float:
    import faiss

    with tempfile.NamedTemporaryFile(suffix=".faiss") as f:
        faiss.write_index(index, f.name)
        return os.path.getsize(f.name) / 1e6


def app_index(n: int, xb: np.ndarray, queries: np.ndarray, kth: np.ndarray) -> list[tuple]:
    """What `qa index` stores for n sentence vectors, loaded as the app loads it, searched as the app
    searches: CANDIDATES candidates from the index, rescored exactly (memory-mapped vectors)."""
    import faiss

    from qa.retrieval import CANDIDATES
    from qa.settings import Settings
    from qa.store.vectors import is_exact, read_vectors, write_vectors

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        t = time.perf_counter()
        kind = write_vectors(Path(tmp), "sentences", xb, exact_limit=Settings().exact_limit)
        build = time.perf_counter() - t
        rss_before = current_rss_mb()
        index, matrix = read_vectors(Path(tmp), "sentences", n, xb.shape[1])
        mb = sum(f.stat().st_size for f in Path(tmp).iterdir()) / 1e6
        faiss.omp_set_num_threads(1)
        for nprobe in (32, 64, 96) if not is_exact(index) else (None,):
            if nprobe:
                index.nprobe = nprobe
            found, lat = [], []
            for q in queries:
                t = time.perf_counter()
                _, ids = index.search(q[None, :], CANDIDATES)
                cand = ids[0][ids[0] >= 0]
                found.append(cand[np.argsort(-(matrix[cand] @ q))[:10]])
                lat.append((time.perf_counter() - t) * 1000)
            name = f"**app: {kind}**" + (f", nprobe {nprobe}" if nprobe else "")
            rows.append((n, f"{name}; {CANDIDATES} candidates rescored exactly; loaded RSS "
                            f"+{current_rss_mb() - rss_before:.0f} MB", build, lat,
                         recall(np.array(found), xb, queries, kth), mb))
            print(rows[-1][:3], np.percentile(lat, 50), rows[-1][4], flush=True)
    return rows


def current_rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def main() -> None:
    import faiss

    from qa import store
    from qa.embedding import SentenceTransformerEmbedder
    from qa.retrieval import CANDIDATES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--ef-construction", type=int, default=40)
    parser.add_argument("--indexes", nargs="+", default=["hnsw", "ivf", "app"],
                        help="what to measure besides exact search: hnsw, ivf (IVF-Flat), app (the "
                             "index `qa index` writes at that size, with exact rescoring)")
    parser.add_argument("--base-index", type=Path, default=ROOT / "benchmarks" / "data" / "index-5000",
                        help="the index whose vectors are the real ones (`make bench` builds the default)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "scale.md")
    args = parser.parse_args()
    snap = store.load_snapshot(args.base_index, counts=False)
    base = np.concatenate([np.asarray(snap.sentence_vectors), np.asarray(snap.chunk_vectors)])
    base = base[np.unique(base.round(4), axis=0, return_index=True)[1]]  # distinct vectors only
    questions = [q["question"] for name in ("squad-notre-dame.json", "squad-super-bowl-50.json")
                 for d in json.loads((ROOT.parent / "shared" / "eval" / name).read_text())["data"]
                 for p in d["paragraphs"] for q in p["qas"]]
    rng = np.random.default_rng(0)
    queries = SentenceTransformerEmbedder().encode([questions[i] for i in rng.choice(len(questions), 300)])
    rows = []
    for n in args.sizes:
        xb = vectors(n, base, rng)
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # builds use every core
        t = time.perf_counter()
        flat = faiss.IndexFlatIP(xb.shape[1])
        flat.add(xb)
        flat_build = time.perf_counter() - t
        faiss.omp_set_num_threads(1)
        truth, lat = timed_search(flat, queries)
        kth = np.array([xb[t[-1]] @ q for t, q in zip(truth, queries, strict=True)])
        rows.append((n, "flat (exact)", flat_build, lat, 1.0, disk_mb(flat)))
        print(rows[-1][:3], np.percentile(lat, 50), flush=True)
        if "app" in args.indexes:
            rows += app_index(n, xb, queries, kth)
        if "hnsw" not in args.indexes:
            continue
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        t = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(xb.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = args.ef_construction
        hnsw.add(xb)
        hnsw_build = time.perf_counter() - t
        faiss.omp_set_num_threads(1)
        for ef in (32, 64, 128, 256):
            hnsw.hnsw.efSearch = ef
            found, lat = timed_search(hnsw, queries)
            rows.append((n, f"HNSW32 (efConstruction {args.ef_construction}), efSearch {ef}", hnsw_build, lat,
                         recall(found, xb, queries, kth), disk_mb(hnsw)))
            print(rows[-1][:3], np.percentile(lat, 50), rows[-1][4], flush=True)
        found, lat = timed_search(hnsw, queries, k=CANDIDATES)  # what the app asks for: 200 candidates
        rows.append((n, f"HNSW32, {CANDIDATES} candidates (the app's search)", hnsw_build, lat,
                     recall(found, xb, queries, kth), disk_mb(hnsw)))
        print(rows[-1][:3], np.percentile(lat, 50), rows[-1][4], flush=True)
        del hnsw
        if "ivf" not in args.indexes:
            continue
        nlist = int(4 * np.sqrt(n))
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        t = time.perf_counter()
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(xb.shape[1]), xb.shape[1], nlist,
                                 faiss.METRIC_INNER_PRODUCT)
        ivf.train(xb[rng.choice(n, min(n, 50 * nlist), replace=False)])
        ivf.add(xb)
        ivf_build = time.perf_counter() - t
        faiss.omp_set_num_threads(1)
        for nprobe in (8, 32, 64):
            ivf.nprobe = nprobe
            found, lat = timed_search(ivf, queries)
            rows.append((n, f"IVF{nlist}, nprobe {nprobe}", ivf_build, lat, recall(found, xb, queries, kth),
                         disk_mb(ivf)))
            print(rows[-1][:3], np.percentile(lat, 50), rows[-1][4], flush=True)
            found, lat = timed_search(ivf, queries, k=CANDIDATES)
            rows.append((n, f"IVF{nlist}, nprobe {nprobe}, {CANDIDATES} candidates", ivf_build, lat,
                         recall(found, xb, queries, kth), disk_mb(ivf)))
            print(rows[-1][:3], np.percentile(lat, 50), rows[-1][4], flush=True)
        del ivf, flat, xb
    command = " ".join([".venv/bin/python benchmarks/scale.py", *sys.argv[1:]])
    lines = ["# Vector search at scale", "",
             f"`{command}`, {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} CPUs "
             f"(builds on all, queries on one FAISS thread), faiss {faiss.__version__}. "
             f"Peak RSS of the run {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB.", "",
             "| vectors | index | build (s) | p50 (ms) | p95 (ms) | recall@10 vs exact | on disk (MB) |",
             "|---|---|---|---|---|---|---|"]
    for n, name, build, lat, rec, mb in rows:
        lines.append(f"| {n:,} | {name} | {build:.1f} | {np.percentile(lat, 50):.2f} | "
                     f"{np.percentile(lat, 95):.2f} | {rec:.3f} | {mb:.0f} |")
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
