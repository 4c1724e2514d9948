"""`qa index` into PostgreSQL: incremental by content, one transaction per build.

The corpus is scanned as for the folder index (a file unchanged since the last build is not read
again); the articles added or changed are split, chunked and embedded before the transaction
opens, so that it stays short. The transaction then deletes the rows of changed and removed
articles, inserts the new ones with their postings, adjusts the term statistics and publishes the
new build id: readers see the old build or the new one, never half of either. A killed build's
transaction is rolled back by the server. One build at a time, through an advisory lock.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from qa import syndication
from qa.articles import Article
from qa.embedding import Embedder, Progress
from qa.errors import BuildLockedError, DatabaseError, IndexMismatchError
from qa.indexing.plan import Plan
from qa.indexing.report import BuildReport
from qa.indexing.rows import cited_first, make_rows
from qa.indexing.scan import diff, fingerprint, require_corpus, scan
from qa.postgres import schema
from qa.postgres.connect import connect, psycopg_module, reason
from qa.postgres.records import article_from, article_meta
from qa.postgres.schema import BuildMeta
from qa.settings import Settings
from qa.store import Catalog, FileRecord, IndexConfig
from qa.store.db import RowSet

if TYPE_CHECKING:
    from psycopg import Connection

LOCK_KEY = 0x71612D696E646578  # "qa-index": the advisory lock builds take


def build_database(settings: Settings, embedder: Embedder, *, full: bool = False,
                   progress: Progress | None = None, wait: bool = False) -> BuildReport:
    """Build or update the index of `settings.corpus_dir` in the database `settings.database_url`."""
    started = time.perf_counter()
    require_corpus(settings.corpus_dir)
    pg = psycopg_module()
    conn = connect(settings.database_url, autocommit=True, create_extension=True)
    try:
        _lock(conn, wait)
        return _build(conn, settings, embedder, full, progress, started)
    except pg.OperationalError as exc:
        raise DatabaseError(f"the index database went away during the build ({reason(exc)}); "
                            "the previous build still answers") from exc
    finally:
        conn.close()  # the advisory lock goes with the session


def _lock(conn: Connection, wait: bool) -> None:
    if wait:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
    elif not conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]:
        raise BuildLockedError("another build of the index database is running; wait for it to finish "
                               "and try again (or use --wait)")


def _build(conn: Connection, settings: Settings, embedder: Embedder, full: bool,
           progress: Progress | None, started: float) -> BuildReport:
    has_schema = schema.exists(conn)
    stored_config = schema.read_meta(conn, "config") if has_schema else None
    stored = IndexConfig(**stored_config) if stored_config else None
    same_model = stored is not None and stored.model == embedder.model_id
    dimension = stored.dimension if same_model else embedder.dimension
    config = IndexConfig.of(settings, embedder.model_id, dimension)
    rebuild_reason = "requested (--full)" if full else "no previous index" if stored is None else None
    if rebuild_reason is None and (changes := stored.changes(config)):
        raise IndexMismatchError(f"the index database was built with other settings ({', '.join(changes)}): "
                                 "run `qa index --full` to rebuild it")
    fresh = rebuild_reason is not None
    previous, files = ({}, {}) if fresh else _catalog(conn)
    found = scan(settings.corpus_dir, settings.max_file_bytes, None if fresh else Catalog(
        articles=previous, files=files, copies={}, base_ids=set(), removed=set(), base_sentences={},
        base_chunks={}))
    changes = diff(found.articles, previous)
    corpus = fingerprint((f.path, f.size, f.mtime_ns) for f in found.files)
    build = None if fresh else schema.read_build(conn)
    report = dict(added=changes.added, changed=changes.changed, removed=changes.removed,
                  unchanged=changes.unchanged, skipped=found.skipped, duplicates=found.duplicates,
                  full_rebuild_reason=rebuild_reason, delta=not fresh)
    if build is not None and not changes and build.corpus_fingerprint == corpus:
        return BuildReport(build_id=None, articles=build.articles, sentences=build.sentences,
                           chunks=build.chunks, embedded=0, copy_groups=0,
                           seconds=time.perf_counter() - started, **report)
    current = {a.id: a for a in found.articles}
    todo = [a for a in found.articles if previous.get(a.id) != a]
    gone = [i for i, a in previous.items() if current.get(i) != a]
    signatures = {} if fresh else _signatures(conn, [i for i in current if i in previous and i not in gone])
    signatures |= {a.id: syndication.shingles(a.text) for a in todo}
    groups = syndication.copy_groups({i: signatures[i] for i in current}, order=cited_first(current))
    rows = make_rows(settings, embedder, Plan(write=todo, delta=False), None, config.dimension,
                     {a.id: signatures[a.id] for a in todo}, progress)
    with conn.transaction():
        # A whole index is written beside the one answering, which keeps answering until the swap at
        # the end; an update changes the answering tables. Either way, nothing shows before the commit.
        if fresh:
            schema.create(conn, schema.NEXT, config.dimension)
        schema.use(conn, schema.NEXT if fresh else schema.SCHEMA)
        meta = build or BuildMeta.empty()
        df = _delete(conn, gone)
        meta, added = _insert(conn, rows.rows, rows.sentence_vectors, rows.chunk_vectors, meta)
        _count_terms(conn, df, added)
        for table in ("sentences", "chunks"):
            _write_lists(conn, table, set(df[table]) | set(added[table]))
        conn.execute("DELETE FROM copies")
        _copy(conn, "copies (article, group_id, position)",
              [(a, g, i) for g, group in enumerate(groups) for i, a in enumerate(group)])
        conn.execute("DELETE FROM files")
        _copy(conn, "files (path, size, mtime_ns, status, reason, article_ids)",
              [(f.path, f.size, f.mtime_ns, f.status, f.reason, json.dumps(f.article_ids))
               for f in found.files])
        meta = _publish(conn, meta, corpus, config)
        if fresh:
            schema.create_hnsw(conn, meta.sentences, config.dimension)  # once the rows are in: much faster
            schema.swap(conn)
    conn.execute("VACUUM (ANALYZE) qa.articles, qa.sentences, qa.chunks, qa.terms, qa.sentence_postings, "
                 "qa.chunk_postings")  # statistics for the planner; index-only scans of the postings
    return BuildReport(build_id=meta.build_id, articles=meta.articles, sentences=meta.sentences,
                       chunks=meta.chunks, embedded=rows.embedded, copy_groups=len(groups),
                       seconds=time.perf_counter() - started, **report)


def _catalog(conn: Connection) -> tuple[dict[str, Article], dict[str, FileRecord]]:
    articles = {i: article_from(i, meta, text, h) for i, meta, text, h in conn.execute(
        "SELECT id, meta, text, content_hash FROM qa.articles")}
    files = {p: FileRecord(path=p, size=size, mtime_ns=mtime, status=status, reason=why, article_ids=ids)
             for p, size, mtime, status, why, ids in conn.execute(
                 "SELECT path, size, mtime_ns, status, reason, article_ids FROM qa.files")}
    return articles, files


def _signatures(conn: Connection, ids: list[str]) -> dict[str, np.ndarray]:
    return {i: np.frombuffer(s, dtype="<u4").astype(np.uint32) for i, s in conn.execute(
        "SELECT id, shingles FROM qa.articles WHERE id = ANY(%s)", (ids,))}


def _delete(conn: Connection, gone: list[str]) -> dict[str, Counter[int]]:
    """Remove the rows of the articles `gone`; how many rows of each table held each term."""
    out: dict[str, Counter[int]] = {"sentences": Counter(), "chunks": Counter()}
    if not gone:
        return out
    pks = [p for (p,) in conn.execute("SELECT pk FROM articles WHERE id = ANY(%s)", (gone,))]
    for table in ("sentences", "chunks"):
        rows = [r for (r,) in conn.execute(f"DELETE FROM {table} WHERE article = ANY(%s) RETURNING row",
                                           (pks,))]
        out[table].update(t for (t,) in conn.execute(
            f"DELETE FROM {table[:-1]}_postings WHERE row = ANY(%s) RETURNING term", (rows,)))
    conn.execute("DELETE FROM articles WHERE pk = ANY(%s)", (pks,))
    return out


def _insert(conn: Connection, rows: RowSet, sentence_vectors: np.ndarray, chunk_vectors: np.ndarray,
            meta: BuildMeta) -> tuple[BuildMeta, dict[str, Counter[int]]]:
    """Insert the new rows (numbered after every row so far) with their postings; the meta with
    the next free numbers, and for each table how many new rows hold each term."""
    from psycopg.types.json import Jsonb

    pk = {a.id: meta.next_article + i for i, a in enumerate(rows.articles)}
    n_sentences = Counter(s.article_id for s in rows.sentences)
    n_chunks = Counter(c.article_id for c in rows.chunks)
    _copy(conn, "articles (pk, id, meta, text, published, content_hash, sentences, chunks, shingles)",
          [(pk[a.id], a.id, Jsonb(article_meta(a)), a.text, a.published, a.content_hash, n_sentences[a.id],
            n_chunks[a.id], rows.shingles[a.id].astype("<u4").tobytes()) for a in rows.articles])
    first_chunk: dict[str, int] = {}
    for j, c in enumerate(rows.chunks):
        first_chunk.setdefault(c.article_id, meta.next_chunk + j)
    holders: dict[tuple[str, int], list[int]] = {}
    for j, c in enumerate(rows.chunks):
        for ordinal in range(c.first_sentence, c.last_sentence + 1):
            holders.setdefault((c.article_id, ordinal), []).append(meta.next_chunk + j)
    published = {a.id: a.published for a in rows.articles}
    text = {a.id: a.text for a in rows.articles}
    sentence_rows = []
    n = len(rows.sentences)
    for i, s in enumerate(rows.sentences):
        row = meta.next_sentence + i
        held = holders.get((s.article_id, s.ordinal), [-1])
        last = i + 1 == n or rows.sentences[i + 1].ordinal == 0
        day = published[s.article_id]
        sentence_rows.append((row, pk[s.article_id], s.ordinal, s.start, s.end,
                              text[s.article_id][s.start:s.end], _length(rows.sentence_terms[i]),
                              day.toordinal() if day else None, min(held), max(held),
                              row - 1 if s.ordinal > 0 else -1, -1 if last else row + 1, sentence_vectors[i]))
    _copy(conn, "sentences (row, article, ordinal, start_at, end_at, text, terms, day, chunk_lo, chunk_hi, "
          "prev, next, embedding)", sentence_rows,
          ["int8", "int8", "int4", "int4", "int4", "text", "int4", "int4", "int8", "int8", "int8", "int8",
           "vector"])
    _copy(conn, "chunks (row, article, ordinal, first_sentence, last_sentence, start_at, end_at, "
          "token_count, text, terms, embedding)",
          [(meta.next_chunk + j, pk[c.article_id], c.ordinal, c.first_sentence, c.last_sentence, c.start,
            c.end, c.token_count, c.text, _length(rows.chunk_terms[j]), chunk_vectors[j])
           for j, c in enumerate(rows.chunks)],
          ["int8", "int8", "int4", "int4", "int4", "int4", "int4", "int4", "text", "int4", "vector"])
    terms = {"sentences": rows.sentence_terms, "chunks": rows.chunk_terms}
    ids = _term_ids(conn, {t for table in terms.values() for line in table for t in line.split(" ") if t})
    holding: dict[str, Counter[int]] = {}
    for table, first in (("sentences", meta.next_sentence), ("chunks", meta.next_chunk)):
        postings = []
        for i, line in enumerate(terms[table]):
            length = _length(line)
            postings += [(ids[t], first + i, tf, length) for t, tf in Counter(line.split(" ")).items() if t]
        _copy(conn, f"{table[:-1]}_postings (term, row, tf, len)", postings, ["int4", "int8", "int4", "int4"])
        holding[table] = Counter(p[0] for p in postings)
    meta = BuildMeta(**asdict(meta) | {"next_article": meta.next_article + len(rows.articles),
                                       "next_sentence": meta.next_sentence + len(rows.sentences),
                                       "next_chunk": meta.next_chunk + len(rows.chunks)})
    return meta, holding


def _term_ids(conn: Connection, wanted: set[str]) -> dict[str, int]:
    """Each term's id; a term new to the index is added (held by no row yet)."""
    ids = dict(conn.execute("SELECT term, id FROM terms WHERE term = ANY(%s)", (sorted(wanted),)))
    new = sorted(wanted - ids.keys())
    if new:
        start = conn.execute("SELECT coalesce(max(id) + 1, 0) FROM terms").fetchone()[0]
        ids |= {t: start + i for i, t in enumerate(new)}
        _copy(conn, "terms (id, term, df_sentences, df_chunks)", [(ids[t], t, 0, 0) for t in new])
    return ids


