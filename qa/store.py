"""The index on disk: builds of manifest.json + db.sqlite + FAISS files, switched atomically.

Layout of an index folder:
    CURRENT            name of the active build; replaced with an atomic rename
    builds/<id>/       a finished build (never modified after it is published)
    builds/.tmp-<id>/  a build being written; removed by the next build if a crash left it
    .lock              held (flock) by the process that builds
A build holds a base (db.sqlite, FAISS and BM25 files) and may hold a delta (delta/: a database
and the vectors of the articles added or changed since the base was written, and the base
articles they replace or that were removed). A build that only adds a delta hard-links the base
files of the build before it, so adding an article writes that article, not the whole index; a
reader merges the two. A reader that opens CURRENT always finds a complete build. This module
stores and loads; it does not decide what goes into a build (`indexing` does)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from qa.articles import Article
from qa.chunking import Chunk
from qa.errors import (BuildLockedError, IndexCorruptError, IndexMismatchError, IndexMissingError,
                       IndexWriteError)
from qa.sentences import Sentence
from qa.syndication import Postings

FORMAT_VERSION = 4
# Above the exact limit: an inverted file of 8-bit quantized vectors finds candidates, which are
# then scored exactly. nprobe lists of ~4 sqrt(n) are searched (benchmarks/results/scale.md).
IVF_NPROBE = 64
# (k1, b) chosen on ../shared/eval (benchmarks/fusion_experiment.py): sentences are short, so
# length normalization is weaker for them than for chunks.
BM25_PARAMS = {"sentences": (1.2, 0.5), "chunks": (1.5, 0.75)}
SCHEMA = """
CREATE TABLE articles (id TEXT PRIMARY KEY, title TEXT, published TEXT, source TEXT, author TEXT,
    location TEXT, url TEXT, text TEXT, content_hash TEXT, n_sentences INTEGER, n_chunks INTEGER,
    shingles BLOB);
CREATE TABLE copies (article_id TEXT PRIMARY KEY, copy_of TEXT, position INTEGER);
CREATE TABLE removed (article_id TEXT PRIMARY KEY);
CREATE TABLE sentences (row INTEGER PRIMARY KEY, article_id TEXT, ordinal INTEGER,
    start INTEGER, "end" INTEGER, content_hash TEXT, terms TEXT);
CREATE TABLE chunks (row INTEGER PRIMARY KEY, article_id TEXT, ordinal INTEGER,
    first_sentence INTEGER, last_sentence INTEGER, start INTEGER, "end" INTEGER, token_count INTEGER,
    terms TEXT);
CREATE TABLE files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, status TEXT,
    reason TEXT, article_ids TEXT);
