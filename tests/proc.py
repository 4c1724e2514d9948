"""The processes a process started, read from Linux's /proc (for tests and benchmarks that run
`app.py` as a subprocess)."""

from __future__ import annotations

from pathlib import Path

ANSWER_WORKER = b"qa.answering.processes"  # in an answer worker's command line


def children(pid: int, marker: bytes = ANSWER_WORKER) -> list[int]:
    """The running children of process `pid` whose command line holds `marker`."""
    out = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            parent = next((line.split()[1] for line in (proc / "status").read_text().splitlines()
                           if line.startswith("PPid:")), None)
            if parent == str(pid) and marker in (proc / "cmdline").read_bytes():
                out.append(int(proc.name))
        except OSError:  # it ended meanwhile
            continue
    return out
