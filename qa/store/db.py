"""A build's SQLite database (`db.sqlite`, and `delta/db.sqlite`): rows in, rows out.

Tables: articles (with their hashed word 4-grams), the syndication groups, sentences and chunks
(numbered in insertion order: a row number is the row's FAISS id), each row's BM25 terms, the
corpus files the build read, and, in a delta, the base articles it replaces or removes. Reading is
read-only and immutable; a row that cannot be read is an `IndexCorruptError`.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from qa.articles import Article, Heading
from qa.chunking import Chunk
from qa.errors import IndexCorruptError
from qa.sentences import Sentence

SCHEMA = """
CREATE TABLE articles (id TEXT PRIMARY KEY, title TEXT, published TEXT, source TEXT, authors TEXT,
    place TEXT, language TEXT, location TEXT, url TEXT, standfirst TEXT, text TEXT, headings TEXT,
    content_hash TEXT, n_sentences INTEGER, n_chunks INTEGER, shingles BLOB);
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


@dataclass(frozen=True, slots=True, kw_only=True)
class FileRecord:
    """A corpus file as a build read it."""
    path: str  # relative to the corpus folder
    size: int
    mtime_ns: int
    status: str  # "indexed", "duplicate" or "skipped"
    reason: str
    article_ids: list[str]


@dataclass(frozen=True, kw_only=True)
class RowSet:
    """The rows a build writes: articles, their sentences and chunks (in row order) with each row's
    BM25 terms joined by spaces, and each article's hashed word 4-grams (kept so that later builds
    need not hash them again)."""
    articles: list[Article]
    sentences: list[Sentence]
    chunks: list[Chunk]
    sentence_terms: list[str]
    chunk_terms: list[str]
    shingles: dict[str, np.ndarray]


def create_db(db_dir: Path) -> sqlite3.Connection:
    db = sqlite3.connect(db_dir / "db.sqlite")
    db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + SCHEMA)
    return db


def open_db(db_dir: Path) -> sqlite3.Connection:
    path = db_dir / "db.sqlite"
    if not path.is_file():
        raise IndexCorruptError(f"{path} is missing: run `qa index --full` to rebuild the index")
    db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
    try:
        db.execute("SELECT count(*) FROM articles").fetchone()
    except sqlite3.DatabaseError as exc:
        db.close()
        raise IndexCorruptError(f"{path} is damaged ({exc}): run `qa index --full` to rebuild") from exc
    return db


@contextmanager
def database(db_dir: Path) -> Iterator[sqlite3.Connection]:
    """The database of a build (or of its delta), opened for reading and closed after; rows that
    cannot be read make an `IndexCorruptError`."""
    db = open_db(db_dir)
    try:
        yield db
    except (sqlite3.DatabaseError, KeyError, TypeError, ValueError) as exc:
        raise IndexCorruptError(f"{db_dir / 'db.sqlite'} is damaged ({exc}): "
                                "run `qa index --full` to rebuild") from exc
    finally:
        db.close()


def write_rows(db_dir: Path, rows: RowSet, files: list[FileRecord], copy_groups: list[list[str]],
               removed: Iterable[str] = ()) -> None:
    """A new database holding `rows`, the corpus `files`, every group of syndicated copies in the
    index (the cited copy first) and, for a delta, the base articles it replaces (`removed`)."""
    db = create_db(db_dir)
    try:
        _insert(db, rows, files, copy_groups, removed)
    finally:
        db.close()


