"""The PostgreSQL + pgvector index at about 10^6 sentences: load, sizes, latency, throughput, memory.

    .venv/bin/python benchmarks/postgres.py [--articles 100000] [--seconds 45] [--parent /tmp]
        [--out benchmarks/results/postgres.md]

The archive is benchmarks/archive.py's: generated articles of SQuAD sentences, the real pipeline, and
synthesized vectors (each distinct pool sentence embedded once by the bundled model, each occurrence
that vector plus noise). It is loaded by the product's writer, `qa.postgres.writer.build_database`
(what `qa index` does with QA_DATABASE_URL), in its own process, into a local PostgreSQL 18 +
pgvector 0.8 server (tests/pg_cluster.py; data on disk under --parent, fsync off) with the settings
in `SERVER`. The load's phases are timed by wrapping the writer's own steps: scan (read and parse the
files), rows (sentences, chunks, BM25 terms; includes embed, timed apart), COPY (every row and
posting), the HNSW build, and the rest (term counts, publish, commit, VACUUM ANALYZE).

Sizes: pg_total_relation_size of each table (heap, TOAST and indexes) and pg_relation_size of each
index. Latency with 1 client: 300 SQuAD questions (real model) answered by `qa.answering.Engine` in
process, twice (the first pass after the load, then the steady state); the time spent in SQL is
summed per query shape. Then app servers (`python app.py` with QA_DATABASE_URL, and QA_READ_URLS for
the replica) answer POST /api/ask from client threads for --seconds each: 1 app and 1 client, 1 app
and 8 clients, 2 apps and 8 clients (4 each), and 2 apps reading from a streaming replica
(pg_basebackup -R) with 8 clients. CPU seconds of the app processes and of the server processes are
read from /proc per configuration (what limits throughput), and each app's resident memory after.
Every server is stopped and its folder removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from archive import DATA, ArchiveEmbedder, memory_mb  # noqa: E402 - benchmarks/archive.py
from build import generate, sentence_pool  # noqa: E402
from load import squad_questions  # noqa: E402
from machine import cpu_name  # noqa: E402

from tests import pg_cluster  # noqa: E402

SERVER = {  # the server's settings for the benchmark (a 2-core, 24 GB machine shared with others)
    "shared_buffers": "3GB", "effective_cache_size": "12GB", "work_mem": "32MB",
    "maintenance_work_mem": "4GB", "max_parallel_maintenance_workers": "1", "max_parallel_workers": "2",
    "max_wal_size": "8GB", "checkpoint_timeout": "30min", "log_min_messages": "notice",
}
TICK = os.sysconf("SC_CLK_TCK")


def timed(target: object, name: str, spent: dict[str, float]) -> None:
    """Replace `target.name` by the same function that adds its wall time to `spent[name]`."""
    inner = getattr(target, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - t

    setattr(target, name, wrapper)


class TimedEmbedder(ArchiveEmbedder):
    """ArchiveEmbedder that sums the time its `encode` takes."""
    seconds = 0.0

    def encode(self, *args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return super().encode(*args, **kwargs)
        finally:
            TimedEmbedder.seconds += time.perf_counter() - t


def load_phase(n: int, url: str) -> dict:
    """`build_database` of the generated corpus into `url`, timed by phase (in its own process)."""
    from qa.embedding import SentenceTransformerEmbedder
    from qa.postgres import schema, writer
    from qa.settings import Settings

    corpus = DATA / f"corpus-{n}"
    generate(n, corpus)
    embedder = TimedEmbedder(SentenceTransformerEmbedder(), sentence_pool())
    spent: dict[str, float] = defaultdict(float)
    for target, name in ((writer, "scan"), (writer, "make_rows"), (writer, "_insert"),
                         (writer, "_write_lists"), (schema, "create_hnsw")):
        timed(target, name, spent)
    t = time.perf_counter()
    report = writer.build_database(Settings(corpus_dir=corpus, database_url=url), embedder, full=True)
    total = time.perf_counter() - t
    phases = {"scan_s": spent["scan"], "rows_s": spent["make_rows"] - embedder.seconds,
              "embed_s": embedder.seconds, "copy_s": spent["_insert"], "lists_s": spent["_write_lists"],
              "hnsw_s": spent["create_hnsw"]}
    return {"articles": report.articles, "sentences": report.sentences, "chunks": report.chunks,
            "load_s": total, **phases, "rest_s": total - sum(phases.values()),
            "load_peak_mb": memory_mb()["VmHWM"]}


def shape(sql: str) -> str:
    """A query's kind, for the SQL time per answer."""
    if "ORDER BY" in sql and "LIMIT" in sql and "<#>" in sql:
        return "dense search (its rows with their layout and cosines)"
    for key, name in (("qa.chunks", "chunk cosines"), ("chunk_lo", "rows with their layout and cosines"),
                      ("<#>", "cosines"), ("_lists", "BM25 lists"), ("postings", "BM25"),
                      ("qa.terms", "terms"), ("qa.articles", "articles"), ("qa.sentences", "sentences")):
        if key in sql:
            return name
    return "other"