CREATE INDEX sentences_article ON sentences(article_id, ordinal);
CREATE INDEX chunks_article ON chunks(article_id, ordinal);
"""


@dataclass(frozen=True)
class Manifest:
    format_version: int
    build_id: str
    built_at: str
    model: str
    dimension: int
    tiktoken_encoding: str
    chunk_tokens: int
    chunk_overlap: int
    segmenter: str
    articles: int
    sentences: int
    chunks: int
    corpus_fingerprint: str
    faiss_index: str
    base_build: str = ""  # the build whose base files this build holds (itself unless it adds a delta)
    base_sentences: int = 0  # rows in the base files; the counts above are of the merged index
    base_chunks: int = 0
    base_files: dict[str, int] = field(default_factory=dict)  # base file -> size, checked before reuse

    def settings_key(self) -> tuple[object, ...]:
        """What, when changed, makes every stored vector or chunk unusable."""
        return (self.format_version, self.model, self.dimension, self.tiktoken_encoding,
                self.chunk_tokens, self.chunk_overlap, self.segmenter)


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


def read_manifest(build_dir: Path) -> Manifest:
    try:
        data = json.loads((build_dir / "manifest.json").read_text(encoding="utf-8"))
        manifest = Manifest(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise IndexCorruptError(f"unreadable manifest in {build_dir} ({exc}): "
                                "run `qa index --full` to rebuild the index") from exc
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatchError(f"index format {manifest.format_version} is not the supported "
                                 f"{FORMAT_VERSION}: run `qa index --full` to rebuild it")
    return manifest


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


def create_db(build_dir: Path) -> sqlite3.Connection:
    db = sqlite3.connect(build_dir / "db.sqlite")
    db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + SCHEMA)
    return db


def write_vectors(build_dir: Path, name: str, vectors: np.ndarray, exact_limit: int | None = None) -> str:
    """Store vectors as a FAISS inner-product index; returns its description for the manifest.

    Up to `exact_limit` vectors (None: no limit) the index is exact (flat) and holds the vectors:
    a query costs 0.5 ms at 10^4 vectors and 11 ms at 10^5. Above it, an inverted file (IVF) of
    8-bit quantized vectors with about 4 sqrt(n) lists, searched in `IVF_NPROBE` of them, gives
    candidates; the exact vectors, for rescoring them, go to `<name>.npy` beside it (read on
    demand when loaded: `DiskVectors`). At 10^6 vectors: 2 ms a query with 200 candidates
    rescored, recall@10 0.987 of exact search (benchmarks/results/scale-app.md).
    """
    import faiss

    data = np.ascontiguousarray(vectors, dtype=np.float32)
    if exact_limit is None or len(data) <= exact_limit:
        index, kind = faiss.IndexFlatIP(data.shape[1]), "IndexFlatIP"
    else:
        nlist = max(1, min(int(4 * np.sqrt(len(data))), len(data) // 39))  # FAISS wants 39 points a list
        index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(data.shape[1]), data.shape[1], nlist,
                                              faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        sample = np.random.default_rng(0).choice(len(data), min(len(data), 50 * nlist), replace=False)
        index.train(data[np.sort(sample)])
        index.nprobe = min(IVF_NPROBE, nlist)
        kind = f"IndexIVFScalarQuantizer(nlist={nlist},SQ8,nprobe={index.nprobe}) + exact vectors in {name}.npy"
        with open(build_dir / f"{name}.npy", "wb") as f:
            np.save(f, data)
    if len(data):
        index.add(data)
    faiss.write_index(index, str(build_dir / f"{name}.faiss"))
    return kind


def is_exact(index) -> bool:  # noqa: ANN001 - faiss.Index
    """True for a flat index, which holds the vectors and is searched exhaustively."""
    import faiss

    return isinstance(index, faiss.IndexFlat)


def write_bm25(build_dir: Path, name: str, documents: list[str]) -> None:
    """The BM25 index of the rows, and beside it each term's raw counts and each row's length, so
    that a reader can merge a delta's rows into it without tokenizing the base again."""
    counts = bm25_counts(documents)
    path = build_dir / f"bm25-{name}"
    bm25_from_counts(name, counts).save(str(path), show_progress=False)
    np.save(path / "tf.npy", counts.tf.astype(np.int32))
    np.save(path / "lengths.npy", counts.lengths.astype(np.int32))


@dataclass(frozen=True)
class TermCounts:
    """Documents as BM25 sees them: for each (term, document) pair, sorted by term then document,
    how often the term occurs in it; and each document's length in terms."""
    vocab: dict[str, int]  # term -> id
    term: np.ndarray
    doc: np.ndarray
    tf: np.ndarray
    lengths: np.ndarray


