"""Load test: concurrent chat clients against the running app, then the same during a full rebuild;
or (--ratio) how much of the engine's own capacity the server delivers.

    .venv/bin/python benchmarks/load.py [--clients 50] [--seconds 60] [--articles 1000]
    .venv/bin/python benchmarks/load.py --ratio [--clients 16] [--seconds 30] [--rounds 3] [--articles 1000]

Loopback only, bounded in count and time. The app (`app.py`, a subprocess) serves a generated
corpus (benchmarks/build.py's generator). Each client is a thread calling the app's HTTP API
(`/gradio_api/call/ask`, what gradio_client calls, with one session per client as gradio_client
keeps) in a loop with SQuAD questions.

Phase 1: --seconds of questions; the app's RSS is sampled every second and its slope reported.
Phase 2: 20 new articles are added and `qa index --full` rebuilds the whole corpus in another
process while the clients keep asking (a fifth of them about the new articles). Every answer
names the build that gave it; each is checked against that build's database: its build is the old
or the new one, every cited sentence is exactly the text at its span in that build, and no answer
from the old build cites a new article.

--ratio: --rounds rounds, each the engine alone, in this process on one thread (`Engine.answer` in
a loop, the product's embedder, the same index and questions), for --seconds, then the app's
answers/s with --clients concurrent clients through each endpoint for --seconds: the chat's `ask` as
the web page and a plain HTTP client call it (`POST /gradio_api/run/ask`, one request), the same
through Gradio's queue as gradio_client calls it (`/gradio_api/call/ask`, a POST and an event
stream), and the REST API (`POST /api/ask`). A ratio is served answers/s over the engine's answers/s
in the same round (this machine's speed drifts from one minute to the next); the
clients run on the same machine as the app. Results: --out (benchmarks/results/load-ratio.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from build import DATA, generate  # noqa: E402

from tests.proc import children  # noqa: E402

NEW_ARTICLE = """date 2025-06-0{d} Harbour authority of Zorblax {i} reports record cargo
Reporter {i} Published June 0{d}, 2025 | 10:00 AM
Zorblax, (Harbour Wire) The harbour authority of Zorblax {i} said its cranes moved {n} containers in May.
Officials of Zorblax {i} said a new quay named Vellmora {i} would open next spring.
"""


def squad_questions() -> list[str]:
    out = []
    for name in ("squad-notre-dame.json", "squad-super-bowl-50.json"):
        data = json.loads((ROOT.parent / "shared" / "eval" / name).read_text())
        out += [q["question"] for d in data["data"] for p in d["paragraphs"] for q in p["qas"]]
    return out


def ask(client: httpx.Client, base: str, question: str, session: str | None = None) -> dict:
    """One question through the app's queue: POST for an event id, then read its result stream.
    `session`: the client's session hash, as gradio_client sends one (None: a new session per call)."""
    r = client.post(f"{base}/gradio_api/call/ask", json={"data": [question, []], "session_hash": session})
    r.raise_for_status()
    event = r.json()["event_id"]
    kind, data = None, None
    with client.stream("GET", f"{base}/gradio_api/call/ask/{event}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:") and kind in ("complete", "error"):
                data = line[5:].strip()
                break
    if kind != "complete":
        raise RuntimeError(f"app error: {data}")
    return json.loads(data)[0]


def ask_direct(client: httpx.Client, base: str, question: str, session: str | None = None) -> dict:
    """The chat's `ask` as one request, as the web page calls an endpoint outside the queue."""
    r = client.post(f"{base}/gradio_api/run/ask", json={"data": [question, []], "session_hash": session})
    r.raise_for_status()
    return r.json()["data"][0]


def ask_rest(client: httpx.Client, base: str, question: str, session: str | None = None) -> dict:
    """`POST /api/ask` of the REST API."""
    r = client.post(f"{base}/api/ask", json={"question": question})
    r.raise_for_status()
    return r.json()


Result = tuple[float, float, dict | None, str | None]  # start, seconds, answer, error
Call = Callable[[httpx.Client, str, str, str | None], dict]