def answer_phase(n: int, url: str) -> dict:
    """300 questions through `Engine.answer` in process, twice; the SQL time per query shape."""
    from qa.answering import Engine
    from qa.embedding import SentenceTransformerEmbedder
    from qa.postgres import view
    from qa.settings import Settings

    questions = random.Random(0).sample(squad_questions(), 300)
    embedder = SentenceTransformerEmbedder()
    embedder.encode(["warm up"])
    engine = Engine(Settings(corpus_dir=DATA / f"corpus-{n}", database_url=url), embedder)
    t = time.perf_counter()
    engine.answer("What happened?")
    first_s = time.perf_counter() - t
    sql: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    calls: dict[str, list[tuple[float, str, object]]] = defaultdict(list)
    query = view.PgView.query

    def counted(self: view.PgView, text: str, params: object = None) -> list[tuple]:
        t = time.perf_counter()
        try:
            return query(self, text, params)
        finally:
            spent = time.perf_counter() - t
            sql[shape(text)][0] += 1
            sql[shape(text)][1] += spent
            calls[shape(text)].append((spent, text, params))

    view.PgView.query = counted  # type: ignore[method-assign]
    passes, found = [], 0
    for _ in range(2):
        sql.clear()
        calls.clear()
        passes.append([])
        for q in questions:
            t = time.perf_counter()
            found += engine.answer(q).found
            passes[-1].append((time.perf_counter() - t) * 1000)
    plans = []  # EXPLAIN ANALYZE of the median call of the three costliest query shapes
    with engine.reading() as v:
        vector_index = v.vector_index
        for name in sorted(sql, key=lambda k: -sql[k][1])[:3]:
            spent, text, params = sorted(calls[name], key=lambda c: c[0])[len(calls[name]) // 2]
            plan = "\n".join(r[0] for r in query(v, "EXPLAIN (ANALYZE, BUFFERS) " + text, params))
            plan = re.sub(r"'([\[{][^']{40})[^']*'", r"'\1...'", plan)  # vectors and row lists cut short
            plans.append(f"## {name}: median call {spent * 1000:.1f} ms\n\n{text}\n\n{plan}\n")
    return {"plans": plans, "first_answer_s": first_s, "first": quantiles(passes[0]),
            "steady": quantiles(passes[1]),
            "found": found / 600, "vector_index": vector_index, "rss_mb": memory_mb()["VmRSS"],
            "sql_ms_per_answer": {k: (c / 300, s * 1000 / 300) for k, (c, s) in sql.items()}}


def quantiles(ms: list[float]) -> dict[str, float]:
    q = statistics.quantiles(ms, n=100) if len(ms) > 1 else [float("nan")] * 99
    return {"p50_ms": q[49], "p95_ms": q[94], "mean_ms": statistics.fmean(ms) if ms else float("nan")}


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def server_pids(servers: list[pg_cluster.PgServer]) -> list[int]:
    """Each server's postmaster and its children (backends, WAL sender and receiver, checkpointer)."""
    roots = {s.pid() for s in servers} - {None}
    out = list(roots)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if ppid in roots:
                out.append(int(entry))
    return out


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (every process, ours or not)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / TICK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def app_servers(count: int, n: int, primary: str,
                read_urls: str) -> Iterator[list[tuple[subprocess.Popen, str]]]:
    """`count` app.py processes on free ports against the database; stopped on exit."""
    apps = []
    try:
        for _ in range(count):
            port = pg_cluster.free_port()
            env = dict(os.environ, QA_CORPUS_DIR=str(DATA / f"corpus-{n}"), QA_DATABASE_URL=primary,
                       QA_READ_URLS=read_urls, GRADIO_SERVER_PORT=str(port), PYTHONPATH=str(ROOT))
            app = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
            apps.append((app, f"http://127.0.0.1:{port}"))
            for line in app.stdout:
                if "Running on" in line:
                    break
            else:
                raise RuntimeError(f"app.py exited with {app.wait()}")
            threading.Thread(target=lambda a=app: [None for _ in a.stdout], daemon=True).start()
        yield apps
    finally:
        for app, _ in apps:
            app.kill()
            app.wait(10)


def drive(bases: list[str], clients: int, seconds: float, questions: list[str]) -> tuple[list[float], int]:
    """`clients` threads (spread over `bases`) POST /api/ask for `seconds`; latencies in ms, errors."""
    latencies: list[float] = []
    errors = 0
    lock, stop = threading.Lock(), threading.Event()

    def client(i: int) -> None:
        nonlocal errors
        rng = random.Random(i)
        with httpx.Client(timeout=120) as http:
            while not stop.is_set():
                t = time.perf_counter()
                try:
                    http.post(f"{bases[i % len(bases)]}/api/ask", json={"question": rng.choice(questions)}) \
                        .raise_for_status()
                    ok = True
                except httpx.HTTPError:
                    ok = False
                with lock:
                    if ok:
                        latencies.append((time.perf_counter() - t) * 1000)
                    else:
                        errors += 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for th in threads:
        th.start()
    time.sleep(seconds)
    stop.set()
    for th in threads:
        th.join(130)
    return latencies, errors


def serve_phase(n: int, name: str, apps: int, clients: int, primary: pg_cluster.PgServer,
                readers: list[pg_cluster.PgServer], seconds: float) -> dict:
    """One configuration of app servers and clients: latency, throughput, CPU by process, app RSS."""
    questions = squad_questions()
    read_urls = ",".join(s.url for s in readers if s != primary)
    with app_servers(apps, n, primary.url, read_urls) as running:
        bases = [b for _, b in running]
        drive(bases, clients, min(10.0, seconds / 3), questions)  # warm-up: connections, caches
        servers = [primary, *readers]
        app_cpu, db_cpu = cpu_seconds([a.pid for a, _ in running]), cpu_seconds(server_pids(servers))
        busy, t = machine_busy(), time.monotonic()
        latencies, errors = drive(bases, clients, seconds, questions)
        wall = time.monotonic() - t
        app_cpu = cpu_seconds([a.pid for a, _ in running]) - app_cpu
        db_cpu = cpu_seconds(server_pids(servers)) - db_cpu
        busy = machine_busy() - busy
        rss = [rss_mb(a.pid) for a, _ in running]
    answers = max(1, len(latencies))
    return {"name": name, "apps": apps, "clients": clients, "answers": len(latencies), "errors": errors,
            "per_s": len(latencies) / wall, **quantiles(latencies),
            "app_cpu_per_answer_ms": app_cpu * 1000 / answers,
            "db_cpu_per_answer_ms": db_cpu * 1000 / answers,
            "app_cores": app_cpu / wall, "db_cores": db_cpu / wall,
            "other_cores": (busy - app_cpu - db_cpu) / wall, "app_rss_mb": rss}


def sizes(server: pg_cluster.PgServer) -> list[tuple[str, str, int]]:
    """(table, relation, bytes) of every table and index in schema qa, biggest table first."""
    import psycopg

    with psycopg.connect(server.admin_url) as conn:
        rows = conn.execute(
            "SELECT t.relname, t.relname, pg_total_relation_size(t.oid) FROM pg_class t JOIN pg_namespace n "
            "ON n.oid = t.relnamespace WHERE n.nspname = 'qa' AND t.relkind = 'r' UNION ALL "
            "SELECT t.relname, i.relname, pg_relation_size(i.oid) FROM pg_index x JOIN pg_class i ON "
            "i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON "
            "n.oid = t.relnamespace WHERE n.nspname = 'qa'").fetchall()
        rows.append(("(database)", "(database)", conn.execute("SELECT pg_database_size('qa')").fetchone()[0]))
    total = {t: b for t, r, b in rows if t == r}
    return sorted(rows, key=lambda r: (-total.get(r[0], 0), r[0] != r[1], -r[2]))


def hnsw_in_memory(server: pg_cluster.PgServer) -> tuple[float, list[str]]:
    """The writer's HNSW index built again beside it with the server's maintenance_work_mem (the writer
    sets 1GB for its build); seconds and notices. The copy is dropped."""
    import psycopg

    from qa.postgres.schema import HNSW_EF_CONSTRUCTION, HNSW_M

    notices: list[str] = []
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        t = time.perf_counter()
        conn.execute("CREATE INDEX sentences_hnsw_check ON qa.sentences "
                     "USING hnsw (embedding vector_ip_ops) "
                     f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})")
        seconds = time.perf_counter() - t
        conn.execute("DROP INDEX qa.sentences_hnsw_check")
    return seconds, notices