def bm25_counts(documents: list[str]) -> TermCounts:
    """Counts of documents of space-separated terms; an empty document gets a placeholder term."""
    docs = [d or "\0" for d in documents] or ["\0"]
    tokens = " ".join(docs).split(" ")
    vocab = {t: i for i, t in enumerate(dict.fromkeys(tokens))}  # in order of first use
    ids = np.fromiter(map(vocab.__getitem__, tokens), dtype=np.int64, count=len(tokens))
    del tokens
    lengths = np.fromiter(map(len, (d.split(" ") for d in docs)), dtype=np.int64, count=len(docs))
    n = len(docs)
    keys, tf = np.unique(ids * n + np.repeat(np.arange(n), lengths), return_counts=True)  # by term, then doc
    return TermCounts(vocab, keys // n, keys % n, tf, lengths)


def bm25_index(name: str, documents: list[str]):  # noqa: ANN201 - bm25s.BM25
    """A BM25 index (bm25s, Lucene variant) over documents of space-separated terms."""
    return bm25_from_counts(name, bm25_counts(documents))


def bm25_from_counts(name: str, counts: TermCounts):  # noqa: ANN201 - bm25s.BM25
    """The BM25 index of counted documents. The score matrix is computed here, vectorized, as
    bm25s's own `index` would compute it (tests compare the two), several times faster on large
    corpora."""
    import bm25s

    k1, b = BM25_PARAMS[name]
    term, doc, tf, lengths, vocab = counts.term, counts.doc, counts.tf, counts.lengths, dict(counts.vocab)
    n = len(lengths)
    df = np.bincount(term, minlength=len(vocab))
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
    tfc = tf / (tf + k1 * (1 - b + b * lengths[doc] / lengths.mean()))  # bm25s leaves out (k1 + 1)
    retriever = bm25s.BM25(k1=k1, b=b)
    retriever.scores = {"data": (idf[term] * tfc).astype(np.float32), "indices": doc.astype(np.int32),
                        "indptr": np.concatenate([[0], np.cumsum(df)]).astype(np.int32), "num_docs": n}
    vocab[""] = len(vocab)  # bm25s's empty token
    retriever.vocab_dict = vocab
    retriever.unique_token_ids_set = set(vocab.values())
    retriever.nonoccurrence_array = None  # the Lucene variant has none
    return retriever


def merged_bm25(build_dir: Path, name: str, keep: np.ndarray, documents: list[str]):  # noqa: ANN201
    """The BM25 index of a base's rows still current (`keep`, ascending) followed by a delta's
    `documents`, from the base's stored counts: the same index as `bm25_index` over all those
    rows' terms. None for a base stored without counts."""
    path = build_dir / f"bm25-{name}"
    if not (path / "tf.npy").exists():
        return None
    base = read_bm25(build_dir, name)
    try:
        tf, lengths = np.load(path / "tf.npy"), np.load(path / "lengths.npy")
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{path} is damaged ({exc}): run `qa index --full` to rebuild") from exc
    indptr, indices = base.scores["indptr"], base.scores["indices"]
    if len(tf) != len(indices) or len(lengths) != base.scores["num_docs"]:
        raise IndexCorruptError(f"{path} is damaged: run `qa index --full` to rebuild")
    terms = [t for t, _ in sorted(base.vocab_dict.items(), key=lambda x: x[1]) if t != ""][:len(indptr) - 1]
    row = np.full(len(lengths), -1, dtype=np.int64)
    row[keep] = np.arange(len(keep))
    doc = row[indices]
    kept = doc >= 0
    term = np.repeat(np.arange(len(terms)), np.diff(indptr))[kept]
    doc, tf = doc[kept], tf[kept].astype(np.int64)
    vocab = {t: i for i, t in enumerate(terms)}
    all_lengths = [lengths[keep].astype(np.int64)]
    if documents:  # the delta's (few) pairs go in after the base's pairs of the same term
        more = bm25_counts(documents)
        ids = np.array([vocab.setdefault(t, len(vocab)) for t in more.vocab], dtype=np.int64)[more.term]
        order = np.lexsort((more.doc, ids))
        at = np.searchsorted(term, ids[order], side="right")
        term, doc = np.insert(term, at, ids[order]), np.insert(doc, at, more.doc[order] + len(keep))
        tf = np.insert(tf, at, more.tf[order])
        all_lengths.append(more.lengths)
    used = np.bincount(term, minlength=len(vocab)) > 0  # terms of removed rows only are gone
    new_id = np.cumsum(used) - 1
    names = list(vocab)
    vocab = {names[i]: int(new_id[i]) for i in np.flatnonzero(used).tolist()}
    return bm25_from_counts(name, TermCounts(vocab, new_id[term], doc, tf, np.concatenate(all_lengths)))


def read_bm25(build_dir: Path, name: str):  # noqa: ANN201 - bm25s.BM25
    import bm25s

    path = build_dir / f"bm25-{name}"
    try:
        return bm25s.BM25.load(str(path), show_progress=False, verbosity=0)
    except (OSError, ValueError, KeyError) as exc:
        raise IndexCorruptError(f"{path} is damaged or missing: run `qa index --full` to rebuild") from exc


def publish(index_dir: Path, tmp_dir: Path, manifest: Manifest, keep: int) -> Path:
    """Make a written build the active one, atomically; prune old builds beyond `keep`."""
    (tmp_dir / "manifest.json").write_text(json.dumps(manifest.__dict__, indent=2), encoding="utf-8")
    for path in tmp_dir.rglob("*"):
        _fsync(path)
    final = builds_dir(index_dir) / manifest.build_id
    os.replace(tmp_dir, final)
    _fsync(builds_dir(index_dir))
    pointer = index_dir / "CURRENT.tmp"
    pointer.write_text(manifest.build_id + "\n", encoding="utf-8")
    _fsync(pointer)
    os.replace(pointer, index_dir / "CURRENT")
    _fsync(index_dir)
    finished = sorted(p for p in builds_dir(index_dir).iterdir() if not p.name.startswith("."))
    for old in [p for p in finished if p.name != manifest.build_id][: max(0, len(finished) - keep)]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_db(build_dir: Path) -> sqlite3.Connection:
    path = build_dir / "db.sqlite"
    if not path.is_file():
        raise IndexCorruptError(f"{path} is missing: run `qa index --full` to rebuild the index")
    db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
    try:
        db.execute("SELECT count(*) FROM articles").fetchone()
    except sqlite3.DatabaseError as exc:
        db.close()
        raise IndexCorruptError(f"{path} is damaged ({exc}): run `qa index --full` to rebuild") from exc
    return db


def read_vectors(build_dir: Path, name: str, expected: int,
                 dimension: int) -> tuple[object, np.ndarray | DiskVectors]:
    """The FAISS index of `name` and its exact vectors, by row: a view of a flat index's own
    storage (an array), or the `<name>.npy` beside an IVF index, read on demand."""
    import faiss

    path = build_dir / f"{name}.faiss"
    try:
        index = faiss.read_index(str(path))
    except RuntimeError as exc:
        raise IndexCorruptError(f"{path} is damaged or missing: run `qa index --full` to rebuild") from exc
    if index.ntotal != expected or index.d != dimension:
        raise IndexCorruptError(f"{path} holds {index.ntotal} vectors of {index.d} dimensions, the "
                                f"manifest says {expected} of {dimension}: run `qa index --full`")
    if is_exact(index):
        n, d = index.ntotal, index.d
        if not n:
            return index, np.zeros((0, d), dtype=np.float32)
        return index, np.asarray(_Owned(index, faiss.rev_swig_ptr(index.get_xb(), n * d).reshape(n, d)))
    return index, DiskVectors(build_dir / f"{name}.npy", expected, dimension)


class DiskVectors:
    """The exact vectors beside an IVF index (`<name>.npy`), read from disk when asked for: a
    query reads a few hundred rows, so a large index's vectors are not held in memory (nor mapped:
    a memory map would count the whole file against the process once it is in the page cache)."""

    def __init__(self, path: Path, rows: int, dimension: int):
        self.path = path
        try:
            self._file = open(path, "rb")  # noqa: SIM115 - kept open for the snapshot's lifetime
            fmt = np.lib.format
            header = fmt.read_array_header_1_0 if fmt.read_magic(self._file) == (1, 0) else fmt.read_array_header_2_0
            shape, fortran, dtype = header(self._file)
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(f"{path} is damaged or missing: run `qa index --full` to rebuild") from exc
        if shape != (rows, dimension) or fortran or dtype != np.float32:
            raise IndexCorruptError(f"{path} holds {shape} {dtype}, the manifest says {rows} x "
                                    f"{dimension} float32: run `qa index --full` to rebuild")
        self.shape, self.dtype, self.ndim = (rows, dimension), np.dtype(np.float32), 2
        self._offset = self._file.tell()
        # Ask the kernel to read the file into its page cache now, in the background (a cold
        # cache would make the first questions wait for the disk); this is not the process's memory.
        os.posix_fadvise(self._file.fileno(), 0, 0, os.POSIX_FADV_WILLNEED)
        self._row_bytes = dimension * 4
        size = os.fstat(self._file.fileno()).st_size
        if size != self._offset + rows * self._row_bytes:
            raise IndexCorruptError(f"{path} is truncated: run `qa index --full` to rebuild")

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        """The vectors of the given rows (an integer array), in that order."""
        rows = np.asarray(rows, dtype=np.int64).ravel()
        if len(rows) and (rows.min() < 0 or rows.max() >= self.shape[0]):
            raise IndexError(f"row out of range for {self.shape[0]} vectors")
        if len(rows) > self.shape[0] // 8:  # most of the file: one read
            return np.asarray(self)[rows]
        out = np.empty((len(rows), self.shape[1]), dtype=np.float32)
        view, fd, size = memoryview(out).cast("B"), self._file.fileno(), self._row_bytes
        for i, row in enumerate(rows.tolist()):
            if os.preadv(fd, [view[i * size:(i + 1) * size]], self._offset + row * size) != size:
                raise IndexCorruptError(f"{self.path} could not be read: run `qa index --full`")
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:  # noqa: ANN001 - numpy's protocol
        data = np.fromfile(self.path, dtype=np.float32, offset=self._offset).reshape(self.shape)
        return data if dtype is None else data.astype(dtype)


class _Owned:
    """An array view of memory that a FAISS index owns; the array keeps the index alive."""

    def __init__(self, owner: object, view: np.ndarray):
        self.owner = owner
        self.__array_interface__ = view.__array_interface__


# Row-level reading and writing. Rows are numbered in insertion order and are the FAISS ids.

def insert_rows(db: sqlite3.Connection, articles: list[Article], sentences: list[Sentence],
                chunks: list[Chunk], files: list[FileRecord], sentence_terms: list[str],
                chunk_terms: list[str], shingles: dict[str, np.ndarray],
                copy_groups: list[list[str]], removed: Iterable[str] = ()) -> None:
    """`*_terms`: each row's BM25 terms joined by spaces, and `shingles`: each article's hashed
    word 4-grams, kept so later builds need not redo them. `copy_groups`: every group of syndicated
    copies in the index, the cited copy first. `removed` (a delta): base articles it replaces."""
    n_sentences = Counter(s.article_id for s in sentences)
    n_chunks = Counter(c.article_id for c in chunks)
    db.executemany("INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", [
        (a.id, a.title, a.published.isoformat() if a.published else None, a.source, a.author,
         a.location, a.url, a.text, a.content_hash, n_sentences[a.id], n_chunks[a.id],
         shingles[a.id].astype("<u4").tobytes()) for a in articles])
    db.executemany("INSERT INTO copies VALUES (?,?,?)",
                   [(member, group[0], i) for group in copy_groups for i, member in enumerate(group)])
    db.executemany("INSERT INTO removed VALUES (?)", [(a,) for a in removed])
    db.executemany("INSERT INTO sentences VALUES (?,?,?,?,?,?,?)", [
        (row, s.article_id, s.ordinal, s.start, s.end, s.content_hash, t)
        for row, (s, t) in enumerate(zip(sentences, sentence_terms))])
    db.executemany("INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?)", [
        (row, c.article_id, c.ordinal, c.first_sentence, c.last_sentence, c.start, c.end, c.token_count, t)
        for row, (c, t) in enumerate(zip(chunks, chunk_terms))])
    db.executemany("INSERT INTO files VALUES (?,?,?,?,?,?)", [
        (f.path, f.size, f.mtime_ns, f.status, f.reason, " ".join(f.article_ids)) for f in files])
    db.commit()


@dataclass(frozen=True, slots=True)
class FileRecord:
    path: str  # relative to the corpus folder
    size: int
    mtime_ns: int
    status: str  # "indexed", "duplicate" or "skipped"
    reason: str
    article_ids: list[str]


def read_articles(db: sqlite3.Connection, counts: tuple[dict[str, int], dict[str, int]] | None = None,
                  ) -> dict[str, Article]:
    """Every article; `counts`: two dicts to fill with each article's sentence and chunk rows."""
    rows = db.execute("SELECT id, title, published, source, author, location, url, text, content_hash, "
                      "n_sentences, n_chunks FROM articles ORDER BY rowid").fetchall()
    days: dict[str | None, date | None] = {None: None, "": None}  # many articles share a day
    for day in {r[2] for r in rows} - days.keys():
        days[day] = date.fromisoformat(day)
    if counts is not None:
        counts[0].update((r[0], r[9]) for r in rows)
        counts[1].update((r[0], r[10]) for r in rows)
    return {r[0]: Article(r[0], r[1], days[r[2]], *r[3:9]) for r in rows}


def read_shingles(db: sqlite3.Connection, ids: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Stored shingle hashes of every article, or of the given ones."""
    rows = (db.execute("SELECT id, shingles FROM articles").fetchall() if ids is None
            else _where_in(db, "SELECT id, shingles FROM articles WHERE id IN ({})", list(ids)))
    return {r[0]: np.frombuffer(r[1], dtype="<u4").astype(np.uint32) for r in rows}


def _where_in(db: sqlite3.Connection, query: str, values: list) -> list[tuple]:
    """The rows of `query`, whose `IN ({})` takes the values (in batches SQLite accepts)."""
    rows: list[tuple] = []
    for i in range(0, len(values), 500):
        part = values[i:i + 500]
        rows += db.execute(query.format(",".join("?" * len(part))), part).fetchall()
    return rows


def read_copy_groups(db: sqlite3.Connection) -> dict[str, tuple[str, ...]]:
    """Article id -> its group of syndicated copies (the cited copy first), for grouped articles."""
    groups: dict[str, list[str]] = {}
    for article_id, first in db.execute("SELECT article_id, copy_of FROM copies ORDER BY copy_of, position"):
        groups.setdefault(first, []).append(article_id)
    return {member: tuple(g) for g in groups.values() for member in g}


def read_removed(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT article_id FROM removed")}


def read_sentences(db: sqlite3.Connection) -> list[Sentence]:
    rows = db.execute('SELECT article_id, ordinal, start, "end", content_hash FROM sentences ORDER BY row')
    ids: dict[str, str] = {}  # one string object per article id, not one per row
    return [Sentence(ids.setdefault(a, a), o, s, e, h) for a, o, s, e, h in rows]


def read_chunks(db: sqlite3.Connection, articles: dict[str, Article]) -> list[Chunk]:
    rows = db.execute('SELECT article_id, ordinal, first_sentence, last_sentence, start, "end", '
                      "token_count FROM chunks ORDER BY row")
    return [Chunk(articles[a].id, o, f, la, s, e, articles[a].text[s:e], t) for a, o, f, la, s, e, t in rows]


def read_terms(db: sqlite3.Connection, table: str) -> list[str] | None:
    """Stored BM25 terms of every row of `sentences` or `chunks`; None if this index has none."""
    try:
        return [r[0] for r in db.execute(f"SELECT terms FROM {table} ORDER BY row")]  # noqa: S608 - fixed names
    except sqlite3.OperationalError:
        return None


def read_files(db: sqlite3.Connection) -> dict[str, FileRecord]:
    rows = db.execute("SELECT path, size, mtime_ns, status, reason, article_ids FROM files")
    return {path: FileRecord(path, size, mtime, status, reason, ids.split())  # ids are hex: no spaces
            for path, size, mtime, status, reason, ids in rows}


@dataclass
class Snapshot:
    """One published build, loaded for reading (queries never touch the disk again, except to
    read the exact vectors of a large index: `DiskVectors`). Base and delta are merged: rows are
    the base's rows that are still current, then the delta's."""
    build_dir: Path
    manifest: Manifest
    articles: dict[str, Article]
    sentences: list[Sentence]  # index = row
    chunks: list[Chunk]
    sentence_index: object  # faiss.Index: flat (exact) or IVF (candidates, see write_vectors)
    chunk_index: object
    sentence_vectors: np.ndarray | DiskVectors | CombinedVectors  # the exact vectors, by row
    chunk_vectors: np.ndarray | DiskVectors | CombinedVectors
    sentence_bm25: object  # bm25s.BM25 (None when loaded for a build)
    chunk_bm25: object
    copies: dict[str, tuple[str, ...]]  # article id -> its syndicated copies, cited one first
    sentence_ids: np.ndarray | None = None  # each row's id in sentence_index (None: the row itself)
    base_rows: tuple[np.ndarray, np.ndarray] | None = None  # base sentence and chunk rows kept (delta)

    def sentence_text(self, row: int) -> str:
        s = self.sentences[row]
        return self.articles[s.article_id].text[s.start:s.end]

    def terms(self, table: str) -> list[str]:
        """Every row's BM25 terms (`sentences` or `chunks`), read from the build's databases."""
        with _database(self.build_dir) as db:
            base = read_terms(db, table)
        if self.base_rows is None:
            return base
        keep = self.base_rows[0 if table == "sentences" else 1]
        with _database(self.build_dir / DELTA) as db:
            return [base[i] for i in keep.tolist()] + read_terms(db, table)


DELTA = "delta"
BASE_FILES = ("db.sqlite", "sentences.faiss", "sentences.npy", "chunks.faiss", "chunks.npy",
              "bm25-sentences", "bm25-chunks", "shingle-hashes.npy", "shingle-owners.npy")


@contextmanager
def _database(db_dir: Path) -> Iterator[sqlite3.Connection]:
    """The database of a build (or of its delta), opened for reading and closed after; rows that
    cannot be read make an `IndexCorruptError`."""
    db = open_db(db_dir)
    try:
        yield db
    except (sqlite3.DatabaseError, KeyError, TypeError) as exc:
        raise IndexCorruptError(f"{db_dir / 'db.sqlite'} is damaged ({exc}): run `qa index --full` to rebuild") from exc
    finally:
        db.close()


@dataclass
class Catalog:
    """What a build holds, without its vectors and shingles: what an update needs to know."""
    articles: dict[str, Article]  # merged, as in Snapshot
    files: dict[str, FileRecord]
    copies: dict[str, tuple[str, ...]]
    base_ids: set[str]  # articles in the base files, replaced or not
    removed: set[str]  # base articles replaced by the delta or removed
    base_sentences: dict[str, int]  # article id -> its rows in the base files
    base_chunks: dict[str, int]


def read_catalog(build_dir: Path) -> Catalog:
    delta = (build_dir / DELTA).is_dir()
    with _database(build_dir) as db:
        base_sentences: dict[str, int] = {}
        base_chunks: dict[str, int] = {}
        articles, copies = read_articles(db, (base_sentences, base_chunks)), read_copy_groups(db)
        files = {} if delta else read_files(db)  # a delta holds the current list
    base_ids, removed = set(articles), set()
    if delta:
        with _database(build_dir / DELTA) as db:
            removed, files, copies = read_removed(db), read_files(db), read_copy_groups(db)
            articles = {k: v for k, v in articles.items() if k not in removed} | read_articles(db)
    return Catalog(articles, files, copies, base_ids, removed, base_sentences, base_chunks)


def read_signatures(build_dir: Path, ids: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """The stored shingles of the build's current articles (base and delta), or of the given ones."""
    wanted = None if ids is None else set(ids)
    delta = build_dir / DELTA
    found: dict[str, np.ndarray] = {}
    if delta.is_dir():
        with _database(delta) as db:
            removed = read_removed(db)
            found = read_shingles(db, wanted)
    else:
        removed = set()
    with _database(build_dir) as db:
        base = read_shingles(db, None if wanted is None else wanted - found.keys())
    return {k: v for k, v in base.items() if k not in removed} | found


def write_postings(build_dir: Path, postings: Postings) -> None:
    """The base's shingle postings, made from the articles in the order they were inserted (an
    owner's position + 1 is its article's rowid)."""
    np.save(build_dir / "shingle-hashes.npy", postings.hashes.astype("<u4"))
    np.save(build_dir / "shingle-owners.npy", postings.owners.astype("<i4"))


def read_postings(build_dir: Path, gone: Iterable[str] = ()) -> Postings | None:
    """The base's shingle postings, read on demand (None for a base written without them);
    `gone`: base articles no longer current. Only the articles found are read from the database."""
    if not (build_dir / "shingle-owners.npy").exists():
        return None
    try:
        hashes = np.load(build_dir / "shingle-hashes.npy", mmap_mode="r")
        owners = np.load(build_dir / "shingle-owners.npy", mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{build_dir} has damaged shingle postings ({exc}): run `qa index --full`") from exc
    if len(hashes) != len(owners):
        raise IndexCorruptError(f"{build_dir} has damaged shingle postings: run `qa index --full`")

    def resolve(positions: np.ndarray) -> tuple[list[str], np.ndarray]:
        rowids = (positions + 1).tolist()  # articles were inserted in postings order: rowid 1, 2, ...
        with _database(build_dir) as db:
            found = {r[0]: (r[1], (r[2] or 0) // 4) for r in _where_in(
                db, "SELECT rowid, id, length(shingles) FROM articles WHERE rowid IN ({})", rowids)}
        if len(found) != len(rowids):
            raise IndexCorruptError(f"{build_dir} has shingle postings of unknown articles: run `qa index --full`")
        return [found[r][0] for r in rowids], np.array([found[r][1] for r in rowids], dtype=np.int64)

    return Postings(hashes, owners, resolve, frozenset(gone))


def read_delta(build_dir: Path, dimension: int) -> tuple[list[Sentence], list[Chunk], np.ndarray, np.ndarray,
                                                         list[str], list[str]]:
    """A build's delta rows (none if it has no delta): sentences, chunks, their vectors and terms."""
    delta = build_dir / DELTA
    if not delta.is_dir():
        empty = np.zeros((0, dimension), dtype=np.float32)
        return [], [], empty, empty, [], []
    with _database(delta) as db:
        _, sentences, chunks, _ = _read_rows(db)
        terms = read_terms(db, "sentences"), read_terms(db, "chunks")
    return (sentences, chunks, _read_npy(delta / "sentences.npy", len(sentences), dimension),
            _read_npy(delta / "chunks.npy", len(chunks), dimension), *terms)


def base_file_sizes(build_dir: Path) -> dict[str, int]:
    """Every base file of a build (relative path -> size in bytes)."""
    sizes = {}
    for name in BASE_FILES:
        path = build_dir / name
        for f in sorted(path.iterdir()) if path.is_dir() else [path] if path.exists() else []:
            sizes[f.relative_to(build_dir).as_posix()] = f.stat().st_size
    return sizes


def check_base(build_dir: Path, manifest: Manifest) -> None:
    """Refuse base files that are missing or not the size they were written at (before a new
    build links them)."""
    for name, size in manifest.base_files.items():
        try:
            actual = (build_dir / name).stat().st_size
        except OSError:
            actual = None
        if actual != size:
            raise IndexCorruptError(f"{build_dir / name} is damaged or missing: run `qa index --full`")


def load_snapshot(index_dir: Path, model: str | None = None, bm25: bool = True) -> Snapshot:
    """Load the active build; refuse a damaged one or one built with another model. `bm25=False`
    leaves out the BM25 indexes (None), which only queries need."""
    return load_snapshot_dir(current_build_dir(index_dir), model, bm25)


def load_snapshot_dir(build_dir: Path, model: str | None = None, bm25: bool = True) -> Snapshot:
    manifest = read_manifest(build_dir)
    if model is not None and manifest.model != model:
        raise IndexMismatchError(f"the index was built with model {manifest.model!r} but "
                                 f"{model!r} is configured: run `qa index` to rebuild it")
    with _database(build_dir) as db:
        articles, sentences, chunks, copies = _read_rows(db)
    dim = manifest.dimension
    sentence_index, sentence_vectors = read_vectors(build_dir, "sentences", manifest.base_sentences, dim)
    chunk_index, chunk_vectors = read_vectors(build_dir, "chunks", manifest.base_chunks, dim)
    if (len(sentences), len(chunks)) != (manifest.base_sentences, manifest.base_chunks):
        raise IndexCorruptError(f"{build_dir} does not match its manifest: run `qa index --full`")
    ids, base_rows, delta = None, None, build_dir / DELTA
    if delta.is_dir():
        with _database(delta) as db:
            more_articles, more_sentences, more_chunks, copies = _read_rows(db)
            removed = read_removed(db)
            more_terms = (read_terms(db, "sentences"), read_terms(db, "chunks")) if bm25 else None
        keep_s = np.flatnonzero([s.article_id not in removed for s in sentences])
        keep_c = np.flatnonzero([c.article_id not in removed for c in chunks])
        articles = {k: v for k, v in articles.items() if k not in removed} | more_articles
        sentences = [sentences[i] for i in keep_s.tolist()] + more_sentences
        chunks = [chunks[i] for i in keep_c.tolist()] + more_chunks
        sentence_index, sentence_vectors, ids = _merge_vectors(
            sentence_index, sentence_vectors, keep_s, _read_npy(delta / "sentences.npy", len(more_sentences), dim))
        chunk_index, chunk_vectors, _ = _merge_vectors(
            chunk_index, chunk_vectors, keep_c, _read_npy(delta / "chunks.npy", len(more_chunks), dim))
        base_rows = (keep_s, keep_c)
    if (len(articles), len(sentences), len(chunks)) != (manifest.articles, manifest.sentences, manifest.chunks):
        raise IndexCorruptError(f"{build_dir} does not match its manifest: run `qa index --full`")
    snap = Snapshot(build_dir, manifest, articles, sentences, chunks, sentence_index, chunk_index,
                    sentence_vectors, chunk_vectors, None, None, copies, ids, base_rows)
    if bm25 and base_rows is None:
        snap.sentence_bm25, snap.chunk_bm25 = read_bm25(build_dir, "sentences"), read_bm25(build_dir, "chunks")
    elif bm25:  # base and delta together: one BM25 over both, with the statistics of both
        for table, keep, documents in zip(("sentences", "chunks"), base_rows, more_terms):
            index = merged_bm25(build_dir, table, keep, documents) or bm25_index(table, snap.terms(table))
            setattr(snap, f"{table[:-1]}_bm25", index)
    return snap


def _read_rows(db: sqlite3.Connection) -> tuple[dict[str, Article], list[Sentence], list[Chunk],
                                                dict[str, tuple[str, ...]]]:
    articles = read_articles(db)
    return articles, read_sentences(db), read_chunks(db, articles), read_copy_groups(db)


def _read_npy(path: Path, rows: int, dimension: int) -> np.ndarray:
    try:
        data = np.load(path)
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{path} is damaged or missing: run `qa index --full` to rebuild") from exc
    if data.shape != (rows, dimension) or data.dtype != np.float32:
        raise IndexCorruptError(f"{path} holds {data.shape} {data.dtype}, expected {rows} x {dimension} "
                                "float32: run `qa index --full` to rebuild")
    return data


def _merge_vectors(index, vectors, keep: np.ndarray, extra: np.ndarray):  # noqa: ANN001, ANN202
    """Base vectors still current (`keep`) and a delta's, as (index, exact vectors by row, each
    row's id in the index or None). A flat base becomes a new flat index of exactly those rows;
    an IVF base gets the delta's vectors added under new ids, and its replaced rows are never
    mapped to a row."""
    import faiss

    if is_exact(index):
        merged = np.concatenate([np.asarray(vectors)[keep], extra])
        flat = faiss.IndexFlatIP(merged.shape[1])
        if len(merged):
            flat.add(merged)
            return flat, np.asarray(_Owned(flat, faiss.rev_swig_ptr(flat.get_xb(), merged.size).reshape(merged.shape))), None
        return flat, merged, None
    new_ids = index.ntotal + np.arange(len(extra), dtype=np.int64)
    if len(extra):
        index.add_with_ids(extra, new_ids)
    return index, CombinedVectors(vectors, keep, extra), np.concatenate([keep, new_ids])


class CombinedVectors:
    """The rows of a large base that are still current, then a delta's rows (held in memory)."""

    def __init__(self, base: DiskVectors, keep: np.ndarray, extra: np.ndarray):
        self.base, self.keep, self.extra = base, keep, extra
        self.shape, self.dtype, self.ndim = (len(keep) + len(extra), base.shape[1]), np.dtype(np.float32), 2

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64).ravel()
        out = np.empty((len(rows), self.shape[1]), dtype=np.float32)
        in_base = rows < len(self.keep)
        out[in_base] = self.base[self.keep[rows[in_base]]]
        out[~in_base] = self.extra[rows[~in_base] - len(self.keep)]
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:  # noqa: ANN001 - numpy's protocol
        data = np.concatenate([np.asarray(self.base)[self.keep], self.extra])
        return data if dtype is None else data.astype(dtype)


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


def write_delta_vectors(delta_dir: Path, name: str, vectors: np.ndarray) -> None:
    with open(delta_dir / f"{name}.npy", "wb") as f:
        np.save(f, np.ascontiguousarray(vectors, dtype=np.float32))