def _insert(db: sqlite3.Connection, rows: RowSet, files: list[FileRecord], copy_groups: list[list[str]],
            removed: Iterable[str]) -> None:
    n_sentences = Counter(s.article_id for s in rows.sentences)
    n_chunks = Counter(c.article_id for c in rows.chunks)
    db.executemany("INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", [
        (a.id, a.title, a.published.isoformat() if a.published else None, a.source, json.dumps(a.authors),
         a.place, a.language, a.location, a.url, a.standfirst, a.text,
         json.dumps([[h.text, h.start, h.end] for h in a.headings]), a.content_hash, n_sentences[a.id],
         n_chunks[a.id], rows.shingles[a.id].astype("<u4").tobytes()) for a in rows.articles])
    db.executemany("INSERT INTO copies VALUES (?,?,?)",
                   [(member, group[0], i) for group in copy_groups for i, member in enumerate(group)])
    db.executemany("INSERT INTO removed VALUES (?)", [(a,) for a in removed])
    db.executemany("INSERT INTO sentences VALUES (?,?,?,?,?,?,?)", [
        (row, s.article_id, s.ordinal, s.start, s.end, s.content_hash, t)
        for row, (s, t) in enumerate(zip(rows.sentences, rows.sentence_terms, strict=True))])
    db.executemany("INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?)", [
        (row, c.article_id, c.ordinal, c.first_sentence, c.last_sentence, c.start, c.end, c.token_count, t)
        for row, (c, t) in enumerate(zip(rows.chunks, rows.chunk_terms, strict=True))])
    db.executemany("INSERT INTO files VALUES (?,?,?,?,?,?)", [
        (f.path, f.size, f.mtime_ns, f.status, f.reason, " ".join(f.article_ids)) for f in files])
    db.commit()


def read_articles(db: sqlite3.Connection, counts: tuple[dict[str, int], dict[str, int]] | None = None,
                  ) -> dict[str, Article]:
    """Every article; `counts`: two dicts to fill with each article's sentence and chunk rows."""
    rows = db.execute("SELECT id, title, published, source, authors, place, language, location, url, "
                      "standfirst, text, headings, content_hash, n_sentences, n_chunks "
                      "FROM articles ORDER BY rowid").fetchall()
    days: dict[str | None, date | None] = {None: None, "": None}  # many articles share a day
    for day in {r[2] for r in rows} - days.keys():
        days[day] = date.fromisoformat(day)
    if counts is not None:
        counts[0].update((r[0], r[13]) for r in rows)
        counts[1].update((r[0], r[14]) for r in rows)
    return {r[0]: Article(id=r[0], title=r[1], published=days[r[2]], source=r[3],
                          authors=tuple(json.loads(r[4])), place=r[5], language=r[6], location=r[7],
                          url=r[8], standfirst=r[9], text=r[10],
                          headings=tuple(Heading(*h) for h in json.loads(r[11])), content_hash=r[12])
            for r in rows}


def read_shingles(db: sqlite3.Connection, ids: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Stored shingle hashes of every article, or of the given ones."""
    rows = (db.execute("SELECT id, shingles FROM articles").fetchall() if ids is None
            else where_in(db, "SELECT id, shingles FROM articles WHERE id IN ({})", list(ids)))
    return {r[0]: np.frombuffer(r[1], dtype="<u4").astype(np.uint32) for r in rows}


def where_in(db: sqlite3.Connection, query: str, values: list) -> list[tuple]:
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


def read_chunks(db: sqlite3.Connection, articles: dict[str, Article], texts: bool = True) -> list[Chunk]:
    """The chunks, in row order; `texts=False` leaves their texts empty (what queries read)."""
    rows = db.execute('SELECT article_id, ordinal, first_sentence, last_sentence, start, "end", '
                      "token_count FROM chunks ORDER BY row")
    return [Chunk(article_id=articles[a].id, ordinal=o, first_sentence=f, last_sentence=la, start=s, end=e,
                  text=articles[a].text[s:e] if texts else "", token_count=t)
            for a, o, f, la, s, e, t in rows]


def read_terms(db: sqlite3.Connection, table: str) -> list[str]:
    """Stored BM25 terms of every row of `sentences` or `chunks`, in row order."""
    if table not in ("sentences", "chunks"):
        raise ValueError(f"no such table {table!r}")
    return [r[0] for r in db.execute(f"SELECT terms FROM {table} ORDER BY row")]  # noqa: S608 - fixed names


def read_files(db: sqlite3.Connection) -> dict[str, FileRecord]:
    rows = db.execute("SELECT path, size, mtime_ns, status, reason, article_ids FROM files")
    return {path: FileRecord(path=path, size=size, mtime_ns=mtime, status=status, reason=reason,
                             article_ids=ids.split())  # ids are hex: no spaces
            for path, size, mtime, status, reason, ids in rows}
