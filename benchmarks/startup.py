"""Startup: seconds from `python app.py` to the first answer, on the shipped corpus (index built).

    .venv/bin/python benchmarks/startup.py [--runs 3] [--out benchmarks/results/startup.md]

Polls the app's HTTP API from the moment the process starts; prints each run and the median, and
writes them with the machine and its load average to --out.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from load import ask  # noqa: E402

QUESTION = "How many North Korean troops are in Russia?"  # answered by the shipped corpus


def once(port: int) -> float:
    env = dict(os.environ, GRADIO_SERVER_PORT=str(port), HF_HUB_OFFLINE="1")
    started = time.perf_counter()
    app = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(timeout=30) as http:
            while True:
                try:
                    answer = ask(http, f"http://127.0.0.1:{port}", QUESTION)
                    assert answer["found"], answer
                    return time.perf_counter() - started
                except (httpx.TransportError, httpx.HTTPStatusError):
                    time.sleep(0.05)
    finally:
        app.kill()
        app.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=7891)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "startup.md")
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "qa", "index", "--quiet"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    load = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    times = [once(args.port) for _ in range(args.runs)]
    line = (f"seconds to first answer: {', '.join(f'{t:.2f}' for t in times)} "
            f"(median {statistics.median(times):.2f})")
    print(line)
    args.out.write_text("\n".join([
        "# Cold start to the first answer", "",
        f"`.venv/bin/python benchmarks/startup.py --runs {args.runs}`, {time.strftime('%Y-%m-%d')}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; load average "
        f"before: {load}. From `python app.py` (shipped corpus, index built) to the first answer of "
        "the chat's `ask` endpoint.", "", line, ""]))


if __name__ == "__main__":
    main()