def _count_terms(conn: Connection, removed: dict[str, Counter[int]],
                 added: dict[str, Counter[int]]) -> None:
    """Bring each term's number of sentences and chunks holding it up to date."""
    for table in ("sentences", "chunks"):
        change = Counter(added[table])
        change.subtract(removed[table])
        ids = [t for t, n in change.items() if n]
        if ids:
            conn.execute(f"UPDATE terms t SET df_{table} = t.df_{table} + d.n "
                         "FROM unnest(%s::int[], %s::int[]) AS d(id, n) WHERE t.id = d.id",
                         (ids, [change[t] for t in ids]))


def _write_lists(conn: Connection, table: str, terms: set[int]) -> None:
    """Rewrite the posting lists of `terms` from the table's postings (a term held by no row
    any more loses its list)."""
    if not terms:
        return
    name = table[:-1]
    ids = sorted(terms)
    conn.execute(f"DELETE FROM {name}_lists WHERE term = ANY(%s)", (ids,))
    term, row, tf, length = _read_postings(conn, f"SELECT term, row, tf, len FROM {name}_postings "
                                                 "WHERE term = ANY(%s) ORDER BY term, row", (ids,))
    starts = np.flatnonzero(np.r_[True, term[1:] != term[:-1]]) if len(term) else np.zeros(0, np.int64)
    ends = np.r_[starts[1:], len(term)]
    _copy(conn, f"{name}_lists (term, rows, tfs, lens)",
          [(int(term[a]), row[a:b].astype("<i8").tobytes(), tf[a:b].astype("<i4").tobytes(),
            length[a:b].astype("<i4").tobytes())
           for a, b in zip(starts.tolist(), ends.tolist(), strict=True)],
          ["int4", "bytea", "bytea", "bytea"])


