"""`qa eval` on ../shared/eval with the folder index and with the PostgreSQL index, in one run.

    .venv/bin/python benchmarks/postgres_eval.py [--out benchmarks/results/postgres-eval.md]

Each SQuAD file is evaluated with the other as foreign questions (as the README's figures are),
and tests/data/realnews-questions.json over ../shared/realnews (about 3,000 sentences: enough that
candidates come from the dense search, not from every row), three ways: the folder index;
PostgreSQL with exact dense search (what an index of this size uses); PostgreSQL with every dense
search through its HNSW index (QA_EXACT_LIMIT=0, as a large index searches). The server is a
throw-away local PostgreSQL + pgvector (tests/pg_cluster.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EVAL = ROOT.parent / "shared" / "eval"
FILES = ("squad-notre-dame.json", "squad-super-bowl-50.json")
QUESTIONS = ROOT / "tests" / "data" / "realnews-questions.json"
# (top-1, top-3 or any citation, answered, foreign declined, p50) in each kind of report
KEYS = {"squad": ("answer_in_top1", "answer_in_top3", "answered_answerable", "declined_foreign",
                  "latency_p50_ms"),
        "questions": ("top1", "any_citation", "answered", "declined_foreign", "latency_p50_ms")}


def evaluate(path: Path, foreign: Path | None, env: dict[str, str]) -> dict:
    command = [sys.executable, "-m", "qa", "eval", str(path), "--json"]
    command += ["--foreign", str(foreign)] if foreign else []
    done = subprocess.run(command, cwd=ROOT, env=os.environ | {"HF_HUB_OFFLINE": "1"} | env,
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def main() -> None:
    from benchmarks.machine import cpu_name
    from tests import pg_cluster as pc

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "postgres-eval.md")
    args = parser.parse_args()
    rows = []
    with pc.running_cluster() as (server, _):
        ways = {"folder index": {}, "PostgreSQL, exact": {"QA_DATABASE_URL": server.url},
                "PostgreSQL, HNSW": {"QA_DATABASE_URL": server.url, "QA_EXACT_LIMIT": "0"}}
        cases = [(EVAL / a, EVAL / b, "squad") for a, b in (FILES, FILES[::-1])]
        cases.append((QUESTIONS, None, "questions"))
        for path, foreign, kind in cases:
            for way, env in ways.items():
                report = evaluate(path, foreign, env)
                values = [report[k] for k in KEYS[kind]]
                rows.append((path.name, way, values))
                print(path.name, way, [round(v, 3) for v in values], flush=True)
    lines = [f"# `qa eval`: folder index and PostgreSQL\n\n`.venv/bin/python benchmarks/postgres_eval.py`, "
             f"{time.strftime('%Y-%m-%d')}, {cpu_name()}, {os.cpu_count()} CPUs, "
             f"load {os.getloadavg()[0]:.1f}. "
             "PostgreSQL 18 + pgvector 0.8 on 127.0.0.1 (tests/pg_cluster.py).\n",
             "| eval | index | top-1 | top-3 (SQuAD) / any citation | answered | foreign declined | p50 ms |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {name} | {way} | " + " | ".join(f"{v:.3f}" for v in values[:4]) + f" | {values[4]:.1f} |"
              for name, way, values in rows]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(args.out)


if __name__ == "__main__":
    main()
