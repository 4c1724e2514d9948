"""Answers computed in worker processes, so that a server's HTTP work and its answers run on
different cores instead of taking turns at one interpreter lock.

`AnswerProcesses(settings, count)` starts `count` workers (`python -m qa.answering.processes`),
each with its own `Engine` over the same index. A question goes to an idle worker and its `Answer`
comes back; `answer` returns None while no worker is ready (they are still starting, or one died
and is being replaced), and the caller then answers in its own process. A worker that dies is
reported and started again. Each question names the folder index's build the caller answers from:
a worker on another build loads the newest first, so after a rebuild the workers answer from it.

The two ends speak pickles over a socket pair: the parent sends the `Settings` once, the worker
replies "ready" once its index and question encoder are loaded, then each request is
(question, history, options, build id) and each reply ("answer", Answer) or ("error", class name,
message). A worker exits when its socket closes, so it never outlives the server.
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection

from qa import errors
from qa.answering.model import Answer, AnswerOptions
from qa.settings import Settings

READY = "ready"


class WorkerError(errors.QAError):
    """An answer worker process stopped or could not start."""


@dataclass
class _Worker:
    process: subprocess.Popen
    conn: Connection

    def close(self) -> None:
        self.conn.close()
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _spawn(settings: Settings) -> _Worker:
    """Start one worker and wait until it has loaded its index and model."""
    ours, theirs = socket.socketpair()
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    try:
        process = subprocess.Popen([sys.executable, "-m", "qa.answering.processes", str(theirs.fileno())],
                                   pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL)
    finally:
        theirs.close()
    conn = Connection(ours.detach())
    worker = _Worker(process, conn)
    try:
        conn.send(settings)
        reply = conn.recv()
    except (EOFError, OSError) as exc:
        worker.close()
        raise WorkerError(f"an answer worker exited while starting (exit code {process.poll()})") from exc
    if reply != READY:
        worker.close()
        raise WorkerError(f"an answer worker could not start: {reply}")
    return worker


class AnswerProcesses:
    """`count` answer workers over the index of `settings`; `start()` starts them in the background."""

    def __init__(self, settings: Settings, count: int, log: Callable[[str], object] = print):
        self.settings, self.count, self._log = settings, count, log
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # notified when a worker is ready
        self._closed = False

    def start(self) -> None:
        for _ in range(self.count):
            self._start_one()

    def _start_one(self) -> None:
        threading.Thread(target=self._add, name="answer-worker-start", daemon=True).start()

    def _add(self) -> None:
        try:
            worker = _spawn(self.settings)
        except WorkerError as exc:
            self._log(f"answers stay in the server process: {exc}")
            return
        with self._lock:
            if self._closed:
                worker.close()
                return
            self._workers.append(worker)
            self._idle.put(worker)
            self._changed.notify_all()
            everyone = len(self._workers) == self.count
        if everyone:
            self._log(f"answering in {self.count} worker process{'es' * (self.count > 1)}")

    def wait_ready(self, timeout: float) -> bool:
        """Block until every worker is ready, or `timeout` seconds; whether all are."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._workers) == self.count, timeout)

    def answer(self, question: str, history: Sequence[str], options: AnswerOptions,
               build: str | None = None) -> Answer | None:
        """The answer from an idle worker (waiting for one if all are busy); None if none is running.
        `build`: the folder index's build the caller answers from; a worker on another one first
        loads the newest (so that after a rebuild the workers answer from it too)."""
        worker = self._idle_worker()
        if worker is None:
            return None
        try:
            worker.conn.send((question, tuple(history), options, build))
            reply = worker.conn.recv()
        except (EOFError, OSError):
            self._replace(worker)
            return None
        self._idle.put(worker)
        if reply[0] == "answer":
            return reply[1]
        raise _error(*reply[1:])

    def _idle_worker(self) -> _Worker | None:
        while True:
            with self._lock:
                if not self._workers:
                    return None
            try:
                return self._idle.get(timeout=1.0)
            except queue.Empty:  # all busy: wait on, unless they have all stopped meanwhile
                continue

    def _replace(self, worker: _Worker) -> None:
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)
            closed = self._closed
        worker.close()
        self._log(f"an answer worker stopped (exit code {worker.process.returncode}); starting another")
        if not closed:
            self._start_one()

    def pids(self) -> list[int]:
        with self._lock:
            return [w.process.pid for w in self._workers]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._workers = self._workers, []
        for w in workers:
            w.close()


def _error(name: str, message: str) -> errors.QAError:
    """The worker's exception again: its class from `qa.errors` where it takes the message alone."""
    kind = getattr(errors, name, None)
    if isinstance(kind, type) and issubclass(kind, errors.QAError):
        try:
            return kind(message)
        except TypeError:  # a class built from several fields
            pass
    return errors.QAError(message)


# The worker's side -----------------------------------------------------------------------------

def _serve(conn: Connection) -> None:
    from threadpoolctl import threadpool_limits

    from qa.answering.engine import Engine
    from qa.embedding import SentenceTransformerEmbedder
    from qa.retrieval import LiveIndex

    threadpool_limits(1, "blas")  # one answer at a time per worker: one core
    settings: Settings = conn.recv()
    try:
        embedder = SentenceTransformerEmbedder.from_settings(settings)
        engine = Engine(settings, embedder, background_reload=True)
        engine.answer("warm up")  # the index and the question encoder loaded, as the server's are
    except errors.QAError as exc:
        conn.send(str(exc))
        return
    conn.send(READY)
    live = engine.index if isinstance(engine.index, LiveIndex) else None  # None: a database index
    while True:
        try:
            question, history, options, build = conn.recv()
        except EOFError:
            return
        try:
            if build is not None and live is not None and live.loaded_build_id != build:
                live.get(wait=True)
            conn.send(("answer", engine.answer(question, history, options)))
        except errors.QAError as exc:
            conn.send(("error", type(exc).__name__, str(exc)))


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])))