_POSTING = np.dtype([("fields", ">i2"), ("n0", ">i4"), ("term", ">i4"), ("n1", ">i4"), ("row", ">i8"),
                     ("n2", ">i4"), ("tf", ">i4"), ("n3", ">i4"), ("len", ">i4")])


def _read_postings(conn: Connection, query: str, params: tuple) -> tuple[np.ndarray, ...]:
    """(term, row, tf, len) of the query's postings, read with a binary COPY (fixed-width tuples)."""
    data = bytearray()
    with conn.cursor() as cur, cur.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)", params) as copy:
        for block in copy:
            data += block
    body = memoryview(data)[19:len(data) - 2]  # the header (signature, flags, extension) and trailer
    tuples = np.frombuffer(body, dtype=_POSTING)
    return tuple(tuples[f].astype(np.int64) for f in ("term", "row", "tf", "len"))


def _publish(conn: Connection, meta: BuildMeta, corpus: str, config: IndexConfig) -> BuildMeta:
    """Record the new build (its counts and BM25's mean lengths): the commit makes it the one that answers."""
    count = "SELECT count(*), coalesce(avg(terms), 1) FROM {}"
    sentences, sentence_length = conn.execute(count.format("sentences")).fetchone()
    chunks, chunk_length = conn.execute(count.format("chunks")).fetchone()
    articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    build_id = time.strftime("%Y%m%d-%H%M%S") + f"-pg{time.monotonic_ns() % 10**6:06d}"
    meta = BuildMeta(**asdict(meta) | {
        "build_id": build_id, "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "articles": int(articles), "sentences": int(sentences), "chunks": int(chunks),
        "corpus_fingerprint": corpus,
        "sentence_length": float(sentence_length), "chunk_length": float(chunk_length)})
    schema.write_meta(conn, "config", asdict(config))
    schema.write_meta(conn, "build", asdict(meta))
    return meta


def _copy(conn: Connection, target: str, rows: Sequence[tuple], types: list[str] | None = None) -> None:
    """COPY rows into `target` (binary with the given column types, else text)."""
    if not rows:
        return
    binary = " WITH (FORMAT BINARY)" if types else ""
    with conn.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN{binary}") as copy:
        if types:
            copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def _length(terms: str) -> int:
    """A row's length in BM25 terms (an empty row counts one placeholder term, as `count_terms` does)."""
    return len(terms.split(" ")) if terms else 1
