"""The index folder's life cycle: where builds live, which one is active, locking, atomic publish.

Layout of an index folder:
    CURRENT            name of the active build; replaced with an atomic rename
    builds/<id>/       a finished build (never modified after it is published)
    builds/.tmp-<id>/  a build being written; removed by the next build if a crash left it
    .lock              held (flock) by the process that builds
A reader that opens CURRENT always finds a complete build. What a build holds: `qa.store.db`,
`qa.store.vectors`, `qa.store.bm25` and docs/index-format.md.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from qa.errors import BuildLockedError, IndexCorruptError, IndexMissingError, IndexWriteError

DELTA = "delta"  # the folder, inside a build, of the rows added since its base
# A build's base files: what an update that writes only a delta links from the build before it.
BASE_FILES = ("db.sqlite", "sentences.faiss", "sentences.npy", "chunks.faiss", "chunks.npy",
              "bm25-sentences", "bm25-chunks", "shingle-hashes.npy", "shingle-owners.npy")


def builds_dir(index_dir: Path) -> Path:
    return index_dir / "builds"


def current_build_id(index_dir: Path) -> str | None:
    try:
        return (index_dir / "CURRENT").read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def current_build_dir(index_dir: Path) -> Path:
    build_id = current_build_id(index_dir)
    if build_id is None:
        raise IndexMissingError(f"no index in {index_dir}: run `qa index` to build it")
    path = builds_dir(index_dir) / build_id
    if not path.is_dir():
        raise IndexCorruptError(f"index {index_dir} points to a missing build {build_id}: "
                                "run `qa index --full` to rebuild it")
    return path


@contextmanager
def build_lock(index_dir: Path, wait: bool = False) -> Iterator[None]:
    """Only one build of an index at a time; `wait=False` refuses instead of queueing."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        handle = open(index_dir / ".lock", "a+")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise IndexWriteError(f"cannot write to the index folder {index_dir} ({exc.strerror}): fix its "
                              "permissions or free disk space; the previous index is still in use") from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError as exc:
            raise BuildLockedError(f"another build of {index_dir} is running; "
                                   "wait for it to finish and try again") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def writing(index_dir: Path) -> Iterator[None]:
    """Writing a build: a failure of the disk or of a writer (full disk, read-only folder, FAISS's
    write errors) becomes one `IndexWriteError`, its partial build removed, the previous one kept."""
    try:
        yield
    except (OSError, sqlite3.Error, RuntimeError) as exc:  # RuntimeError: FAISS's write failures
        with suppress(OSError):
            remove_stale(index_dir)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise IndexWriteError(f"could not write the new index in {index_dir} ({reason}); the previous "
                              "index is still in use. Free disk space or fix permissions, then run "
                              "`qa index` again") from exc


def remove_stale(index_dir: Path) -> None:
    """Delete temporary builds left by a crashed or killed build (call with the build lock held)."""
    for stale in builds_dir(index_dir).glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    (index_dir / "CURRENT.tmp").unlink(missing_ok=True)


def new_build_dir(index_dir: Path) -> Path:
    """A fresh temporary build folder (call with the build lock held)."""
    root = builds_dir(index_dir)
    root.mkdir(parents=True, exist_ok=True)
    build_id = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"
    path = root / f".tmp-{build_id}"
    path.mkdir()
    return path


def publish(index_dir: Path, tmp_dir: Path, build_id: str, keep: int) -> Path:
    """Make a written build (its manifest included) the active one, atomically; prune old builds
    beyond `keep`."""
    for path in tmp_dir.rglob("*"):
        _fsync(path)
    final = builds_dir(index_dir) / build_id
    os.replace(tmp_dir, final)
    _fsync(builds_dir(index_dir))
    pointer = index_dir / "CURRENT.tmp"
    pointer.write_text(build_id + "\n", encoding="utf-8")
    _fsync(pointer)
    os.replace(pointer, index_dir / "CURRENT")
    _fsync(index_dir)
    finished = sorted(p for p in builds_dir(index_dir).iterdir() if not p.name.startswith("."))
    for old in [p for p in finished if p.name != build_id][: max(0, len(finished) - keep)]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def base_file_sizes(build_dir: Path) -> dict[str, int]:
    """Every base file of a build (relative path -> size in bytes)."""
    sizes = {}
    for name in BASE_FILES:
        path = build_dir / name
        for f in sorted(path.iterdir()) if path.is_dir() else [path] if path.exists() else []:
            sizes[f.relative_to(build_dir).as_posix()] = f.stat().st_size
    return sizes


def check_base(build_dir: Path, sizes: dict[str, int]) -> None:
    """Refuse base files that are missing or not the size they were written at (before a new
    build links them)."""
    for name, size in sizes.items():
        try:
            actual = (build_dir / name).stat().st_size
        except OSError:
            actual = None
        if actual != size:
            raise IndexCorruptError(f"{build_dir / name} is damaged or missing: run `qa index --full`")


def link_base(previous: Path, build_dir: Path) -> None:
    """Give a new build the base files of the previous one: hard links (copies where the file
    system has none), so no base file is written again."""
    for name in BASE_FILES:
        source = previous / name
        if source.is_dir():
            (build_dir / name).mkdir()
            for f in source.iterdir():
                _link(f, build_dir / name / f.name)
        elif source.exists():
            _link(source, build_dir / name)


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # no hard links here (or another device): a copy
        shutil.copy2(source, target)