def in_process(phase: str, n: int, url: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--phase", phase, "--articles", str(n), "--url", url],
                          check=True, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=45,
                        help="seconds of questions per serving configuration")
    parser.add_argument("--parent", type=Path, default=Path("/tmp"),
                        help="where the servers' data folders go")
    parser.add_argument("--phase", choices=["load", "answer"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "postgres.md")
    args = parser.parse_args()
    n = args.articles
    if args.phase:  # a phase in its own process, so its memory is its own
        print(json.dumps((load_phase if args.phase == "load" else answer_phase)(n, args.url)))
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # a kill stops and removes the servers too
    log: Callable[[object], None] = lambda x: print(time.strftime("%H:%M:%S"), x, flush=True)  # noqa: E731
    load_before = os.getloadavg()
    base = pg_cluster.make_base_dir(prefix="qa-pgbench-", parent=args.parent)
    try:
        primary = pg_cluster.start_primary(base, settings=SERVER)
        loaded = in_process("load", n, primary.url)
        log(loaded)
        table_sizes = sizes(primary)
        log(table_sizes)
        notices = [line.split("NOTICE:", 1)[1].strip() for line in primary.log_file.read_text().splitlines()
                   if "NOTICE:" in line and "hnsw" in line]
        asked = in_process("answer", n, primary.url)
        log(asked)
        args.out.with_suffix(".plans.txt").write_text("\n".join(asked["plans"]))
        served = [serve_phase(n, name, apps, clients, primary, [primary], args.seconds)
                  for name, apps, clients in (("1 app, primary", 1, 1), ("1 app, primary", 1, 8),
                                              ("2 apps, primary", 2, 8))]
        log(served)
        rebuilt = hnsw_in_memory(primary) if notices else None
        log(rebuilt)
        t = time.perf_counter()
        replica = pg_cluster.start_replica(primary, base, settings=SERVER, timeout=3600)
        pg_cluster.wait_replayed(primary, replica, timeout=600)
        replica_s = time.perf_counter() - t
        served.append(serve_phase(n, "2 apps, replica", 2, 8, primary, [replica], args.seconds))
        log(served[-1])
    finally:
        pg_cluster.stop_all(under=base)
        pg_cluster.remove_base_dir(base)
    write(args, loaded, table_sizes, notices, rebuilt, asked, served, replica_s, load_before)


def write(args: argparse.Namespace, loaded: dict, table_sizes: list[tuple[str, str, int]], notices: list[str],
          rebuilt: tuple[float, list[str]] | None, asked: dict, served: list[dict], replica_s: float,
          load_before: tuple[float, ...]) -> None:
    n_s = loaded["sentences"]
    command = " ".join([".venv/bin/python benchmarks/postgres.py", *sys.argv[1:]])
    server = ", ".join(f"{k}={v}" for k, v in SERVER.items() if k != "log_min_messages")
    lines = [
        "# The PostgreSQL + pgvector index at 10^6 sentences", "",
        f"`{command}`, {time.strftime('%Y-%m-%d')}, {cpu_name()}, {os.cpu_count()} CPUs, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, shared with other work "
        f"(load average {load_before[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end). "
        "PostgreSQL 18 + pgvector 0.8 (tests/pg_cluster.py, fsync off, data on disk), "
        f"server settings: {server}. How the archive is made and what is measured: the docstring of "
        "benchmarks/postgres.py (archive.py's generated articles and synthesized vectors, the product's "
        "writer, real questions, `python app.py` servers).", "",
        "## Load (`build_database`, one transaction)", "",
        "| articles | sentences | chunks | load s | scan s | rows s | embed s (synthesized) | COPY s "
        "| posting lists s | HNSW build s | rest s | load process peak MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {loaded['articles']:,} | {n_s:,} | {loaded['chunks']:,} | {loaded['load_s']:.0f} "
        f"| {loaded['scan_s']:.0f} | {loaded['rows_s']:.0f} | {loaded['embed_s']:.0f} "
        f"| {loaded['copy_s']:.0f} | {loaded['lists_s']:.0f} "
        f"| {loaded['hnsw_s']:.0f} | {loaded['rest_s']:.0f} | {loaded['load_peak_mb']:.0f} |", "",
        "Server notices of the HNSW build: " + ("; ".join(notices) if notices else "none") + ".", "",
        *([f"The graph outgrew the 1GB of maintenance_work_mem the writer sets for its build. The same index "
           f"built again afterwards with the server's {SERVER['maintenance_work_mem']}: {rebuilt[0]:.0f} s "
           f"(notices: {'; '.join(rebuilt[1]) or 'none'}).", ""] if rebuilt else []),
        "## Size on disk", "",
        "| table | relation | MB | bytes per sentence |", "|---|---|---|---|",
        *[f"| {t} | {r if r != t else '(total: heap, TOAST, indexes)'} | {b / 1e6:,.0f} | {b / n_s:,.0f} |"
          for t, r, b in table_sizes], "",
        "## Answers with 1 client, in process (`Engine.answer`)", "",
        f"Dense candidates: {asked['vector_index']}. "
        f"First answer after start {asked['first_answer_s']:.1f} s; "
        f"{asked['found']:.0%} of the questions answered (the rest declined); process RSS after "
        f"{asked['rss_mb']:.0f} MB.", "",
        "| pass | p50 ms | p95 ms | mean ms |", "|---|---|---|---|",
        *[f"| {name} | {asked[k]['p50_ms']:.1f} | {asked[k]['p95_ms']:.1f} | {asked[k]['mean_ms']:.1f} |"
          for name, k in (("first after the load", "first"), ("second (steady)", "steady"))], "",
        "Time in SQL per answer (second pass), by query (plans of the three costliest: "
        f"`{args.out.with_suffix('.plans.txt').name}`):", "",
        "| query | calls per answer | ms per answer |", "|---|---|---|",
        *[f"| {k} | {c:.1f} | {ms:.1f} |" for k, (c, ms) in
          sorted(asked["sql_ms_per_answer"].items(), key=lambda kv: -kv[1][1])], "",
        "## App servers (`python app.py`, POST /api/ask over loopback)", "",
        f"{args.seconds:.0f} s of questions per row after a warm-up. CPU is cores used on average over the "
        "row (the machine has 2): by the app processes, by the PostgreSQL processes, and by everything else "
        f"on the machine. The replica (pg_basebackup -R, streaming) was ready in {replica_s:.0f} s.", "",
        "| configuration | clients | answers/s | p50 ms | p95 ms | errors | app CPU ms/answer "
        "| DB CPU ms/answer | app cores | DB cores | other cores | app RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *[f"| {s['name']} | {s['clients']} | {s['per_s']:.1f} | {s['p50_ms']:.0f} | {s['p95_ms']:.0f} "
          f"| {s['errors']} | {s['app_cpu_per_answer_ms']:.0f} | {s['db_cpu_per_answer_ms']:.0f} "
          f"| {s['app_cores']:.2f} | {s['db_cores']:.2f} | {s['other_cores']:.2f} "
          f"| {' / '.join(f'{r:.0f}' for r in s['app_rss_mb'])} |" for s in served], "",
        f"Peak RSS of the benchmark driver {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} "
        "MB.",
    ]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