class Run:
    def __init__(self, base: str, questions: list[str], extra: list[str] | None = None, call: Call = ask):
        self.base, self.questions, self.extra, self.call = base, questions, extra or [], call
        self.results: list[Result] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def client(self, seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(timeout=120) as http:
            while not self.stop.is_set():
                extra = self.extra and rng.random() < 0.2
                q = rng.choice(self.extra) if extra else rng.choice(self.questions)
                t = time.perf_counter()
                try:
                    answer, error = self.call(http, self.base, q, f"load-client-{seed}"), None
                except Exception as exc:  # every failure is counted and reported
                    answer, error = None, f"{type(exc).__name__}: {exc}"
                with self.lock:
                    self.results.append((t, time.perf_counter() - t, answer, error))

    def go(self, clients: int, until: Callable[[], bool]) -> None:
        threads = [threading.Thread(target=self.client, args=(i,), daemon=True) for i in range(clients)]
        for th in threads:
            th.start()
        while not until():
            time.sleep(0.2)
        self.stop.set()
        for th in threads:
            th.join(130)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def slope_mb_per_min(samples: list[tuple[float, float]]) -> float:
    if len(samples) < 3:
        return float("nan")
    ts, ms = [t for t, _ in samples], [m for _, m in samples]
    mt, mm = statistics.fmean(ts), statistics.fmean(ms)
    return 60 * sum((t - mt) * (m - mm) for t, m in zip(ts, ms, strict=True)) / sum((t - mt) ** 2 for t in ts)


def summary(name: str, run: Run, seconds: float) -> dict:
    lat = sorted(d * 1000 for _, d, a, e in run.results if e is None)
    errors = [e for *_, e in run.results if e is not None]
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [float("nan")] * 99
    return {"phase": name, "requests": len(run.results), "errors": len(errors), "first_error": errors[:1],
            "throughput_per_s": len(run.results) / seconds, "p50_ms": q[49], "p95_ms": q[94]}


def load_engine(index: Path):  # noqa: ANN201 - qa.answering.Engine, imported here
    """The engine in this process, as the app loads it (the product's embedder, the same index)."""
    from qa.answering import Engine
    from qa.embedding import SentenceTransformerEmbedder
    from qa.settings import Settings

    settings = Settings.from_env()
    engine = Engine(replace(settings, index_dir=index), SentenceTransformerEmbedder.from_settings(settings))
    engine.answer("warm up")
    return engine


def engine_alone(engine: object, questions: list[str], seconds: float, seed: int = 0) -> dict:
    """Answers/s of the engine in this process, on one thread, for `seconds`."""
    rng, lat = random.Random(seed), []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        t = time.perf_counter()
        engine.answer(rng.choice(questions))
        lat.append((time.perf_counter() - t) * 1000)
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(lat, n=100)
    return {"phase": "engine alone, 1 thread", "requests": len(lat), "errors": 0,
            "throughput_per_s": len(lat) / elapsed, "p50_ms": q[49], "p95_ms": q[94]}


ENDPOINTS: dict[str, Call] = {"chat `ask`, direct (POST /gradio_api/run/ask)": ask_direct,
                              "chat `ask`, queue (/gradio_api/call/ask + event stream)": ask,
                              "REST (POST /api/ask)": ask_rest}


def ratio(args: argparse.Namespace, engine: object, base: str, questions: list[str], load: str,
          app_pid: int) -> None:
    """--rounds rounds, each the engine alone and then every endpoint for --seconds: each endpoint's
    answers/s against the engine's in the same round (this machine's speed drifts over minutes)."""
    runs: dict[str, list[dict]] = {name: [] for name in ["engine alone", *ENDPOINTS]}
    for i in range(args.rounds):
        runs["engine alone"].append(engine_alone(engine, questions, args.seconds, seed=i))
        print(runs["engine alone"][-1], flush=True)
        for name, call in ENDPOINTS.items():
            run = Run(base, questions, call=call)
            started = time.monotonic()
            run.go(args.clients, lambda t0=started: time.monotonic() - t0 >= args.seconds)
            runs[name].append(summary(name, run, time.monotonic() - started))
            print(runs[name][-1], flush=True)
    alone = [r["throughput_per_s"] for r in runs["engine alone"]]
    workers = children(app_pid)
    memory = (f"App resident memory after the rounds: server process {rss_mb(app_pid):.0f} MB"
              + "".join(f", answer worker {rss_mb(w):.0f} MB" for w in workers) + ".")
    lines = ["# Served answers/s against the engine's own", "",
             f"`.venv/bin/python benchmarks/load.py --ratio --clients {args.clients} --seconds "
             f"{args.seconds:.0f} --rounds {args.rounds} --articles {args.articles} --answer-processes "
             f"{args.answer_processes}`, {time.strftime('%Y-%m-%d')}, {machine()}; load average before: "
             f"{load}. The clients run on the same CPUs as the app. Each round measures the engine alone (in "
             "process, 1 thread) and then each endpoint; a ratio is an endpoint's answers/s over the "
             "engine's in its round. The app answers in "
             + (f"{len(workers)} worker processes (QA_ANSWER_PROCESSES={args.answer_processes})"
                if args.answer_processes else "its server process (QA_ANSWER_PROCESSES=0)") + ".",
             "", "| path | clients | answers/s by round | errors | p50 (ms) | p95 (ms) | vs engine alone, "
             "by round | median |", "|---|---|---|---|---|---|---|---|"]
    for name, rounds in runs.items():
        rates = [r["throughput_per_s"] for r in rounds]
        ratios = [r / a for r, a in zip(rates, alone, strict=True)]
        lines.append(f"| {name} | {1 if name == 'engine alone' else args.clients} | "
                     f"{', '.join(f'{r:.1f}' for r in rates)} | "
                     f"{sum(r['errors'] for r in rounds)} | "
                     f"{statistics.median(r['p50_ms'] for r in rounds):.1f} | "
                     f"{statistics.median(r['p95_ms'] for r in rounds):.1f} | "
                     f"{', '.join(f'{x:.2f}x' for x in ratios)} | {statistics.median(ratios):.2f}x |")
    lines += ["", memory]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def verify(index_dir: Path, results: list[Result], old: str, new: str | None, new_files: set[str]) -> dict:
    """Each answer against the build that gave it: known build, exact spans, no new article in old.
    A build's articles are read with the store's own catalog (base and delta merged)."""
    from qa.store import builds_dir, read_catalog

    texts = {b: {a.location: a.text for a in read_catalog(builds_dir(index_dir) / b).articles.values()}
             for b in {old, new} if b}
    counts = {"answers": 0, "old_build": 0, "new_build": 0, "unknown_build": 0, "span_mismatch": 0,
              "new_article_in_old_build": 0, "new_article_in_new_build": 0, "citations_checked": 0}
    for _, _, answer, _ in results:
        if answer is None:
            continue
        counts["answers"] += 1
        build = answer["build_id"]
        if build not in texts:
            counts["unknown_build"] += 1
            continue
        counts["old_build" if build == old else "new_build"] += 1
        for c in answer["citations"] + answer["closest"]:
            counts["citations_checked"] += 1
            text = texts[build].get(c["location"], "")
            counts["span_mismatch"] += text[c["start"]:c["end"]] != c["sentence"]
            counts["new_article_in_old_build"] += build == old and c["location"] in new_files
            counts["new_article_in_new_build"] += build != old and c["location"] in new_files
    return counts


def main() -> None:
    from qa.store import current_build_id

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--port", type=int, default=7877)
    parser.add_argument("--no-rebuild", action="store_true",
                        help="phase 1 only (a memory run); writes no results")
    parser.add_argument("--ratio", action="store_true",
                        help="the engine alone, then served answers/s through each endpoint")
    parser.add_argument("--rounds", type=int, default=3, help="--ratio: rounds of engine alone + endpoints")
    parser.add_argument("--answer-processes", type=int, default=0,
                        help="the app's QA_ANSWER_PROCESSES (0: answers in its server process)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    args.out = args.out or ROOT / "benchmarks" / "results" / ("load-ratio.md" if args.ratio else "load.md")

    source = DATA / f"corpus-{args.articles}"
    generate(args.articles, source)
    work = Path(tempfile.mkdtemp(prefix="qa-load-"))
    corpus, index = work / "corpus", work / "index"
    shutil.copytree(source, corpus)
    qa = [sys.executable, "-m", "qa"]
    paths = ["--corpus", str(corpus), "--index", str(index)]
    t = time.perf_counter()
    subprocess.run([*qa, "index", "--quiet", *paths], check=True, cwd=ROOT)
    print(f"index of {args.articles} articles built in {time.perf_counter() - t:.0f} s", flush=True)
    old = current_build_id(index)
    load = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    engine = load_engine(index) if args.ratio else None

    env = dict(os.environ, QA_CORPUS_DIR=str(corpus), QA_INDEX_DIR=str(index),
               GRADIO_SERVER_PORT=str(args.port), QA_ANSWER_PROCESSES=str(args.answer_processes))
    app = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        ready = ("Running on", "answering in") if args.answer_processes else ("Running on",)
        seen = set()
        for line in app.stdout:
            seen |= {r for r in ready if r in line}
            if len(seen) == len(ready):
                break
        threading.Thread(target=lambda: [None for _ in app.stdout], daemon=True).start()  # drain its log
        base = f"http://127.0.0.1:{args.port}"
        questions = squad_questions()
        if args.ratio:
            ratio(args, engine, base, questions, load, app.pid)
            return

        samples: list[tuple[float, float]] = []
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.is_set():
                samples.append((time.monotonic(), rss_mb(app.pid)))
                time.sleep(1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        one = Run(base, questions)
        started = time.monotonic()
        one.go(args.clients, lambda: time.monotonic() - started >= args.seconds)
        first = summary("1: questions only", one, time.monotonic() - started)
        steady = [s for s in samples if s[0] - samples[0][0] >= 10]  # after warm-up
        half = [s for s in samples if s[0] - samples[0][0] >= args.seconds / 2]
        first |= {"rss_start_mb": samples[0][1], "rss_end_mb": samples[-1][1],
                  "rss_slope_mb_per_min": slope_mb_per_min(steady),
                  "rss_slope_second_half_mb_per_min": slope_mb_per_min(half)}
        print(first, flush=True)
        if args.no_rebuild:
            sampling.set()
            return

        new_files = set()
        for i in range(20):
            name = f"zorblax-{i:02d}.txt"
            (corpus / name).write_text(NEW_ARTICLE.format(i=i, d=1 + i % 9, n=1000 + 37 * i))
            new_files.add(name)
        extra = [f"What did the harbour authority of Zorblax {i} say about containers?" for i in range(20)]
        rebuild = subprocess.Popen([*qa, "index", "--full", "--quiet", *paths], cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        two = Run(base, questions, extra)
        started = time.monotonic()
        two.go(args.clients,
               lambda: rebuild.poll() is not None and time.monotonic() - started >= args.seconds)
        second = summary("2: during a full rebuild", two, time.monotonic() - started)
        second["rebuild_s"] = time.monotonic() - started
        second["rebuild_exit"] = rebuild.returncode
        sampling.set()
        new = current_build_id(index)
        second["check"] = verify(index, two.results, old, new if new != old else None, new_files)
        second["rss_end_mb"] = samples[-1][1]
        print(second, flush=True)
    finally:
        app.kill()
        app.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    if not (args.no_rebuild or args.ratio):
        write(args, first, second)


def write(args: argparse.Namespace, first: dict, second: dict) -> None:
    c = second["check"]
    lines = [
        "# Load test", "",
        f"`.venv/bin/python benchmarks/load.py --clients {args.clients} --seconds {args.seconds:.0f} "
        f"--articles {args.articles}`, {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}. Clients, app and rebuild share the "
        "CPUs.", "",
        "| phase | requests | errors | throughput (req/s) | p50 (ms) | p95 (ms) |",
        "|---|---|---|---|---|---|"]
    for r in (first, second):
        lines.append(f"| {r['phase']} | {r['requests']} | {r['errors']} | {r['throughput_per_s']:.1f} | "
                     f"{r['p50_ms']:.0f} | {r['p95_ms']:.0f} |")
    lines += ["", f"App memory, phase 1: {first['rss_start_mb']:.0f} MB -> {first['rss_end_mb']:.0f} MB, "
              f"slope after a 10 s warm-up {first['rss_slope_mb_per_min']:+.1f} MB/min, over its second half "
              f"{first['rss_slope_second_half_mb_per_min']:+.1f} MB/min; after phase 2 "
              f"{second['rss_end_mb']:.0f} MB.", "",
              f"Phase 2: `qa index --full` (exit {second['rebuild_exit']}) ran during the phase "
              f"({second['rebuild_s']:.0f} s). Of {c['answers']} answers, {c['old_build']} came from the old "
              f"build and {c['new_build']} from the new one, {c['unknown_build']} from any other; "
              f"{c['citations_checked']} citations checked against their build: {c['span_mismatch']} spans "
              f"wrong, {c['new_article_in_old_build']} new articles cited by the old build (the new build "
              f"cited them {c['new_article_in_new_build']} times)."]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
