"""The index's tables in PostgreSQL (schema `qa`), and the metadata row that says which build answers.

One build is one transaction (`qa.postgres.writer`): readers see the previous build or the new one.
A whole index is written in schema `qa_next`, then swapped in, so readers go on meanwhile.

- `meta`: `config` (the `IndexConfig` the index was written with) and `build` (build id, counts,
  the mean row lengths BM25 needs, the next free row numbers).
- `articles`: one row per article (`pk` never reused), its metadata as JSON, text and shingles.
- `sentences`, `chunks`: rows numbered by `row` (never reused; an article's rows are consecutive),
  with the vector, the row's length in BM25 terms, and for sentences the chunk rows holding it,
  its neighbours in its article (-1: none) and the publication day (proleptic ordinal).
- `terms`: every BM25 term with the number of sentences and of chunks holding it.
- `sentence_postings`, `chunk_postings`: (term, row) -> count, with the row's length, covering
  the primary key so that a query's postings are read from the index alone.
- `sentence_lists`, `chunk_lists`: the same postings as one list per term (rows int64, counts and
  lengths int32, little-endian, stored uncompressed): what a question's BM25 reads, in one fetch
  per table, scored by the app. The writer rewrites the lists of the terms a build touches.
- `copies`: the groups of syndicated copies, cited copy first; `files`: the corpus files read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

SCHEMA = "qa"  # the index that answers
NEXT = "qa_next"  # a whole index being written, renamed to SCHEMA when it is complete
HNSW_M, HNSW_EF_CONSTRUCTION = 16, 64
HNSW_MEMORY_MB = 8192  # the most a build asks for its HNSW graph (maintenance_work_mem)

# Posting lists are stored out of line (read whole, never searched); vectors in the row (pgvector
# would move one to TOAST when its row passes 2 kB, as a chunk's does: a second lookup per cosine).
_DDL = """
CREATE TABLE meta (key text PRIMARY KEY, value jsonb NOT NULL);
CREATE TABLE articles (pk bigint PRIMARY KEY, id text NOT NULL UNIQUE, meta jsonb NOT NULL,
    text text NOT NULL, published date, content_hash text NOT NULL, sentences int NOT NULL,
    chunks int NOT NULL, shingles bytea NOT NULL);
CREATE TABLE files (path text PRIMARY KEY, size bigint NOT NULL, mtime_ns bigint NOT NULL,
    status text NOT NULL, reason text NOT NULL, article_ids jsonb NOT NULL);
CREATE TABLE copies (article text PRIMARY KEY, group_id int NOT NULL, position int NOT NULL);
CREATE TABLE sentences (row bigint PRIMARY KEY, article bigint NOT NULL, ordinal int NOT NULL,
    start_at int NOT NULL, end_at int NOT NULL, text text NOT NULL, terms int NOT NULL, day int,
    chunk_lo bigint NOT NULL, chunk_hi bigint NOT NULL, prev bigint NOT NULL, next bigint NOT NULL,
    embedding vector({dim}) NOT NULL);
CREATE INDEX ON sentences (article);
CREATE INDEX ON sentences (day);
CREATE TABLE chunks (row bigint PRIMARY KEY, article bigint NOT NULL, ordinal int NOT NULL,
    first_sentence int NOT NULL, last_sentence int NOT NULL, start_at int NOT NULL, end_at int NOT NULL,
    token_count int NOT NULL, text text NOT NULL, terms int NOT NULL, embedding vector({dim}) NOT NULL);
CREATE INDEX ON chunks (article);
CREATE TABLE terms (id int PRIMARY KEY, term text NOT NULL UNIQUE, df_sentences int NOT NULL,
    df_chunks int NOT NULL);
CREATE TABLE sentence_postings (term int NOT NULL, row bigint NOT NULL, tf int NOT NULL,
    len int NOT NULL, PRIMARY KEY (term, row) INCLUDE (tf, len));
CREATE INDEX ON sentence_postings (row);
CREATE TABLE chunk_postings (term int NOT NULL, row bigint NOT NULL, tf int NOT NULL,
    len int NOT NULL, PRIMARY KEY (term, row) INCLUDE (tf, len));
CREATE INDEX ON chunk_postings (row);
CREATE TABLE sentence_lists (term int PRIMARY KEY, rows bytea NOT NULL, tfs bytea NOT NULL,
    lens bytea NOT NULL);
CREATE TABLE chunk_lists (term int PRIMARY KEY, rows bytea NOT NULL, tfs bytea NOT NULL,
    lens bytea NOT NULL);
ALTER TABLE sentence_lists ALTER rows SET STORAGE EXTERNAL, ALTER tfs SET STORAGE EXTERNAL,
    ALTER lens SET STORAGE EXTERNAL;
ALTER TABLE chunk_lists ALTER rows SET STORAGE EXTERNAL, ALTER tfs SET STORAGE EXTERNAL,
    ALTER lens SET STORAGE EXTERNAL;
ALTER TABLE sentences ALTER embedding SET STORAGE MAIN;
ALTER TABLE chunks ALTER embedding SET STORAGE MAIN;
"""
_HNSW = (f"CREATE INDEX ON sentences USING hnsw (embedding vector_ip_ops) "
         f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})")


@dataclass(frozen=True, kw_only=True)
class BuildMeta:
    """The `build` metadata row: what the answering build holds."""
    build_id: str
    built_at: str
    articles: int
    sentences: int
    chunks: int
    corpus_fingerprint: str
    sentence_length: float  # mean row length in BM25 terms
    chunk_length: float
    next_article: int  # the next free pk / row numbers
    next_sentence: int
    next_chunk: int

    @classmethod
    def empty(cls) -> BuildMeta:
        return cls(build_id="", built_at="", articles=0, sentences=0, chunks=0, corpus_fingerprint="",
                   sentence_length=1.0, chunk_length=1.0, next_article=0, next_sentence=0, next_chunk=0)


def exists(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT to_regclass('qa.meta') IS NOT NULL").fetchone()[0]


def create(conn: psycopg.Connection, name: str, dimension: int) -> None:
    """Create schema `name` with every table but the vector index (in the caller's transaction;
    a leftover of an earlier attempt is dropped first)."""
    conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    conn.execute(f"CREATE SCHEMA {name}")
    use(conn, name)
    conn.execute(_DDL.format(dim=int(dimension)))


def use(conn: psycopg.Connection, name: str) -> None:
    """Unqualified names mean schema `name`'s tables for the rest of the transaction (pgvector's
    types stay visible, wherever the extension was installed)."""
    vector = conn.execute("SELECT extnamespace::regnamespace::text FROM pg_extension "
                          "WHERE extname = 'vector'").fetchone()[0]
    conn.execute(f"SET LOCAL search_path = {name}, {vector}")


def create_hnsw(conn: psycopg.Connection, sentences: int, dimension: int) -> None:
    """The HNSW index of the sentence vectors, in the schema first on the search path. The graph is
    built in memory when `maintenance_work_mem` holds it (about 4 bytes a dimension and 900 more a
    sentence; several times slower on disk): the server's setting is raised to that, up to
    `HNSW_MEMORY_MB`, never lowered."""
    wanted = min(HNSW_MEMORY_MB, sentences * (4 * dimension + 900) // 2**20 + 64)
    current = conn.execute("SELECT setting::bigint * 1024 / 2^20 FROM pg_settings "
                           "WHERE name = 'maintenance_work_mem'").fetchone()[0]  # the setting is in kB
    if wanted > current:
        conn.execute(f"SET LOCAL maintenance_work_mem = '{int(wanted)}MB'")
    conn.execute(_HNSW)


def swap(conn: psycopg.Connection) -> None:
    """The whole index just written (`NEXT`) becomes the one that answers (`SCHEMA`)."""
    conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    conn.execute(f"ALTER SCHEMA {NEXT} RENAME TO {SCHEMA}")


def read_meta(conn: psycopg.Connection, key: str) -> Any:
    row = conn.execute("SELECT value FROM qa.meta WHERE key = %s", (key,)).fetchone()
    return None if row is None else row[0]


def write_meta(conn: psycopg.Connection, key: str, value: Any) -> None:
    """Into the `meta` table first on the search path (the writer's)."""
    conn.execute("INSERT INTO meta VALUES (%s, %s::jsonb) ON CONFLICT (key) DO UPDATE SET value = "
                 "excluded.value", (key, json.dumps(value)))


def read_build(conn: psycopg.Connection) -> BuildMeta | None:
    value = read_meta(conn, "build")
    return None if value is None else BuildMeta(**value)
